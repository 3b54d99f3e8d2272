"""CSAT after every chat: one rating per conversation, updates, the window, bad input, NPS."""

from __future__ import annotations

import asyncio
import json

from conftest import Client, LiveServer


async def ended(shopper) -> Client:
    client = await shopper()
    assert (await client.call("end", {}))["ok"]
    await client.wait_for("csat_request")
    return client


async def csat_rows(server: LiveServer, conversation_id: str) -> list[dict]:
    return await server.query(
        "SELECT rating, comment, bot_only, agent_id, language FROM csat WHERE conversation_id = ?",
        conversation_id,
    )


async def test_bad_ratings_are_refused_and_nothing_is_stored(server: LiveServer, shopper) -> None:
    client = await ended(shopper)
    cid = client.start["conversation"]["id"]
    for payload in (
        {"rating": 0},
        {"rating": 6},
        {"rating": 4.5},
        {"rating": "5"},
        {"rating": True},
        {"rating": None},
        {},
        {"rating": -1},
    ):
        ack = await client.call("csat", payload)
        assert ack["error"]["code"] == "invalid_rating", payload
    ack = await client.call("csat", {"rating": 5, "comment": "x" * 1001})
    assert ack["error"]["code"] == "invalid_rating"
    ack = await client.call("csat", {"rating": 5, "comment": ["not", "text"]})
    assert ack["error"]["code"] == "invalid_rating"
    # the survey was asked (row exists) but no rating was stored
    assert await csat_rows(server, cid) == [
        {"rating": None, "comment": None, "bot_only": 1, "agent_id": None, "language": "en"}
    ]
    assert await server.events("csat.given", cid) == []


async def test_one_rating_per_chat_a_second_one_updates_it(server: LiveServer, shopper) -> None:
    client = await ended(shopper)
    cid = client.start["conversation"]["id"]
    first = await client.call("csat", {"rating": 2, "comment": "slow"})
    assert first["ok"] and first["csat"]["rating"] == 2
    second = await client.call("csat", {"rating": 4, "comment": "  "})
    assert second["ok"] and second["csat"]["rating"] == 4 and second["csat"]["comment"] is None
    assert second["csat"]["given_at"] == first["csat"]["given_at"]
    assert await csat_rows(server, cid) == [
        {"rating": 4, "comment": None, "bot_only": 1, "agent_id": None, "language": "en"}
    ]
    given = await server.events("csat.given", cid)
    updated = await server.events("csat.updated", cid)
    assert len(given) == 1 and len(updated) == 1
    assert json.loads(updated[0]["properties"]) == {
        "rating": 4,
        "previous": 2,
        "has_comment": False,
    }


async def test_the_rating_window_closes(start_server, connect) -> None:
    server = await start_server(csat_window=0.5)
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    await client.call("end", {})
    assert (await client.call("csat", {"rating": 3}))["ok"]
    await asyncio.sleep(0.7)
    late = await client.call("csat", {"rating": 5})
    assert late["error"]["code"] == "rating_window_closed"
    rows = await server.query("SELECT rating FROM csat")
    assert rows == [{"rating": 3}]


async def test_only_ones_own_conversation_can_be_rated(server: LiveServer, shopper) -> None:
    victim = await ended(shopper)
    attacker = await ended(shopper)
    ack = await attacker.call(
        "csat", {"rating": 1, "conversation_id": victim.start["conversation"]["id"]}
    )
    assert ack["error"]["code"] == "forbidden"
    assert await server.query("SELECT rating FROM csat WHERE rating IS NOT NULL") == []


async def test_a_shopper_coming_back_to_an_unrated_chat_is_asked_again(
    server: LiveServer, shopper, connect
) -> None:
    client = await ended(shopper)
    await client.close()
    again = await connect("/chat")
    ack = await again.call("start", {"token": client.start["token"]})
    assert ack["conversation"]["status"] == "closed" and ack["conversation"]["csat_open"] is True
    await again.wait_for("csat_request")
    assert (await again.call("csat", {"rating": 5}))["ok"]
    assert len(await server.events("csat.asked", client.start["conversation"]["id"])) == 1


async def test_nps_when_enabled(start_server, connect) -> None:
    server = await start_server(nps_enabled=True)
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    await client.call("end", {})
    request = await client.wait_for("csat_request")
    assert request["nps"] is True
    assert (await client.call("csat", {"rating": 5}))["ok"]
    assert (await client.call("nps", {"score": 11}))["error"]["code"] == "invalid_rating"
    assert (await client.call("nps", {"score": 9}))["ok"]
    assert await server.query("SELECT rating, nps FROM csat") == [{"rating": 5, "nps": 9}]


async def test_nps_is_refused_when_disabled(shopper) -> None:
    client = await ended(shopper)
    assert (await client.call("nps", {"score": 9}))["error"]["code"] == "invalid_payload"
