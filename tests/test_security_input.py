"""Hostile input: lone surrogates, odd event names, unreadable packets, odd paths,
formula cells in CSV exports, headers on redirects and errors.

Packets a well-behaved socket.io client never sends are written by hand on a raw
engine.io websocket (aiohttp's client), as an attacker would.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import cli

from conftest import LiveServer

SURROGATE = "\ud83d"  # the first half of an emoji, alone: JSON "\ud83d"


class RawSocket:
    """A socket.io connection spoken by hand, packet by packet."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, namespace: str) -> None:
        self.ws, self.namespace = ws, namespace

    @classmethod
    async def open(
        cls,
        http: aiohttp.ClientSession,
        url: str,
        namespace: str = "/chat",
        headers: dict[str, str] | None = None,
    ) -> RawSocket:
        ws = await http.ws_connect(
            url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
            headers=headers or {},
            max_msg_size=0,
        )
        assert (await ws.receive_str()).startswith("0{")
        await ws.send_str(f"40{namespace},")
        assert (await ws.receive_str()).startswith(f"40{namespace},")
        return cls(ws, namespace)

    async def send(self, raw: str) -> None:
        await self.ws.send_str(raw)

    async def ack(self, ack_id: int, timeout: float = 5) -> Any:
        prefix = f"43{self.namespace},{ack_id}"
        while True:
            text = await self.ws.receive_str(timeout=timeout)
            if text == "2":
                await self.ws.send_str("3")
            elif text.startswith(prefix):
                return json.loads(text[len(prefix) :])[0]

    async def call(self, ack_id: int, body: str) -> Any:
        await self.send(f"42{self.namespace},{ack_id}{body}")
        return await self.ack(ack_id)


async def test_lone_surrogates_are_refused_in_every_text_field(
    server: LiveServer, shopper, agent
) -> None:
    client = await shopper()
    bad = f"hello {SURROGATE}"
    checks = [
        ("message", {"id": "s1", "text": bad}, "invalid_text"),
        ("message", {"id": "s2", "text": "ok", "pick": bad}, "invalid_payload"),
        ("identify", {"name": bad}, "invalid_payload"),
        ("typing", {"typing": True, "preview": bad}, "invalid_payload"),
        ("start", {"user": {"email": bad}}, "invalid_payload"),
        ("start", {"page": {"title": bad}}, "invalid_payload"),
        ("leave_message", {"email": "a@b.example", "text": bad}, "invalid_text"),
        ("leave_message", {"email": f"a{SURROGATE}@b.example", "text": "hi"}, "invalid_payload"),
        ("message", {"id": "s3", "text": "ok", bad: 1}, "invalid_payload"),
    ]
    for event, payload, code in checks:
        ack = await client.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (event, payload, ack)
    ada = await agent("Ada")
    for event, payload in (
        ("canned_add", {"shortcut": "hi", "text": bad}),
        ("send", {"conversation_id": client.start["conversation"]["id"], "id": "a1", "text": bad}),
    ):
        ack = await ada.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] in ("invalid_text", "invalid_payload")
    assert (await client.call("message", {"id": "fine", "text": "🙂 fine"}))["ok"]
    assert (await client.call("end", {}))["ok"]
    ack = await client.call("csat", {"rating": 4, "comment": bad})
    assert ack["error"]["code"] == "invalid_payload", ack


@pytest.mark.parametrize(
    "body, code",
    [
        ('[{"an": "object"}, {}]', "unknown_event"),
        ("[17, {}]", "unknown_event"),
        ("[null]", "unknown_event"),
        ('[["message"], {}]', "unknown_event"),
        ("[]", "invalid_payload"),
        ('{"event": "message"}', "invalid_payload"),
        ('"message"', "invalid_payload"),
        ('["message", {]', "invalid_payload"),
        ('["message", ' + "[" * 20_000 + "]" * 20_000 + "]", "invalid_payload"),
        (
            '["message", {"id": "x", "text": ' + '{"a":' * 20_000 + "1" + "}" * 20_000 + "}]",
            "invalid_payload",
        ),
    ],
)
async def test_odd_packets_get_an_answer(server: LiveServer, body: str, code: str) -> None:
    async with aiohttp.ClientSession() as http:
        raw = await RawSocket.open(http, server.url)
        ack = await raw.call(7, body)
        assert ack["ok"] is False and ack["error"]["code"] == code, ack
        # the connection is still usable
        assert (await raw.call(8, '["start", {}]'))["ok"]


async def test_bytes_from_a_client_are_refused_and_answered_as_text(shopper) -> None:
    """A binary event (bytes where text belongs) is read, refused with a clear error,
    and answered with a plain text packet; the connection goes on."""
    client = await shopper()
    ack = await client.call("message", {"id": "b1", "text": b"\x00\xffhello"})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_text", ack
    ack = await client.call("message", {"id": "b2", "text": "how long does delivery take?"})
    assert ack["ok"] and ack["message"]["text"] == "how long does delivery take?"


async def test_an_odd_event_without_an_ack_gets_an_error_event(server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        raw = await RawSocket.open(http, server.url)
        await raw.send('42/chat,[{"an": "object"}, {}]')
        while True:
            text = await raw.ws.receive_str(timeout=5)
            if text.startswith("42/chat,"):
                name, payload = json.loads(text[len("42/chat,") :])
                assert name == "error" and payload["code"] == "unknown_event"
                break


async def test_odd_paths_are_not_found(server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in (
            "/widget/src/%00.js",
            "/static/%00",
            "/widget/" + "a" * 5000 + ".js",
            "/widget/src/..%2f..%2fsettings.py",
        ):
            async with http.get(server.url + path) as response:
                assert response.status == 404, path
                assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_redirects_and_errors_carry_the_security_headers(server: LiveServer, agent) -> None:
    ada = await agent("Ada")
    cookie = {"Cookie": f"supportbot_session={ada.cookie}"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for path, headers, status in (
            ("/console", {"Accept": "text/html"}, 303),
            ("/dashboard", {"Accept": "text/html", **cookie}, 403),
            ("/no/such/page", {}, 404),
            ("/api/me", {}, 401),
        ):
            async with http.get(
                server.url + path, headers=headers, allow_redirects=False
            ) as response:
                assert response.status == status, path
                assert response.headers["X-Content-Type-Options"] == "nosniff", path
                assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


FORMULAS = [
    '=HYPERLINK("https://evil.example","click")',
    "@SUM(A1:A9)",
    "-2+3+cmd|' /C calc'!A0",
    "+1",
]


async def test_the_csat_and_events_exports_guard_formula_cells(
    server: LiveServer, shopper, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for formula in FORMULAS:
        client = await shopper()
        assert (await client.call("end", {}))["ok"]
        assert (await client.call("csat", {"rating": 2, "comment": formula}))["ok"]
    await server.db.flush()
    assert cli.main(["export", "csat", "--db", str(server.settings.db)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sorted(r["comment"] for r in rows) == sorted("'" + f for f in FORMULAS)
    assert all(r["rating"] == "2" for r in rows)
    # JSON Lines are data, not a spreadsheet: as stored
    assert cli.main(["export", "csat", "--db", str(server.settings.db), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["comment"] for r in lines) == sorted(FORMULAS)
    assert cli.main(["export", "events", "--db", str(server.settings.db)]) == 0
    cells = [cell for row in csv.reader(io.StringIO(capsys.readouterr().out)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
