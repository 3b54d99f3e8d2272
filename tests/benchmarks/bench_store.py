"""Event store and acknowledgement latency (issue: chat server core).

    .venv/bin/python tests/benchmarks/bench_store.py [--events 200000] [--clients 200] [--seconds 20] [--warmup 3]

1. Writer throughput: engagement events pushed through the single writer thread
   (batched transactions), as events/s, both fire-and-forget rows and awaited
   write jobs of 10 events each.
2. Ack latency: the real server in its own process; CLIENTS shoppers each send one
   message a second (CLIENTS messages/s in all). For every message the time from
   emit to its ack (which the server sends only after the commit) is measured, and,
   as the baseline in the same run, the ack time of an event that does not touch
   the database (``typing``). The difference is the latency the store adds, with
   the bot's turn (judged inside the write, and its reply sent right after).
   A second run, on a fresh server, does the same with ``identify`` in place of
   ``message``: one awaited write through the writer per event and no bot turn,
   which is the store's own share at the same rate. All shoppers connect and start
   their chats first; the measured seconds begin after WARMUP seconds at the steady
   rate, so the burst of 200 chat starts is not in the figures. The message rate
   limit is raised to 20 per 10 s, since one a second is exactly the default limit.
3. Durability: several shoppers stream messages; the server gets SIGKILL in the
   middle; after a restart every acknowledged message is counted in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bot import events as ev  # noqa: E402
from bot.store import Database  # noqa: E402
from bot.store import events as store_events  # noqa: E402
from bot.store.migrations import migrate  # noqa: E402

from serverproc import ServerProcess, cpu_seconds, percentile  # noqa: E402


async def writer_throughput(path: Path, count: int) -> tuple[float, float]:
    db = Database(path)
    db.start(migrate)
    row = ev.WidgetOpened(conversation_id="c_bench", actor="shopper").row()
    t0 = time.perf_counter()
    for _ in range(count):
        db.submit(store_events.INSERT_SQL, row)
    await db.flush()
    fire_and_forget = count / (time.perf_counter() - t0)

    events = [ev.WidgetClosed(conversation_id="c_bench", actor="shopper") for _ in range(10)]
    jobs = count // 10
    t0 = time.perf_counter()
    await asyncio.gather(*(db.write(lambda c: ev.insert_events(c, *events)) for _ in range(jobs)))
    awaited = jobs * 10 / (time.perf_counter() - t0)
    db.stop()
    total = sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0]
    assert total == count + jobs * 10, total
    return fire_and_forget, awaited


def payload(kind: str, n: int) -> dict[str, str]:
    if kind == "message":
        return {"id": f"m{n}", "text": "how long does delivery take"}
    return {"name": f"Shopper {n}"}  # identify: the conversation row and an event


async def shopper(
    url: str,
    kind: str,
    started: asyncio.Semaphore,
    ready: asyncio.Future[tuple[float, float]],
    acked_ms: list[float],
    baseline_ms: list[float],
    errors: list[str],
) -> None:
    """One ``kind`` event a second; ``ready`` gives (measure from, stop at) once all have started."""
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, namespaces=["/chat"], transports=["websocket"])
    try:
        # As the widget: the bot's replies come in the message's ack (protocol 2).
        await sio.call("start", {"replies_in_ack": True}, namespace="/chat")
        started.release()
        measure_from, end = await asyncio.shield(ready)
        await asyncio.sleep(random.random())  # spread the clients over the second
        n = 0
        while time.monotonic() < end:
            tick = time.monotonic()
            n += 1
            t0 = time.perf_counter()
            ack = await sio.call(kind, payload(kind, n), namespace="/chat")
            took = (time.perf_counter() - t0) * 1000
            if not ack.get("ok"):
                errors.append(ack["error"]["code"])
            t0 = time.perf_counter()
            await sio.call("typing", {"typing": False}, namespace="/chat")
            if tick >= measure_from:
                acked_ms.append(took)
                baseline_ms.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    finally:
        await sio.disconnect()


async def ack_latency(tmp: Path, kind: str, clients: int, seconds: float, warmup: float) -> None:
    acked_ms: list[float] = []
    baseline_ms: list[float] = []
    errors: list[str] = []
    # One message a second is exactly the default limit (10 per 10 s): raise it so
    # that a client whose timer drifts is not refused (refusals would skip the store).
    limits = {"SUPPORTBOT_RATE_LIMIT_MESSAGES": "20"}
    with ServerProcess(tmp / f"ack-{kind}.db", env=limits) as server:
        started = asyncio.Semaphore(0)
        ready: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        tasks = [
            asyncio.create_task(
                shopper(server.url, kind, started, ready, acked_ms, baseline_ms, errors)
            )
            for _ in range(clients)
        ]
        # Connections and chat starts come first, all at once; the measured window
        # begins after a warm-up at the steady rate, so it is not their burst.
        for _ in range(clients):
            await asyncio.wait_for(started.acquire(), 60)
        measure_from = time.monotonic() + warmup
        ready.set_result((measure_from, measure_from + seconds))
        await asyncio.sleep(warmup)
        cpu_before = cpu_seconds(server.pid)
        await asyncio.sleep(seconds)
        cpu = cpu_seconds(server.pid) - cpu_before
        await asyncio.gather(*tasks)
    rate = len(acked_ms) / seconds
    what = {"message": "messages (with the bot's turn)", "identify": "identify (store only)"}[kind]
    print(
        f"ack latency, {clients} shoppers, {rate:.0f} {what}/s measured for {seconds:.0f} s "
        f"after {warmup:.0f} s of warm-up ({len(acked_ms)} acks, {len(errors)} refused); "
        f"server CPU {cpu / seconds:.0%} of a core, {cpu * 1000 / max(1, len(acked_ms)):.1f} ms "
        f"per {kind} (with its baseline event)"
    )
    for name, values in ((f"{kind} (committed)", acked_ms), ("baseline (no db)", baseline_ms)):
        print(
            f"  {name:<20} p50 {percentile(values, 50):6.2f} ms   p99 {percentile(values, 99):6.2f} ms"
            f"   max {max(values):6.2f} ms"
        )
    print(
        f"  added by the store   p50 {percentile(acked_ms, 50) - percentile(baseline_ms, 50):6.2f} ms"
        f"   p99 {percentile(acked_ms, 99) - percentile(baseline_ms, 99):6.2f} ms"
    )


async def streamer(url: str, acked: set[str], name: str) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(url, namespaces=["/chat"], transports=["websocket"])
        await sio.call("start", {}, namespace="/chat")
        n = 0
        while True:
            n += 1
            client_id = f"{name}-{n}"
            ack = await sio.call(
                "message", {"id": client_id, "text": f"message {n}"}, namespace="/chat", timeout=5
            )
            if ack.get("ok"):
                acked.add(client_id)
            await asyncio.sleep(0.1)  # stay under the 10 messages / 10 s limit... per burst
    except Exception:  # noqa: BLE001 - the server was killed under us
        return
    finally:
        if sio.connected:
            await sio.disconnect()


async def durability(tmp: Path, clients: int = 8, seconds: float = 3.0) -> int:
    db = tmp / "durability.db"
    acked: set[str] = set()
    server = ServerProcess(db, env={"SUPPORTBOT_RATE_LIMIT_MESSAGES": "1000"}).start()
    tasks = [asyncio.create_task(streamer(server.url, acked, f"s{i}")) for i in range(clients)]
    await asyncio.sleep(seconds)
    server.kill()
    await asyncio.gather(*tasks)
    restarted = ServerProcess(db, port=server.port).start()
    restarted.stop()
    conn = sqlite3.connect(db)
    stored = {
        r[0] for r in conn.execute("SELECT client_id FROM messages WHERE client_id IS NOT NULL")
    }
    dupes = conn.execute(
        "SELECT count(*) - count(DISTINCT conversation_id || client_id) FROM messages "
        "WHERE client_id IS NOT NULL"
    ).fetchone()[0]
    lost = len(acked - stored)
    print(
        f"durability: {len(acked)} acknowledged messages from {clients} shoppers before SIGKILL; "
        f"after restart {len(acked & stored)} found, {lost} lost, {dupes} duplicated"
    )
    return lost


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3,
        help="seconds at the steady rate before the measured ones",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        fire, awaited = await writer_throughput(tmp / "events.db", args.events)
        print(
            f"writer: {fire:,.0f} events/s fire-and-forget, {awaited:,.0f} events/s in awaited "
            f"jobs of 10 ({args.events:,} events each)"
        )
        for kind in ("message", "identify"):
            await ack_latency(tmp, kind, args.clients, args.seconds, args.warmup)
        lost = await durability(tmp)
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    asyncio.run(main())
