"""Once-a-second samples for the load benchmark (``load.py``): server CPU and RSS,
client CPU, the shared counters of the shopper workers, the load average.

CPU figures are percent of one core (``psutil.Process.cpu_percent``): 100 is one
core busy, 200 both cores of a two-core machine.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import psutil
from load_clients import CHATS, CONNECTED, ERRORS, ESCALATED, FIELDS, MESSAGES, RATED, REPLIES


@dataclass
class Sample:
    at: float  # wall clock
    server_cpu: float  # % of one core
    server_rss: float  # MB
    clients_cpu: float  # shopper workers + agents + this process, % of one core
    machine_cpu: float  # all cores, % of one core (200 = a two-core machine fully busy)
    steal: float  # % of one core taken by the hypervisor (part of machine_cpu), all cores
    load1: float
    connected: int  # shopper connections open, as the clients see them
    server_sockets: int | None  # established TCP connections of the server process
    messages: float  # cumulative counters of all workers
    replies: float
    errors: float
    chats: float
    escalated: float
    rated: float
    workers_cpu: float = 0.0  # the server's child processes (the FAQ slow path), % of one core


def counter_sums(counters: Any, workers: int) -> list[float]:
    return [sum(counters[w * FIELDS + f] for w in range(workers)) for f in range(FIELDS)]


class Sampler:
    """Samples in a background thread until ``stop()``; ``samples`` grows meanwhile."""

    def __init__(
        self,
        server_pid: int,
        port: int,
        counters: Any,
        workers: int,
        interval: float = 1.0,
        sockets_every: int = 5,
    ) -> None:
        self.server = psutil.Process(server_pid)
        self.port = port
        self.counters = counters
        self.workers = workers
        self.interval = interval
        self.sockets_every = sockets_every
        self.clients: list[psutil.Process] = [psutil.Process(os.getpid())]
        self.samples: list[Sample] = []
        self._workers: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def add_client(self, pid: int) -> None:
        process = psutil.Process(pid)
        process.cpu_percent(None)
        self.clients.append(process)

    def start(self) -> Sampler:
        self.server.cpu_percent(None)
        psutil.cpu_times_percent(None)
        for process in self.clients:
            process.cpu_percent(None)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def server_sockets(self) -> int | None:
        try:
            return sum(
                1
                for c in self.server.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == self.port
            )
        except psutil.Error:
            return None

    def _client_cpu(self) -> float:
        total = 0.0
        for process in self.clients:
            try:
                total += process.cpu_percent(None)
            except psutil.Error:
                pass  # a worker that has finished
        return total

    def _workers_cpu(self) -> float:
        """CPU of the server's worker processes (found anew each time: they may restart)."""
        try:
            children = self.server.children(recursive=True)
        except psutil.Error:
            return 0.0
        total = 0.0
        for child in children:
            known = self._workers.get(child.pid)
            if known is None:
                self._workers[child.pid] = child
                child.cpu_percent(None)  # the first reading only starts the interval
                continue
            try:
                total += known.cpu_percent(None)
            except psutil.Error:
                self._workers.pop(child.pid, None)
        return total

    def _run(self) -> None:
        n = 0
        next_at = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.interval
            try:
                cpu = self.server.cpu_percent(None)
                rss = self.server.memory_info().rss / 2**20
            except psutil.Error:
                return  # the server is gone
            times = psutil.cpu_times_percent(None)
            cores = psutil.cpu_count() or 1
            steal = getattr(times, "steal", 0.0) * cores
            busy = (100.0 - times.idle - getattr(times, "iowait", 0.0)) * cores
            sums = counter_sums(self.counters, self.workers)
            sockets = self.server_sockets() if n % self.sockets_every == 0 else None
            n += 1
            self.samples.append(
                Sample(
                    at=time.time(),
                    server_cpu=cpu,
                    server_rss=rss,
                    clients_cpu=self._client_cpu(),
                    machine_cpu=busy,
                    steal=steal,
                    load1=os.getloadavg()[0],
                    connected=int(sums[CONNECTED]),
                    server_sockets=sockets,
                    messages=sums[MESSAGES],
                    replies=sums[REPLIES],
                    errors=sums[ERRORS],
                    chats=sums[CHATS],
                    escalated=sums[ESCALATED],
                    rated=sums[RATED],
                    workers_cpu=self._workers_cpu(),
                )
            )

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]

    def nearest(self, at: float) -> Sample:
        return min(self.samples, key=lambda s: abs(s.at - at))

    def rate(self, name: str, start: float, end: float) -> float:
        """Per-second rate of a cumulative counter between two moments."""
        a, b = self.nearest(start), self.nearest(end)
        return (getattr(b, name) - getattr(a, name)) / (b.at - a.at) if b.at > a.at else 0.0
