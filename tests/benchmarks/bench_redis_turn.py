"""What Redis costs a shopper's turn: one server process without and with ``--redis``.

    .venv/bin/python tests/benchmarks/bench_redis_turn.py [--clients 16] [--turns 60]
        [--rounds 2] [--semantic process]

Closed-loop shoppers (``--clients``, each on its own socket.io connection) run chats
of 5-10 questions from the bundled shop's questions, end each chat and start the
next, on a fresh server and database each time, first without Redis and then with
a real ``redis-server`` (Debian's), ``--rounds`` times. Printed for each: the
server's CPU per turn (its own process; its judging worker's apart), redis-server's
CPU per turn, turns/s, and the Redis commands per turn as the client sends them
and as Redis runs them (the commands inside scripts included): over the chats
(start, questions, end; ``INFO commandstats``), and for 20 bot turns alone
(``MONITOR``).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import socketio
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from load_scale import UNLIMITED  # noqa: E402

from redisproc import RedisServer, available  # noqa: E402
from serverproc import ServerProcess, cpu_seconds  # noqa: E402

QUESTIONS = [
    "how long does delivery take?",
    "can I return a lamp?",
    "do you ship to Poland?",
    "what payment methods do you accept?",
    "quanto costa la spedizione?",
    "jak mogę zwrócić towar?",
    "do you sell gift cards",
    "where is my order",
]


class Shopper:
    def __init__(self, url: str, seed: int) -> None:
        self.url = url
        self.rng = random.Random(seed)
        self.sio = socketio.AsyncClient()
        self.sent = 0
        self.errors = 0

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(event, data, namespace="/chat", timeout=30)
        if not ack.get("ok"):
            self.errors += 1
        return ack

    async def connect(self) -> None:
        await self.sio.connect(
            self.url, namespaces=["/chat"], transports=["websocket"], headers={"Origin": self.url}
        )

    async def chats(self, turns: int) -> None:
        """Chats of 5-10 questions until ``turns`` questions are asked."""
        while turns > 0:
            await self.call("start", {"protocol": 2, "replies_in_ack": True, "lang": "auto"})
            for _ in range(min(turns, self.rng.randint(5, 10))):
                self.sent += 1
                turns -= 1
                await self.call(
                    "message", {"id": f"q{self.sent}", "text": self.rng.choice(QUESTIONS)}
                )
            await self.call("end", {})


async def commandstats(redis: Redis | None) -> dict[str, int]:
    if redis is None:
        return {}
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


async def bot_turn(redis: Redis, probe: Shopper, turns: int = 20) -> tuple[float, float]:
    """Commands per bot turn on a chat already started, seen by MONITOR: (those the
    server sent, each a command of its own or of a pipeline; all Redis ran, the
    scripts' own commands included)."""
    await probe.call("start", {"protocol": 2, "replies_in_ack": True})
    await asyncio.sleep(0.5)  # the start's own work done
    seen: list[dict[str, Any]] = []

    async def watch() -> None:
        async with redis.monitor() as monitor:
            async for command in monitor.listen():
                seen.append(command)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.3)
    seen.clear()
    for n in range(turns):
        await probe.call("message", {"id": f"probe{n}", "text": QUESTIONS[0]})
    await asyncio.sleep(0.3)  # the last emits published
    watcher.cancel()
    ours = [c for c in seen if not c["command"].upper().startswith(("INFO", "MONITOR"))]
    sent = [c for c in ours if c["client_type"] != "lua"]
    return len(sent) / turns, len(ours) / turns


async def one(
    redis_server: RedisServer | None, clients: int, turns: int, semantic: str
) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-redis-turn-"))
    env = {**UNLIMITED, "SUPPORTBOT_FAQ_SEMANTIC": semantic}
    args = ["--redis", redis_server.url] if redis_server else []
    server = ServerProcess(folder / "db.sqlite", env=env, args=args).start(timeout=60)
    redis = Redis.from_url(redis_server.url) if redis_server else None
    try:
        shoppers = [Shopper(server.url, seed) for seed in range(clients)]
        await asyncio.gather(*(s.connect() for s in shoppers))
        await asyncio.gather(*(s.chats(10) for s in shoppers))  # warm-up
        process = psutil.Process(server.pid)

        def children() -> float:
            return sum(sum(c.cpu_times()[:2]) for c in process.children(recursive=True))

        redis_pid = redis_server.proc.pid if redis_server and redis_server.proc else None
        stats0 = await commandstats(redis)
        cpu0, kids0 = cpu_seconds(server.pid), children()
        red0 = cpu_seconds(redis_pid) if redis_pid else 0.0
        started = time.perf_counter()
        await asyncio.gather(*(s.chats(turns) for s in shoppers))
        elapsed = time.perf_counter() - started
        cpu1, kids1 = cpu_seconds(server.pid), children()
        red1 = cpu_seconds(redis_pid) if redis_pid else 0.0
        stats1 = await commandstats(redis)
        total = clients * turns
        out = {
            "server_ms": (cpu1 - cpu0) / total * 1000,
            "worker_ms": (kids1 - kids0) / total * 1000,
            "redis_ms": (red1 - red0) / total * 1000,
            "turns_s": total / elapsed,
            "errors": sum(s.errors for s in shoppers),
        }
        if redis is not None:
            diff = {k: stats1.get(k, 0) - stats0.get(k, 0) for k in stats1 if k != "info"}
            out["ran_per_turn"] = sum(diff.values()) / total
            out["turn_sent"], out["turn_ran"] = await bot_turn(redis, shoppers[0])
        await asyncio.gather(*(s.sio.disconnect() for s in shoppers))
        return out
    finally:
        if redis is not None:
            await redis.aclose()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--turns", type=int, default=60, help="questions per client, measured")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--semantic", default="process", help="SUPPORTBOT_FAQ_SEMANTIC")
    args = p.parse_args()
    if not available():
        sys.exit("redis-server is not installed (Debian: apt-get install redis-server)")
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {platform.node()}, "
        f"{psutil.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {tuple(round(x, 2) for x in psutil.getloadavg())}"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    redis_server = RedisServer(folder).start()
    try:
        for _ in range(args.rounds):
            for label, server in (("1 process", None), ("1 process + Redis", redis_server)):
                r = await one(server, args.clients, args.turns, args.semantic)
                line = (
                    f"{label:18s} server {r['server_ms']:.2f} ms/turn, judging worker "
                    f"{r['worker_ms']:.2f}, redis-server {r['redis_ms']:.2f}; "
                    f"{r['turns_s']:.0f} turns/s, {r['errors']:.0f} errors"
                )
                if server is not None:
                    line += (
                        f"; Redis commands per turn in chats {r['ran_per_turn']:.1f} run; "
                        f"a bot turn alone: {r['turn_sent']:.1f} sent by the server, "
                        f"{r['turn_ran']:.1f} run"
                    )
                print(line, flush=True)
    finally:
        redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
