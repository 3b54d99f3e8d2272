"""A conversation's life through real socket.io clients: routing that knows who is there,
the bot while a chat waits, agents coming back, races, and access that ends."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from bot.app import AGENTS, BOARD, LIFECYCLE, LIVE
from bot.settings import Settings
from bot.store import accounts

from conftest import Client, LiveServer, ManualClock, ServerFactory, login, make_settings, until

SHOPPER_GRACE = 0.8


@pytest.fixture
def settings(tmp_path: Path, vector_cache: Path) -> Settings:
    return make_settings(
        tmp_path,
        vector_cache,
        sweep_interval=0.1,
        shopper_grace_period=SHOPPER_GRACE,
        agent_grace_period=0.4,
    )


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ManualClock | None:
    """The real clock, unless a test asks for one it advances by hand
    (``@pytest.mark.parametrize("clock", ["manual"], indirect=True)``): then the
    sweeper sweeps and the grace periods pass only when the test says so."""
    return ManualClock() if getattr(request, "param", None) == "manual" else None


@pytest.fixture
async def server(start_server: ServerFactory, clock: ManualClock | None) -> LiveServer:
    return await start_server(clock=clock)


async def all_away(server: LiveServer, *conversation_ids: str) -> bool:
    """Whether the server has seen the shopper of each of these chats go."""
    live = server.app[LIVE]
    return all([await live.shopper_away_since(c) is not None for c in conversation_ids])


async def escalate(client: Client) -> str:
    ack = await client.call("handoff", {})
    assert ack["ok"], ack
    return client.start["conversation"]["id"]


async def status_of(server: LiveServer, cid: str) -> dict[str, Any]:
    rows = await server.query("SELECT status, agent_id FROM conversations WHERE id = ?", cid)
    return rows[0]


async def disconnected(client: Client, timeout: float = 3.0) -> bool:
    for _ in range(int(timeout / 0.02)):
        if not client.sio.connected:
            return True
        await asyncio.sleep(0.02)
    return False


async def settle(server: LiveServer) -> None:
    """Let background moves (dispatch, pushes) finish, then the writer."""
    await asyncio.sleep(0.05)
    await server.app[LIFECYCLE].board.settled()
    await server.db.flush()


# -- 1. routing prefers shoppers who are there ------------------------------------------


@pytest.mark.parametrize("clock", ["manual"], indirect=True)
async def test_shoppers_who_left_never_take_a_seat_and_become_tickets(
    server: LiveServer, shopper, agent, clock: ManualClock
) -> None:
    gone = []
    for _ in range(3):
        client = await shopper()
        gone.append(await escalate(client))
        await client.close()  # the tab is closed
    ada = await agent("Ada", capacity=3)  # comes online with 3 free seats

    # A live shopper who asks now gets a seat at once, and is told no wait.
    live = await shopper()
    live_id = await escalate(live)
    assigned = await ada.wait_for("assigned")
    assert assigned["conversation_id"] == live_id
    status = await live.wait_for("status", lambda s: s["status"] == "assigned")
    assert status["agent"] == {"name": "Ada"}
    assert [a["conversation_id"] for a in ada.of("assigned")] == [live_id]

    # The shoppers who left become offline tickets after the grace period, not seats.
    await until(lambda: all_away(server, *gone))
    await clock.wait_sleeping("sweeper")
    await clock.advance(SHOPPER_GRACE / 2)  # a sweep, within the grace period
    await server.settled(ada)
    assert ada.of("ticket") == []
    assert all([(await status_of(server, cid))["status"] == "queued" for cid in gone])
    await clock.advance(SHOPPER_GRACE / 2)  # a sweep once it is over
    tickets = []
    for _ in gone:
        tickets.append(
            await ada.wait_for(
                "ticket",
                lambda t: (
                    t["conversation_id"] in gone and t["id"] not in [x["id"] for x in tickets]
                ),
                timeout=SHOPPER_GRACE + 3,
            )
        )
    assert {t["conversation_id"] for t in tickets} == set(gone)
    assert all(t["source"] == "left_queue" and t["status"] == "open" for t in tickets)
    for cid in gone:
        assert (await status_of(server, cid)) == {"status": "ticket", "agent_id": None}
    sync = await ada.call("sync", {})
    assert [c["id"] for c in sync["chats"]] == [live_id]
    assert sync["queue"] == [] and sync["tickets_total"] == 3
    assert [a["conversation_id"] for a in ada.of("assigned")] == [live_id]


@pytest.mark.parametrize("clock", ["manual"], indirect=True)
async def test_a_waiting_shopper_who_comes_back_keeps_the_place(
    server: LiveServer, shopper, agent, connect, clock: ManualClock
) -> None:
    client = await shopper()
    cid = await escalate(client)
    token = client.start["token"]
    await client.close()
    await until(lambda: all_away(server, cid))
    await clock.wait_sleeping("sweeper")
    await clock.advance(SHOPPER_GRACE / 3)  # a sweep while the shopper is away
    back = await connect("/chat")
    ack = await back.call("start", {"token": token})
    assert ack["ok"] and ack["status"]["status"] == "queued" and ack["status"]["position"] == 1
    await clock.advance(SHOPPER_GRACE)  # a sweep past the grace period in all
    assert (await status_of(server, cid))["status"] == "queued"
    ada = await agent("Ada")
    assert (await ada.wait_for("assigned"))["conversation_id"] == cid


# -- 2. the bot keeps answering while a chat waits --------------------------------------


async def test_while_queued_every_message_gets_an_answer_or_a_receipt(
    server: LiveServer, shopper
) -> None:
    client = await shopper()
    cid = await escalate(client)  # nobody is online
    known = await client.call("message", {"id": "w1", "text": "how long does delivery take"})
    assert known["ok"] and known["message"]["receipt"] is None
    answer = await client.wait_for(
        "message", lambda m: m["author"] == "bot" and m["entry_id"] == "delivery-time"
    )
    assert answer["feedback"] is True
    unknown = await client.call("message", {"id": "w2", "text": "zxq blorp frobnicate"})
    assert unknown["ok"] and unknown["message"]["receipt"] == "person"
    shouted = await client.call("message", {"id": "w3", "text": "WHERE IS MY ORDER???"})
    assert shouted["ok"]
    if shouted["message"]["receipt"] is None:  # answered from the knowledge base
        await client.wait_for(
            "message", lambda m: m["author"] == "bot" and m["id"] > shouted["message"]["id"]
        )
    # still waiting for a person, in the same place
    assert (await status_of(server, cid))["status"] == "queued"
    assert len(await server.events("escalation.requested", cid)) == 1


# -- 3. an agent who signs in again gets chats at once, live shoppers first ----------------


async def test_an_agent_signing_in_again_gets_live_chats_first_at_once(
    server: LiveServer, shopper, agent, connect
) -> None:
    ada = await agent("Ada", capacity=2)  # status online is saved with the account
    assert (await server.query("SELECT status FROM agents WHERE id = ?", ada.account.id)) == [
        {"status": "online"}
    ]
    await ada.close()
    await asyncio.sleep(0.5)  # past the agent's grace period: nothing to keep
    # The oldest waiting chat's shopper left; two others are on the page.
    old = await shopper()
    old_id = await escalate(old)
    await old.close()
    first, second = await shopper(), await shopper()
    first_id, second_id = await escalate(first), await escalate(second)

    cookie = await login(server.url, ada.account.email)
    started = asyncio.get_running_loop().time()
    again = await connect("/agent", headers={"Cookie": f"supportbot_session={cookie}"})
    one = await again.wait_for("assigned", timeout=2)
    two = await again.wait_for(
        "assigned", lambda a: a["conversation_id"] != one["conversation_id"], timeout=2
    )
    took = asyncio.get_running_loop().time() - started
    assert {one["conversation_id"], two["conversation_id"]} == {first_id, second_id}
    assert took < 1.5
    assert (await status_of(server, old_id))["status"] in ("queued", "ticket")


async def test_going_online_and_freeing_a_seat_assign_at_once(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada", capacity=1, online=False)
    a, b = await shopper(), await shopper()
    a_id, b_id = await escalate(a), await escalate(b)
    assert (await ada.call("status", {"status": "online"}))["ok"]
    assert (await ada.wait_for("assigned", timeout=2))["conversation_id"] == a_id
    assert (await ada.call("resolve", {"conversation_id": a_id}))["ok"]
    assert (await ada.wait_for("assigned", lambda x: x["conversation_id"] == b_id, timeout=2))[
        "by"
    ] == "auto"


# -- 7. races: every status change goes through one transition --------------------------


@pytest.mark.parametrize("clock", ["manual"], indirect=True)  # no sweeps pushing meanwhile
async def test_a_queue_push_that_began_before_an_assignment_never_undoes_it(
    server: LiveServer, shopper, agent
) -> None:
    """The place-in-queue push reads the queue, then the cards, then tells each waiting
    shopper. An assignment that lands in between is told at once; the push, finishing
    later, must not send that shopper "queued" again (the widget would show the queue
    with an agent already in the chat)."""
    board = server.app[BOARD]
    ada = await agent("Ada", online=False)
    client = await shopper()
    cid = await escalate(client)
    await server.settled(client)
    cards_read, go_on = asyncio.Event(), asyncio.Event()
    real_cards_for = board.cards.cards_for

    async def slow_cards_for(ids: list[str]) -> list[dict[str, Any]]:
        if ids == [cid] and not cards_read.is_set():
            cards_read.set()
            await go_on.wait()  # the push is held after it read the queue
        return await real_cards_for(ids)

    board.cards.cards_for = slow_cards_for
    try:
        board.changed()
        await asyncio.wait_for(cards_read.wait(), 5)
        assert (await ada.call("status", {"status": "online"}))["ok"]
        await client.wait_for("status", lambda s: s["status"] == "assigned", timeout=5)
        go_on.set()
        await server.settled(client)
    finally:
        board.cards.cards_for = real_cards_for
    last = client.of("status")[-1]
    assert last["status"] == "assigned" and last["agent"]["name"] == "Ada", last


async def test_take_and_end_at_once_never_leave_an_agent_on_a_closed_chat(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada", capacity=50, online=False)
    for n in range(12):
        client = await shopper()
        cid = await escalate(client)
        calls = [ada.call("take", {"conversation_id": cid}), client.call("end", {})]
        if n % 2:
            calls.reverse()
        await asyncio.gather(*calls)
        await settle(server)
        assert (await status_of(server, cid)) == {"status": "closed", "agent_id": None}
    sync = await ada.call("sync", {})
    assert sync["chats"] == [] and sync["queue"] == []


async def test_transfer_resolve_requeue_and_close_race_safely(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada", capacity=20)
    bob = await agent("Bob", capacity=20, online=False)
    lifecycle = server.app[LIFECYCLE]
    rounds = 10
    for n in range(rounds):
        client = await shopper()
        cid = await escalate(client)
        await ada.wait_for("assigned", lambda a, cid=cid: a["conversation_id"] == cid)
        moves = [
            ada.call("transfer", {"conversation_id": cid, "agent_id": bob.account.id}),
            client.call("end", {}),
            lifecycle.requeue(cid, ada.account.id, "agent disconnected"),
        ]
        random.Random(n).shuffle(moves)
        await asyncio.gather(*moves)
        await settle(server)
        row = await status_of(server, cid)
        assert row == {"status": "closed", "agent_id": None}, (n, row)
        assert await lifecycle.live.owner(cid) is None
        assert not await lifecycle.live.queued(cid)
    # nobody holds a closed chat: the consoles agree with the database
    assert (await ada.call("sync", {}))["chats"] == []
    assert (await bob.call("sync", {}))["chats"] == []


async def test_a_stale_requeue_never_reopens_a_closed_chat(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada")
    client = await shopper()
    cid = await escalate(client)
    await ada.wait_for("assigned")
    assert (await client.call("end", {}))["ok"]
    assert not await server.app[LIFECYCLE].requeue(cid, ada.account.id, "agent disconnected")
    assert (await status_of(server, cid)) == {"status": "closed", "agent_id": None}
    assert not await server.events("chat.requeued", cid)


# -- 8. access ends when it is revoked ----------------------------------------------------


async def test_a_disabled_agent_is_dropped_and_gets_no_chats(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada")
    bob = await agent("Bob", online=False)
    client = await shopper()
    cid = await escalate(client)
    await ada.wait_for("assigned")
    # The command line disables the account: it writes the database directly.
    await server.db.write(lambda conn: accounts.set_disabled(conn, ada.account.email))
    assert await disconnected(ada, timeout=3)
    # Ada's chat is back in the queue at once and goes to the next agent who comes online.
    row = await status_of(server, cid)
    assert row == {"status": "queued", "agent_id": None}
    assert (await bob.call("status", {"status": "online"}))["ok"]
    assert (await bob.wait_for("assigned"))["conversation_id"] == cid
    # A new chat never goes to Ada.
    other = await shopper()
    await escalate(other)
    assert await bob.wait_for("assigned", lambda a: a["conversation_id"] != cid)
    revoked = await server.events("agent.revoked")
    assert [e["agent_id"] for e in revoked] == [ada.account.id]


async def test_signing_out_drops_the_socket_and_requeues_at_once(
    server: LiveServer, shopper, agent
) -> None:
    import aiohttp

    ada = await agent("Ada")
    client = await shopper()
    cid = await escalate(client)
    await ada.wait_for("assigned")
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{server.url}/api/me", headers={"Cookie": f"supportbot_session={ada.cookie}"}
        ) as r:
            me = await r.json()
        async with http.post(
            f"{server.url}/logout",
            allow_redirects=False,
            headers={
                "Cookie": f"supportbot_session={ada.cookie}",
                "X-CSRF-Token": me["csrf_token"],
            },
        ) as r:
            assert r.status == 303
    assert await disconnected(ada, timeout=1)
    assert (await status_of(server, cid)) == {"status": "queued", "agent_id": None}
    assert server.app[AGENTS].live is not None
    assert await server.app[LIFECYCLE].live.agent(ada.account.id) is None


async def test_an_agent_who_lost_a_chat_stops_hearing_it(
    server: LiveServer, shopper, agent
) -> None:
    ada = await agent("Ada", online=False)
    bob = await agent("Bob", online=False)
    cara = await agent("Cara", online=False)
    client = await shopper()
    cid = await escalate(client)
    # Ada and Bob read the waiting chat; Bob takes it: Ada stops getting its messages.
    assert (await ada.call("open", {"conversation_id": cid}))["ok"]
    assert (await bob.call("take", {"conversation_id": cid}))["ok"]
    await client.call("message", {"id": "s1", "text": "hello Bob"})
    await bob.wait_for("message", lambda m: m.get("client_id") == "s1")
    # Bob transfers it to Cara: Bob stops hearing it (messages, typing, notes).
    await cara.call("status", {"status": "online"})
    assert (await bob.call("transfer", {"conversation_id": cid, "agent_id": cara.account.id}))["ok"]
    assert (await cara.call("open", {"conversation_id": cid}))["ok"]
    await client.call("typing", {"typing": True, "preview": "secret"})
    await client.call("message", {"id": "s2", "text": "my address is 1 Via Roma"})
    assert (await cara.call("note", {"conversation_id": cid, "id": "n1", "text": "VIP"}))["ok"]
    await cara.wait_for("message", lambda m: m.get("client_id") == "s2")
    # A round trip on each socket after all of the above: anything sent to it before
    # has arrived by the time its ack does.
    assert (await bob.call("sync", {}))["ok"] and (await ada.call("sync", {}))["ok"]
    heard_ada = [m for m in ada.of("message") if m["conversation_id"] == cid]
    heard_bob = [m for m in bob.of("message") if m["conversation_id"] == cid]
    assert heard_ada == []
    assert [m.get("client_id") for m in heard_bob if m["author"] == "shopper"] == ["s1"]
    assert not [t for t in bob.of("typing") if t.get("preview") == "secret"]
    assert not [m for m in bob.of("message") if m.get("kind") == "note"]


async def test_client_ids_are_scoped_per_author(server: LiveServer, shopper, agent) -> None:
    ada = await agent("Ada")
    client = await shopper()
    cid = await escalate(client)
    await ada.wait_for("assigned")
    note = await ada.call("note", {"conversation_id": cid, "id": "same-id", "text": "internal"})
    assert note["ok"]
    ack = await client.call("message", {"id": "same-id", "text": "my own words"})
    assert ack["ok"] and ack["duplicate"] is False
    assert ack["message"]["text"] == "my own words" and ack["message"]["author"] == "shopper"
    again = await client.call("message", {"id": "same-id", "text": "resent"})
    assert again["duplicate"] is True and again["message"]["text"] == "my own words"


# -- 9. the console is pushed what changed ---------------------------------------------------


async def test_watchers_get_the_mood_and_managers_the_chats_as_they_change(
    server: LiveServer, shopper, agent
) -> None:
    maria = await agent("Maria", role="manager", online=False)
    ada = await agent("Ada")
    client = await shopper()
    cid = await escalate(client)
    await ada.wait_for("assigned")
    added = await maria.wait_for("all_chats", lambda c: any(x["id"] == cid for x in c["upsert"]))
    assert added["upsert"][0]["agent"]["name"] == "Ada"
    assert (await ada.call("open", {"conversation_id": cid}))["ok"]
    await client.call("message", {"id": "m1", "text": "this is ridiculous, terrible service!!"})
    card = await ada.wait_for("card", lambda c: c["id"] == cid and c["mood"] < 0)
    assert card["status"] == "assigned" and card["reasons"] == ["asks for a person"]
    assert (await ada.call("resolve", {"conversation_id": cid}))["ok"]
    removed = await maria.wait_for("all_chats", lambda c: cid in c["remove"])
    assert removed["upsert"] == []
