"""Faults: SIGKILL mid-chat, a read-only database, a full disk, silent and slow clients.

The server runs in its own process (tests/benchmarks/serverproc.py) where a real
``kill -9`` or resource limit is needed, in-process otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
import psutil
import pytest
import socketio

from bot.store import accounts
from bot.store.db import connect
from bot.store.migrations import migrate

from benchmarks.serverproc import ServerProcess, healthy
from conftest import PASSWORD, login

ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root (resource limits, other users)"
)


# These tests are about storage and connections: the bot answers on the lexical fast
# path only, so that a server process starts in a fraction of a second.
LEXICAL_ONLY = {"SUPPORTBOT_FAQ_SEMANTIC": "off"}


def add_agent(db: Path, email: str, name: str, capacity: int = 3) -> None:
    conn = connect(db)
    migrate(conn)
    conn.execute("BEGIN IMMEDIATE")
    accounts.add_agent(conn, email, name, "agent", PASSWORD, capacity)
    conn.execute("COMMIT")
    conn.close()


async def sio_client(
    url: str, namespace: str, headers: dict[str, str] | None = None
) -> tuple[socketio.AsyncClient, aiohttp.ClientSession]:
    http = aiohttp.ClientSession()
    sio = socketio.AsyncClient(reconnection=False, http_session=http)
    # a copy: the client empties the dict it is given
    await sio.connect(
        url, namespaces=[namespace], headers=dict(headers or {}), transports=["websocket"]
    )
    return sio, http


async def close(*pairs: tuple[socketio.AsyncClient, aiohttp.ClientSession]) -> None:
    for sio, http in pairs:
        if sio.connected:
            await sio.disconnect()
        await http.close()


@pytest.mark.slow
async def test_kill_9_mid_chat_loses_no_acknowledged_message(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    add_agent(db, "ada@shop.example", "Ada", capacity=1)
    env = {
        "SUPPORTBOT_RATE_LIMIT_MESSAGES": "10000",
        "SUPPORTBOT_RATE_LIMIT_EVENTS": "10000",
        **LEXICAL_ONLY,
    }
    server = ServerProcess(db, env=env).start()
    try:
        cookie = await login(server.url, "ada@shop.example")
        headers = {"Cookie": f"supportbot_session={cookie}"}
        agent = await sio_client(server.url, "/agent", headers)
        assigned = asyncio.Event()
        agent[0].on("assigned", lambda data=None: assigned.set(), namespace="/agent")
        await agent[0].call("status", {"status": "online"}, namespace="/agent")

        shoppers = [await sio_client(server.url, "/chat") for _ in range(4)]
        starts = [await s.call("start", {}, namespace="/chat") for s, _ in shoppers]
        # shopper 0 is with Ada (capacity 1), shopper 1 waits in the queue
        await shoppers[0][0].call("handoff", {}, namespace="/chat")
        await asyncio.wait_for(assigned.wait(), 10)
        await shoppers[1][0].call("handoff", {}, namespace="/chat")
        assigned_id = starts[0]["conversation"]["id"]
        queued_id = starts[1]["conversation"]["id"]

        acked: set[tuple[str, str]] = set()
        # the server is killed once this many messages are acknowledged, with more in flight
        enough = asyncio.Event()

        def ack_received(key: tuple[str, str]) -> None:
            acked.add(key)
            if len(acked) >= 40:
                enough.set()

        attempted: list[tuple[int, str, str]] = []

        async def stream(index: int) -> None:
            sio = shoppers[index][0]
            cid = starts[index]["conversation"]["id"]
            n = 0
            try:
                while True:
                    n += 1
                    client_id = f"s{index}-{n}"
                    attempted.append((index, cid, client_id))
                    ack = await sio.call(
                        "message",
                        {"id": client_id, "text": f"how long does delivery take {n}"},
                        namespace="/chat",
                        timeout=3,
                    )
                    if ack["ok"]:
                        ack_received((cid, client_id))
            except Exception:  # noqa: BLE001 - the server died under us
                return

        async def agent_stream() -> None:
            n = 0
            try:
                while True:
                    n += 1
                    client_id = f"a-{n}"
                    ack = await agent[0].call(
                        "send",
                        {
                            "conversation_id": assigned_id,
                            "id": client_id,
                            "text": f"agent says {n}",
                        },
                        namespace="/agent",
                        timeout=3,
                    )
                    if ack["ok"]:
                        ack_received((assigned_id, client_id))
            except Exception:  # noqa: BLE001
                return

        tasks = [asyncio.create_task(stream(i)) for i in range(4)] + [
            asyncio.create_task(agent_stream())
        ]
        await asyncio.wait_for(enough.wait(), 30)
        server.kill()
        await asyncio.gather(*tasks)
        await close(agent, *shoppers)
        assert len(acked) >= 40

        # on the same port at once: its clients' connections (TIME_WAIT) do not hold it
        restarted = ServerProcess(db, env=env, port=server.port).start()
        try:
            conn = sqlite3.connect(db)
            stored = set(
                conn.execute(
                    "SELECT conversation_id, client_id FROM messages WHERE client_id IS NOT NULL"
                )
            )
            assert acked <= stored, f"lost: {sorted(acked - stored)[:5]}"

            # shoppers resume their conversations and resend what was in flight: stored once
            for index, (start) in enumerate(starts):
                sio = await sio_client(restarted.url, "/chat")
                again = await sio[0].call("start", {"token": start["token"]}, namespace="/chat")
                assert again["ok"] and again["conversation"]["id"] == start["conversation"]["id"]
                mine = [cid for i, _, cid in attempted if i == index]
                transcript_ids = {m["client_id"] for m in again["messages"]}
                assert {
                    c for c in mine if (start["conversation"]["id"], c) in acked
                } <= transcript_ids
                for client_id in mine[-2:]:
                    await sio[0].call(
                        "message", {"id": client_id, "text": "resent"}, namespace="/chat"
                    )
                await close(sio)
            dupes = conn.execute(
                "SELECT count(*) FROM (SELECT conversation_id, client_id FROM messages "
                "WHERE client_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)"
            ).fetchone()[0]
            assert dupes == 0

            # the agent's side: the session survives, the chat is still hers, the queue is rebuilt
            agent = await sio_client(restarted.url, "/agent", headers)
            sync = await agent[0].call("sync", {}, namespace="/agent")
            assert [c["id"] for c in sync["chats"]] == [assigned_id]
            assert [c["id"] for c in sync["queue"]] == [queued_id]
            await close(agent)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            restarted.stop()
    finally:
        server.kill()


def _ignore_sigxfsz() -> None:
    # Writing past RLIMIT_FSIZE sends SIGXFSZ, which would kill the server; ignored,
    # the write fails with EFBIG like on a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@ROOT_ONLY
async def test_a_full_disk_refuses_messages_clearly_and_recovers(tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    server = ServerProcess(db, env=LEXICAL_ONLY)
    server.preexec = _ignore_sigxfsz  # type: ignore[attr-defined]
    server.start()
    try:
        shopper = await sio_client(server.url, "/chat")
        sio = shopper[0]
        start = await sio.call("start", {}, namespace="/chat")
        assert (await sio.call("message", {"id": "before", "text": "fine"}, namespace="/chat"))[
            "ok"
        ]

        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        refused = await sio.call(
            "message", {"id": "during", "text": "disk is full"}, namespace="/chat"
        )
        assert refused["ok"] is False and refused["error"]["code"] == "storage_unavailable"
        assert refused["error"]["message"]
        other = await sio_client(server.url, "/chat")
        assert (await other[0].call("start", {}, namespace="/chat"))["error"][
            "code"
        ] == "storage_unavailable"
        assert healthy(server.url, timeout=2) and sio.connected

        resource.prlimit(
            server.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        )
        again = await sio.call(
            "message", {"id": "during", "text": "disk is full"}, namespace="/chat"
        )
        assert again["ok"] and again["duplicate"] is False
        assert (await other[0].call("start", {}, namespace="/chat"))["ok"]
        await close(shopper, other)
        conn = sqlite3.connect(db)
        texts = [
            r[0]
            for r in conn.execute(
                "SELECT client_id FROM messages WHERE conversation_id = ? AND author = 'shopper' ORDER BY id",
                (start["conversation"]["id"],),
            )
        ]
        assert texts == ["before", "during"]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        server.stop()


def _without_root_file_powers() -> None:
    """In the child: drop CAP_DAC_OVERRIDE and friends, so root obeys file modes."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for capability in (1, 2, 3):  # DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@ROOT_ONLY
async def test_a_read_only_database_refuses_writes_and_recovers(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    conn = connect(db)
    migrate(conn)
    conn.close()
    os.chmod(db, 0o444)
    server = ServerProcess(db, env=LEXICAL_ONLY)
    server.preexec = _without_root_file_powers  # type: ignore[attr-defined]
    server.start()
    try:
        shopper = await sio_client(server.url, "/chat")
        refused = await shopper[0].call("start", {}, namespace="/chat")
        assert refused["ok"] is False and refused["error"]["code"] == "storage_unavailable"
        assert healthy(server.url, timeout=2) and shopper[0].connected

        os.chmod(db, 0o644)
        # The writer reopens its connection after a failure: the first write after the
        # fix goes through.
        ack = await shopper[0].call("start", {}, namespace="/chat")
        assert ack["ok"], ack
        assert (await shopper[0].call("message", {"id": "m1", "text": "hello"}, namespace="/chat"))[
            "ok"
        ]
        await close(shopper)
    finally:
        server.stop()
    check = sqlite3.connect(db)
    assert check.execute("SELECT count(*) FROM messages WHERE client_id = 'm1'").fetchone()[0] == 1
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def _raw_shopper(url: str) -> aiohttp.ClientWebSocketResponse:
    """A bare engine.io/socket.io client over a websocket, started, that we can make misbehave."""
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    ws._test_http = http  # type: ignore[attr-defined]
    opening = await ws.receive_str()
    assert opening.startswith("0")
    await ws.send_str("40/chat,")
    assert (await ws.receive_str()).startswith("40/chat,")
    await ws.send_str('42/chat,1["start",{}]')
    ack = await ws.receive_str()
    assert ack.startswith("43/chat,1")
    ws._test_conversation = json.loads(ack[len("43/chat,1") :])[0]["conversation"]["id"]  # type: ignore[attr-defined]
    return ws


async def test_silent_and_slow_clients_do_not_stall_others(start_server, connect, agent) -> None:
    # Pings every 0.5 s; 2 s for the answer: the healthy client shares this busy event
    # loop with the server and the flood, and on a starved machine (more test processes
    # than cores) its answer came after the 0.5 s used before, which dropped it.
    server = await start_server(
        ping_interval=0.5, ping_timeout=2.0, rate_limit_events=100_000, rate_limit_messages=100_000
    )
    # a client that stops answering pings (half-open) and one that stops reading (slow)
    silent = await _raw_shopper(server.url)
    slow = await _raw_shopper(server.url)
    await slow.send_str('42/chat,2["handoff",{}]')
    await asyncio.sleep(0)
    from conftest import login as do_login

    await server.add_agent("ada@shop.example", "Ada")
    cookie = await do_login(server.url, "ada@shop.example")
    ada = await connect(
        "/agent", url=server.url, headers={"Cookie": f"supportbot_session={cookie}"}
    )
    await ada.call("status", {"status": "online"})
    await ada.wait_for("assigned")
    big = "x" * 2000

    async def flood() -> None:
        for n in range(1500):  # ~3 MB towards a client that reads nothing
            await ada.call(
                "send", {"conversation_id": slow._test_conversation, "id": f"f{n}", "text": big}
            )

    flooding = asyncio.create_task(flood())
    healthy = await connect("/chat", url=server.url)
    await healthy.call("start", {})
    latencies = []
    for n in range(20):
        t0 = time.perf_counter()
        ack = await healthy.call("message", {"id": f"h{n}", "text": "how long does delivery take"})
        latencies.append(time.perf_counter() - t0)
        assert ack["ok"]
        await asyncio.sleep(0.05)
    assert max(latencies) < 1.0, latencies
    # the silent client is dropped after ping_interval + ping_timeout
    deadline = time.monotonic() + 10
    closed = False
    while time.monotonic() < deadline and not closed:
        message = await silent.receive(timeout=5)
        closed = message.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        )
    assert closed
    flooding.cancel()
    for ws in (silent, slow):
        await ws.close()
        await ws._test_http.close()  # type: ignore[attr-defined]


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_stops_the_server_and_its_workers_quietly(tmp_path: Path) -> None:
    """Ctrl-C signals the whole foreground process group: the server and its judging
    worker processes. The server stops them; nobody prints a KeyboardInterrupt
    traceback."""
    log = tmp_path / "serve.log"
    server = ServerProcess(
        tmp_path / "db.sqlite", env={"SUPPORTBOT_FAQ_SEMANTIC": "process"}, log=log
    )
    server.preexec = os.setsid  # its own process group, as a terminal's job
    server.start(timeout=60)
    try:
        deadline = time.monotonic() + 60
        while "judging in 1 worker process" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        workers = psutil.Process(server.pid).children()
        assert [" ".join(w.cmdline()[-2:]) for w in workers] == ["-m bot.judge_worker"]
        os.killpg(server.pid, signal.SIGINT)
        assert server.proc is not None and server.proc.wait(20) == 0
    finally:
        if server.proc is not None and server.proc.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)  # a failed check leaves no server behind
        server.stop()  # the log is complete
    # the workers were waited for before the server exited
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    assert "Traceback" not in log.read_text(), log.read_text()
