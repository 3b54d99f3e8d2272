"""``supportbot serve --workers N`` with a real redis-server, behind the README's nginx
configuration (Debian's nginx, started by the test on 127.0.0.1)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bot.cli import main

from benchmarks.serverproc import free_port, healthy
from cluster_helpers import CLUSTER_ENV, Clients, add_agents
from conftest import ROOT

pytestmark = pytest.mark.slow  # server processes: scheduled first

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_more_than_one_worker_needs_redis(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", "2"])
    assert exited.value.code == 2
    assert "--workers above 1 needs --redis" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])
    assert "--workers must be 1 or more" in capsys.readouterr().err


def test_bad_or_unreachable_redis_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--redis", "http://127.0.0.1:6379"])
    assert "--redis: expected redis://HOST:PORT/DB" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--redis", f"redis://127.0.0.1:{free_port()}/0"])
    assert "--redis: cannot reach redis://127.0.0.1:" in capsys.readouterr().err


def readme_nginx() -> str:
    """The nginx configuration the README gives (its first ```nginx block)."""
    text = (ROOT / "README.md").read_text()
    found = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert found, "the README has no nginx configuration"
    return found.group(1)


def wait_until(check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise TimeoutError(f"{check} stayed false")


def start_nginx(folder: Path, ports: list[int], listen: int) -> subprocess.Popen[bytes]:
    config = readme_nginx()
    config = re.sub(
        r"server 127\.0\.0\.1:8080;\n\s*server 127\.0\.0\.1:8081;",
        "".join(f"server 127.0.0.1:{p};\n        " for p in ports).rstrip(),
        config,
    )
    config = config.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    for port in ports:
        assert f"127.0.0.1:{port}" in config
    folder.mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{config}
}}
"""
    )
    return subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_workers_behind_the_readme_nginx_configuration(
    tmp_path: Path, redis_url: str, clients: Clients
) -> None:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    db = tmp_path / "workers.db"
    add_agents(db, ("ada@shop.example", "Ada", "agent", 3))
    port = free_port()
    while not all(_free(p) for p in (port, port + 1)):
        port = free_port()
    ports = [port, port + 1]
    env = {**os.environ, **CLUSTER_ENV, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "workers.log").open("wb")
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--workers",
            "2",
            "--port",
            str(port),
            "--db",
            str(db),
            "--redis",
            redis_url,
            "--log-level",
            "warning",
            "--trusted-proxy",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    listen = free_port()
    proxy = None
    try:
        wait_until(lambda: all(healthy(f"http://127.0.0.1:{p}") for p in ports), 120)
        proxy = start_nginx(tmp_path / "nginx", ports, listen)
        url = f"http://127.0.0.1:{listen}"
        wait_until(lambda: healthy(url), 20)

        # The agent at the console through the proxy (websocket), the shopper through the
        # proxy on the polling fallback (several HTTP requests: kept on one process).
        ada = await clients.agent(url, "ada@shop.example")
        shopper = await clients.open(url, "/chat")
        await shopper.sio.disconnect()
        await shopper.sio.connect(
            url, namespaces=["/chat"], transports=["polling"], wait_timeout=10
        )
        assert shopper.sio.transport() == "polling"
        start = await shopper.call("start", {})
        assert start["ok"], start
        cid = start["conversation"]["id"]
        assert (await shopper.call("handoff", {}))["ok"]
        await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid, timeout=15)
        assert (await ada.call("send", {"conversation_id": cid, "id": "a1", "text": "Hi"}))["ok"]
        await shopper.wait_for("message", lambda m: m["text"] == "Hi", timeout=10)
        for n in range(5):  # each a new long-polling request: all answered
            assert (await shopper.call("message", {"id": f"m{n}", "text": f"thanks {n}"}))["ok"]

        # A worker that dies is started again by the supervisor.
        workers = psutil.Process(supervisor.pid).children()
        assert len(workers) == 2
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        wait_until(
            lambda: (
                len(psutil.Process(supervisor.pid).children()) == 2
                and all(healthy(f"http://127.0.0.1:{p}") for p in ports)
            ),
            60,
        )
        # SIGINT stops them all (the clients leave first: a shutdown waits a while for
        # connections that stay open).
        await clients.close()
        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(30) == 0, (tmp_path / "workers.log").read_text()[-20000:]
        assert not any(healthy(f"http://127.0.0.1:{p}") for p in ports)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        if supervisor.poll() is None:
            for child in psutil.Process(supervisor.pid).children():
                child.kill()
            supervisor.kill()
            supervisor.wait()
        log.close()


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
