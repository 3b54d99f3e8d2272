"""Two server processes on one store (a SQLite file; the journey and the race also on
PostgreSQL) and one real redis-server: a shopper on one,
agents on the other, through the whole journey; the same chat taken from both at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.controller import Controller

from benchmarks.serverproc import ServerProcess, free_port
from cluster_helpers import (
    CLUSTER_ENV,
    Clients,
    add_agents,
    start_servers,
    stop_servers,
)
from conftest import login
from inbox import Inbox

pytestmark = pytest.mark.slow  # server processes: scheduled first


async def test_the_whole_journey_across_two_processes(
    tmp_path: Path, redis_url: str, clients: Clients, cluster_store: Path | str
) -> None:
    db = cluster_store
    add_agents(
        db,
        ("ada@shop.example", "Ada", "agent", 3),
        ("bob@shop.example", "Bob", "agent", 3),
        ("meg@shop.example", "Meg", "manager", 3),
    )
    a, b = start_servers(db, redis_url, log_dir=tmp_path)
    try:
        # Ada is at the console on B, away: the chat waits for her to take it.
        ada = await clients.agent(b.url, "ada@shop.example", online=False)
        shopper, start = await clients.shopper(a.url)
        cid = start["conversation"]["id"]
        assert (await shopper.call("message", {"id": "m1", "text": "I need a person"}))["ok"]
        handoff = await shopper.call("handoff", {})
        assert handoff["ok"], handoff
        # B's console sees the chat A queued.
        await ada.wait_for("queue", lambda q: [c["id"] for c in q] == [cid], timeout=10)
        taken = await ada.call("take", {"conversation_id": cid})
        assert taken["ok"], taken
        await shopper.wait_for(
            "status",
            lambda s: s["status"] == "assigned" and s["agent"]["name"] == "Ada",
            timeout=10,
        )
        assert (await ada.call("open", {"conversation_id": cid}))["ok"]

        # Replies both ways, each heard on the other process.
        sent = await ada.call("send", {"conversation_id": cid, "id": "a1", "text": "Hi, Ada here"})
        assert sent["ok"], sent
        await shopper.wait_for("message", lambda m: m["text"] == "Hi, Ada here", timeout=10)
        assert (await shopper.call("message", {"id": "m2", "text": "My parcel is late"}))["ok"]
        await ada.wait_for("message", lambda m: m["text"] == "My parcel is late", timeout=10)

        # Bob signs in on A; Ada (on B) transfers the chat to him.
        bob = await clients.agent(a.url, "bob@shop.example")
        bob_id = bob.cookie and (await bob.call("sync", {}))["agent"]["id"]  # type: ignore[attr-defined]
        moved = await ada.call("transfer", {"conversation_id": cid, "agent_id": bob_id})
        assert moved["ok"], moved
        await bob.wait_for("assigned", lambda d: d["conversation_id"] == cid, timeout=10)
        await ada.wait_for("unassigned", lambda d: d["conversation_id"] == cid, timeout=10)
        assert (await bob.call("open", {"conversation_id": cid}))["ok"]
        # Ada, on the other process, no longer hears the chat (the fence reached B).
        heard_by_ada = len(ada.of("message"))
        assert (await shopper.call("message", {"id": "m3", "text": "Hello Bob"}))["ok"]
        await bob.wait_for("message", lambda m: m["text"] == "Hello Bob", timeout=10)
        refused = await ada.call("send", {"conversation_id": cid, "id": "a2", "text": "me?"})
        assert refused["error"]["code"] == "forbidden"
        sent = await bob.call("send", {"conversation_id": cid, "id": "b1", "text": "Bob here"})
        assert sent["ok"]
        await shopper.wait_for("message", lambda m: m["text"] == "Bob here", timeout=10)
        await asyncio.sleep(0.3)
        assert len(ada.of("message")) == heard_by_ada

        # Bob resolves; the shopper (on A) rates.
        assert (await bob.call("resolve", {"conversation_id": cid}))["ok"]
        await shopper.wait_for("csat_request", timeout=10)
        rated = await shopper.call("csat", {"rating": 5, "comment": "great"})
        assert rated["ok"] and rated["csat"]["rating"] == 5

        # The report, read through either process, counts it.
        cookie = await login(b.url, "meg@shop.example")
        for server in (a, b):
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                async with http.get(
                    f"{server.url}/api/report",
                    headers={"Cookie": f"supportbot_session={cookie}"},
                ) as response:
                    assert response.status == 200
                    totals = (await response.json())["report"]["totals"]
            assert totals["chats"] == 1 and totals["escalated"] == 1, totals
            assert totals["ratings"] == 1 and totals["average_rating"] == 5.0, totals
            assert totals["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}, totals
    finally:
        await stop_servers([a, b], clients)


async def test_auto_assignment_reaches_an_agent_on_the_other_process(
    tmp_path: Path, redis_url: str, clients: Clients
) -> None:
    """The failure of issue 20: a shopper on A asks for a person while the agent is online
    on B. The shopper is told someone is there, and the chat is given to the agent."""
    db = tmp_path / "cluster.db"
    add_agents(db, ("ada@shop.example", "Ada", "agent", 3))
    a, b = start_servers(db, redis_url)
    try:
        ada = await clients.agent(b.url, "ada@shop.example")
        shopper, start = await clients.shopper(a.url)
        cid = start["conversation"]["id"]
        assert (await shopper.call("handoff", {}))["ok"]
        await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid, timeout=10)
        status = await shopper.wait_for("status", lambda s: s["status"] == "assigned", timeout=10)
        assert status["agents_online"] is True
        assert not any(m.get("leave_message") for m in shopper.of("message") if isinstance(m, dict))
    finally:
        await stop_servers([a, b], clients)


async def test_the_same_chat_taken_from_two_processes_at_once(
    redis_url: str, clients: Clients, cluster_store: Path | str
) -> None:
    db = cluster_store
    add_agents(
        db,
        ("ada@shop.example", "Ada", "agent", 10),
        ("bob@shop.example", "Bob", "agent", 10),
    )
    a, b = start_servers(db, redis_url)
    try:
        ada = await clients.agent(a.url, "ada@shop.example", online=False)
        bob = await clients.agent(b.url, "bob@shop.example", online=False)
        for n in range(6):
            shopper, start = await clients.shopper((a if n % 2 else b).url)
            cid = start["conversation"]["id"]
            assert (await shopper.call("handoff", {}))["ok"]
            await ada.wait_for("queue", lambda q, c=cid: c in [x["id"] for x in q], timeout=10)
            first, second = await asyncio.gather(
                ada.call("take", {"conversation_id": cid}),
                bob.call("take", {"conversation_id": cid}),
            )
            wins = [ack for ack in (first, second) if ack["ok"]]
            losses = [ack for ack in (first, second) if not ack["ok"]]
            assert len(wins) == 1 and len(losses) == 1, (first, second)
            assert losses[0]["error"]["code"] in ("conflict", "not_queued", "taken"), losses
            winner = ada if first["ok"] else bob
            sync = await winner.call("sync", {})
            assert cid in [c["id"] for c in sync["chats"]]
            loser = bob if winner is ada else ada
            assert cid not in [c["id"] for c in (await loser.call("sync", {}))["chats"]]
            assert cid not in [c["id"] for c in sync["queue"]]
    finally:
        await stop_servers([a, b], clients)


async def test_answers_to_tickets_are_emailed_once_by_the_leader(
    tmp_path: Path, redis_url: str, clients: Clients
) -> None:
    inbox = Inbox(refuse=3)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    db = tmp_path / "cluster.db"
    add_agents(db, ("ada@shop.example", "Ada", "agent", 3), ("bob@shop.example", "Bob", "agent", 3))
    smtp = ["--smtp-url", f"smtp://127.0.0.1:{controller.port}"]
    env = {**CLUSTER_ENV, "SUPPORTBOT_SMTP_RETRY": "0.5"}
    a = ServerProcess(db, env=env, args=["--redis", redis_url, *smtp]).start()
    b = ServerProcess(db, env=env, args=["--redis", redis_url, *smtp]).start()
    try:
        # Ada answers on A, Bob on B; the first attempts are refused, so retries fall
        # due while both processes' mailers are awake: only the leader sends.
        ada = await clients.agent(a.url, "ada@shop.example", online=False)
        bob = await clients.agent(b.url, "bob@shop.example", online=False)
        tickets = []
        for n in range(4):
            shopper, _ = await clients.shopper((a if n % 2 else b).url)
            assert (await shopper.call("handoff", {}))["ok"]
            left = await shopper.call(
                "leave_message", {"email": f"shopper{n}@example.com", "text": f"question {n}"}
            )
            assert left["ok"], left
            tickets.append(left["ticket_id"])
        for n, ticket_id in enumerate(tickets):
            answer = await (ada if n % 2 else bob).call(
                "ticket_reply", {"id": ticket_id, "client_id": f"r{n}", "text": f"answer {n}"}
            )
            assert answer["ok"], answer
        for ticket_id in tickets:
            await ada.wait_for(
                "ticket",
                lambda t, i=ticket_id: t["id"] == i and (t["mail"] or {}).get("status") == "sent",
                timeout=20,
            )
        await asyncio.sleep(2.5)  # time for a second sending of any of them
        assert sorted(m["To"] for m in inbox.received) == [
            f"shopper{n}@example.com" for n in range(4)
        ]
    finally:
        await stop_servers([a, b], clients)
        controller.stop()
