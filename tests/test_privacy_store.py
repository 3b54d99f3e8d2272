"""Retention and the privacy store on a real database: the inventory covers every
column, a purge keeps every figure of the report and leaves no personal data."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from test_reports import CHATS, MARCH, seed

from bot import cli
from bot.events import EVENT_TYPES
from bot.privacy import jobs, store
from bot.privacy.inventory import (
    NON_PERSONAL_EVENT_PROPERTIES,
    PERSONAL_EVENT_PROPERTIES,
    RULES,
)
from bot.privacy.model import Selector, SelectorError
from bot.privacy.retention import next_batch
from bot.privacy.web import PRIVACY
from bot.reports import DayCache, ReportFilter, build_report
from bot.settings import Settings
from bot.store.db import connect
from bot.store.migrations import migrate
from bot.web.dashboard import REPORT_CACHE, REPORT_WARMUP

from conftest import login
from privacy_scan import columns, tables, traces

BASE_FIELDS = {"conversation_id", "actor", "agent_id", "created_at"}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "supportbot.db"
    conn = connect(path)
    migrate(conn)
    conn.execute("BEGIN")
    seed(conn)
    conn.execute("COMMIT")
    conn.close()
    return path


def test_every_table_and_column_is_in_the_inventory(db: Path) -> None:
    conn = connect(db)
    found = {table: set(columns(conn, table)) for table in tables(conn)}
    conn.close()
    assert set(found) == set(RULES), "add the table to bot/privacy/inventory.py"
    for table, names in found.items():
        assert names == set(RULES[table]), (table, names ^ set(RULES[table]))


def test_every_event_property_is_personal_or_not() -> None:
    assert not set(PERSONAL_EVENT_PROPERTIES) & NON_PERSONAL_EVENT_PROPERTIES
    known = set(PERSONAL_EVENT_PROPERTIES) | NON_PERSONAL_EVENT_PROPERTIES
    for name, cls in EVENT_TYPES.items():
        fields = {f.name for f in dataclasses.fields(cls)} - BASE_FIELDS
        assert fields <= known, (
            f"{name}: say in bot/privacy/inventory.py whether {sorted(fields - known)} is personal"
        )


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("email", "anna", "email: not an e-mail address: 'anna'"),
        ("email", "anna@shop", "email: not an e-mail address: 'anna@shop'"),
        ("email", "  ", "email: a value is needed"),
        (
            "conversation",
            "c 1",
            "conversation: a conversation id is 1-64 characters of A-Z, a-z, "
            "0-9, '_' or '-', got 'c 1'",
        ),
        ("visitor", "x" * 201, "visitor: a customer id is at most 200 characters"),
        ("phone", "123", "expected one of email, conversation, visitor, got 'phone'"),
    ],
)
def test_malformed_requests_are_refused(kind: str, value: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        Selector.parse(kind, value)
    assert str(raised.value) == message


def test_an_email_is_matched_without_regard_to_case() -> None:
    assert Selector.parse("email", " Anna.Rossi@Example.IT ") == Selector(
        "email", "anna.rossi@example.it"
    )


def test_the_batch_follows_the_measured_cost() -> None:
    assert next_batch(100, 0.005) == 200  # at most doubled
    assert next_batch(100, 0.5) == 50  # at most halved
    assert next_batch(400, 0.010) == 400
    assert next_batch(10, 1.0) == 10 and next_batch(2000, 0.0) == 2000  # within the range


def report_json(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert cli.main(["report", "--db", str(db), "--format", "json", "--by", "day", *args]) == 0
    return json.loads(capsys.readouterr().out)


CLOSED_TEXTS = [
    "Where is my invoice",
    "this is useless",
    "Do you ship to Mars?",
    "great bot",
    "slow",
    "customer is angry",
    "Hi, Ada here. Let me look.",
]


def test_a_purge_keeps_every_figure_and_no_personal_data(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = connect(db)
    conn.execute(
        "UPDATE conversations SET visitor_name = 'Ruth Bellini', visitor_email = "
        "'ruth@example.it', visitor_id = 'cust-77', page_url = 'https://shop.example/"
        "order/5531', page_title = 'Order 5531' WHERE id IN ('c05', 'c09')"
    )
    conn.execute(
        "INSERT INTO tickets (conversation_id, email, text, status, created_at) VALUES "
        "('c02', 'ruth@example.it', 'call me on 333 1234567', 'open', "
        "'2026-03-02T11:19:00.000Z')"
    )
    conn.execute(
        "INSERT INTO tickets (conversation_id, email, text, status, created_at) VALUES "
        "(NULL, 'old@example.it', 'an old loose ticket', 'done', "
        "'2026-01-02T11:19:00.000Z')"
    )
    conn.close()
    march = report_json(db, capsys, "--since", "2026-03-01", "--until", "2026-03-31")
    everything = report_json(db, capsys)

    assert cli.main(["privacy", "purge", "--days", "30", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    # all but c09 (still open) ended long ago
    assert "removed the personal data of 10 chats that ended before" in out
    assert "tickets   2 deleted" in out

    for before, args in (
        (march, ("--since", "2026-03-01", "--until", "2026-03-31")),
        (everything, ()),
    ):
        after = report_json(db, capsys, *args)
        # the unanswered questions are the shoppers' own words: only c09's remains
        assert after.pop("unanswered") == [{"text": "gift wrapping", "count": 1}]
        before = {k: v for k, v in before.items() if k != "unanswered"}
        assert after == before
    conn = connect(db)
    assert build_report(conn, MARCH).empty_chats == 1  # c07 is still told apart
    cached = build_report(conn, ReportFilter(), cache=DayCache(0))
    assert cached.totals == build_report(conn, ReportFilter()).totals

    assert traces(
        conn,
        [
            *CLOSED_TEXTS,
            "ruth@example.it",
            "cust-77",
            "333 1234567",
            "order/5531",
            "Order 5531",
            "old@example.it",
        ],
    ) == [
        # c09 is still open: its data stays until it ends and its time is up
        ("conversations", "page_url", "order/5531"),
        ("conversations", "page_title", "Order 5531"),
        ("conversations", "visitor_email", "ruth@example.it"),
        ("conversations", "visitor_id", "cust-77"),
    ]
    rows = conn.execute(
        "SELECT id, anonymised_at IS NOT NULL, shopper_messages, token_hash "
        "FROM conversations ORDER BY id"
    ).fetchall()
    wrote = {
        chat.id: int(chat.shopper_wrote) + sum(a == "shopper" for a, _ in chat.extra)
        for chat in CHATS
    }
    for cid, anonymised, shopper_messages, token_hash in rows:
        assert anonymised == (cid != "c09"), cid
        if cid != "c09":
            assert shopper_messages == wrote[cid] and token_hash == f"anonymised:{cid}"
    assert (
        conn.execute("SELECT count(*) FROM messages WHERE conversation_id != 'c09'").fetchone()[0]
        == 0
    )
    assert conn.execute("SELECT count(*) FROM csat WHERE rating IS NOT NULL").fetchone()[0] == 8
    (event,) = conn.execute(
        "SELECT actor, properties FROM events WHERE type = 'retention.purged'"
    ).fetchall()
    properties = json.loads(event[1])
    assert event[0] == "system" and properties["days"] == 30 and properties["conversations"] == 10
    assert properties["comments"] == 3 and properties["tickets"] == 2
    conn.close()

    assert cli.main(["privacy", "purge", "--days", "30", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("nothing found: no chat that ended before")


def test_purge_needs_a_period(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUPPORTBOT_RETENTION_DAYS", raising=False)
    with pytest.raises(SystemExit) as raised:
        cli.main(["privacy", "purge", "--db", str(db)])
    assert raised.value.code == 2
    assert capsys.readouterr().err == (
        "supportbot: error: --days: give the retention period in "
        "days, 1 or more (or set SUPPORTBOT_RETENTION_DAYS)\n"
    )
    monkeypatch.setenv("SUPPORTBOT_RETENTION_DAYS", "3650")
    assert cli.main(["privacy", "purge", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("nothing found")


def test_purge_batches_take_the_oldest_first_and_stop(db: Path) -> None:
    conn = connect(db)
    conn.execute("BEGIN IMMEDIATE")
    removed, taken = jobs.purge_batch(conn, "2026-03-03T00:00:00.000Z", 2)
    conn.execute("COMMIT")
    assert taken == 2 and removed.conversations == 2
    gone = {
        r[0] for r in conn.execute("SELECT id FROM conversations WHERE anonymised_at IS NOT NULL")
    }
    assert gone == {"c08", "c10"}  # ended 02-27 and 02-28
    assert store.purge_candidates(conn, "2026-03-03T00:00:00.000Z", 10) == ["c01", "c02", "c03"]
    conn.close()


def test_an_erasure_is_idempotent_and_records_no_personal_data(db: Path) -> None:
    conn = connect(db)
    conn.execute("PRAGMA secure_delete = 0")  # the default of most SQLite builds (not Debian's)
    conn.execute(
        "UPDATE conversations SET visitor_email = 'Ruth@Example.it', visitor_id = 'r-1' "
        "WHERE id = 'c05'"
    )
    conn.execute("UPDATE conversations SET visitor_id = 'r-1' WHERE id = 'c06'")
    selector = Selector.parse("email", "ruth@example.it")
    assert [cid for cid, _ in store.find(conn, selector)] == ["c05", "c06"]
    conn.execute("BEGIN IMMEDIATE")
    first = jobs.erase(conn, selector, via="cli")
    conn.execute("COMMIT")
    assert (first.conversations, first.messages, first.comments) == (2, 8, 1)
    conn.execute("BEGIN IMMEDIATE")
    again = jobs.erase(conn, Selector.parse("conversation", "c05"), via="cli")
    conn.execute("COMMIT")
    assert again.nothing
    events = [
        json.loads(r[0])
        for r in conn.execute(
            "SELECT properties FROM events WHERE type = 'privacy.erased' ORDER BY id"
        )
    ]
    assert [e["selector"] for e in events] == ["email", "conversation"]
    assert [e["conversations"] for e in events] == [2, 0]
    assert traces(conn, ["ruth@example.it", "r-1", "this is useless", "useless"]) == []
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 0  # as it was
    conn.close()  # the last connection: the write-ahead log goes into the file
    # not in free space either: the removed text was overwritten in the file itself
    raw = db.read_bytes()
    assert b"this is useless" not in raw and b"Where is my invoice" not in raw
    assert b"Do you ship to Mars?" in raw  # c01's question was not erased


def test_the_report_cli_asks_for_a_migration_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE csat (conversation_id TEXT)")
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.commit()
    conn.close()
    with pytest.raises(SystemExit):
        cli.main(["report", "--db", str(path)])
    assert "the database is from an older version" in capsys.readouterr().err


def seeded(settings: Settings) -> dict[ReportFilter, dict[str, Any]]:
    conn = connect(settings.db)
    migrate(conn)
    conn.execute("BEGIN")
    seed(conn)
    conn.execute("COMMIT")
    before = {f: build_report(conn, f).to_dict() for f in (MARCH, ReportFilter())}
    conn.close()
    return before


async def test_the_server_purges_in_the_background(start_server: Any, settings: Settings) -> None:
    seeded(settings)
    # c09 is still open: no sweep may end it (that would be a new chat in the report)
    server = await start_server(retention_days=30, sweep_interval=3600)
    for _ in range(200):
        if await server.events("retention.purged"):
            break
        await asyncio.sleep(0.05)
    (event,) = await server.events("retention.purged")
    properties = json.loads(event["properties"])
    assert (properties["days"], properties["conversations"]) == (30, 10)


async def test_after_a_purge_the_dashboard_shows_the_same_figures(
    start_server: Any, settings: Settings
) -> None:
    before = seeded(settings)
    server = await start_server(sweep_interval=3600)  # no background purge: started below
    await server.app[REPORT_WARMUP]
    assert len(server.app[REPORT_CACHE]) > 0  # settled days, with their questions
    cookie = await login(server.url, "meg@shop.example")

    async def report(f: ReportFilter) -> dict[str, Any]:
        async with aiohttp.ClientSession(cookies={"supportbot_session": cookie or ""}) as http:
            async with http.get(
                f"{server.url}/api/report", params={**f.to_params(), "period": "day"}
            ) as response:
                return dict((await response.json())["report"])

    assert (await report(MARCH))["unanswered"][0] == {"text": "do you ship to mars?", "count": 3}
    autocheckpoint = "PRAGMA wal_autocheckpoint"
    assert await server.db.write(lambda c: c.execute(autocheckpoint).fetchone()[0]) == 1000
    removed = await server.app[PRIVACY].retention.purge(days=30)
    assert removed.conversations == 10
    # the writer's commits checkpoint again (the purge did it on its own meanwhile)
    assert await server.db.write(lambda c: c.execute(autocheckpoint).fetchone()[0]) == 1000
    for f, expected in before.items():
        after = await report(f)
        # the questions are the shoppers' words: only the open chat's is left, and the
        # day cache does not keep the others
        assert after.pop("unanswered") == [{"text": "gift wrapping", "count": 1}]
        expected = json.loads(json.dumps(expected))
        expected.pop("unanswered")
        assert after == expected
