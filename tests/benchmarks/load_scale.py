"""Saturation on one and two server processes with Redis, ours and python-socketio's echo.

    .venv/bin/python tests/benchmarks/load_scale.py [--workers 4]
        [--sat-levels 4,8,16,32,64,128] [--sat-step 10] [--sat-settle 3] [--json FILE]

The saturation phase of ``load.py`` (closed-loop shoppers in WORKERS processes:
ask, wait for the reply, ask again; more clients step by step until throughput
stops growing by 5%), run on six set-ups, each on fresh servers and a fresh
database and Redis:

- supportbot: 1 process without Redis (a deployment today), 1 process with
  ``--redis``, 2 processes with ``--redis`` on one database; with ``--stores
  sqlite,postgres`` the three again on PostgreSQL (a real server started by the
  script, Debian's ``postgresql``; its CPU counted with the servers');
- echo (``load_echo.py``): 1 process, 1 with python-socketio's ``AsyncRedisManager``,
  2 with it.

With two processes, half the client processes talk to each. For each set-up the
best step is reported: turns/s, the servers' CPU per turn (every server process and
its children, plus redis-server), latency p50/p99, and the machine's load average.
The scaling factor is two processes with Redis over one process without it; the
target (issue 20) is ours at least echo's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from load import ECHO, ORIGIN, Workers, plans  # noqa: E402
from load_clients import CONNECTED, REPLIES  # noqa: E402

from pgproc import PostgresServer  # noqa: E402
from redisproc import RedisServer  # noqa: E402
from serverproc import (  # noqa: E402
    ROOT,
    ServerProcess,
    free_port,
    healthy,
    percentile,
    tree_cpu_seconds,
)

UNLIMITED = {
    "SUPPORTBOT_RATE_LIMIT_MESSAGES": "1000000",
    "SUPPORTBOT_RATE_LIMIT_EVENTS": "1000000",
}


class Echo:
    def __init__(self, redis_url: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = ["--redis", redis_url] if redis_url else []
        self.proc = subprocess.Popen(
            [sys.executable, str(ECHO), "--port", str(self.port), "--allowed-origin", ORIGIN]
            + extra,
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> Echo:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if healthy(self.url):
                return self
            time.sleep(0.1)
        raise TimeoutError("echo server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@dataclasses.dataclass
class Step:
    level: int
    turns: float
    cpu_ms_per_turn: float
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    load1: float = 0.0


def saturate(args: argparse.Namespace, name: str, urls: list[str], pids: list[int]) -> list[Step]:
    levels = [int(x) for x in args.sat_levels.split(",")]
    clients = max(levels)
    workers = Workers(args.workers)
    start_at = time.time() + 4
    chosen = plans(
        args,
        "echo" if "echo" in name else "turns",
        urls[0],
        clients,
        start_at,
        5.0,
        start_at + 3600,
    )
    chosen = [dataclasses.replace(p, url=urls[i % len(urls)]) for i, p in enumerate(chosen)]
    workers.start(chosen)
    steps: list[Step] = []
    try:
        deadline = time.time() + 60
        while workers.sum(CONNECTED) < clients and time.time() < deadline:
            time.sleep(0.5)
        best, flat = 0.0, 0
        for i, level in enumerate(levels):
            workers.step.value = -1
            workers.active.value = level
            time.sleep(args.sat_settle)
            workers.step.value = i
            t0, r0, c0 = time.time(), workers.sum(REPLIES), tree_cpu_seconds(pids)
            time.sleep(args.sat_step)
            t1, r1, c1 = time.time(), workers.sum(REPLIES), tree_cpu_seconds(pids)
            workers.step.value = -1
            turns = (r1 - r0) / (t1 - t0)
            step = Step(level, turns, 1000 * (c1 - c0) / max(r1 - r0, 1), load1=os.getloadavg()[0])
            steps.append(step)
            print(
                f"[{name}] {level:4d} clients: {turns:7.1f} turns/s  "
                f"{step.cpu_ms_per_turn:5.2f} ms CPU/turn  load {step.load1:.2f}",
                flush=True,
            )
            if turns > best * 1.05:
                best, flat = max(best, turns), 0
            else:
                best, flat = max(best, turns), flat + 1
                if flat >= 2:
                    break
    finally:
        workers.active.value = -1
        results = workers.results(timeout=120)
    for i, step in enumerate(steps):
        latencies = [v for r in results for v in r["step_latencies"].get(i, [])]
        if latencies:
            step.p50_ms = 1000 * percentile(latencies, 50)
            step.p99_ms = 1000 * percentile(latencies, 99)
    return steps


def run_setup(
    args: argparse.Namespace,
    tmp: Path,
    kind: str,
    processes: int,
    redis: bool,
    store: str = "sqlite",
) -> dict[str, Any]:
    name = f"{kind}: {processes} process{'es' if processes > 1 else ''}" + (
        " + Redis" if redis else ""
    )
    if kind != "echo":
        name += " + PostgreSQL" if store == "postgres" else " + SQLite"
    folder = tmp / name.replace(" ", "_").replace(":", "").replace("+", "")
    folder.mkdir()
    server = RedisServer(folder / "redis").start() if redis else None
    pg = PostgresServer().start() if store == "postgres" else None
    database: Path | str = pg.database() if pg else folder / "bench.db"
    targets: list[Any] = []
    try:
        for _ in range(processes):
            if kind == "echo":
                targets.append(Echo(server.url if server else None).start())
            else:
                extra = ["--allowed-origin", ORIGIN] + (["--redis", server.url] if server else [])
                target = ServerProcess(database, env=UNLIMITED, args=extra)
                target.log_level = "warning"
                targets.append(target.start())
        pids = [t.pid for t in targets] + ([server.proc.pid] if server and server.proc else [])
        if pg is not None and pg.proc is not None:
            pids.append(pg.proc.pid)  # the postmaster and its backends
        load_before = os.getloadavg()
        steps = saturate(args, name, [t.url for t in targets], pids)
    finally:
        for target in targets:
            target.stop()
        if server is not None:
            server.stop()
        if pg is not None:
            pg.stop()
    top = max(steps, key=lambda s: s.turns)
    return {
        "name": name,
        "load_before": load_before,
        "best": dataclasses.asdict(top),
        "steps": [dataclasses.asdict(s) for s in steps],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=4, help="client processes")
    p.add_argument("--sat-levels", default="4,8,16,32,64,128")
    p.add_argument("--sat-step", type=float, default=10.0)
    p.add_argument("--sat-settle", type=float, default=3.0)
    p.add_argument("--kinds", default="supportbot,echo")
    p.add_argument(
        "--stores", default="sqlite", help="supportbot's stores: sqlite, postgres or both"
    )
    p.add_argument("--json", metavar="FILE")
    # what load.plans() reads
    p.add_argument("--min-questions", type=int, default=5)
    p.add_argument("--max-questions", type=int, default=10)
    p.add_argument("--escalate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"{started}  {machine}  load {os.getloadavg()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows: dict[str, list[dict[str, Any]]] = {}
    try:
        for kind in [k.strip() for k in args.kinds.split(",")]:
            stores = ["-"] if kind == "echo" else [x.strip() for x in args.stores.split(",")]
            for store in stores:
                rows[kind if store == "-" else f"{kind} on {store}"] = [
                    run_setup(args, tmp, kind, processes, redis, store)
                    for processes, redis in ((1, False), (1, True), (2, True))
                ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n{'set-up':38} {'turns/s':>8} {'CPU ms/turn':>12} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'load':>5}"
    )
    for kind, setups in rows.items():
        base = setups[0]["best"]["turns"]
        for row in setups:
            b = row["best"]
            print(
                f"{row['name']:38} {b['turns']:8.1f} {b['cpu_ms_per_turn']:12.2f} "
                f"{b['p50_ms']:7.1f} {b['p99_ms']:7.1f} {b['load1']:5.2f}"
            )
        two = setups[2]["best"]["turns"]
        print(f"{kind}: scaling factor, 2 processes + Redis / 1 process: {two / base:.2f}x\n")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "started": started,
                    "machine": machine,
                    "command": " ".join(sys.argv),
                    "setups": rows,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
