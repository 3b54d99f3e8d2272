"""Erasure and export of one shopper's data on the real server, with real clients.

Zofia chats three times (identified, by customer id only, through the offline form)
while Marco chats once. Her data is erased from the command line while the server
runs and one of her chats is still open with an agent, or from the dashboard's API;
then no column of any table may hold her e-mail, name, customer id, page or any
text of her chats, while Marco's data is untouched.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from bot import cli
from bot.app import LIVE
from bot.store.db import connect

from conftest import Client, LiveServer, login, supportbot
from privacy_scan import traces

ZOFIA = {"name": "Zofia Nowak-Kowalska", "email": "Zofia.Nowak@example.pl", "id": "cust-8841"}
MARCO = {"name": "Marco Rossi", "email": "marco.rossi@example.it", "id": "cust-1200"}
ZOFIA_PAGE = {"url": "https://shop.example/orders/4711-QX", "title": "Zamówienie 4711-QX"}


@dataclass
class Person:
    needles: list[str]  # everything of theirs that must go (or stay)
    conversations: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # their own messages, in order


async def send(client: Client, text: str, person: Person) -> None:
    ack = await client.call("message", {"id": f"m{len(person.said)}", "text": text})
    assert ack["ok"], ack
    person.said.append(text)
    person.needles.append(text)


async def zofia_chats(
    server: LiveServer, shopper: Any, agent: Any
) -> tuple[Person, Client, Client]:
    """Zofia's three chats; returns her, the client of her open chat and the agent's."""
    zofia = Person(
        [ZOFIA["name"], ZOFIA["email"], ZOFIA["id"], ZOFIA_PAGE["url"], ZOFIA_PAGE["title"]]
    )
    ada = await agent("Ada")

    first = await shopper(user=ZOFIA, page=ZOFIA_PAGE)
    zofia.conversations.append(first.start["conversation"]["id"])
    await send(first, "xyzzy frobnicate quux zofiowe pytanie", zofia)  # the bot cannot answer
    await send(first, "Can I pay for order 4711-QX by bank transfer?", zofia)
    assert (await first.call("end", {}))["ok"]
    await first.wait_for("csat_request")
    comment = "Zofia here: the courier lost parcel 4711-QX"
    assert (await first.call("csat", {"rating": 2, "comment": comment}))["ok"]
    zofia.needles.append(comment)

    second = await shopper(user={"id": ZOFIA["id"]})
    zofia.conversations.append(second.start["conversation"]["id"])
    await send(second, "Mieszkam przy ul. Lipowej 17 w Krakowie", zofia)
    assert (await second.call("handoff", {}))["ok"]
    cid = zofia.conversations[-1]
    await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid)
    assert (await ada.call("open", {"conversation_id": cid}))["ok"]
    reply = "Dzień dobry Pani Zofio, sprawdzam paczkę"
    assert (await ada.call("send", {"conversation_id": cid, "id": "a1", "text": reply}))["ok"]
    note = "Zofia called twice yesterday about 4711-QX"
    assert (await ada.call("note", {"conversation_id": cid, "id": "n1", "text": note}))["ok"]
    zofia.needles += [reply, note]
    await send(second, "Proszę o kontakt pod numerem 600 100 200", zofia)

    third = await shopper()
    zofia.conversations.append(third.start["conversation"]["id"])
    ticket = "Please call me back about the returned lamp, Zofia"
    assert (await third.call("leave_message", {"email": ZOFIA["email"], "text": ticket}))["ok"]
    zofia.needles.append(ticket)
    zofia.said.append(ticket)  # the offline form's text is in the transcript too
    return zofia, second, ada


async def marco_chat(shopper: Any) -> Person:
    marco = Person([MARCO["name"], MARCO["email"], MARCO["id"]])
    client = await shopper(user=MARCO)
    marco.conversations.append(client.start["conversation"]["id"])
    await send(client, "Avete la taglia 44 del modello Sole?", marco)
    assert (await client.call("end", {}))["ok"]
    await client.wait_for("csat_request")
    assert (await client.call("csat", {"rating": 5, "comment": "Marco dice grazie mille"}))["ok"]
    marco.needles.append("Marco dice grazie mille")
    return marco


async def scan(server: LiveServer, needles: list[str]) -> list[tuple[str, str, str]]:
    await server.db.flush()
    conn = connect(server.settings.db)
    try:
        return traces(conn, needles)
    finally:
        conn.close()


async def test_forget_from_the_command_line_while_the_server_runs(
    server: LiveServer, shopper: Any, agent: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    zofia, open_chat, ada = await zofia_chats(server, shopper, agent)
    marco = await marco_chat(shopper)
    assert len(await scan(server, zofia.needles)) >= len(zofia.needles)
    messages = await count_messages(server, zofia.conversations)
    marks = ", ".join("?" * len(zofia.conversations))
    personal_events = (
        await server.query(
            "SELECT count(*) AS n FROM events WHERE (json_extract(properties, '$.query') IS NOT NULL "
            "OR json_extract(properties, '$.page_url') IS NOT NULL) AND conversation_id IN "
            f"({marks})",
            *zofia.conversations,
        )
    )[0]["n"]
    assert personal_events >= 2  # her question the bot could not answer, her first page
    db = str(server.settings.db)
    # her chat with Ada, and her ticket (a ticket keeps the chat open for the answer)
    still_open = (
        await server.query(
            f"SELECT count(*) AS n FROM conversations WHERE status != 'closed' AND id IN ({marks})",
            *zofia.conversations,
        )
    )[0]["n"]
    assert still_open == 2

    code, out, err = await supportbot(
        "privacy", "forget", "--email", "zofia.NOWAK@example.pl", "--db", db
    )
    assert (code, err) == (0, "")
    assert (
        out.splitlines()[:6]
        == [
            "erased the personal data of e-mail zofia.nowak@example.pl:",
            "  conversations  3",
            f"  messages       {messages + still_open} deleted",  # + the notices of the chats ended first
            "  tickets        1 deleted",
            "  comments       1 cleared (the ratings stay)",
            f"  events         {personal_events} cleared of questions and page addresses",
        ]
    )
    open_id = zofia.conversations[1]
    assert f"ended first    {open_id}" in out

    # the running server hears of it: the shopper's chat ends, the agent loses it
    ended = await open_chat.wait_for("ended")
    assert ended == {"by": "system", "reason": "personal data erased"}
    await ada.wait_for("closed", lambda d: d["conversation_id"] == open_id)
    assert await server.app[LIVE].owned_by(ada.account.id) == set()
    refused = await open_chat.call("message", {"id": "late", "text": "hello?"})
    assert refused["error"]["code"] == "conversation_closed"
    refused = await open_chat.call("csat", {"rating": 1, "comment": "Zofia again"})
    assert refused["error"]["code"] == "rating_window_closed"

    assert await scan(server, zofia.needles) == []
    assert {needle for _, _, needle in await scan(server, marco.needles)} == set(marco.needles)
    (audit,) = await server.events("privacy.erased")
    assert audit["actor"] == "system" and audit["agent_id"] is None
    # her chat with Ada, and her ticket (open until the team answers), were ended first
    assert sorted(json.loads(audit["properties"])["closed_chats"]) == sorted(
        [open_id, zofia.conversations[2]]
    )
    for conversation_id in zofia.conversations:  # the rows stay for the reports
        (row,) = await server.query(
            "SELECT status, anonymised_at, shopper_messages FROM conversations WHERE id = ?",
            conversation_id,
        )
        assert row["status"] == "closed" and row["anonymised_at"] is not None
    assert [
        r["rating"]
        for r in await server.query(
            "SELECT rating FROM csat WHERE conversation_id = ?", zofia.conversations[0]
        )
    ] == [2]

    code, out, err = await supportbot("privacy", "forget", "--email", ZOFIA["email"], "--db", db)
    assert (code, out, err) == (
        0,
        "nothing found for e-mail zofia.nowak@example.pl: no personal data of it is stored\n",
        "",
    )
    code, out, _ = await supportbot("privacy", "forget", "--visitor", ZOFIA["id"], "--db", db)
    assert code == 0 and out.startswith("nothing found for customer id cust-8841")
    code, out, err = await supportbot("privacy", "forget", "--email", "zofia@", "--db", db)
    assert (code, out) == (2, "")
    assert err == "supportbot: error: --email: not an e-mail address: 'zofia@'\n"

    logged = caplog.text.lower()
    leaks = [needle for needle in zofia.needles + marco.needles if needle.lower() in logged]
    assert leaks == [], "no message text, name or e-mail in the server's log"


async def count_messages(server: LiveServer, conversations: list[str]) -> int:
    marks = ", ".join("?" * len(conversations))
    rows = await server.query(
        f"SELECT count(*) AS n FROM messages WHERE conversation_id IN ({marks})", *conversations
    )
    return rows[0]["n"]


async def manager_session(server: LiveServer) -> tuple[aiohttp.ClientSession, str]:
    await server.add_agent("meg@shop.example", "Meg", "manager")
    cookie = await login(server.url, "meg@shop.example")
    assert cookie
    http = aiohttp.ClientSession(cookies={"supportbot_session": cookie})
    async with http.get(f"{server.url}/api/me") as response:
        token = (await response.json())["csrf_token"]
    return http, token


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, token: str | None, origin: str | None = None
) -> tuple[int, Any]:
    headers = {"X-CSRF-Token": token} if token else {}
    if origin:
        headers["Origin"] = origin
    async with http.post(url, json=body, headers=headers) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


async def test_forget_from_the_dashboard_ends_the_live_chat_first(
    server: LiveServer, shopper: Any, agent: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    zofia, open_chat, ada = await zofia_chats(server, shopper, agent)
    marco = await marco_chat(shopper)
    http, token = await manager_session(server)
    url = f"{server.url}/api/privacy"
    messages = await count_messages(server, zofia.conversations)
    async with http:
        status, found = await post(
            http, f"{url}/lookup", {"kind": "visitor", "value": ZOFIA["id"]}, token
        )
        assert status == 200 and found["nothing"] is False
        # her customer id finds the two chats with it, and the e-mail of the first one
        # finds the third (the offline form)
        assert found["found"] == {
            "conversations": 3,
            "open_chats": 2,
            "messages": messages,
            "tickets": 1,
            "ratings": 1,
            "comments": 1,
            "anonymised": 0,
        }

        status, result = await post(
            http,
            f"{url}/forget",
            {"kind": "visitor", "value": ZOFIA["id"]},
            token,
            origin=server.url,
        )
        assert status == 200, result
        removed = result["removed"]
        assert (removed["conversations"], removed["tickets"], removed["comments"]) == (3, 1, 1)
        assert sorted(removed["closed_chats"]) == sorted(zofia.conversations[1:])

        ended = await open_chat.wait_for("ended")
        assert ended == {"by": "system", "reason": "personal data erased"}
        await server.settled(open_chat)
        assert open_chat.of("csat_request") == []  # nobody asks an erased shopper for a rating
        await ada.wait_for("closed", lambda d: d["conversation_id"] == zofia.conversations[1])
        await ada.wait_for("ticket", lambda t: t["status"] == "done")

        assert await scan(server, zofia.needles) == []
        assert {n for _, _, n in await scan(server, marco.needles)} == set(marco.needles)
        (audit,) = await server.events("privacy.erased")
        manager = await server.query("SELECT id FROM agents WHERE email = 'meg@shop.example'")
        assert (audit["actor"], audit["agent_id"]) == ("manager", manager[0]["id"])
        assert json.loads(audit["properties"])["via"] == "dashboard"

        status, again = await post(
            http, f"{url}/forget", {"kind": "visitor", "value": ZOFIA["id"]}, token
        )
        assert (status, again["nothing"]) == (200, True)
    leaks = [n for n in zofia.needles + marco.needles if n.lower() in caplog.text.lower()]
    assert leaks == []


async def test_export_holds_every_message_of_the_person_and_nothing_of_anyone_else(
    server: LiveServer, shopper: Any, agent: Any
) -> None:
    zofia, _, _ = await zofia_chats(server, shopper, agent)
    marco = await marco_chat(shopper)
    marks = ", ".join("?" * len(zofia.conversations))
    stored = await server.query(
        f"SELECT conversation_id, author, kind, text FROM messages "
        f"WHERE conversation_id IN ({marks}) ORDER BY id",
        *zofia.conversations,
    )
    http, token = await manager_session(server)
    async with http:
        status, document = await post(
            http,
            f"{server.url}/api/privacy/export",
            {"kind": "email", "value": ZOFIA["email"]},
            token,
        )
    assert status == 200
    code, out, err = await supportbot(
        "privacy", "export", "--email", ZOFIA["email"], "--db", str(server.settings.db)
    )
    assert code == 0 and err == ""
    from_cli = json.loads(out)
    assert from_cli["conversations"] == document["conversations"]

    assert document["request"] == {"by": "email", "value": "zofia.nowak@example.pl"}
    assert [c["id"] for c in document["conversations"]] == zofia.conversations
    exported = [
        (c["id"], m["author"], m["kind"], m["text"])
        for c in document["conversations"]
        for m in c["messages"]
    ]
    assert exported == [(r["conversation_id"], r["author"], r["kind"], r["text"]) for r in stored]
    said = [
        m["text"]
        for c in document["conversations"]
        for m in c["messages"]
        if m["author"] == "shopper"
    ]
    assert said == zofia.said
    first = document["conversations"][0]
    assert first["visitor"] == {"name": ZOFIA["name"], "email": ZOFIA["email"], "id": ZOFIA["id"]}
    assert first["page"] == ZOFIA_PAGE
    assert first["rating"]["rating"] == 2 and "courier" in first["rating"]["comment"]
    assert [t["text"] for t in document["conversations"][2]["tickets"]] == [zofia.needles[-1]]
    assert "bot.no_answer" in [e["type"] for e in first["events"]]

    text = json.dumps(document, ensure_ascii=False).lower()
    assert [n for n in marco.needles if n.lower() in text] == []
    assert "meg@shop.example" not in text and '"agent_id"' not in text
    exports = await server.events("privacy.exported")
    assert [json.loads(e["properties"])["via"] for e in exports] == ["dashboard", "cli"]

    code, out, err = await supportbot(
        "privacy", "export", "--email", "nobody@example.org", "--db", str(server.settings.db)
    )
    assert (code, out, err) == (0, "", "supportbot: nothing found for e-mail nobody@example.org\n")


async def test_the_api_is_for_managers_with_the_csrf_token(server: LiveServer) -> None:
    http, token = await manager_session(server)
    await server.add_agent("ada@shop.example", "Ada")
    body = {"kind": "email", "value": "someone@example.org"}
    async with http:
        for path in ("lookup", "export", "forget"):
            url = f"{server.url}/api/privacy/{path}"
            assert (await post(http, url, body, None))[0] == 403  # no CSRF token
            assert (await post(http, url, body, "forged"))[0] == 403
            assert (await post(http, url, body, token, origin="https://evil.example"))[0] == 403
            status, answer = await post(http, url, {"kind": "email", "value": "someone"}, token)
            assert (status, answer) == (
                400,
                {"error": "invalid_request", "message": "email: not an e-mail address: 'someone'"},
            )
            status, answer = await post(http, url, ["email"], token)
            assert status == 400
        status, answer = await post(http, f"{server.url}/api/privacy/forget", body, token)
        assert (status, answer["nothing"]) == (200, True)
    async with aiohttp.ClientSession() as anonymous:
        assert (await post(anonymous, f"{server.url}/api/privacy/forget", body, "x"))[0] == 401
    cookie = await login(server.url, "ada@shop.example")
    async with aiohttp.ClientSession(cookies={"supportbot_session": cookie or ""}) as agent_http:
        assert (await post(agent_http, f"{server.url}/api/privacy/forget", body, "x"))[0] == 403
    assert len(await server.events("privacy.erased")) == 1  # the one allowed request


def test_the_command_line_refuses_bad_input(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    for argv, message in [
        (
            ["forget", "--conversation", "c 1"],
            "--conversation: a conversation id is 1-64 "
            "characters of A-Z, a-z, 0-9, '_' or '-', got 'c 1'",
        ),
        (["export", "--visitor", " "], "--visitor: a value is needed"),
        (
            ["forget", "--email", "a@b.example", "--db", str(missing)],
            f"--db {missing}: no such database (run `supportbot serve` first)",
        ),
    ]:
        with pytest.raises(SystemExit) as raised:
            cli.main(["privacy", *argv])
        assert raised.value.code == 2
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", f"supportbot: error: {message}\n")
    with pytest.raises(SystemExit) as raised:
        cli.main(["privacy", "forget", "--email", "a@b.example", "--visitor", "x"])
    assert raised.value.code == 2  # one person at a time


def test_nothing_found_is_not_an_error(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()
    from bot.store.migrations import migrate

    conn = connect(db)
    migrate(conn)
    conn.close()
    assert cli.main(["privacy", "forget", "--conversation", "c_0123", "--db", str(db)]) == 0
    assert capsys.readouterr().out == (
        "nothing found for conversation c_0123: no personal data of it is stored\n"
    )
    assert (
        cli.main(["privacy", "forget", "--email", "x@y.example", "--dry-run", "--db", str(db)]) == 0
    )
    assert capsys.readouterr().out == "nothing found for e-mail x@y.example\n"
