"""Run the real server in a child process for benchmarks and fault tests."""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port free now, for servers that must be told theirs beforehand (the consecutive
    ports of ``--workers``, nginx, redis-server, a threaded SMTP server). Servers of
    ours that can bind port 0 and report it do that instead (``ServerProcess``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(url: str, timeout: float = 1) -> bool:
    """Whether a server answers ``url``/healthz with 200. Also polled before a server
    listens: a connection to a free local port can get that very port as its source
    and connect to itself, reading its own request back (BadStatusLine): not ready."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, http.client.HTTPException):
        return False


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds so far of these processes and all their children (psutil)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for p in [process, *process.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


# Simulated shoppers all come from 127.0.0.1 where real ones come from many
# addresses: the per-address limits are raised out of their way (still counted).
# A caller's env can set them again.
# The line ``supportbot serve --port 0`` prints first.
LISTENING = re.compile(rb"listening on \S+:(\d+)$")

MANY_ADDRESSES = {
    f"SUPPORTBOT_ADDRESS_{name}": "1000000000"
    for name in ("CONNECTIONS", "CONVERSATIONS", "MESSAGES", "HANDOFFS", "TICKETS")
}


class ServerProcess:
    """``python -m bot serve`` on a port the system picks (``--port 0``; the server
    prints it) or on ``port``; ``kill()`` is a real SIGKILL."""

    def __init__(
        self,
        db: Path | str,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.db = db
        self.port = port or 0
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **MANY_ADDRESSES, **(env or {})}
        self.args = args or []
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.preexec: Callable[[], None] | None = None  # run in the child before exec
        self.user: int | None = None  # run as this uid (needs root)
        self.log_level = "info" if log else "warning"

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the server has not said its port yet (call start())")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "serve",
                "--port",
                str(self.port),
                # a SQLite file, or PostgreSQL for a postgresql:// URL
                "--database" if str(self.db).startswith("postgres") else "--db",
                str(self.db),
                "--log-level",
                self.log_level,
                *self.args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=self.preexec,
            user=self.user,
        )
        # The output is read all along (a full pipe would block the server), copied to
        # the log when there is one; with --port 0 its first line names the port.
        said_port = threading.Event()
        self._reader = threading.Thread(
            target=self._read_output, args=(self.proc, said_port), daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not said_port.wait(0.1):
            if self.proc.poll() is not None:
                self._reader.join(5)
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not say its port")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            if healthy(self.url):
                return self
            time.sleep(0.1)
        raise TimeoutError("server did not start")

    def _read_output(self, proc: subprocess.Popen[bytes], said_port: threading.Event) -> None:
        assert proc.stdout is not None
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115
        try:
            if self.port:
                said_port.set()
            for line in proc.stdout:
                if out is not None:
                    out.write(line)
                    out.flush()
                if not said_port.is_set():
                    found = LISTENING.match(line)
                    if found:
                        self.port = int(found.group(1))
                        said_port.set()
        finally:
            proc.stdout.close()
            if out is not None:
                out.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no flushing."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(5)  # the pipe ends with the process: the log is complete

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def add_agents(db: Path | str, count: int, capacity: int, password: str) -> list[str]:
    """Agent accounts agent0@bench.example ... through the real CLI; returns their emails."""
    emails = []
    for i in range(count):
        email = f"agent{i}@bench.example"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "agent",
                "add",
                email,
                "--name",
                f"Agent {i}",
                "--capacity",
                str(capacity),
                "--password-stdin",
                "--database" if str(db).startswith("postgres") else "--db",
                str(db),
            ],
            input=password.encode(),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        emails.append(email)
    return emails


async def try_sign_in(url: str, email: str, password: str) -> str | None:
    """The real login form; returns the session cookie's value, or None when refused.

    Cookies are carried by hand: the server marks them Secure, which a browser
    accepts from http://127.0.0.1 but aiohttp's cookie jar does not.
    """
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(f"{url}/login") as response:
            page = await response.text()
            login_cookie = response.cookies["supportbot_login"].value
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if token is None:
            raise RuntimeError("no CSRF field on /login")
        async with http.post(
            f"{url}/login",
            allow_redirects=False,
            headers={"Cookie": f"supportbot_login={login_cookie}"},
            data={
                "email": email,
                "password": password,
                "csrf_token": token.group(1),
                "next": "/console",
            },
        ) as response:
            cookie = response.cookies.get("supportbot_session")
            return cookie.value if cookie else None


async def sign_in(url: str, email: str, password: str) -> str:
    """:func:`try_sign_in` for benchmarks, where a refusal is an error."""
    cookie = await try_sign_in(url, email, password)
    if cookie is None:
        raise RuntimeError(f"login of {email} refused")
    return cookie


async def go_online(sio: Any, url: str, email: str, password: str, *, timeout: float = 30) -> None:
    """An agent at the console: sign in, connect ``sio`` to /agent, sync, go online."""
    cookie = await sign_in(url, email, password)
    await sio.connect(
        url,
        namespaces=["/agent"],
        transports=["websocket"],
        headers={"Cookie": f"supportbot_session={cookie}", "Origin": url},
        wait_timeout=timeout,
    )
    for event, data in (("sync", {}), ("status", {"status": "online"})):
        ack = await sio.call(event, data, namespace="/agent", timeout=timeout)
        if not ack.get("ok"):
            raise RuntimeError(f"{event} refused for {email}: {ack}")


async def close_client(sio: Any, tasks: set[asyncio.Task[None]]) -> None:
    """Cancel a simulated client's own tasks, then disconnect it."""
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await sio.disconnect()


def exit_with_parent() -> None:
    """In a benchmark's child process: exit when the main process is gone (killed),
    instead of running on."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
