"""Figures, targets and the printed report of the load benchmark (``load.py``)."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from load_monitor import Sample

from serverproc import percentile

TARGET_P99 = 0.100  # seconds
TARGET_RSS = 300.0  # MB
TARGET_CPU_RATIO = 3.5  # server CPU per closed-loop turn, ours / bare echo
TARGET_CPU_MS = 0.8  # ms of server CPU per closed-loop turn
TARGET_GROWTH = 10.0  # %
TARGET_SOAK = 600.0  # seconds
RATE_TOLERANCE = 0.95  # the hold phase must reach this share of the requested rate


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f}" if values else "-"


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def other(s: Sample) -> float:
    """CPU used by neither the server nor our clients (other work on the machine)."""
    return max(0.0, s.machine_cpu - s.server_cpu - s.workers_cpu - s.clients_cpu)


def loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class ShopFigures:
    name: str
    shoppers: int
    rate: float
    interval: float
    window: tuple[float, float]
    samples: list[Sample]
    latencies: list[float] = field(default_factory=list)  # in the measured window
    timed: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency), all
    lag: list[float] = field(default_factory=list)
    handoff_waits: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    agents: dict[str, Any] = field(default_factory=dict)
    client_cpu_seconds: float = 0.0
    loads: list[tuple[float, float, float]] = field(default_factory=list)
    server_log_errors: int = 0
    agents_online: int = 0

    @classmethod
    def build(
        cls,
        name: str,
        shoppers: int,
        rate: float,
        interval: float,
        window: tuple[float, float],
        results: list[dict[str, Any]],
        agents: dict[str, Any],
        samples: list[Sample],
        loads: list[tuple[float, float, float]],
    ) -> ShopFigures:
        start, end = window
        out = cls(name, shoppers, rate, interval, window, samples, agents=agents, loads=loads)
        for r in results:
            out.timed += [(at, lat) for at, lat in r["latencies"]]
            out.latencies += [lat for at, lat in r["latencies"] if start <= at <= end]
            out.lag += [lag for at, lag in r["lag"] if start <= at <= end]
            out.handoff_waits += r["handoff_waits"]
            out.counts.update(r["counts"])
            out.errors.update(r["errors"])
            out.examples += r["examples"][:3]
            out.client_cpu_seconds += r["cpu_seconds"]
        out.client_cpu_seconds += agents.get("cpu_seconds", 0.0)
        for key, value in agents.get("stats", {}).items():
            if key.startswith("error: "):
                out.errors[f"agents, {key[7:]}"] += value
        out.examples += agents.get("examples", [])[:3]
        return out

    def during(self) -> list[Sample]:
        return [s for s in self.samples if self.window[0] <= s.at <= self.window[1]]

    def rate_of(self, name: str, start: float | None = None, end: float | None = None) -> float:
        inside = [
            s
            for s in self.samples
            if (start or self.window[0]) - 0.5 <= s.at <= (end or self.window[1]) + 0.5
        ]
        if len(inside) < 2:
            return 0.0
        a, b = inside[0], inside[-1]
        return (getattr(b, name) - getattr(a, name)) / (b.at - a.at)

    @property
    def held(self) -> tuple[int, int]:
        connected = [s.connected for s in self.during()]
        return (min(connected), max(connected)) if connected else (0, 0)

    @property
    def server_sockets(self) -> tuple[int, int]:
        sockets = [s.server_sockets for s in self.during() if s.server_sockets is not None]
        return (min(sockets), max(sockets)) if sockets else (0, 0)

    @property
    def rss_max(self) -> float:
        return max((s.server_rss for s in self.samples), default=float("nan"))

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def rss_growth(self, warmup: float) -> tuple[float, float, float]:
        """RSS (MB) around ``warmup`` s into the measured window, at its end, growth in %."""
        start, end = self.window
        base = [s.server_rss for s in self.samples if abs(s.at - (start + warmup)) <= 5]
        last = [s.server_rss for s in self.samples if end - 10 <= s.at <= end]
        if not base or not last:
            return float("nan"), float("nan"), float("nan")
        a, b = statistics.median(base), statistics.median(last)
        return a, b, (b - a) / a * 100

    def rss_slope(self, warmup: float) -> float:
        """Least-squares RSS slope after the warm-up, MB per minute."""
        points = [(s.at, s.server_rss) for s in self.during() if s.at >= self.window[0] + warmup]
        if len(points) < 3:
            return float("nan")
        return statistics.linear_regression(*zip(*points, strict=True)).slope * 60


@dataclass
class StepFigures:
    level: int
    turns: float
    window: tuple[float, float]
    server_cpu: float = 0.0
    workers_cpu: float = 0.0  # the server's judging worker processes
    clients_cpu: float = 0.0
    machine_cpu: float = 0.0
    steal: float = 0.0
    server_rss: float = 0.0
    load1: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def fill(self, samples: list[Sample]) -> None:
        self.server_cpu = mean([s.server_cpu for s in samples])
        self.workers_cpu = mean([s.workers_cpu for s in samples])
        self.clients_cpu = mean([s.clients_cpu for s in samples])
        self.machine_cpu = mean([s.machine_cpu for s in samples])
        self.steal = mean([s.steal for s in samples])
        self.server_rss = max((s.server_rss for s in samples), default=float("nan"))
        self.load1 = samples[-1].load1 if samples else float("nan")


def cpu_per_turn(step: StepFigures, *, workers: bool = False) -> float:
    """The server's CPU time per turn in ms (CPU% of one core * 10 ms / turns per s);
    with ``workers``, its judging worker processes' too."""
    cpu = step.server_cpu + (step.workers_cpu if workers else 0.0)
    return cpu * 10 / step.turns if step.turns else float("nan")


def ratio_of(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def best(steps: list[StepFigures]) -> StepFigures:
    return max(steps, key=lambda s: s.turns)


def at_level(steps: list[StepFigures], level: int) -> StepFigures:
    """The step with ``level`` clients, or the best step when none has that many."""
    return next((s for s in steps if s.level == level), None) or best(steps)


@dataclass
class Report:
    command: str
    args: dict[str, Any]
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    load_at_start: str = field(default_factory=loadavg)
    hold: ShopFigures | None = None
    soak: ShopFigures | None = None
    soak_warmup: float = 60.0
    ours: list[StepFigures] = field(default_factory=list)
    echo: list[StepFigures] = field(default_factory=list)
    durable: list[StepFigures] = field(default_factory=list)  # --durable-echo
    echo_paced: list[StepFigures] = field(default_factory=list)  # --paced-echo
    durable_paced: list[StepFigures] = field(default_factory=list)

    # -- per phase --------------------------------------------------------------

    def print_shop(self, f: ShopFigures) -> None:
        start, end = f.window
        lo, hi = f.held
        print(
            f"\n== {f.name}: {f.shoppers} shoppers, a question every ~{f.interval:.1f} s each "
            f"(asked {f.rate:g} messages/s), measured for {end - start:.0f} s after the ramp"
        )
        print(
            f"  connections held          {lo} to {hi} (clients' view); server sockets "
            f"{f.server_sockets[0]} to {f.server_sockets[1]} (shoppers + {f.agents_online} agents)"
        )
        print(
            f"  shopper messages          {f.rate_of('messages'):.1f}/s acknowledged; bot replies "
            f"{f.rate_of('replies'):.1f}/s received"
        )
        print(
            f"  bot reply latency         p50 {ms(f.latencies, 50)} ms  p95 {ms(f.latencies, 95)} ms  "
            f"p99 {ms(f.latencies, 99)} ms  max {ms(f.latencies, 100)} ms  ({len(f.latencies)} replies)"
        )
        print(
            f"  hand-off to an agent      p50 {ms(f.handoff_waits, 50)} ms  p99 "
            f"{ms(f.handoff_waits, 99)} ms  ({len(f.handoff_waits)} chats, whole phase)"
        )
        print(
            f"  client event-loop lag     p50 {ms(f.lag, 50)} ms  p99 {ms(f.lag, 99)} ms  "
            f"max {ms(f.lag, 100)} ms (a 100 ms sleep waking up late)"
        )
        during = f.during()
        print(
            f"  server CPU                mean {mean([s.server_cpu for s in during]):.1f}%  max "
            f"{max((s.server_cpu for s in during), default=0):.1f}% of one core; RSS max "
            f"{f.rss_max:.1f} MB"
        )
        print(
            f"  judging workers CPU mean {mean([s.workers_cpu for s in during]):.1f}%  max "
            f"{max((s.workers_cpu for s in during), default=0):.1f}% of one core (the server's "
            "child processes)"
        )
        print(
            f"  client CPU                mean {mean([s.clients_cpu for s in during]):.1f}% of one core "
            f"(shopper workers, agents, this process); other work on the machine "
            f"{mean([other(s) for s in during]):.1f}%, of which hypervisor steal "
            f"{mean([s.steal for s in during]):.1f}% (all {os.cpu_count()} cores: "
            f"{os.cpu_count() * 100}%)"
        )
        c = f.counts
        print(
            f"  chats                     {f.samples[-1].chats:.0f} started, "
            f"{c['hand-offs asked by shoppers']} hand-offs asked, "
            f"{c['escalated by the bot']} escalated by the bot, "
            f"{c['chats resolved by an agent']} resolved by agents, {f.samples[-1].rated:.0f} rated; "
            f"agents: {_agent_line(f.agents)}"
        )
        print(
            f"  errors                    {f.error_count} {dict(f.errors) if f.errors else ''}"
            f"; server log errors {f.server_log_errors}"
        )
        for example in f.examples[:5]:
            print(f"    e.g. {example}")
        print(
            f"  load average              {' -> '.join('/'.join(f'{x:.2f}' for x in la) for la in f.loads)}"
        )
        self.print_timeline(f)

    def print_timeline(self, f: ShopFigures) -> None:
        if not f.samples:
            return
        start, end = f.samples[0].at, f.window[1]
        step = 10 if end - start <= 180 else 60
        print(
            f"  over time (every {step} s from the first connection; rates and CPU are means "
            f"over the {step} s, '*' = measured)"
        )
        print(
            "       t  conns  msgs/s  replies/s  p99 ms  server CPU%  RSS MB  clients CPU%"
            "  other CPU%  steal%  load"
        )
        t = start
        while t < end:
            inside = [s for s in f.samples if t <= s.at < t + step]
            if inside:
                lat = [x for at, x in f.timed if t <= at < t + step]
                mark = "*" if f.window[0] <= t + step / 2 <= f.window[1] else " "
                print(
                    f"  {mark}{t - start:5.0f}s {inside[-1].connected:6d} "
                    f"{f.rate_of('messages', t, t + step):7.1f} {f.rate_of('replies', t, t + step):10.1f} "
                    f"{ms(lat, 99):>7} {mean([s.server_cpu for s in inside]):11.1f} "
                    f"{inside[-1].server_rss:7.1f} {mean([s.clients_cpu for s in inside]):13.1f} "
                    f"{mean([other(s) for s in inside]):11.1f} "
                    f"{mean([s.steal for s in inside]):7.1f} {inside[-1].load1:5.2f}"
                )
            t += step

    def print_saturation(self) -> None:
        runs = [
            ("supportbot", "closed loop", self.ours),
            ("bare echo server", "closed loop", self.echo),
            ("durable echo server (a commit before each ack)", "closed loop", self.durable),
            ("bare echo server, paced to our best turns/s", "paced", self.echo_paced),
            ("durable echo server, paced to our best turns/s", "paced", self.durable_paced),
        ]
        for name, mode, steps in runs:
            if not steps:
                continue
            print(
                f"\n== saturation: {name} ({mode}; turns/s = messages acknowledged whose "
                f"reply arrived, per second)"
            )
            print(
                "  clients  turns/s   p50 ms   p99 ms  server CPU%  ms/turn  +workers"
                "  clients CPU%  other CPU%  steal%  RSS MB  load"
            )
            for s in steps:
                print(
                    f"  {s.level:7d} {s.turns:8.1f} {ms(s.latencies, 50):>8} {ms(s.latencies, 99):>8} "
                    f"{s.server_cpu:11.1f} {cpu_per_turn(s):8.3f} "
                    f"{cpu_per_turn(s, workers=True):9.3f} {s.clients_cpu:13.1f} "
                    f"{max(0.0, s.machine_cpu - s.server_cpu - s.workers_cpu - s.clients_cpu):11.1f}"
                    f" {s.steal:7.1f} "
                    f"{s.server_rss:7.1f} {s.load1:5.2f}"
                )
            errors = sum(steps[0].errors.values()) if steps else 0
            print(f"  errors: {errors} {dict(steps[0].errors) if errors else ''}")

    # -- summary --------------------------------------------------------------

    def targets(self) -> list[tuple[str, str, str, str]]:
        """(figure, value, target, result) rows; result is PASS, FAIL, PASS* or 'not run'."""
        rows: list[tuple[str, str, str, str]] = []

        def check(figure: str, value: str, target: str, ok: bool | None) -> None:
            rows.append(
                (figure, value, target, "not run" if ok is None else "PASS" if ok else "FAIL")
            )

        h = self.hold
        n = int(self.args["shoppers"])
        rate = float(self.args["rate"])
        if h:
            lo, hi = h.held
            check("hold: concurrent connections held", f"{lo} (max {hi})", f">= {n}", lo >= n)
            got = h.rate_of("messages")
            check(
                "hold: shopper messages/s",
                f"{got:.1f}",
                f">= {rate * RATE_TOLERANCE:g} (asked {rate:g})",
                got >= rate * RATE_TOLERANCE,
            )
            p99 = percentile(h.latencies, 99) if h.latencies else float("inf")
            check(
                "hold: bot reply p50 / p95 / p99",
                f"{ms(h.latencies, 50)} / {ms(h.latencies, 95)} / {ms(h.latencies, 99)} ms",
                "p99 < 100 ms",
                p99 < TARGET_P99,
            )
            check(
                "hold: server RSS (max)",
                f"{h.rss_max:.1f} MB",
                f"< {TARGET_RSS:g} MB",
                h.rss_max < TARGET_RSS,
            )
            check("hold: errors", f"{h.error_count}", "0", h.error_count == 0)
        else:
            for figure in ("hold: connections, rate, p99, RSS, errors",):
                check(figure, "-", "see above", None)
        if self.ours and self.echo:
            ours, echo = best(self.ours), best(self.echo)
            ratio = ours.turns / echo.turns if echo.turns else 0.0
            check(
                "saturation: supportbot turns/s",
                f"{ours.turns:.0f} ({ours.level} clients)",
                "-",
                True,
            )
            check(
                "saturation: bare echo turns/s",
                f"{echo.turns:.0f} ({echo.level} clients)",
                "-",
                True,
            )
            check("saturation: supportbot / echo turns/s", f"{ratio:.0%}", "-", True)
            # CPU per turn compared at the same number of clients (ours at its best step).
            mine, theirs = cpu_per_turn(ours), cpu_per_turn(at_level(self.echo, ours.level))
            check(
                "saturation: server CPU per turn, ours / echo",
                f"{mine:.3f} / {theirs:.3f} ms = {mine / theirs:.2f}x ({ours.level} clients)",
                f"<= {TARGET_CPU_RATIO:g}x and <= {TARGET_CPU_MS:g} ms",
                mine / theirs <= TARGET_CPU_RATIO and mine <= TARGET_CPU_MS,
            )
            check(
                "saturation: the same with the judging workers",
                f"{cpu_per_turn(ours, workers=True):.3f} ms "
                f"= {cpu_per_turn(ours, workers=True) / theirs:.2f}x",
                "-",
                True,
            )
            if self.durable:
                durable = at_level(self.durable, ours.level)
                floor = cpu_per_turn(durable)
                check(
                    "saturation: server CPU per turn, durable echo / echo",
                    f"{floor:.3f} / {theirs:.3f} ms = {ratio_of(floor, theirs)}; ours / durable "
                    f"echo {ratio_of(mine, floor)} ({durable.level} clients)",
                    "-",
                    True,
                )
            for label, paced in (("echo", self.echo_paced), ("durable echo", self.durable_paced)):
                if paced:
                    same = at_level(paced, ours.level)
                    other = cpu_per_turn(same)
                    check(
                        f"saturation: server CPU per turn, ours / {label} at our turns/s",
                        f"{mine:.3f} / {other:.3f} ms = {ratio_of(mine, other)} "
                        f"({same.turns:.0f} turns/s, {same.level} clients)",
                        "-",
                        True,
                    )
        else:
            check("saturation: server CPU per turn, ours / echo", "-", "see above", None)
        if self.soak:
            a, b, growth = self.soak_growth()
            ok = growth <= TARGET_GROWTH
            seconds = self.soak.window[1] - self.soak.window[0]
            rows.append(
                (
                    "soak: RSS growth after warm-up",
                    f"{growth:+.1f}% ({a:.1f} -> {b:.1f} MB, {seconds:.0f} s)",
                    f"<= {TARGET_GROWTH:g}% over {TARGET_SOAK:g} s",
                    ("PASS" if seconds >= TARGET_SOAK else "PASS*") if ok else "FAIL",
                )
            )
            check("soak: errors", f"{self.soak.error_count}", "0", self.soak.error_count == 0)
        else:
            check("soak: RSS growth", "-", f"<= {TARGET_GROWTH:g}%", None)
        return rows

    def soak_growth(self) -> tuple[float, float, float]:
        assert self.soak is not None
        return self.soak.rss_growth(self.soak_warmup)

    def print_summary(self) -> int:
        rows = self.targets()
        print("\n" + "=" * 100)
        print(f"SUMMARY  load benchmark, {self.started}")
        print(
            f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average (1/5/15 min) {self.load_at_start} at the start, {loadavg()} at the end"
        )
        print(f"command: {self.command}")
        print("-" * 100)
        width = max(len(r[0]) for r in rows)
        vwidth = max(len(r[1]) for r in rows)
        twidth = max(len(r[2]) for r in rows)
        for figure, value, target, result in rows:
            print(f"{figure:<{width}}  {value:<{vwidth}}  {target:<{twidth}}  {result}")
        print("-" * 100)
        for line in self.notes():
            print(line)
        print("=" * 100)
        results = [r[3] for r in rows]
        if "FAIL" in results:
            return 1
        if "not run" in results or "PASS*" in results:
            return 2
        return 0

    def notes(self) -> list[str]:
        out = []
        h = self.hold
        if h:
            during = h.during()
            out.append(
                f"hold: server CPU mean {mean([s.server_cpu for s in during]):.0f}% of one core, "
                f"clients {mean([s.clients_cpu for s in during]):.0f}% (all client processes), "
                f"client event-loop lag p99 {ms(h.lag, 99)} ms (included in the latencies); "
                f"bot replies {h.rate_of('replies'):.0f}/s; hand-off to agent p99 "
                f"{ms(h.handoff_waits, 99)} ms"
            )
        if self.ours and self.echo:
            ours, echo = best(self.ours), best(self.echo)
            out.append(
                f"saturation: at their best steps the server used {ours.server_cpu:.0f}% (supportbot) "
                f"and {echo.server_cpu:.0f}% (echo) of one core, the clients {ours.clients_cpu:.0f}% and "
                f"{echo.clients_cpu:.0f}%: clients and server share {os.cpu_count()} cores, so both "
                f"figures are for this machine with its clients on it"
            )
        if self.soak:
            out.append(
                f"soak: RSS slope after warm-up {self.soak.rss_slope(self.soak_warmup):+.2f} MB/min, "
                f"max RSS {self.soak.rss_max:.1f} MB, bot reply p99 {ms(self.soak.latencies, 99)} ms, "
                f"{self.soak.rate_of('messages'):.0f} messages/s"
            )
        out.append(
            "limits raised: SUPPORTBOT_RATE_LIMIT_MESSAGES and SUPPORTBOT_RATE_LIMIT_EVENTS, "
            "in the saturation phase only (closed-loop clients); hold and soak use the defaults"
        )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "started": self.started,
            "args": self.args,
            "targets": self.targets(),
            "hold": self.hold,
            "soak": self.soak,
            "saturation": {
                "supportbot": self.ours,
                "echo": self.echo,
                "durable_echo": self.durable,
                "echo_paced": self.echo_paced,
                "durable_echo_paced": self.durable_paced,
            },
        }


def _agent_line(agents: dict[str, Any]) -> str:
    stats = agents.get("stats", {})
    late = sum(value for key, value in stats.items() if key.endswith("after the chat ended"))
    return (
        f"{stats.get('assigned', 0)} assigned, {stats.get('send ok', 0)} replies sent, "
        f"{stats.get('resolve ok', 0)} resolved"
        + (f", {late} too late (the chat had ended)" if late else "")
    )
