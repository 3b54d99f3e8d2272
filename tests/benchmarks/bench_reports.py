"""The dashboard's report on a big database (issue: reports and dashboard).

    .venv/bin/python tests/benchmarks/bench_reports.py [--conversations 100000]
        [--events 1000000] [--days 365] [--runs 5] [--db PATH]

1. Builds a database through the real migrations with bulk inserts: CONVERSATIONS
   conversations over DAYS days (weekday/weekend and hour-of-day curves, three
   languages, 28% escalated to 12 agents, log-normal response and handling
   times, CSAT asked after 65% of chats and answered 45% of the time, NPS,
   unanswered questions from tests/data/shop_queries.csv with case and spacing
   variants plus a long tail), their messages, and exactly EVENTS engagement events.
   The history ends yesterday (UTC), so that the last days are as fresh as on a
   live server.
2. Times ``build_report`` (the function behind ``GET /api/report``) through the
   server's reader pool, for the dashboard's default range (the last 30 days),
   90 days, the whole history and filtered views: each with a new day cache (the
   first run: nothing cached, as after a restart) and again with the cache the
   first run filled (settled days cached, the last 8 days queried), and without a
   cache (as ``supportbot report`` runs it). Then the CSAT log's first page; then
   ``GET /api/report`` and ``GET /api/csat`` over HTTP through the real app,
   signed in as a manager.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bot.reports import ReportFilter, build_report, csat_log
from bot.store import Database, accounts
from bot.store.clock import iso
from bot.store.db import connect
from bot.store.migrations import migrate

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "benchmark password"
LANGUAGES = (("en", 0.6), ("it", 0.25), ("pl", 0.15))
REASONS = (
    (("asks for a person",), 0.6),
    (("negative mood",), 0.2),
    (("bot failed",), 0.15),
    (("negative mood", "asks for a person"), 0.05),
)
RATINGS_BOT = (0.06, 0.05, 0.11, 0.30, 0.48)
RATINGS_PERSON = (0.14, 0.09, 0.14, 0.25, 0.38)
HOURS = [
    0.3,
    0.2,
    0.1,
    0.1,
    0.1,
    0.2,
    0.4,
    0.8,
    1.2,
    1.6,
    1.9,
    2.0,
    1.9,
    1.8,
    1.8,
    1.9,
    2.0,
    2.1,
    2.2,
    2.3,
    2.2,
    1.8,
    1.2,
    0.6,
]


def pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def lognormal_ms(rng: random.Random, median_s: float, sigma: float) -> int:
    return max(1000, round(rng.lognormvariate(math.log(median_s), sigma) * 1000))


def queries(rng: random.Random) -> list[str]:
    with open(ROOT / "tests" / "data" / "shop_queries.csv", encoding="utf-8") as handle:
        return [row["query"] for row in csv.DictReader(handle)]


def variant(rng: random.Random, text: str) -> str:
    """The same question typed differently: case and spacing."""
    roll = rng.random()
    if roll < 0.2:
        text = text.upper()
    elif roll < 0.5:
        text = text.capitalize()
    if rng.random() < 0.3:
        text = re.sub(" ", "  ", text, count=1) + " "
    return text


class Builder:
    """Generates the rows; ``flush`` writes them with executemany in big transactions."""

    def __init__(self, conn: sqlite3.Connection, seed: int, target_events: int) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        self.questions = queries(self.rng)
        self.target_events = target_events
        self.conversations: list[tuple[Any, ...]] = []
        self.messages: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.csat: list[tuple[Any, ...]] = []
        self.written_events = 0
        self.generated_events = 0
        self.message_id = 0
        self.budget = 0.0  # events per conversation, set by build()

    def event(
        self, cid: str | None, actor: str, agent: int | None, type_: str, at: int, **props: Any
    ) -> None:
        self.generated_events += 1
        self.events.append(
            (cid, actor, agent, type_, stamp(at), json.dumps(props, separators=(",", ":")))
        )

    def message(
        self,
        cid: str,
        author: str,
        text: str,
        at: int,
        agent: int | None = None,
        kind: str = "text",
    ) -> int:
        self.message_id += 1
        self.messages.append(
            (self.message_id, cid, None, author, agent, kind, text, stamp(at), "{}")
        )
        return self.message_id

    def conversation(self, n: int, start_ms: int, agents: list[int], now_ms: int) -> None:
        rng = self.rng
        cid = f"c_{n:08x}"
        language = pick(rng, LANGUAGES)
        at = start_ms
        self.event(
            cid,
            "shopper",
            None,
            "chat.started",
            at,
            language=language,
            lang_setting="auto",
            page_url="https://shop.example/p",
            site=None,
        )
        # Widget open/close events are left out where needed to keep the event count
        # on budget evenly over time (instead of running out before the last days).
        widget = self.generated_events <= self.budget * n
        if widget:
            self.event(cid, "shopper", None, "widget.opened", at)
        self.message(cid, "bot", "Hi! How can I help?", at)
        wrote = rng.random() < 0.92
        escalated = wrote and rng.random() < 0.28
        turns = rng.randint(1, 4) if wrote else 0
        for _ in range(turns):
            at += lognormal_ms(rng, 20, 0.6)
            if rng.random() < 0.18:
                text = (
                    variant(rng, rng.choice(self.questions))
                    if rng.random() < 0.8
                    else f"question about order {rng.randint(10000, 99999)}"
                )
                kind = "bot.no_answer"
            else:
                text = rng.choice(self.questions)
                kind = "bot.reply" if rng.random() < 0.8 else "bot.suggested"
            mid = self.message(cid, "shopper", text, at)
            self.event(
                cid,
                "shopper",
                None,
                "message.received",
                at,
                message_id=mid,
                length=len(text),
                language=language,
                mood=0.0,
                mood_reasons=[],
                conversation_mood=0.0,
            )
            reply = self.message(cid, "bot", "An answer.", at)
            if kind == "bot.no_answer":
                self.event(
                    cid,
                    "bot",
                    None,
                    kind,
                    at,
                    message_id=reply,
                    query=text,
                    entry_id=None,
                    score=0.2,
                    language=language,
                )
            else:
                self.event(
                    cid,
                    "bot",
                    None,
                    kind,
                    at,
                    message_id=reply,
                    entry_id="returns",
                    score=0.8,
                    language=language,
                )
        escalated_at = first_reply = agent = None
        reasons: tuple[str, ...] = ()
        closed_by = "shopper" if rng.random() < 0.4 else "timeout"
        last_activity = at
        if escalated:
            reasons = pick(rng, REASONS)
            at += 2000
            escalated_at = at
            self.event(
                cid,
                "shopper",
                None,
                "escalation.requested",
                at,
                reasons=list(reasons),
                trigger="shopper",
                mood=-0.2,
            )
            self.event(cid, "system", None, "chat.queued", at, agents_online=3)
            if rng.random() < 0.9:
                agent = rng.choice(agents)
                joined = at + lognormal_ms(rng, 25, 0.9)
                self.event(cid, "system", agent, "agent.assigned", joined, by="auto")
                self.event(cid, "agent", agent, "agent.joined", joined, wait_seconds=1.0)
                first_reply = at + lognormal_ms(rng, 45, 0.9)
                at = first_reply
                for _ in range(rng.randint(1, 4)):
                    mid = self.message(cid, "agent", "Let me check that.", at, agent)
                    self.event(cid, "agent", agent, "agent.message", at, message_id=mid)
                    at += lognormal_ms(rng, 60, 0.7)
                closed_by = pick(rng, (("agent", 0.6), ("shopper", 0.2), ("timeout", 0.2)))
                if closed_by == "agent":
                    self.event(cid, "agent", agent, "chat.resolved", at)
            last_activity = at
        closed_at = None if at > now_ms else (at + 600_000 if closed_by == "timeout" else at)
        if closed_at is not None and closed_at > now_ms:
            closed_at = None
        if closed_at is not None:
            self.message(cid, "system", "The chat has ended.", closed_at)
            self.event(cid, "system", agent, "chat.ended", closed_at, by=closed_by, reason="x")
            if widget:
                self.event(cid, "shopper", None, "widget.closed", closed_at)
        self.conversations.append(
            (
                cid,
                f"h{cid}",
                "closed" if closed_at else ("assigned" if agent else "bot"),
                language,
                stamp(start_ms),
                stamp(last_activity),
                stamp(last_activity),
                stamp(closed_at),
                closed_by if closed_at else None,
                stamp(escalated_at),
                json.dumps(list(reasons)),
                stamp(escalated_at),
                agent,
                stamp(first_reply),
            )
        )
        if closed_at is not None and wrote and rng.random() < 0.65:
            self.survey(cid, closed_at, agent, escalated, reasons, language)

    def survey(
        self,
        cid: str,
        asked: int,
        agent: int | None,
        escalated: bool,
        reasons: tuple[str, ...],
        language: str,
    ) -> None:
        rng = self.rng
        self.event(cid, "system", None, "csat.asked", asked)
        rating = nps = comment = given = None
        if rng.random() < 0.45:
            weights = RATINGS_PERSON if escalated else RATINGS_BOT
            rating = rng.choices(range(1, 6), weights)[0]
            given = asked + lognormal_ms(rng, 15, 1.0)
            comment = "thanks" if rng.random() < 0.3 else None
            self.event(
                cid,
                "shopper",
                None,
                "csat.given",
                given,
                rating=rating,
                has_comment=comment is not None,
            )
            if rng.random() < 0.4:
                nps = min(10, max(0, round(rng.gauss(rating * 2, 1.5))))
                self.event(cid, "shopper", None, "nps.given", given, score=nps)
        self.csat.append(
            (
                cid,
                rating,
                comment,
                nps,
                agent,
                int(not escalated),
                json.dumps(list(reasons)),
                language,
                0.0,
                stamp(asked),
                stamp(given),
                stamp(given or asked),
            )
        )

    def flush(self, final: bool = False) -> None:
        conn = self.conn
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO conversations (id, token_hash, status, language, created_at, "
            "updated_at, last_activity_at, closed_at, closed_by, escalated_at, "
            "escalation_reasons, queued_at, last_agent_id, first_agent_reply_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.conversations,
        )
        conn.executemany(
            "INSERT INTO messages (id, conversation_id, client_id, author, agent_id, "
            "kind, text, created_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.messages,
        )
        conn.executemany(
            "INSERT INTO csat (conversation_id, rating, comment, nps, agent_id, "
            "bot_only, escalation_reasons, language, mood, asked_at, given_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.csat,
        )
        room = self.target_events - self.written_events
        events = self.events[:room]
        conn.executemany(
            "INSERT INTO events (conversation_id, actor, agent_id, type, created_at, "
            "properties) VALUES (?, ?, ?, ?, ?, ?)",
            events,
        )
        self.written_events += len(events)
        conn.execute("COMMIT")
        self.conversations, self.messages, self.csat, self.events = [], [], [], []


def stamp(ms: int | None) -> str | None:
    if ms is None:
        return None
    return iso(datetime.fromtimestamp(ms / 1000, tz=UTC))


def build(path: Path, conversations: int, events: int, end: date, days: int, seed: int = 7) -> None:
    conn = connect(path)
    migrate(conn)
    conn.execute("PRAGMA synchronous = OFF")
    agents = [
        accounts.add_agent(
            conn,
            f"agent{i}@shop.example",
            f"Agent {i:02d}",
            "manager" if i < 2 else "agent",
            PASSWORD,
        ).id
        for i in range(12)
    ]
    builder = Builder(conn, seed, events)
    builder.budget = events / conversations
    rng = builder.rng
    first = end - timedelta(days=days - 1)
    day_weights = [0.6 if (first + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(days)]
    epoch0 = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    now_ms = round((epoch0 + days * 86400) * 1000) - 3_600_000  # an hour before the end
    starts = sorted(
        round(
            (
                epoch0
                + rng.choices(range(days), day_weights)[0] * 86400
                + (rng.choices(range(24), HOURS)[0] + rng.random()) * 3600
            )
            * 1000
        )
        for _ in range(conversations)
    )
    for n, start in enumerate(starts):
        builder.conversation(n, min(start, now_ms - 1), agents, now_ms)
        if len(builder.events) >= 100_000:
            builder.flush()
    builder.flush()
    # Fill up to exactly EVENTS with agents' status changes (events without a conversation).
    missing = events - builder.written_events
    while missing > 0:
        at = round(epoch0 * 1000) + rng.randrange(days * 86_400_000)
        builder.event(
            None,
            "agent",
            rng.choice(agents),
            "agent.status",
            at,
            status=rng.choice(("online", "away")),
        )
        missing -= 1
        if len(builder.events) >= 100_000 or missing == 0:
            builder.flush()
    conn.execute("ANALYZE")
    conn.close()


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    out = {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("conversations", "messages", "events", "csat")
    }
    out["ratings"] = conn.execute("SELECT count(*) FROM csat WHERE rating IS NOT NULL").fetchone()[
        0
    ]
    conn.close()
    return out


async def timed(
    fn: Callable[[], Awaitable[Any]], runs: int
) -> tuple[list[tuple[float, float]], Any]:
    """Wall-clock and CPU milliseconds (the whole process, reader threads included) per run."""
    times, result = [], None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = await fn()
        times.append(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))
    return times, result


def median(times: list[tuple[float, float]]) -> tuple[float, float]:
    return (statistics.median(w for w, _ in times), statistics.median(c for _, c in times))


def ms(pair: tuple[float, float]) -> str:
    return f"{pair[0]:5.0f} ms (cpu {pair[1]:4.0f})"


async def bench_functions(path: Path, runs: int, end: date, days: int) -> None:
    from bot.reports import DayCache
    from bot.reports.cache import SETTLE_MARGIN
    from bot.settings import Settings

    db = Database(path)
    db.start()
    last30 = ReportFilter(since=end - timedelta(days=29), until=end)
    everything = ReportFilter(since=end - timedelta(days=days - 1), until=end)
    cases = [
        ("last 30 days (dashboard default)", last30, "day"),
        ("last 90 days", ReportFilter(since=end - timedelta(days=89), until=end), "day"),
        (f"all {days} days, by week", everything, "week"),
        ("all time (no range), by week", ReportFilter(), "week"),
        (
            "30 days, one agent, escalated",
            ReportFilter(since=last30.since, until=end, agent_id=5, handled="escalated"),
            "day",
        ),
        (
            f"all {days} days, language it, by week",
            ReportFilter(since=everything.since, until=end, language="it"),
            "week",
        ),
    ]
    settle = Settings().csat_window + SETTLE_MARGIN
    print(
        f"build_report through Database.read ({runs} runs each; cold = empty day cache, "
        "warm = settled days cached):"
    )
    for name, f, period in cases:
        cache = DayCache(settle)
        cached = partial(db.read, partial(build_report, f=f, period=period, cache=cache))
        cold, report = await timed(cached, 1)
        warm, _ = await timed(cached, runs)
        uncached, _ = await timed(partial(db.read, partial(build_report, f=f, period=period)), 1)
        print(
            f"  {name:<38} cold {ms(cold[0])}   warm {ms(median(warm))}   "
            f"no cache {ms(uncached[0])}"
        )
        if f is last30:
            totals = report.totals
            print(
                f"    -> {totals.chats} chats, {totals.ratings} ratings, "
                f"CSAT {totals.csat_score:.1%}, containment {totals.containment_rate:.1%}, "
                f"first response median {totals.first_response.median:.1f} s "
                f"p90 {totals.first_response.p90:.1f} s, "
                f"{len(report.unanswered)} top unanswered questions"
            )
    times, _ = await timed(lambda: db.read(partial(csat_log, f=last30)), runs)
    print(f"  {'CSAT log, first page, 30 days':<38} {ms(median(times))}")
    times, _ = await timed(lambda: db.read(partial(csat_log, f=everything)), runs)
    print(f"  {f'CSAT log, first page, {days} days':<38} {ms(median(times))}")
    db.stop()


async def bench_http(path: Path, runs: int, end: date) -> None:
    from bot.app import create_app
    from bot.settings import Settings
    from bot.web.dashboard import REPORT_CACHE, REPORT_WARMUP

    app = create_app(Settings(db=path, port=0, secure_cookies=False))
    runner = web.AppRunner(app, access_log=None)
    t0, c0 = time.perf_counter(), time.process_time()
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)  # a port the system picks
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    await app[REPORT_WARMUP]
    print(
        f"server start-up, day cache warmed up ({len(app[REPORT_CACHE])} settled days): "
        f"{ms(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))}"
    )
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(f"{url}/login") as response:
                token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
            assert token
            async with http.post(
                f"{url}/login",
                data={
                    "email": "agent0@shop.example",
                    "password": PASSWORD,
                    "csrf_token": token.group(1),
                    "next": "/dashboard",
                },
            ) as response:
                assert response.status == 200, response.status
            since = (end - timedelta(days=29)).isoformat()

            async def get(path: str, **params: str) -> Any:
                async with http.get(url + path, params=params) as response:
                    assert response.status == 200, response.status
                    return await response.read()

            print(
                f"HTTP through the real app, signed in as a manager (first request, then "
                f"the median of {runs}):"
            )
            for name, path_, params in [
                (
                    "GET /api/report, last 30 days",
                    "/api/report",
                    {"since": since, "until": end.isoformat()},
                ),
                ("GET /api/report, all time, by week", "/api/report", {"period": "week"}),
                (
                    "GET /api/report, all time, Italian, week",
                    "/api/report",
                    {"period": "week", "language": "it"},
                ),
                (
                    "GET /api/csat, first page, last 30 days",
                    "/api/csat",
                    {"since": since, "until": end.isoformat()},
                ),
            ]:
                first, body = await timed(partial(get, path_, **params), 1)
                again, _ = await timed(partial(get, path_, **params), runs)
                print(
                    f"  {name:<38} first {ms(first[0])}   then {ms(median(again))}   "
                    f"({len(body) / 1024:.0f} KiB)"
                )
    finally:
        await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--days",
        type=int,
        default=365,
        help="days of history the conversations are spread over (default 365)",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--db", type=Path, help="build the database here and keep it (reused when it exists)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "reports.db"
        if not path.exists():
            t0 = time.perf_counter()
            end = datetime.now(UTC).date() - timedelta(days=1)
            build(path, args.conversations, args.events, end, args.days)
            print(f"built {path.name} in {time.perf_counter() - t0:.0f} s")
        conn = sqlite3.connect(path)
        end = date.fromisoformat(
            conn.execute("SELECT max(created_at) FROM conversations").fetchone()[0][:10]
        )
        conn.close()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"machine: {os.cpu_count()} CPUs, load average {load}; "
            f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}"
        )
        n = counts(path)
        print(
            f"database: {n['conversations']:,} conversations, {n['messages']:,} messages, "
            f"{n['events']:,} events, {n['csat']:,} surveys ({n['ratings']:,} ratings), "
            f"{path.stat().st_size / 2**20:.0f} MiB"
        )
        print(f"history: {args.days} days up to {end}")
        await bench_functions(path, args.runs, end, args.days)
        await bench_http(path, args.runs, end)


if __name__ == "__main__":
    asyncio.run(main())
