"""What the widget and the console learn from the server so that they can speak the
shopper's language and show what matters: the conversation's language, limits,
office hours and reply time, "seen", ratings, capacity, mood labels, visitor names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.hours import OfficeHours
from bot.mood.scale import MoodScale
from bot.routing.visitors import alias

from conftest import Client, LiveServer, login

ITALIAN = "Buongiorno, quanto costa la spedizione in Italia per favore?"


async def test_the_status_says_the_conversations_language_as_it_changes(
    server: LiveServer, shopper
) -> None:
    client: Client = await shopper(lang="auto", page_lang="en")
    assert client.start["conversation"]["language"] == "en"
    assert client.start["status"]["language"] == "en"
    assert (await client.call("message", {"id": "m-1", "text": ITALIAN}))["ok"]
    status = await client.wait_for("status", lambda s: s["language"] == "it")
    assert status["status"] == "bot"
    # the CSAT question comes in Italian too
    assert (await client.call("end", {}))["ok"]
    request = await client.wait_for("csat_request")
    assert request["language"] == "it"
    assert request["scale"]["1"] == "Molto insoddisfatto"
    assert request["scale"]["5"] == "Molto soddisfatto"
    assert request["nps_labels"] == ["Per niente", "Molto probabile"]


async def test_polish_labels_and_english_by_default(server: LiveServer, shopper) -> None:
    client: Client = await shopper(lang="pl")
    assert (await client.call("end", {}))["ok"]
    request = await client.wait_for("csat_request")
    assert request["language"] == "pl" and request["scale"]["4"] == "Zadowolony"


async def test_the_start_ack_carries_the_limits(start_server, connect) -> None:
    server = await start_server(max_message_length=120, upload_max_bytes=1000, upload_max_files=3)
    client = await connect("/chat", url=server.url)
    ack = await client.call("start", {"lang": "en"})
    assert ack["limits"] == {
        "text": 120,
        "comment": 1000,
        "upload_bytes": 1000,
        "upload_files": 3,
        "upload_types": ["image/gif", "image/jpeg", "image/png", "image/webp"],
    }
    assert ack["seen"] is None and ack["hours"] is None
    assert ack["status"]["open_now"] is None and ack["status"]["next_open"] is None
    too_long = await client.call("message", {"id": "x", "text": "a" * 121})
    assert too_long["error"]["code"] == "text_too_long"


async def test_office_hours_and_the_typical_reply_time(start_server, connect) -> None:
    # closed all week except one minute long past: always closed now, back next week
    hours = "sun 00:00-00:01"
    server = await start_server(office_hours=hours, timezone="Europe/Rome", reply_time=300)
    client = await connect("/chat", url=server.url)
    ack = await client.call("start", {"lang": "en"})
    assert ack["hours"] == {"timezone": "Europe/Rome", "week": [[6, "00:00", "00:01"]]}
    status = ack["status"]
    assert status["reply_time"] == 300
    expected = OfficeHours.parse(hours, "Europe/Rome").next_open(datetime.now(UTC))
    assert status["open_now"] is False and expected is not None
    assert status["next_open"] == expected.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    handed = await client.call("handoff", {})
    assert handed["status"]["agents_online"] is False and handed["status"]["next_open"]


async def test_the_reply_time_is_measured_when_not_set(server: LiveServer, shopper, agent) -> None:
    await server.db.write(
        lambda c: c.execute(
            "INSERT INTO conversations (id, token_hash, status, language, created_at, updated_at, "
            "escalated_at, first_agent_reply_at) VALUES ('old', 'h', 'closed', 'en', "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour'), "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour'), "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour'), "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour', '+90 seconds'))"
        )
    )
    client: Client = await shopper(lang="en")
    assert client.start["status"]["reply_time"] == 90


def test_office_hours_parse_and_say_when_the_team_is_back() -> None:
    hours = OfficeHours.parse("mon-fri 09:00-18:00; sat 10:00-13:00", "Europe/Rome")
    friday_evening = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)  # 19:30 in Rome
    assert not hours.is_open(friday_evening)
    assert hours.next_open(friday_evening) == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert hours.is_open(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # Monday 09:00 in Rome
    assert hours.public()[0] == [0, "09:00", "18:00"] and len(hours.public()) == 6
    weekend = OfficeHours.parse("sat-mon 00:00-24:00")
    assert [s.day for s in weekend.spans] == [0, 5, 6]
    assert OfficeHours.parse("").next_open(friday_evening) is None
    for bad, zone in (
        ("mon 9-17", "UTC"),
        ("funday 09:00-10:00", "UTC"),
        ("mon 18:00-09:00", "UTC"),
        ("mon 09:00-25:00", "UTC"),
        ("mon 09:00-10:00", "Mars/Olympus"),
    ):
        with pytest.raises(ValueError):
            OfficeHours.parse(bad, zone)


async def test_seen_reaches_the_shopper_once_the_agent_has_seen_it(
    server: LiveServer, shopper, agent
) -> None:
    ada: Client = await agent("Ada")
    bob: Client = await agent("Bob", online=False)
    client: Client = await shopper(lang="en")
    cid = client.start["conversation"]["id"]
    assert (await client.call("handoff", {}))["ok"]
    await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid)
    sent = await client.call("message", {"id": "s-1", "text": "My parcel is broken"})
    mid = sent["message"]["id"]
    refused = await bob.call("seen", {"conversation_id": cid, "message_id": mid})
    assert refused["error"]["code"] == "forbidden"
    bot_message = client.start["messages"][0]["id"]
    assert (await ada.call("seen", {"conversation_id": cid, "message_id": bot_message}))[
        "seen"
    ] is False  # not a shopper message
    assert (await ada.call("seen", {"conversation_id": cid, "message_id": mid}))["seen"] is True
    seen = await client.wait_for("seen")
    assert seen == {"message_id": mid, "agent": {"name": "Ada"}}
    assert (await ada.call("seen", {"conversation_id": cid, "message_id": mid}))["seen"] is False
    assert len(client.of("seen")) == 1
    again = await shopper(token=client.start["token"])
    assert again.start["seen"] == mid


async def test_taking_over_capacity_is_refused_unless_overridden_and_logged(
    server: LiveServer, shopper, agent
) -> None:
    ada: Client = await agent("Ada", online=False, capacity=1)
    chats = []
    for _ in range(2):
        client: Client = await shopper(lang="en")
        assert (await client.call("handoff", {}))["ok"]
        chats.append(client.start["conversation"]["id"])
    assert (await ada.call("take", {"conversation_id": chats[0]}))["ok"]
    refused = await ada.call("take", {"conversation_id": chats[1]})
    assert refused["error"]["code"] == "over_capacity"
    assert (refused["error"]["load"], refused["error"]["capacity"]) == (1, 1)
    assert (await server.query("SELECT status FROM conversations WHERE id = ?", chats[1]))[0][
        "status"
    ] == "queued"
    taken = await ada.call("take", {"conversation_id": chats[1], "override": True})
    assert taken["ok"]
    logged = await server.events("agent.capacity_override", chats[1])
    assert [json.loads(e["properties"]) for e in logged] == [
        {"action": "take", "target": ada.account.id, "load": 2, "capacity": 1}
    ]  # type: ignore[attr-defined]
    # a transfer to a full agent is refused the same way
    bob: Client = await agent("Bob", capacity=1)
    third: Client = await shopper(lang="en")
    assert (await third.call("handoff", {}))["ok"]
    await bob.wait_for("assigned")
    moved = await ada.call("transfer", {"conversation_id": chats[0], "agent_id": bob.account.id})  # type: ignore[attr-defined]
    assert moved["error"]["code"] == "over_capacity"
    moved = await ada.call(
        "transfer",
        {
            "conversation_id": chats[0],
            "agent_id": bob.account.id,  # type: ignore[attr-defined]
            "override": True,
        },
    )
    assert moved["ok"]


async def test_cards_name_visitors_label_moods_and_show_the_rating(
    server: LiveServer, shopper, agent
) -> None:
    ada: Client = await agent("Ada")
    client: Client = await shopper(
        lang="en", page={"url": "https://shop.example/bag", "title": "Bag"}
    )
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "s-1", "text": "This is terrible, I am very angry!!"})
    assert (await client.call("handoff", {}))["ok"]
    await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid)
    opened = await ada.call("open", {"conversation_id": cid})
    card = opened["conversation"]
    assert card["visitor"] == {"name": None, "email": None, "alias": alias(cid)}
    assert card["mood_label"] == MoodScale().label(card["mood"])
    shopper_message = [m for m in opened["messages"] if m["author"] == "shopper"][0]
    assert shopper_message["mood_label"] in ("unhappy", "very_unhappy")
    assert card["csat"] is None
    assert (await ada.call("resolve", {"conversation_id": cid}))["ok"]
    await client.wait_for("csat_request")
    assert (await client.call("csat", {"rating": 2, "comment": "slow"}))["ok"]
    pushed = await ada.wait_for("card", lambda c: "csat" in c)
    assert pushed["id"] == cid and pushed["csat"]["rating"] == 2
    assert pushed["csat"]["comment"] == "slow"
    again = await ada.call("open", {"conversation_id": cid})
    assert again["conversation"]["csat"]["rating"] == 2


def test_one_mood_scale_around_the_escalation_threshold() -> None:
    scale = MoodScale()
    assert [scale.label(s) for s in (-0.9, -0.6, -0.3, -0.2, -0.1, 0.19, 0.2, 0.8, None)] == [
        "very_unhappy",
        "very_unhappy",
        "unhappy",
        "unhappy",
        "neutral",
        "neutral",
        "content",
        "content",
        None,
    ]
    stricter = MoodScale.for_threshold(-0.4)
    assert stricter.label(-0.3) == "neutral" and stricter.label(-0.4) == "unhappy"
    assert alias("c_1") == alias("c_1") and len({alias(f"c_{i}") for i in range(50)}) > 30


async def test_a_picked_suggestion_is_marked_for_agents(server: LiveServer, shopper, agent) -> None:
    client: Client = await shopper(lang="en")
    cid = client.start["conversation"]["id"]
    ack = await client.call(
        "message", {"id": "p-1", "text": "Delivery times?", "pick": "delivery-time"}
    )
    assert ack["ok"]
    meg: Client = await agent("Meg", role="manager", online=False)
    opened = await meg.call("open", {"conversation_id": cid})
    picked = [m for m in opened["messages"] if m["author"] == "shopper"]
    assert picked[0]["picked"] == "delivery-time"


async def test_the_console_language_is_kept_with_the_account(server: LiveServer) -> None:
    await server.add_agent("ola@shop.example", "Ola")
    cookie = await login(server.url, "ola@shop.example")
    headers = {"Cookie": f"supportbot_session={cookie}", "Accept-Language": "pl-PL,pl;q=0.9"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/console", headers=headers) as r:
            assert '<html lang="pl"' in await r.text()  # the browser's, until chosen
        async with http.get(f"{server.url}/api/me", headers=headers) as r:
            me = await r.json()
        assert me["agent"]["locale"] is None
        csrf = {**headers, "X-CSRF-Token": me["csrf_token"]}
        for body, status in (({"locale": "de"}, 400), ({"locale": "it"}, 200)):
            async with http.post(f"{server.url}/api/preferences", json=body, headers=csrf) as r:
                assert r.status == status
        async with http.post(
            f"{server.url}/api/preferences", json={"locale": "en"}, headers=headers
        ) as r:
            assert r.status == 403  # no CSRF token
        async with http.get(f"{server.url}/dashboard", headers=headers) as r:
            assert r.status == 403  # not a manager; the console is in Italian now
        async with http.get(f"{server.url}/console", headers=headers) as r:
            assert '<html lang="it"' in await r.text()
    assert (await server.query("SELECT locale FROM agents"))[0]["locale"] == "it"
