"""The shopper protocol end to end: a real server, real socket.io clients, a real SQLite file."""

from __future__ import annotations

import asyncio
import uuid

from bot.app import Preloaded
from bot.settings import Settings

from conftest import Client, LiveServer


def mid() -> str:
    return uuid.uuid4().hex


async def test_start_greets_and_gives_a_resume_token(server: LiveServer, shopper) -> None:
    client: Client = await shopper()
    ack = client.start
    assert ack["resumed"] is False
    assert len(ack["token"]) == 43  # 32 random bytes, URL-safe base64
    conversation = ack["conversation"]
    assert conversation["status"] == "bot"
    assert [m["author"] for m in ack["messages"]] == ["bot"]
    assert ack["messages"][0]["text"]
    rows = await server.query(
        "SELECT token_hash FROM conversations WHERE id = ?", conversation["id"]
    )
    assert rows and ack["token"] not in rows[0]["token_hash"]  # only a hash is stored
    started = await server.events("chat.started", conversation["id"])
    assert len(started) == 1 and started[0]["actor"] == "shopper"


async def test_message_is_acked_after_commit_and_the_bot_replies(
    server: LiveServer, shopper
) -> None:
    client = await shopper()
    cid = client.start["conversation"]["id"]
    ack = await client.call("message", {"id": "m1", "text": "how long does delivery take?"})
    assert ack["ok"] and ack["duplicate"] is False
    assert ack["message"]["author"] == "shopper" and ack["message"]["client_id"] == "m1"
    # Acked means committed: a fresh read sees it.
    rows = await server.query(
        "SELECT text FROM messages WHERE conversation_id = ? AND client_id = 'm1'", cid
    )
    assert rows == [{"text": "how long does delivery take?"}]
    reply = await client.wait_for("message", lambda m: m["author"] == "bot")
    assert reply["entry_id"] and reply["feedback"] is True
    replied = await server.events("bot.reply", cid)
    assert replied and replied[0]["properties"]
    received = await server.events("message.received", cid)
    assert len(received) == 1


async def test_a_resent_message_is_stored_once(server: LiveServer, shopper) -> None:
    client = await shopper()
    cid = client.start["conversation"]["id"]
    first = await client.call("message", {"id": "same-id", "text": "hello there"})
    again = await client.call("message", {"id": "same-id", "text": "hello there"})
    assert first["ok"] and again["ok"]
    assert again["duplicate"] is True and again["message"]["id"] == first["message"]["id"]
    rows = await server.query(
        "SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND author = 'shopper'", cid
    )
    assert rows[0]["n"] == 1
    await server.settled()
    assert len(await server.events("message.received", cid)) == 1


async def test_resume_returns_the_same_conversation_and_transcript(
    server: LiveServer, shopper, connect
) -> None:
    first = await shopper()
    token = first.start["token"]
    await first.call("message", {"id": mid(), "text": "<b>bold</b> & <script>alert(1)</script>"})
    await first.wait_for("message", lambda m: m["author"] == "bot")
    await first.close()

    again = await connect("/chat")
    ack = await again.call("start", {"token": token})
    assert ack["ok"] and ack["resumed"] is True
    assert ack["conversation"]["id"] == first.start["conversation"]["id"]
    texts = [m["text"] for m in ack["messages"]]
    assert "<b>bold</b> & <script>alert(1)</script>" in texts  # stored exactly as sent
    assert [m["author"] for m in ack["messages"]][:3] == ["bot", "shopper", "bot"]
    assert len(await server.events("chat.resumed", ack["conversation"]["id"])) == 1


async def test_forged_or_malformed_tokens_reveal_nothing(
    server: LiveServer, shopper, connect
) -> None:
    victim = await shopper()
    await victim.call("message", {"id": mid(), "text": "my secret address"})
    client = await connect("/chat")
    forged = victim.start["token"][:-1] + ("A" if victim.start["token"][-1] != "A" else "B")
    for token in (forged, "short", 12345, "x" * 5000, "", {"a": 1}):
        ack = await client.call("start", {"token": token})
        assert ack == {
            "ok": False,
            "error": {"code": "invalid_token", "message": ack["error"]["message"]},
        }
        assert "secret" not in str(ack)
    # Still usable: start a fresh conversation on the same connection.
    fresh = await client.call("start", {})
    assert fresh["ok"] and fresh["conversation"]["id"] != victim.start["conversation"]["id"]


async def test_bad_messages_get_clear_errors_and_the_connection_stays_usable(
    server: LiveServer, shopper, connect
) -> None:
    early = await connect("/chat")
    ack = await early.call("message", {"id": "x", "text": "hi"})
    assert ack["error"]["code"] == "no_conversation"

    client = await shopper()
    cid = client.start["conversation"]["id"]
    cases = [
        ({"id": "a1", "text": 42}, "invalid_text"),
        ({"id": "a2"}, "invalid_text"),
        ({"id": "a3", "text": None}, "invalid_text"),
        ({"id": "a4", "text": ""}, "empty_text"),
        ({"id": "a5", "text": " \n\t "}, "empty_text"),
        ({"id": "a6", "text": "x" * 2001}, "text_too_long"),
        ({"text": "no id"}, "invalid_id"),
        ({"id": "bad id!", "text": "x"}, "invalid_id"),
        ({"id": "y" * 65, "text": "x"}, "invalid_id"),
        (["not", "an", "object"], "invalid_payload"),
        ("a string", "invalid_payload"),
        (17, "invalid_payload"),
    ]
    for payload, code in cases:
        ack = await client.call("message", payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (payload, ack)
        assert ack["error"]["message"]
    ok = await client.call("message", {"id": "fine", "text": "x" * 2000})
    assert ok["ok"]
    rows = await server.query(
        "SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND author = 'shopper'", cid
    )
    assert rows[0]["n"] == 1


async def test_unknown_events_are_refused_by_ack_or_error_event(shopper) -> None:
    client = await shopper()
    ack = await client.call("launch_missiles", {"now": True})
    assert ack["error"]["code"] == "unknown_event"
    await client.emit("launch_missiles", {"now": True})  # no callback: an error event instead
    error = await client.wait_for("error")
    assert error["code"] == "unknown_event" and error["event"] == "launch_missiles"
    await client.emit("message", {"id": "e1", "text": ""})
    error = await client.wait_for("error", lambda e: e["event"] == "message")
    assert error["code"] == "empty_text"
    assert (await client.call("message", {"id": "e2", "text": "still here"}))["ok"]


async def test_reserved_event_names_sent_by_a_client_are_refused(shopper) -> None:
    # "disconnect" or "connect" in a client's payload must not run the server's own
    # handlers (which would forget the shopper's conversation).
    client = await shopper()
    for name in ("disconnect", "connect", "connect_error"):
        ack = await client.call(name, {"reason": "forged"})
        assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", (name, ack)
    assert (await client.call("message", {"id": "after", "text": "how long does delivery take"}))[
        "ok"
    ]


async def test_a_flood_is_refused_with_retry_after(start_server, connect) -> None:
    server = await start_server(rate_limit_messages=5, rate_limit_window=1.0)
    client = await connect("/chat", url=server.url)
    assert (await client.call("start", {}))["ok"]
    # Sent together (counted as they arrive, however long the first answers take).
    acks = await asyncio.gather(
        *(client.call("message", {"id": f"f{i}", "text": f"message {i}"}) for i in range(8))
    )
    assert sorted(a["ok"] for a in acks) == [False] * 3 + [True] * 5
    refused = next(a for a in acks if not a["ok"])["error"]
    assert refused["code"] == "rate_limited" and 0 < refused["retry_after"] <= 1.0
    await asyncio.sleep(refused["retry_after"] + 0.05)
    assert (await client.call("message", {"id": "f-after", "text": "calm again"}))["ok"]
    rows = await server.query("SELECT count(*) AS n FROM messages WHERE author = 'shopper'")
    assert rows[0]["n"] == 6


async def test_ending_a_chat_asks_for_csat_and_closes_it(server: LiveServer, shopper) -> None:
    client = await shopper()
    cid = client.start["conversation"]["id"]
    assert (await client.call("csat", {"rating": 5}))["error"]["code"] == "conversation_open"
    assert (await client.call("end", {}))["ok"]
    ended = await client.wait_for("ended")
    assert ended["by"] == "shopper"
    request = await client.wait_for("csat_request")
    assert request["scale"] == {
        "1": "Very dissatisfied",
        "2": "Dissatisfied",
        "3": "Neutral",
        "4": "Satisfied",
        "5": "Very satisfied",
    }
    closed = await client.call("message", {"id": mid(), "text": "hello?"})
    assert closed["error"]["code"] == "conversation_closed"
    rows = await server.query("SELECT status, closed_by FROM conversations WHERE id = ?", cid)
    assert rows == [{"status": "closed", "closed_by": "shopper"}]
    types = [e["type"] for e in await server.events(conversation_id=cid)]
    assert "chat.ended" in types and "csat.asked" in types


async def test_inactive_chats_end_by_timeout(start_server, connect) -> None:
    server = await start_server(inactivity_timeout=0.5)
    client = await connect("/chat", url=server.url)
    ack = await client.call("start", {})
    ended = await client.wait_for("ended", timeout=5)
    assert ended == {"by": "timeout", "reason": "inactivity"}
    await client.wait_for("csat_request")
    rows = await server.query(
        "SELECT status, closed_by FROM conversations WHERE id = ?", ack["conversation"]["id"]
    )
    assert rows == [{"status": "closed", "closed_by": "timeout"}]


async def test_conversations_survive_a_server_restart(
    aiohttp_server, settings: Settings, preloaded: Preloaded
) -> None:
    import socketio

    from bot.app import create_app

    first = await aiohttp_server(create_app(settings, preloaded), host="127.0.0.1")
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(str(first.make_url("")), namespaces=["/chat"], transports=["websocket"])
    start = await sio.call("start", {}, namespace="/chat")
    await sio.call(
        "message", {"id": "before", "text": "hello before the restart"}, namespace="/chat"
    )
    await sio.disconnect()
    await first.close()

    second = await aiohttp_server(create_app(settings, preloaded), host="127.0.0.1")
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(str(second.make_url("")), namespaces=["/chat"], transports=["websocket"])
    again = await sio.call("start", {"token": start["token"]}, namespace="/chat")
    await sio.disconnect()
    assert again["ok"] and again["conversation"]["id"] == start["conversation"]["id"]
    assert "hello before the restart" in [m["text"] for m in again["messages"]]


async def test_other_tabs_see_the_shoppers_messages(shopper, connect) -> None:
    tab1 = await shopper()
    tab2 = await connect("/chat")
    assert (await tab2.call("start", {"token": tab1.start["token"]}))["ok"]
    await tab1.call("message", {"id": "tab-msg", "text": "hello from tab one"})
    seen = await tab2.wait_for("message", lambda m: m["author"] == "shopper")
    assert seen["client_id"] == "tab-msg"
    await tab2.wait_for("message", lambda m: m["author"] == "bot")
    assert not [
        m for m in tab1.of("message") if m["author"] == "shopper"
    ]  # not echoed to the sender


async def test_a_new_chat_on_the_same_connection_leaves_the_old_one(
    server: LiveServer, shopper, connect
) -> None:
    client = await shopper()
    old = client.start
    fresh = await client.call("start", {})
    assert fresh["ok"] and fresh["conversation"]["id"] != old["conversation"]["id"]
    other_tab = await connect("/chat")
    assert (await other_tab.call("start", {"token": old["token"]}))["ok"]
    await other_tab.call("message", {"id": "old-chat", "text": "hello in the old chat"})
    await other_tab.wait_for("message", lambda m: m["author"] == "bot")
    await server.settled(client)
    assert not [
        m for m in client.of("message") if m["conversation_id"] == old["conversation"]["id"]
    ]


async def test_start_reports_the_hand_off_status(shopper, connect) -> None:
    client = await shopper()
    assert client.start["status"]["status"] == "bot"
    await client.call("handoff", {})
    again = await connect("/chat")
    ack = await again.call("start", {"token": client.start["token"]})
    assert ack["status"]["status"] == "queued" and ack["status"]["position"] == 1


async def test_a_closed_connection_leaves_every_room_and_the_others_stay(
    server: LiveServer, shopper, connect
) -> None:
    from bot.app import CHAT, SIO

    manager = server.app[SIO].manager
    assert server.app[CHAT].fanout._local  # an in-process manager: empty rooms are skipped
    tab1 = await shopper()
    tab2 = await connect("/chat")
    assert (await tab2.call("start", {"token": tab1.start["token"]}))["ok"]
    other = await shopper()
    sid1, sid2, sid3 = (c.sio.get_sid("/chat") for c in (tab1, tab2, other))
    rooms = manager.rooms["/chat"]
    conversation = next(
        r
        for r in rooms
        if r not in (None, sid1, sid2, sid3) and sid1 in rooms[r] and sid2 in rooms[r]
    )
    assert sorted(manager.get_rooms(sid2, "/chat")) == sorted([sid2, conversation])

    await tab2.close()
    await other.close()
    for _ in range(100):
        if set(manager.rooms["/chat"][None]) == {sid1}:
            break
        await asyncio.sleep(0.02)
    assert {r: set(m) for r, m in manager.rooms["/chat"].items()} == {
        None: {sid1},
        sid1: {sid1},
        conversation: {sid1},
    }
    assert manager.get_rooms(sid2, "/chat") == []
    assert {sid for ns, sid in manager._joined if ns == "/chat"} == {sid1}  # nothing kept
    # the tab left behind still gets its conversation's messages
    tab3 = await connect("/chat")
    assert (await tab3.call("start", {"token": tab1.start["token"]}))["ok"]
    await tab3.call("message", {"id": "after-close", "text": "still there?"})
    assert await tab1.wait_for("message", lambda m: m["client_id"] == "after-close")


async def test_replies_ride_in_the_ack_for_clients_that_ask(shopper, connect, agent) -> None:
    """Protocol 2: the bot's replies come in the message's ack and are not sent to that
    connection again; the shopper's other tabs (protocol 1 here) and the agents watching
    still get them as events. Typing goes without an ack."""
    tab1 = await shopper(replies_in_ack=True)
    cid = tab1.start["conversation"]["id"]
    tab2 = await connect("/chat")
    assert (await tab2.call("start", {"token": tab1.start["token"]}))["ok"]

    ack = await tab1.call("message", {"id": "p2-1", "text": "how long does delivery take?"})
    assert ack["ok"] and ack["duplicate"] is False
    replies = ack["replies"]
    assert [r["author"] for r in replies] == ["bot"] and replies[0]["entry_id"]
    assert replies[0]["id"] > ack["message"]["id"]
    seen = await tab2.wait_for("message", lambda m: m["author"] == "bot")
    assert seen["id"] == replies[0]["id"]
    # Nothing else comes to tab1: a later event of its own (the sentinel) arrives first.
    await tab2.call("message", {"id": "p2-sentinel", "text": "thanks"})
    await tab1.wait_for("message", lambda m: m["client_id"] == "p2-sentinel")
    assert replies[0]["id"] not in [m["id"] for m in tab1.of("message")]
    assert [m["author"] for m in tab1.of("message")][:1] == ["shopper"]  # tab2's, then its reply

    # A resent message: the same stored message, no replies again.
    again = await tab1.call("message", {"id": "p2-1", "text": "how long does delivery take?"})
    assert again["duplicate"] is True and again["replies"] == []

    # Asking for a person: the hand-off notice is a reply in the ack.
    handoff = await tab1.call("message", {"id": "p2-2", "text": "I want to talk to a human"})
    assert handoff["ok"] and handoff["replies"] and handoff["replies"][-1]["author"] != "shopper"
    ada = await agent("Ada")
    await ada.wait_for("assigned", lambda a: a["conversation_id"] == cid)
    assert (await ada.call("open", {"conversation_id": cid}))["ok"]
    # typing without an ack reaches the agent
    await tab1.emit("typing", {"typing": True, "preview": "where is"})
    typing = await ada.wait_for("typing", lambda t: t["author"] == "shopper")
    assert typing["typing"] is True and typing["preview"] == "where is"


async def test_clients_that_do_not_ask_get_replies_as_events(shopper) -> None:
    client = await shopper()
    ack = await client.call("message", {"id": "p1-1", "text": "how long does delivery take?"})
    assert ack["ok"] and "replies" not in ack
    await client.wait_for("message", lambda m: m["author"] == "bot")
