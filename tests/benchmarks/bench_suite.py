"""The whole test suite's wall time (issue: a house a newcomer can change safely).

    .venv/bin/python tests/benchmarks/bench_suite.py [--runs 1] [-- pytest arguments]

Runs the README's test command, `sh tests/run.sh` (ruff, ruff format --check, mypy
--strict, then pytest in as many processes as the machine has cores), RUNS times and
prints for each: the wall time of the whole command, pytest's own figure, the CPU time
of every process it started (user + sys), the result line (and the failed tests),
and two figures of the machine around it: the load average before and after, and
the time of a fixed 10-million-step Python loop just before (it shows how fast the
shared machine is at that moment). Target: the suite under 3 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = 180.0


def probe() -> float:
    """Seconds for a fixed piece of pure-Python work: how fast the machine is now."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


@dataclass
class Run:
    exit: int
    wall: float
    pytest: float
    cpu: float
    result: str
    load: tuple[float, float]
    probe: float
    failures: list[str]


def one_run(extra: list[str]) -> Run:
    load_before = os.getloadavg()[0]
    speed = probe()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(
        ["sh", "tests/run.sh", "-q", *extra], cwd=ROOT, capture_output=True, text=True
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    summary = re.findall(r"^=*\s*(\d+ (?:passed|failed).*?) in ([\d.]+)s", result.stdout, re.M)
    line, pytest_seconds = summary[-1] if summary else ("no result", "nan")
    return Run(
        result.returncode,
        wall,
        float(pytest_seconds),
        cpu,
        line,
        (load_before, os.getloadavg()[0]),
        speed,
        re.findall(r"^(?:FAILED|ERROR) .*$", result.stdout, re.M),
    )


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {time.strftime('%F %H:%M')}")
    failed = 0
    for n in range(1, args.runs + 1):
        run = one_run(args.pytest_args)
        print(
            f"run {n}: whole command {minutes(run.wall)} (pytest {minutes(run.pytest)}), "
            f"CPU {run.cpu:.0f} s, {run.result}; load {run.load[0]:.1f} -> {run.load[1]:.1f}, "
            f"loop {run.probe:.2f} s; pytest under {TARGET:.0f} s: "
            f"{'yes' if run.pytest < TARGET else 'no'}",
            flush=True,
        )
        for failure in run.failures:
            print(f"  {failure}", flush=True)
        failed += run.exit != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
