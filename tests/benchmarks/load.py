"""Load benchmark: many shoppers on one server process, against the framework's own limit.

    .venv/bin/python tests/benchmarks/load.py [--shoppers 1000] [--rate 200] [--hold 60]
        [--soak 600] [--soak-rate R] [--phases hold,saturation,soak] [--workers 4]
        [--durable-echo] [--paced-echo] [--json FILE]

The server is the real ``python -m bot serve`` in its own process, with a fresh
database in a temporary folder. Simulated shoppers are python-socketio clients
(websocket transport) in WORKERS separate processes (``load_clients.py``); the
simulated agents are in one more process (``load_agents.py``). While a phase runs,
the server's CPU and RSS, the clients' CPU, the machine's load and the shoppers'
counters are sampled every second (``load_monitor.py``).

1. hold: SHOPPERS shoppers connect over RAMP seconds and chat: each asks 5-10
   questions from tests/data/shop_queries.csv (English, Italian, Polish), one every
   SHOPPERS/RATE seconds on average, so that together they send RATE messages/s;
   ESCALATE of the chats ask for a person (``handoff``) and others are escalated by
   the bot's own policy (unhappy or unanswered shoppers); agents greet, answer and
   resolve those; the other chats ``end``; every chat is rated (``csat``); the next
   chat starts on a new connection, opened before the old one is closed, so SHOPPERS
   connections stay open. Measured over HOLD seconds after the ramp (plus one think
   time): connections held, messages/s, bot reply latency (from emitting ``message``
   to receiving the bot's ``message`` event; the ack comes first), errors, server
   CPU and RSS over time.
2. saturation: closed-loop clients without think time (ask, wait for the bot's
   reply, ask again; a new chat every 5-10 questions, and after an escalation,
   with ``end`` and ``csat``), 4, 8, 16, ... active clients, until two steps in a
   row do not raise throughput by 5%. Throughput = turns/s: messages acknowledged
   whose bot reply arrived, per second. Then the same clients, the same steps, the
   same measure against the baseline, a bare python-socketio echo server on aiohttp
   (``load_echo.py``: ``echo`` acks its payload, then emits it back as ``reply``).
   Our result is reported as a ratio of the baseline's. With --durable-echo, also
   the echo server committing each echo through our database writer before its ack
   (``load_echo.py --durable``); with --paced-echo, the echo server(s) once more with
   their clients paced to our best turns/s, so that CPU per turn is also compared at
   the same load (a busier server spends less per turn).
3. soak: SOAK seconds of the hold load on a fresh server, RSS sampled every second;
   growth from the end of the warm-up (60 s) to the end, in %.

Server settings raised, and why: in the saturation phase only,
SUPPORTBOT_RATE_LIMIT_MESSAGES and SUPPORTBOT_RATE_LIMIT_EVENTS (10 messages and
60 events per connection per 10 s), since a closed-loop client sends hundreds of
messages in 10 s and would otherwise measure the limiter. The hold and soak phases
run with every default: a shopper asks about once in 5 s. Every server gets
``--allowed-origin https://shop.bench.example``, the origin the shoppers send.

Client overhead: the machine may have as few cores as the workers are processes,
so clients and server compete for CPU. Client CPU (all workers, the agents and
this process) is printed next to the server's, and each worker's event-loop lag
(how late a 100 ms sleep wakes up) shows how much client-side delay is in the
latency figures. The exit status is 0 when every target passes, 1 when one fails,
2 when none failed but some were not run (or the soak was shorter than 10 minutes).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: pgproc
from load_agents import agents_main  # noqa: E402
from load_clients import CONNECTED, FIELDS, REPLIES, Plan, worker_main  # noqa: E402
from load_monitor import Sampler, counter_sums  # noqa: E402
from load_report import Report, ShopFigures, StepFigures  # noqa: E402

from pgproc import PostgresServer  # noqa: E402
from serverproc import (  # noqa: E402
    LISTENING,
    ROOT,
    ServerProcess,
    add_agents,
    healthy,
    tree_cpu_seconds,
)

ORIGIN = "https://shop.bench.example"
PASSWORD = "load bench password 1234"
ECHO = Path(__file__).resolve().parent / "load_echo.py"
CTX = mp.get_context("spawn")


class EchoProcess:
    """The bare echo server (``load_echo.py``) in its own process; with ``durable`` (a
    database file), each echo is committed there before its ack."""

    def __init__(self, durable: Path | None = None) -> None:
        extra = ["--durable", str(durable)] if durable is not None else []
        self.proc = subprocess.Popen(
            [sys.executable, str(ECHO), "--port", "0", "--allowed-origin", ORIGIN, *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        said = LISTENING.match(self.proc.stdout.readline())  # its first line names the port
        if said is None:
            self.stop()
            raise RuntimeError("echo server did not say its port")
        self.port = int(said.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, timeout: float = 30) -> EchoProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if healthy(self.url):
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("echo server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Workers:
    """Shopper worker processes with their shared counters and saturation controls."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.counters = CTX.Array("d", count * FIELDS, lock=False)
        self.active = CTX.Value("i", 0, lock=False)  # saturation: clients running; -1 = stop
        self.step = CTX.Value("i", -1, lock=False)  # saturation: step measured; -1 = none
        self.out = CTX.Queue()
        self.procs: list[Any] = []

    def start(self, plans: list[Plan]) -> None:
        for row, plan in enumerate(plans):
            proc = CTX.Process(
                target=worker_main,
                name=f"shoppers-{row}",
                args=(plan, self.counters, row, self.active, self.step, self.out),
            )
            proc.start()
            self.procs.append(proc)

    def sum(self, field: int) -> float:
        return counter_sums(self.counters, self.count)[field]

    def results(self, timeout: float) -> list[dict[str, Any]]:
        results = [self.out.get(timeout=timeout) for _ in self.procs]
        for proc in self.procs:
            proc.join(10)
        return results


def plans(
    args: argparse.Namespace,
    mode: str,
    url: str,
    clients: int,
    start_at: float,
    ramp: float,
    stop_at: float,
    interval: float = 5.0,
    echo_rate: float = 0.0,
) -> list[Plan]:
    return [
        Plan(
            mode=mode,
            url=url,
            origin=ORIGIN,
            indexes=list(range(w, clients, args.workers)),
            start_at=start_at,
            ramp=ramp,
            stop_at=stop_at,
            interval=interval,
            min_questions=args.min_questions,
            max_questions=args.max_questions,
            escalate=args.escalate,
            seed=args.seed + w,
            echo_rate=echo_rate,
        )
        for w in range(args.workers)
    ]


def server_errors(log: Path) -> int:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if " ERROR " in line or line.startswith("Traceback"))


def store_cpu(pg: PostgresServer | None) -> float:
    """CPU seconds so far of the PostgreSQL server and its backends (0 without one)."""
    if pg is None or pg.proc is None:
        return 0.0
    return tree_cpu_seconds([pg.proc.pid])


def shop_phase(
    args: argparse.Namespace, tmp: Path, name: str, shoppers: int, rate: float, measured: float
) -> ShopFigures:
    """The realistic chat mix (hold and soak): SHOPPERS at RATE messages/s for MEASURED s."""
    interval = shoppers / rate
    log = tmp / f"{name}-server.log"
    db: Path | str = tmp / f"{name}.db"
    pg = None
    if args.store == "postgres":
        pg = PostgresServer().start()
        db = pg.database()
    emails = add_agents(db, args.agents, args.capacity, PASSWORD)
    server = ServerProcess(db, log=log, args=["--allowed-origin", ORIGIN])
    server.log_level = "warning"
    server.start()
    workers = Workers(args.workers)
    stop_agents, ready, agents_out = CTX.Event(), CTX.Queue(), CTX.Queue()
    agents = CTX.Process(
        target=agents_main,
        name="agents",
        args=(server.url, emails, PASSWORD, args.handle, stop_agents, ready, agents_out),
    )
    loads = [os.getloadavg()]
    try:
        agents.start()
        status = ready.get(timeout=120)
        if status != "ok":
            raise RuntimeError(status)
        start_at = time.time() + 4  # time for the workers to start and import
        window_start = start_at + args.ramp + interval
        stop_at = window_start + measured
        workers.start(
            plans(args, "shop", server.url, shoppers, start_at, args.ramp, stop_at, interval)
        )
        sampler = Sampler(server.pid, server.port, workers.counters, workers.count)
        for proc in [*workers.procs, agents]:
            sampler.add_client(proc.pid)
        sampler.start()
        pg_cpu = store_cpu(pg)
        progress(name, sampler, start_at, stop_at, window_start)
        pg_cpu = (store_cpu(pg) - pg_cpu) / max(time.time() - start_at, 1)
        results = workers.results(timeout=120)
        sampler.stop()
        stop_agents.set()
        agent_result = agents_out.get(timeout=60)
        agents.join(10)
        loads.append(os.getloadavg())
    finally:
        stop_agents.set()
        server.stop()
        if pg is not None:
            pg.stop()
    if pg is not None:
        print(f"[{name}] PostgreSQL CPU {100 * pg_cpu:.1f}% of one core (mean over the phase)")
    figures = ShopFigures.build(
        name,
        shoppers,
        rate,
        interval,
        (window_start, stop_at),
        results,
        agent_result,
        sampler.samples,
        loads,
    )
    figures.server_log_errors = server_errors(log)
    figures.agents_online = len(emails)
    return figures


def progress(name: str, sampler: Sampler, start_at: float, stop_at: float, window: float) -> None:
    """Wait for the end of the phase, printing one line every 10 seconds."""
    print(
        f"[{name}] clients connect from {time.strftime('%H:%M:%S', time.localtime(start_at))}, "
        f"measured from +{window - start_at:.0f} s to +{stop_at - start_at:.0f} s",
        flush=True,
    )
    last = 0.0
    while time.time() < stop_at + 1:
        time.sleep(1)
        if time.time() - last >= 10 and sampler.samples:
            last = time.time()
            s = sampler.samples[-1]
            rate = sampler.rate("messages", s.at - 10, s.at)
            print(
                f"[{name}] +{s.at - start_at:4.0f} s  connections {s.connected:5d}  "
                f"messages {rate:6.1f}/s  errors {s.errors:.0f}  server CPU {s.server_cpu:5.1f}%  "
                f"RSS {s.server_rss:6.1f} MB  clients CPU {s.clients_cpu:5.1f}%  "
                f"load {s.load1:.2f}",
                flush=True,
            )


def saturate(
    args: argparse.Namespace, name: str, target: Any, mode: str, echo_rate: float = 0.0
) -> list[StepFigures]:
    """Raise the number of closed-loop clients step by step until throughput stops growing
    (``echo_rate``: the echo clients paced to that many turns/s in all)."""
    levels = [int(x) for x in args.sat_levels.split(",")]
    clients = max(levels)
    workers = Workers(args.workers)
    start_at = time.time() + 4
    workers.start(
        plans(args, mode, target.url, clients, start_at, 5.0, start_at + 3600, echo_rate=echo_rate)
    )
    sampler = Sampler(target.pid, target.port, workers.counters, workers.count)
    for proc in workers.procs:
        sampler.add_client(proc.pid)
    sampler.start()
    steps: list[StepFigures] = []
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
            t0, r0 = time.time(), workers.sum(REPLIES)
            time.sleep(args.sat_step)
            t1, r1 = time.time(), workers.sum(REPLIES)
            workers.step.value = -1
            step = StepFigures(level=level, turns=(r1 - r0) / (t1 - t0), window=(t0, t1))
            step.fill(sampler.between(t0, t1))
            steps.append(step)
            print(
                f"[{name}] {level:4d} clients: {step.turns:7.1f} turns/s  server CPU "
                f"{step.server_cpu:5.1f}%  clients CPU {step.clients_cpu:5.1f}%  load "
                f"{step.load1:.2f}",
                flush=True,
            )
            if step.turns > best * 1.05:
                best, flat = max(best, step.turns), 0
            else:
                best, flat = max(best, step.turns), flat + 1
                if flat >= 2 and not echo_rate:  # paced: flat by design, every step runs
                    break
    finally:
        workers.active.value = -1
        results = workers.results(timeout=120)
        sampler.stop()
    for i, step in enumerate(steps):
        step.latencies = [v for r in results for v in r["step_latencies"].get(i, [])]
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
    if errors:
        print(f"[{name}] errors: {dict(errors)}", flush=True)
    steps[0].errors = errors  # carried with the first step
    return steps


def saturation_phase(args: argparse.Namespace, tmp: Path, report: Report) -> None:
    db, log = tmp / "saturation.db", tmp / "saturation-server.log"
    unlimited = {
        "SUPPORTBOT_RATE_LIMIT_MESSAGES": "1000000",
        "SUPPORTBOT_RATE_LIMIT_EVENTS": "1000000",
    }
    server = ServerProcess(db, log=log, env=unlimited, args=["--allowed-origin", ORIGIN])
    server.log_level = "warning"
    with server:
        report.ours = saturate(args, "saturation: supportbot", server, "turns")
    runs: list[tuple[str, str, Path | None, float]] = [("echo", "saturation: bare echo", None, 0.0)]
    if args.durable_echo:
        runs.append(("durable", "saturation: durable echo", tmp / "durable-echo.db", 0.0))
    if args.paced_echo:
        # The same echo servers at our best throughput: CPU per turn falls as a server
        # gets busier (one wake-up, one commit serve several turns), so this compares
        # the two at the same load.
        rate = max(s.turns for s in report.ours)
        if rate <= 0:
            raise SystemExit("--paced-echo: our server answered no turn to pace the echo to")
        runs.append(("echo_paced", f"saturation: bare echo at {rate:.0f}/s", None, rate))
        if args.durable_echo:
            where = tmp / "durable-echo-paced.db"
            runs.append(("durable_paced", f"saturation: durable echo at {rate:.0f}/s", where, rate))
    for field, name, durable, rate in runs:
        echo = EchoProcess(durable=durable).start()
        try:
            setattr(report, field, saturate(args, name, echo, "echo", rate))
        finally:
            echo.stop()


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--phases",
        default="hold,saturation,soak",
        help="which phases to run, comma-separated (default: all three)",
    )
    p.add_argument("--shoppers", type=int, default=1000, help="concurrent shoppers (hold, soak)")
    p.add_argument(
        "--rate", type=float, default=200.0, help="shopper messages per second in all (hold, soak)"
    )
    p.add_argument("--ramp", type=float, default=20.0, help="seconds over which shoppers connect")
    p.add_argument("--hold", type=float, default=60.0, help="measured seconds of the hold phase")
    p.add_argument("--soak", type=float, default=600.0, help="seconds of the soak (0: skip it)")
    p.add_argument(
        "--soak-rate",
        type=float,
        default=None,
        help="messages per second in all during the soak (default: --rate)",
    )
    p.add_argument(
        "--soak-warmup",
        type=float,
        default=60.0,
        help="RSS growth is measured from this many seconds into the soak",
    )
    p.add_argument("--workers", type=int, default=4, help="shopper processes")
    p.add_argument("--agents", type=int, default=10, help="simulated agents (hold, soak)")
    p.add_argument("--capacity", type=int, default=20, help="chats per agent")
    p.add_argument(
        "--handle",
        type=float,
        default=6.0,
        help="mean seconds an agent keeps a chat before resolving it",
    )
    p.add_argument(
        "--escalate",
        type=float,
        default=0.1,
        help="share of chats in which the shopper asks for a person",
    )
    p.add_argument("--min-questions", type=int, default=5)
    p.add_argument("--max-questions", type=int, default=10)
    p.add_argument(
        "--sat-levels",
        default="4,8,16,32,64,128,256",
        help="active closed-loop clients at each saturation step",
    )
    p.add_argument("--sat-step", type=float, default=12.0, help="measured seconds per step")
    p.add_argument(
        "--sat-settle", type=float, default=3.0, help="unmeasured seconds before each step"
    )
    p.add_argument(
        "--durable-echo",
        action="store_true",
        help="saturation: also the echo server committing each echo to SQLite before its "
        "ack (load_echo.py --durable): what durability alone costs a turn",
    )
    p.add_argument(
        "--paced-echo",
        action="store_true",
        help="saturation: also the echo server(s) paced to our best turns/s, for CPU per "
        "turn at the same load",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--store",
        default="sqlite",
        help="the server's store in the hold and soak phases: sqlite, postgres (a real "
        "server started here; its CPU printed beside the server's) or sqlite,postgres "
        "(the hold on each, one after the other)",
    )
    p.add_argument("--json", metavar="FILE", help="also write every figure and sample as JSON")
    p.add_argument("--keep", action="store_true", help="keep the databases and server logs")
    args = p.parse_args()
    phases = {x.strip() for x in args.phases.split(",") if x.strip()}
    if args.soak <= 0:
        phases.discard("soak")

    report = Report(command=" ".join([Path(sys.executable).name, *sys.argv]), args=vars(args))
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        stores = [x.strip() for x in args.store.split(",") if x.strip()]
        if any(store not in ("sqlite", "postgres") for store in stores):
            p.error(f"--store: expected sqlite, postgres or both, got {args.store!r}")
        args.store = stores[-1]  # the soak's
        if "hold" in phases:
            for store in stores:
                name = "hold" if len(stores) == 1 else f"hold on {store}"
                report.hold = shop_phase(
                    argparse.Namespace(**{**vars(args), "store": store}),
                    tmp,
                    name,
                    args.shoppers,
                    args.rate,
                    args.hold,
                )
                report.print_shop(report.hold)
        if "saturation" in phases:
            saturation_phase(args, tmp, report)
            report.print_saturation()
        if "soak" in phases:
            warmup = min(args.soak_warmup, args.soak / 2)
            report.soak = shop_phase(
                args, tmp, "soak", args.shoppers, args.soak_rate or args.rate, args.soak
            )
            report.soak_warmup = warmup
            report.print_shop(report.soak)
    finally:
        if args.keep:
            print(f"databases and server logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    status = report.print_summary()
    if args.json:
        Path(args.json).write_text(json.dumps(_plain(report.as_json()), indent=1))
    return status


def _plain(value: Any) -> Any:
    """JSON-ready copy: dataclasses as dicts, every key a string."""
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
