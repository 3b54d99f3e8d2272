"""kill -9 one of two server processes mid-chat (one real redis-server, one SQLite file):
its shopper and agent reconnect to the other process and resume; nothing acknowledged
is lost; no chat stays in a queue that nobody sees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.serverproc import ServerProcess
from cluster_helpers import (
    CLUSTER_ENV,
    Clients,
    add_agents,
    stop_servers,
    stored_client_ids,
)

pytestmark = pytest.mark.slow  # server processes: scheduled first


async def test_kill_9_one_of_two_processes_mid_chat(
    tmp_path: Path, redis_url: str, clients: Clients, cluster_store: Path | str
) -> None:
    db = cluster_store
    add_agents(db, ("ada@shop.example", "Ada", "agent", 1))
    env = {**CLUSTER_ENV, "SUPPORTBOT_SHOPPER_GRACE_PERIOD": "3"}
    args = ["--redis", redis_url]
    # A starts first: it leads (the dispatcher and the sweeper run there).
    a = ServerProcess(db, env=env, args=args, log=tmp_path / "a.log").start()
    b = ServerProcess(db, env=env, args=args, log=tmp_path / "b.log").start()
    try:
        ada = await clients.agent(a.url, "ada@shop.example")
        chatting, first = await clients.shopper(a.url)
        waiting, second = await clients.shopper(a.url)
        gone, third = await clients.shopper(a.url)
        cid1, cid2, cid3 = (s["conversation"]["id"] for s in (first, second, third))
        assert (await chatting.call("handoff", {}))["ok"]
        await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid1, timeout=10)
        for shopper in (waiting, gone):  # Ada's one seat is taken: these two wait
            assert (await shopper.call("handoff", {}))["ok"]
        await ada.wait_for("queue", lambda q: {c["id"] for c in q} == {cid2, cid3}, timeout=10)
        assert (await ada.call("open", {"conversation_id": cid1}))["ok"]

        acked: set[tuple[str, str]] = set()

        async def shopper_stream() -> None:
            n = 0
            while True:
                n += 1
                try:
                    ack = await chatting.call(
                        "message", {"id": f"s{n}", "text": f"where is it {n}"}, timeout=3
                    )
                except Exception:  # noqa: BLE001 - its server was killed
                    return
                if ack.get("ok"):
                    acked.add((cid1, f"s{n}"))

        async def agent_stream() -> None:
            n = 0
            while True:
                n += 1
                try:
                    ack = await ada.call(
                        "send",
                        {"conversation_id": cid1, "id": f"a{n}", "text": f"checking {n}"},
                        timeout=3,
                    )
                except Exception:  # noqa: BLE001
                    return
                if ack.get("ok"):
                    acked.add((cid1, f"a{n}"))

        streams = [asyncio.create_task(shopper_stream()), asyncio.create_task(agent_stream())]
        await asyncio.sleep(1.0)
        a.kill()
        await asyncio.gather(*streams)
        assert len(acked) > 5
        assert acked <= stored_client_ids(db), "an acknowledged message was lost"

        # The clients of A reconnect to B (the widget does at once) and resume; the
        # shopper who closed the tab while waiting does not come back.
        back, resumed = await clients.shopper(b.url, token=second["token"])
        assert resumed["conversation"]["status"] == "queued"
        shopper, again = await clients.shopper(b.url, token=first["token"])
        assert again["conversation"]["id"] == cid1
        ids = {m.get("client_id") for m in again["messages"]}
        assert {c for conv, c in acked if conv == cid1} <= ids
        agent = await clients.agent(b.url, "ada@shop.example")
        sync = await agent.call("sync", {})
        assert [c["id"] for c in sync["chats"]] == [cid1], "the chat is still hers"
        assert (await agent.call("open", {"conversation_id": cid1}))["ok"]
        assert (await shopper.call("message", {"id": "after", "text": "still there?"}))["ok"]
        await agent.wait_for("message", lambda m: m["text"] == "still there?", timeout=10)
        sent = await agent.call("send", {"conversation_id": cid1, "id": "b1", "text": "yes"})
        assert sent["ok"]
        await shopper.wait_for("message", lambda m: m["text"] == "yes", timeout=10)

        # B now leads: the chat whose shopper is gone becomes an offline ticket after the
        # dead process is reaped (2 s) and the shopper's grace period (3 s) ...
        await agent.wait_for("ticket", lambda t: t["conversation_id"] == cid3, timeout=20)
        await agent.wait_for("queue", lambda q: [c["id"] for c in q] == [cid2], timeout=10)
        # ... and when Ada's seat frees up, the waiting chat is given to her.
        assert (await agent.call("resolve", {"conversation_id": cid1}))["ok"]
        await agent.wait_for("assigned", lambda d: d["conversation_id"] == cid2, timeout=10)
        await back.wait_for("status", lambda s: s["status"] == "assigned", timeout=10)
    finally:
        a.kill()
        await stop_servers([b], clients)
