"""``supportbot serve --workers N``: N server processes on one Redis and one database.

Process ``i`` listens on ``PORT + i`` (each its own port, so that a front proxy can
keep a client on one process: the polling fallback of socket.io needs that; the
README has an nginx configuration). The first process migrates the database
before the others start. A process that exits on its own is started again after
``RESTART_DELAY`` seconds (its clients reconnect to the others meanwhile: their
state is in Redis); SIGINT or SIGTERM stops them all.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

from bot.settings import Settings

RESTART_DELAY = 1.0
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
# The serve flags a worker gets again, as given (``None``: not given).
PASSED_ON: tuple[tuple[str, str], ...] = (
    ("host", "--host"),
    ("db", "--db"),
    ("database", "--database"),
    ("kb", "--kb"),
    ("public_url", "--public-url"),
    ("inactivity_timeout", "--inactivity-timeout"),
    ("log_level", "--log-level"),
    ("smtp_url", "--smtp-url"),
    ("smtp_from", "--smtp-from"),
    ("retention_days", "--retention-days"),
    ("redis_url", "--redis"),
)


def worker_command(args: argparse.Namespace, port: int) -> list[str]:
    command = [sys.executable, "-m", "bot", "serve", "--workers", "1", "--port", str(port)]
    for name, flag in PASSED_ON:
        value = getattr(args, name, None)
        if value is not None:
            command += [flag, str(value)]
    for origin in args.allowed_origins or ():
        command += ["--allowed-origin", origin]
    for proxy in args.trusted_proxies or ():
        command += ["--trusted-proxy", proxy]
    if args.insecure_cookies:
        command.append("--insecure-cookies")
    return command


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Workers:
    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings = settings
        self.args = args
        self.ports = [settings.port + i for i in range(settings.workers)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping = False
        self.env = {**os.environ, "SUPPORTBOT_WORKERS": "1", "PYTHONFAULTHANDLER": "1"}

    def spawn(self, port: int) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(worker_command(self.args, port), env=self.env)
        self.procs[port] = proc
        return proc

    def wait_healthy(self, port: int) -> None:
        url = f"http://{self.settings.host}:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self.stopping:
            proc = self.procs[port]
            if proc.poll() is not None:
                raise RuntimeError(f"the worker on port {port} exited with {proc.returncode}")
            if _healthy(url):
                return
            time.sleep(0.2)
        if not self.stopping:
            raise RuntimeError(f"the worker on port {port} did not start")

    def stop(self, *_: object) -> None:
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)

    def run(self, announce: Callable[[str], None] = print) -> int:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        try:
            first, *rest = self.ports
            self.spawn(first)
            self.wait_healthy(first)  # it migrated the database: the others can start
            for port in rest:
                self.spawn(port)
            for port in rest:
                self.wait_healthy(port)
        except RuntimeError as exc:
            self.stop()
            self._reap(announce)
            announce(f"supportbot: error: {exc}")
            return 1
        announce(
            f"{len(self.ports)} workers on {self.settings.host}, ports "
            f"{self.ports[0]}-{self.ports[-1]} (Redis {self.settings.redis_url})"
        )
        while not self.stopping:
            time.sleep(0.5)
            for port, proc in list(self.procs.items()):
                if proc.poll() is not None and not self.stopping:
                    announce(
                        f"worker on port {port} exited with {proc.returncode}; "
                        f"starting it again in {RESTART_DELAY:.0f} s"
                    )
                    time.sleep(RESTART_DELAY)
                    if not self.stopping:
                        self.spawn(port)
        return self._reap(announce)

    def _reap(self, announce: Callable[[str], None] = print) -> int:
        status = 0
        for port, proc in self.procs.items():
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # SIGABRT first: the worker writes where each thread was (faulthandler).
                announce(f"worker on port {port} did not stop in {STOP_TIMEOUT:.0f} s: killed")
                proc.send_signal(signal.SIGABRT)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.returncode not in (0, -signal.SIGINT, 130):
                announce(f"worker on port {port} exited with {proc.returncode}")
                status = 1
        return status
