"""The retention purge while the server takes chats (issue: privacy).

    .venv/bin/python tests/benchmarks/bench_privacy.py [--conversations 100000]
        [--events 1000000] [--shoppers 100] [--rate 50] [--warmup 30] [--db PATH]

1. Builds the reports benchmark's database (``bench_reports.build``: CONVERSATIONS
   conversations with their messages, surveys and exactly EVENTS events over 365
   days) through the real migrations, its history ending two days ago. Then gives
   every conversation a random id and resume-token hash, as the server does (the
   builder numbers them in order, and indexes keyed by ids in order would make the
   purge's index updates sequential: it would purge about five times faster than
   it can on a shop's real database).
2. Starts the real app on 127.0.0.1 in this process, as ``supportbot serve`` runs
   it (the same cycle-collector setting), and waits for its report cache warm-up.
3. SHOPPERS python-socketio shoppers in a child process send RATE messages a
   second in all (questions the bot answers, in English, Italian and Polish; a new
   chat every 8 messages) and time each bot reply: from emitting the message to
   receiving the bot's answer.
4. After WARMUP seconds at that rate, the server's own retention purge (the
   background task's ``Retention.purge``: batches of ~10 ms through the writer)
   removes the personal data of every chat that ended more than a day ago, i.e.
   every built one. Prints its wall time and the bot reply p50 / p99 / max while
   it ran and in the WARMUP seconds before it.
5. Checks that the report over the whole history has the same figures after the
   purge (all but the unanswered questions, which are the shoppers' own words) and
   that no built chat keeps a message.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reports import build

from bot.reports import ReportFilter, build_report
from bot.store.db import connect

from serverproc import percentile

QUESTIONS = [
    ("en", "how long does delivery take"),
    ("it", "posso pagare con PayPal?"),
    ("pl", "ile kosztuje wysyłka?"),
    ("en", "how do I return an item"),
    ("it", "quanto costa la spedizione?"),
    ("pl", "jak zwrócić produkt?"),
    ("en", "can I change my delivery address"),
    ("pl", "jakie formy płatności akceptujecie?"),
]
CHAT_LENGTH = 8  # messages, then the shopper ends the chat and starts a new one


# -- the shoppers (child process) ---------------------------------------------------------


async def shopper(
    url: str, interval: float, stop: asyncio.Event, results: list[tuple[float, float | None]]
) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    reply: asyncio.Future[float] | None = None

    def on_message(data: dict[str, Any]) -> None:
        if data.get("author") == "bot" and reply is not None and not reply.done():
            reply.set_result(time.perf_counter())

    sio.on("message", on_message, namespace="/chat")
    await sio.connect(url, namespaces=["/chat"], transports=["websocket"], wait_timeout=30)
    lang, _ = random.choice(QUESTIONS)
    await sio.call("start", {"lang": lang}, namespace="/chat", timeout=30)
    next_at = time.perf_counter() + random.random() * interval
    sent = 0
    try:
        while not stop.is_set():
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            if sent and sent % CHAT_LENGTH == 0:
                await sio.call("end", {}, namespace="/chat", timeout=30)
                lang, _ = random.choice(QUESTIONS)
                await sio.call("start", {"lang": lang}, namespace="/chat", timeout=30)
            question = random.choice([q for code, q in QUESTIONS if code == lang])
            reply = asyncio.get_running_loop().create_future()
            wall, started = time.time(), time.perf_counter()
            ack = await sio.call(
                "message", {"id": f"q{sent}", "text": question}, namespace="/chat", timeout=30
            )
            sent += 1
            if not ack.get("ok"):
                results.append((wall, None))
                continue
            try:
                answered = await asyncio.wait_for(reply, 10)
                results.append((wall, (answered - started) * 1000))
            except TimeoutError:
                results.append((wall, None))
    finally:
        await sio.disconnect()


async def shoppers_main(url: str, count: int, rate: float) -> None:
    """Until standard input closes; then one JSON list of [sent at, reply ms] on stdout."""
    stop = asyncio.Event()
    results: list[tuple[float, float | None]] = []
    interval = count / rate
    tasks = [asyncio.create_task(shopper(url, interval, stop, results)) for _ in range(count)]
    await asyncio.to_thread(sys.stdin.read)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    json.dump(results, sys.stdout)


# -- the server and the purge (this process) ---------------------------------------------


def random_ids(path: Path) -> None:
    """Random conversation ids (``c_`` + 16 hex digits) and token hashes everywhere."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN")
    conn.execute("CREATE TEMP TABLE ids (old TEXT PRIMARY KEY, new TEXT NOT NULL) WITHOUT ROWID")
    conn.execute("INSERT INTO ids SELECT id, 'c_' || lower(hex(randomblob(8))) FROM conversations")
    for table, column in (
        ("conversations", "id"),
        ("messages", "conversation_id"),
        ("events", "conversation_id"),
        ("csat", "conversation_id"),
    ):
        conn.execute(
            f"UPDATE {table} SET {column} = (SELECT new FROM ids WHERE old = "
            f"{table}.{column}) WHERE {column} IS NOT NULL"
        )
    conn.execute("UPDATE conversations SET token_hash = lower(hex(randomblob(32)))")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def figures(path: Path) -> dict[str, Any]:
    """The report up to yesterday: the built history, not the benchmark's own chats."""
    conn = connect(path)
    try:
        until = datetime.now(UTC).date() - timedelta(days=1)
        report = build_report(conn, ReportFilter(until=until), period="week").to_dict()
    finally:
        conn.close()
    report.pop("unanswered")
    return report


def wall_iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def stats(values: list[float]) -> str:
    if not values:
        return "no replies"
    return (
        f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms, "
        f"max {max(values):.1f} ms ({len(values)} replies)"
    )


async def run(path: Path, shoppers: int, rate: float, warmup: float) -> None:
    from bot.app import create_app
    from bot.cli.serve import _tune_collector
    from bot.privacy.web import PRIVACY
    from bot.settings import Settings
    from bot.web.dashboard import REPORT_WARMUP

    before = figures(path)
    conn = sqlite3.connect(path)
    ended = conn.execute(
        "SELECT count(*) FROM conversations WHERE closed_at IS NOT NULL"
    ).fetchone()[0]
    conn.close()
    # no background purge: the benchmark starts it once the shoppers are chatting
    app = create_app(Settings(db=path, port=0, retention_days=0))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # a port the system picks
    port = runner.addresses[0][1]
    _tune_collector()
    gc.collect()
    await app[REPORT_WARMUP]
    url = f"http://127.0.0.1:{port}"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--shoppers-at",
        url,
        "--shoppers",
        str(shoppers),
        "--rate",
        str(rate),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(warmup + shoppers / rate)  # every shopper has started, then WARMUP
        t0, wall0 = time.perf_counter(), time.time()
        removed = await app[PRIVACY].retention.purge(days=1)
        seconds, wall1 = time.perf_counter() - t0, time.time()
        await asyncio.sleep(2)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        out, _ = await child.communicate()
        await runner.cleanup()
    results = json.loads(out)
    during = [ms for at, ms in results if wall0 <= at <= wall1 and ms is not None]
    quiet = [ms for at, ms in results if wall0 - warmup <= at < wall0 and ms is not None]
    lost = sum(ms is None for _, ms in results)
    print(
        f"purge: {removed.conversations:,} of {ended:,} ended chats in {seconds:.1f} s "
        f"({removed.conversations / seconds:,.0f} chats/s): {removed.messages:,} messages "
        f"deleted, {removed.comments:,} comments and {removed.events:,} events cleared"
    )
    print(
        f"shoppers: {shoppers} sending {rate:g} messages/s in all; "
        f"{len(results):,} messages, {lost} without a reply"
    )
    print(f"bot reply during the purge ({seconds:.1f} s): {stats(during)}")
    print(f"bot reply in the {warmup:g} s before it:      {stats(quiet)}")
    after = figures(path)
    conn = sqlite3.connect(path)
    left = conn.execute(
        "SELECT count(*) FROM messages m JOIN conversations c ON "
        "c.id = m.conversation_id WHERE c.closed_at < ?",
        (wall_iso(wall0 - 86400),),
    ).fetchone()[0]
    conn.close()
    print(
        f"checks: report over the built history unchanged: {after == before}; messages "
        f"left in chats that ended before the cutoff: {left}"
    )
    if after != before or left:
        sys.exit(1)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--shoppers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50, help="messages per second, in all")
    parser.add_argument(
        "--warmup", type=float, default=30, help="seconds at the rate before the purge starts"
    )
    parser.add_argument(
        "--db",
        type=Path,
        help="where to build the database (kept); if it exists, it is used as "
        "it is and purged, so pass a copy",
    )
    parser.add_argument("--shoppers-at", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.shoppers_at:
        await shoppers_main(args.shoppers_at, args.shoppers, args.rate)
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load}; SQLite {sqlite3.sqlite_version}, "
        f"Python {sys.version.split()[0]}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "privacy.db"
        if not path.exists():
            t0 = time.perf_counter()
            end = datetime.now(UTC).date() - timedelta(days=2)
            build(path, args.conversations, args.events, end, 365)
            random_ids(path)
            print(
                f"built {args.conversations:,} conversations and {args.events:,} events in "
                f"{time.perf_counter() - t0:.0f} s"
            )
        await run(path, args.shoppers, args.rate, args.warmup)


if __name__ == "__main__":
    asyncio.run(main())
