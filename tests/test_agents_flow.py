"""Agents take escalated chats: queue, assignment, live chat, notes, transfer, resolve."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from conftest import Client, LiveServer, login


async def escalate(shopper_client: Client) -> str:
    ack = await shopper_client.call("handoff", {})
    assert ack["ok"], ack
    return shopper_client.start["conversation"]["id"]


async def test_whole_flow_escalate_assign_chat_resolve_csat(
    server: LiveServer, shopper, agent
) -> None:
    ada: Client = await agent("Ada")
    client: Client = await shopper()
    cid = await escalate(client)

    assigned = await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid)
    assert assigned["by"] == "auto"
    status = await client.wait_for("status", lambda s: s["status"] == "assigned")
    assert status["agent"] == {"name": "Ada"}
    joined = await client.wait_for(
        "message", lambda m: m["author"] == "system" and "Ada" in m["text"]
    )
    assert joined

    opened = await ada.call("open", {"conversation_id": cid})
    assert opened["ok"] and opened["conversation"]["status"] == "assigned"
    assert [m["author"] for m in opened["messages"]][0] == "bot"

    # live chat both ways
    sent = await ada.call(
        "send", {"conversation_id": cid, "id": "a-1", "text": "Hi, I'm Ada. How can I help?"}
    )
    assert sent["ok"]
    got = await client.wait_for("message", lambda m: m["author"] == "agent")
    assert got["text"] == "Hi, I'm Ada. How can I help?" and got["agent"] == {"name": "Ada"}
    await client.call("message", {"id": "s-1", "text": "My parcel arrived damaged"})
    heard = await ada.wait_for(
        "message", lambda m: m["author"] == "shopper" and m["client_id"] == "s-1"
    )
    assert heard["conversation_id"] == cid
    # the bot stays quiet while an agent owns the chat, even on a question it knows
    await client.call("message", {"id": "s-2", "text": "how long does delivery take"})
    await ada.wait_for("message", lambda m: m["client_id"] == "s-2")
    await server.settled(client)
    bot_after = [
        m
        for m in client.of("message")
        if m["author"] == "bot" and m["created_at"] > got["created_at"]
    ]
    assert bot_after == []

    # typing both ways
    await client.call("typing", {"typing": True})
    typing = await ada.wait_for("typing", lambda t: t["author"] == "shopper")
    assert typing["conversation_id"] == cid and typing["typing"] is True
    await ada.call("typing", {"conversation_id": cid, "typing": True})
    assert (await client.wait_for("typing"))["name"] == "Ada"

    # internal notes stay with agents
    note = await ada.call(
        "note", {"conversation_id": cid, "id": "n-1", "text": "customer seems upset"}
    )
    assert note["ok"] and note["message"]["kind"] == "note"
    await server.settled(client)
    assert not [m for m in client.of("message") if m["text"] == "customer seems upset"]

    assert (await ada.call("resolve", {"conversation_id": cid}))["ok"]
    ended = await client.wait_for("ended")
    assert ended["by"] == "agent"
    await client.wait_for("csat_request")
    rated = await client.call("csat", {"rating": 4, "comment": "quick help"})
    assert rated["ok"] and rated["csat"]["rating"] == 4

    types = [e["type"] for e in await server.events(conversation_id=cid)]
    for expected in (
        "escalation.requested",
        "chat.queued",
        "agent.assigned",
        "agent.joined",
        "agent.message",
        "agent.note",
        "chat.resolved",
        "chat.ended",
        "csat.asked",
        "csat.given",
    ):
        assert expected in types, expected
    rows = await server.query("SELECT agent_id, bot_only FROM csat WHERE conversation_id = ?", cid)
    assert rows == [{"agent_id": ada.account.id, "bot_only": 0}]


async def test_two_agents_take_the_same_chat_at_once_one_wins(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada", online=False)
    bob = await agent("Bob", online=False)
    client = await shopper()
    cid = await escalate(client)
    results = await asyncio.gather(
        ada.call("take", {"conversation_id": cid}), bob.call("take", {"conversation_id": cid})
    )
    winners = [r for r in results if r["ok"]]
    losers = [r for r in results if not r["ok"]]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0]["error"]["code"] == "conflict"
    rows = await server.query("SELECT status, agent_id FROM conversations WHERE id = ?", cid)
    assert rows[0]["status"] == "assigned"
    assert len(await server.events("agent.assigned", cid)) == 1


async def test_auto_assignment_prefers_free_capacity(server: LiveServer, shopper, agent) -> None:
    ada = await agent("Ada", capacity=1)
    await agent("Bob", capacity=2)
    owners = []
    for _ in range(3):
        client = await shopper()
        await escalate(client)
        status = await client.wait_for("status", lambda s: s["status"] == "assigned")
        owners.append(status["agent"]["name"])
    assert sorted(owners) == ["Ada", "Bob", "Bob"]
    # everyone is full: the fourth waits in the queue
    client = await shopper()
    await escalate(client)
    status = await client.wait_for("status", lambda s: s["status"] == "queued")
    assert status["position"] == 1 and status["agents_online"] is True
    queue = await ada.wait_for("queue", lambda q: len(q) == 1)
    card = queue[0]
    assert card["reasons"] == ["asks for a person"] and "mood" in card and card["wait_seconds"] >= 0
    assert card["recent"] and card["language"]


async def test_waiting_shoppers_hear_of_their_place_only_when_it_changes(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada", capacity=1)
    first = await shopper()
    first_id = await escalate(first)
    await first.wait_for("status", lambda s: s["status"] == "assigned")
    second, third = await shopper(), await shopper()
    second_id = await escalate(second)
    await escalate(third)
    await third.wait_for("status", lambda s: s["status"] == "queued" and s["position"] == 2)

    # the chat ahead changes (new messages): the queue is pushed to the console again,
    # but the third shopper's place did not change, so it is not told again
    for n in range(3):
        assert (await second.call("message", {"id": f"q{n}", "text": f"still waiting {n}"}))["ok"]
    await ada.wait_for(
        "queue",
        lambda q: any(
            m["text"] == "still waiting 2"
            for card in q
            if card["id"] == second_id
            for m in card["recent"]
        ),
    )
    await server.settled(third)
    places = [s for s in third.of("status") if s["status"] == "queued"]
    assert [s["position"] for s in places] == [2]

    # the first chat ends, the second is assigned: the third moves up and hears it
    assert (await ada.call("resolve", {"conversation_id": first_id}))["ok"]
    await second.wait_for("status", lambda s: s["status"] == "assigned")
    moved = await third.wait_for("status", lambda s: s["status"] == "queued" and s["position"] == 1)
    assert moved["agents_online"] is True


async def test_transfer_moves_the_chat(server: LiveServer, shopper, agent) -> None:
    ada = await agent("Ada")
    client = await shopper()
    cid = await escalate(client)
    await ada.wait_for("assigned")
    bob = await agent("Bob")
    ack = await ada.call("transfer", {"conversation_id": cid, "agent_id": bob.account.id})
    assert ack["ok"], ack
    await bob.wait_for("assigned", lambda d: d["by"] == "transfer")
    await ada.wait_for("unassigned")
    assert (await ada.call("send", {"conversation_id": cid, "id": "x1", "text": "still me?"}))[
        "error"
    ]["code"] == "forbidden"
    assert (await bob.call("send", {"conversation_id": cid, "id": "x2", "text": "Bob here"}))["ok"]
    assert len(await server.events("chat.transferred", cid)) == 1


async def test_a_disconnected_owner_loses_the_chat_after_the_grace_period(
    start_server, connect
) -> None:
    server = await start_server(agent_grace_period=0.5)
    account = await server.add_agent("ada@shop.example", "Ada")
    cookie = await login(server.url, "ada@shop.example")
    ada = await connect(
        "/agent", url=server.url, headers={"Cookie": f"supportbot_session={cookie}"}
    )
    await ada.call("status", {"status": "online"})
    client = await connect("/chat", url=server.url)
    start = await client.call("start", {})
    await client.call("handoff", {})
    await ada.wait_for("assigned")
    await ada.close()
    requeued = await client.wait_for(
        "message", lambda m: m["author"] == "system" and "queue" in m["text"], timeout=5
    )
    assert requeued
    cid = start["conversation"]["id"]
    rows = await server.query("SELECT status, agent_id FROM conversations WHERE id = ?", cid)
    assert rows == [{"status": "queued", "agent_id": None}]
    assert (await server.events("chat.requeued", cid))[0]["agent_id"] == account.id


async def test_nobody_online_offers_to_leave_a_message(server: LiveServer, shopper, agent) -> None:
    away = await agent("Ada", online=False)
    client = await shopper()
    cid = await escalate(client)
    notice = await client.wait_for(
        "message",
        lambda m: (
            m["author"] == "bot" and m["created_at"] > client.start["messages"][0]["created_at"]
        ),
    )
    assert "online" in notice["text"].lower()
    status = await client.wait_for("status")
    assert status["offer_leave_message"] is True and status["agents_online"] is False
    bad = await client.call("leave_message", {"email": "not-an-email", "text": "hi"})
    assert bad["error"]["code"] == "invalid_email"
    ack = await client.call(
        "leave_message", {"email": "eva@example.com", "text": "Please call me back"}
    )
    assert ack["ok"] and ack["ticket_id"] and ack["status"]["status"] == "ticket"
    ticket = await away.wait_for("ticket", lambda t: t["id"] == ack["ticket_id"])
    assert ticket["email"] == "eva@example.com" and ticket["conversation_id"] == cid
    assert ticket["status"] == "open" and ticket["source"] == "form"
    assert await server.events("ticket.created", cid)
    # the chat stays open for the team's answer: no end, no survey yet
    assert client.of("ended") == [] and client.of("csat_request") == []
    done = await away.call("ticket_done", {"id": ack["ticket_id"]})
    assert done["ok"]
    await client.wait_for("ended")


async def test_canned_replies_are_shared(server: LiveServer, agent) -> None:
    ada = await agent("Ada")
    bob = await agent("Bob")
    ack = await ada.call("canned_add", {"shortcut": "hello", "text": "Hello! How can I help?"})
    assert ack["ok"]
    canned = await bob.wait_for("canned", lambda c: len(c) == 1)
    assert canned[0]["shortcut"] == "hello"
    dup = await ada.call("canned_add", {"shortcut": "hello", "text": "again"})
    assert dup["error"]["code"] == "conflict"
    sync = await bob.call("sync", {})
    assert [c["shortcut"] for c in sync["canned"]] == ["hello"]
    assert (await bob.call("canned_delete", {"id": canned[0]["id"]}))["ok"]


# -- security ------------------------------------------------------------------------


async def _refused(url: str, headers: dict[str, str]) -> bool:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        try:
            await sio.connect(
                url,
                namespaces=["/agent"],
                headers=headers,
                transports=["websocket"],
                wait_timeout=5,
            )
        except socketio.exceptions.ConnectionError:
            return True
        await sio.disconnect()
        return False


async def test_agent_namespace_needs_a_valid_session(server: LiveServer) -> None:
    assert await _refused(server.url, {})  # a shopper without a cookie
    assert await _refused(server.url, {"Cookie": "supportbot_session=forged-value"})
    await server.add_agent("ada@shop.example", "Ada")
    cookie = await login(server.url, "ada@shop.example")
    assert cookie
    assert await _refused(
        server.url, {"Cookie": f"supportbot_session={cookie}", "Origin": "https://evil.example"}
    )
    assert not await _refused(server.url, {"Cookie": f"supportbot_session={cookie}"})


async def test_agents_cannot_read_or_write_other_agents_chats(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada")
    client = await shopper()
    cid = await escalate(client)
    await ada.wait_for("assigned")
    eve = await agent("Eve", online=False)
    assert (await eve.call("open", {"conversation_id": cid}))["error"]["code"] == "forbidden"
    assert (await eve.call("send", {"conversation_id": cid, "id": "e1", "text": "hi"}))["error"][
        "code"
    ] == "forbidden"
    assert (await eve.call("resolve", {"conversation_id": cid}))["error"]["code"] == "forbidden"
    assert (await eve.call("open", {"conversation_id": "c_doesnotexist"}))["error"][
        "code"
    ] == "not_found"
    boss = await agent("Boss", role="manager", online=False)
    assert (await boss.call("open", {"conversation_id": cid}))["ok"]
    sync = await boss.call("sync", {})
    assert cid in [c["id"] for c in sync["all_chats"]]
    assert "all_chats" not in await eve.call("sync", {})


async def test_logout_ends_socket_access(server: LiveServer, agent) -> None:
    import aiohttp

    ada = await agent("Ada")
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{server.url}/api/me", headers={"Cookie": f"supportbot_session={ada.cookie}"}
        ) as r:
            me = await r.json()
        # without the CSRF token the logout is refused
        async with http.post(
            f"{server.url}/logout",
            allow_redirects=False,
            headers={"Cookie": f"supportbot_session={ada.cookie}"},
        ) as r:
            assert r.status == 403
        async with http.post(
            f"{server.url}/logout",
            allow_redirects=False,
            headers={
                "Cookie": f"supportbot_session={ada.cookie}",
                "X-CSRF-Token": me["csrf_token"],
            },
        ) as r:
            assert r.status == 303
    # the console's socket is dropped at once: signing out ends live access too
    for _ in range(100):
        if not ada.sio.connected:
            break
        await asyncio.sleep(0.02)
    assert not ada.sio.connected


@pytest.mark.parametrize("email", ["ada@shop.example", "nobody@shop.example"])
async def test_wrong_password_and_unknown_email_look_the_same(
    server: LiveServer, email: str
) -> None:
    import re

    import aiohttp

    await server.add_agent("ada@shop.example", "Ada")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(f"{server.url}/login") as r:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text()).group(1)
            login_cookie = r.cookies["supportbot_login"].value
        async with http.post(
            f"{server.url}/login",
            allow_redirects=False,
            headers={"Cookie": f"supportbot_login={login_cookie}"},
            data={"email": email, "password": "wrong password", "csrf_token": token},
        ) as r:
            assert r.status == 303
            assert r.headers["Location"].startswith("/login?error=1")
            assert "supportbot_session" not in r.cookies


async def test_login_attempts_are_rate_limited(server: LiveServer) -> None:
    await server.add_agent("ada@shop.example", "Ada")
    for _ in range(server.settings.login_attempts):
        assert await login(server.url, "ada@shop.example", "wrong password") is None
    # even the right password is refused while the limit holds
    assert await login(server.url, "ada@shop.example") is None


async def test_successful_sign_ins_do_not_count_against_the_limit(server: LiveServer) -> None:
    await server.add_agent("ada@shop.example", "Ada")
    attempts = server.settings.login_attempts * 4 + 1  # past the per-address limit
    for _ in range(attempts):
        assert await login(server.url, "ada@shop.example")


async def test_a_waiting_chat_cannot_be_transferred(server: LiveServer, shopper, agent) -> None:
    boss = await agent("Boss", role="manager", online=False)
    bob = await agent("Bob", online=False)
    client = await shopper()
    cid = await escalate(client)
    ack = await boss.call("transfer", {"conversation_id": cid, "agent_id": bob.account.id})
    assert ack["error"]["code"] == "conflict"
    rows = await server.query("SELECT status, agent_id FROM conversations WHERE id = ?", cid)
    assert rows == [{"status": "queued", "agent_id": None}]
