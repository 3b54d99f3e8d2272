"""Simulated shoppers of the load benchmark (``load.py``), one worker process each.

A worker runs many python-socketio ``AsyncClient`` connections (websocket transport)
in one event loop, in one of three modes:

- ``shop``: the realistic chat. Connect, ``start``, 5-10 questions from
  ``tests/data/shop_queries.csv`` (one language per chat) on a schedule that gives
  the requested message rate, some chats hand off to the simulated agents (or are
  escalated by the bot itself) and go on with the agent until it resolves them,
  the others ``end``; then ``csat``; then the next chat on a new connection, opened
  before the old one is closed, so the number of open connections never dips.
- ``turns``: saturation of our server. Closed loop without think time: each active
  client sends a question as soon as the bot answered the previous one; after
  5-10 questions (or an escalation) it ends the chat, rates it and starts another
  on the same connection. How many clients are active is set by the main process
  while the phase runs (a shared integer), so it can raise the offered load step
  by step.
- ``echo``: the same closed loop against the bare echo server (``load_echo.py``):
  ``echo`` with an ack, then the ``reply`` event.

Latency of a turn: from just before the ``message`` (or ``echo``) is emitted to the
arrival of the bot's reply: in the ack, as the widget asks for it (protocol 2,
``replies_in_ack``), or for the echo server its ``reply`` event after the ack.
Counters are published into a shared array four times a second so that the main
process can follow rates over time; the samples are returned at the end.
"""

from __future__ import annotations

import asyncio
import csv
import random
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from serverproc import exit_with_parent

DATA = Path(__file__).resolve().parents[1] / "data" / "shop_queries.csv"
NS = "/chat"
ACK_TIMEOUT = 30.0
NO_REPLY = -1.0  # a reply waiter's result when no bot reply will come

# fields of a worker's row in the shared counter array
CONNECTED, MESSAGES, REPLIES, ERRORS, CHATS, ESCALATED, RATED = range(7)
FIELDS = 7

FOLLOW_UPS = {
    "en": [
        "hi, thanks for picking this up",
        "the order number is 10482",
        "ok, thank you",
        "it was placed last monday",
        "great, that helps",
    ],
    "it": [
        "ciao, grazie",
        "il numero d'ordine è 10482",
        "va bene, grazie mille",
        "l'ho ordinato lunedì scorso",
        "perfetto",
    ],
    "pl": [
        "dzień dobry, dziękuję",
        "numer zamówienia to 10482",
        "dobrze, dziękuję",
        "zamówiłam w zeszły poniedziałek",
        "super, to pomaga",
    ],
}
COMMENTS = ["quick answer, thanks", "the bot did not get my question", "", "", "very helpful"]


def shop_questions(path: Path = DATA) -> dict[str, list[tuple[str, str]]]:
    """The realistic shopper questions, by language: (question, the entry it is about)."""
    by_lang: dict[str, list[tuple[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_lang.setdefault(row["lang"], []).append((row["query"], row["expected"]))
    return by_lang


@dataclass
class Plan:
    """What one worker does (sent to the process; plain data only)."""

    mode: str  # shop | turns | echo
    url: str
    origin: str
    indexes: list[int]  # global client numbers of this worker
    start_at: float  # wall clock: the first connection
    ramp: float  # connections are spread over this many seconds
    stop_at: float  # wall clock: no new question after this
    interval: float = 5.0  # shop: mean seconds between a shopper's questions
    min_questions: int = 5
    max_questions: int = 10
    escalate: float = 0.1  # shop: share of chats that ask for a person
    reply_timeout: float = 10.0
    seed: int = 1
    echo_rate: float = 0.0  # echo: turns/s of all active clients together (0: closed loop)


@dataclass
class Result:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    step_latencies: dict[int, list[float]] = field(default_factory=dict)  # saturation step
    handoff_waits: list[float] = field(default_factory=list)  # escalation -> agent assigned
    lag: list[tuple[float, float]] = field(default_factory=list)  # (at, event-loop lag)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0

    def error(self, kind: str, detail: str = "") -> None:
        self.errors[kind] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {detail}"[:200])


class Worker:
    def __init__(self, plan: Plan, counters: Any, row: int, active: Any, step: Any) -> None:
        self.plan = plan
        self.counters = counters
        self.base = row * FIELDS
        self.active = active  # shared: how many clients run (saturation); None = all
        self.step = step  # shared: the saturation step being measured
        self.result = Result()
        self.questions = shop_questions()
        self.clients: set[socketio.AsyncClient] = set()
        self.http: aiohttp.ClientSession | None = None

    def add(self, field_: int, n: float = 1) -> None:
        self.counters[self.base + field_] += n

    async def connect(self) -> socketio.AsyncClient | None:
        assert self.http is not None
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=self.http)
        try:
            await sio.connect(
                self.plan.url,
                namespaces=[NS],
                transports=["websocket"],
                headers={"Origin": self.plan.origin},
                wait_timeout=30,
            )
        except Exception as exc:  # noqa: BLE001 - counted, the client tries again later
            self.result.error("connect", repr(exc))
            return None
        self.clients.add(sio)
        return sio

    async def close(self, sio: socketio.AsyncClient) -> None:
        self.clients.discard(sio)
        try:
            await sio.disconnect()
        except Exception as exc:  # noqa: BLE001
            self.result.error("disconnect", repr(exc))

    async def publish(self) -> None:
        while True:
            self.counters[self.base + CONNECTED] = sum(1 for c in self.clients if c.connected)
            self.counters[self.base + ERRORS] = sum(self.result.errors.values())
            await asyncio.sleep(0.25)

    async def watch_lag(self) -> None:
        """How late this worker's event loop wakes up (client-side delay in every figure)."""
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.1)
            self.result.lag.append((time.time(), time.perf_counter() - t0 - 0.1))

    async def run(self) -> Result:
        connector = aiohttp.TCPConnector(limit=0)
        self.http = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        helpers = [asyncio.create_task(self.publish()), asyncio.create_task(self.watch_lag())]
        try:
            client = Shopper if self.plan.mode == "shop" else LoopClient
            await asyncio.gather(*(client(self, i).run() for i in self.plan.indexes))
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self.counters[self.base + CONNECTED] = 0
            self.counters[self.base + ERRORS] = sum(self.result.errors.values())
            await self.http.close()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.result.cpu_seconds = usage.ru_utime + usage.ru_stime
        return self.result


async def sleep_until(at: float, event: asyncio.Event | None = None) -> None:
    """Sleep until the wall-clock time ``at``, or until ``event`` is set."""
    delay = at - time.time()
    if delay <= 0:
        return
    if event is None:
        await asyncio.sleep(delay)
        return
    try:
        await asyncio.wait_for(event.wait(), delay)
    except TimeoutError:
        pass


class Conversation:
    """One chat on one connection: its events and the bot-reply waiter."""

    def __init__(self, worker: Worker, sio: socketio.AsyncClient) -> None:
        self.worker = worker
        self.sio = sio
        self.status = "bot"
        self.closing = False
        self.ended = asyncio.Event()
        self.rating_asked = asyncio.Event()
        self.assigned_at: float | None = None  # perf_counter() of the 'assigned' status
        self.last_sent = 0.0  # perf_counter() of the last message emitted
        self.waiter: asyncio.Future[float] | None = None
        self.suggested: list[dict[str, Any]] = []  # "did you mean" choices of the last bot reply
        sio.on("message", self.on_message, namespace=NS)
        sio.on("status", self.on_status, namespace=NS)
        sio.on("ended", self.on_ended, namespace=NS)
        sio.on("csat_request", self.on_csat_request, namespace=NS)
        sio.on("disconnect", self.on_disconnect, namespace=NS)

    def reset(self, status: str) -> None:
        self.status = status
        self.ended.clear()
        self.rating_asked.clear()
        self.assigned_at = None
        self.suggested = []

    def on_message(self, data: dict[str, Any]) -> None:
        author = data.get("author")
        if author == "bot" and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(time.perf_counter())
            self.suggested = [
                q
                for q in data.get("quick_replies") or []
                if isinstance(q, dict) and q.get("type") == "suggestion"
            ]
        elif author == "agent":
            self.worker.result.counts["agent messages received"] += 1

    def on_status(self, data: dict[str, Any]) -> None:
        self.status = data.get("status", self.status)
        if self.status == "assigned" and self.assigned_at is None:
            self.assigned_at = time.perf_counter()
        if self.status != "bot" and self.waiter is not None and not self.waiter.done():
            # a person takes over: a message sent just before the hand-off was noticed
            # (the previous turn escalated) gets no bot reply
            self.waiter.set_result(NO_REPLY)

    def on_ended(self, data: dict[str, Any] | None = None) -> None:
        self.status = "closed"
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(NO_REPLY)
        self.ended.set()
        if data and data.get("by") == "agent":
            self.worker.result.counts["chats resolved by an agent"] += 1

    def on_csat_request(self, data: Any = None) -> None:
        self.rating_asked.set()

    def on_disconnect(self, reason: Any = None) -> None:
        if not self.closing:
            self.worker.result.error("dropped by the server", str(reason))

    async def call(
        self, event: str, data: dict[str, Any], *, expected: frozenset[str] = frozenset()
    ) -> dict[str, Any] | None:
        """An event with its ack; None (and an error counted) when refused or late.

        Refusals with a code in ``expected`` are counted, but not as errors."""
        try:
            ack: dict[str, Any] = await self.sio.call(
                event, data, namespace=NS, timeout=ACK_TIMEOUT
            )
        except socketio.exceptions.TimeoutError:
            self.worker.result.error(f"{event}: no ack in {ACK_TIMEOUT:g} s")
            return None
        except Exception as exc:  # noqa: BLE001 - e.g. the connection dropped
            self.worker.result.error(f"{event}: {type(exc).__name__}", repr(exc))
            return None
        if not isinstance(ack, dict) or not ack.get("ok"):
            code = ack.get("error", {}).get("code") if isinstance(ack, dict) else repr(ack)
            if code in expected:
                self.worker.result.counts[f"{event} refused: {code} (expected)"] += 1
            else:
                self.worker.result.error(f"{event} refused: {code}", repr(ack))
            return None
        return ack

    async def turn(self, event: str, data: dict[str, Any], *, bucket: int | None = None) -> bool:
        """Emit a message; when the bot is in charge, wait for its reply and time it.

        In a chat with an agent, the agent may resolve it while the message is on its
        way: ``conversation_closed`` is then expected (the widget's race too)."""
        worker = self.worker
        expect = self.status == "bot"
        expected = frozenset() if expect else frozenset({"conversation_closed"})
        self.suggested = []
        self.waiter = asyncio.get_running_loop().create_future() if expect else None
        sent_at, t0 = time.time(), time.perf_counter()
        self.last_sent = t0
        ack = await self.call(event, data, expected=expected)
        if ack is None:
            self.waiter = None
            return False
        worker.add(MESSAGES)
        worker.result.counts["messages acknowledged"] += 1
        if self.waiter is None:
            return True
        replies = ack.get("replies")
        if isinstance(replies, list) and not self.waiter.done():
            # Protocol 2 (as the widget): the bot's replies came in the ack.
            bot = [r for r in replies if isinstance(r, dict) and r.get("author") == "bot"]
            if bot:
                self.on_message(bot[0])
            else:
                self.waiter.set_result(NO_REPLY)
        try:
            arrived = await asyncio.wait_for(self.waiter, worker.plan.reply_timeout)
        except TimeoutError:
            if self.status == "bot":
                worker.result.error("no bot reply", f"in {worker.plan.reply_timeout:g} s")
            return False
        finally:
            self.waiter = None
        if arrived == NO_REPLY:
            worker.result.counts["messages not answered by the bot (escalated meanwhile)"] += 1
            return True
        worker.add(REPLIES)
        if bucket is None:
            worker.result.latencies.append((sent_at, arrived - t0))
        elif bucket >= 0:
            worker.result.step_latencies.setdefault(bucket, []).append(arrived - t0)
        return True

    async def rate(self, rng: random.Random) -> None:
        """Answer the CSAT question (asked when the chat ended with us online)."""
        try:
            await asyncio.wait_for(self.rating_asked.wait(), 10)
        except TimeoutError:
            self.worker.result.error("no csat_request after the chat ended")
            return
        rating = rng.choices([1, 2, 3, 4, 5], weights=[5, 5, 10, 30, 50])[0]
        data: dict[str, Any] = {"rating": rating}
        comment = rng.choice(COMMENTS)
        if comment:
            data["comment"] = comment
        if await self.call("csat", data) is not None:
            self.worker.add(RATED)


def start_payload(rng: random.Random, lang: str) -> dict[str, Any]:
    product = rng.randint(100, 999)
    return {
        "lang": "auto",
        "page_lang": lang,
        "replies_in_ack": True,
        "site": "bench",
        "page": {"url": f"https://shop.bench.example/p/{product}", "title": f"Linen {product}"},
    }


def next_message(
    rng: random.Random, chat: Conversation, questions: list[tuple[str, str]], topic: str
) -> tuple[str, str, str | None]:
    """What a shopper sends next: the "did you mean" choice about their last question
    when the bot offered it (a click on it), else another question.
    Returns (text, the entry it is about, pick)."""
    for choice in chat.suggested:
        if choice.get("entry_id") == topic:
            return str(choice.get("label") or topic), "", topic
    text, topic = rng.choice(questions)
    return text, topic, None


class Client:
    """One simulated shopper of a worker, with its own reproducible random stream."""

    def __init__(self, worker: Worker, index: int) -> None:
        self.worker = worker
        self.plan = worker.plan
        self.index = index
        self.rng = random.Random(self.plan.seed * 1_000_003 + index)
        self.sent = 0


class Shopper(Client):
    """``shop`` mode: realistic chats, one after another, each on a new connection."""

    def __init__(self, worker: Worker, index: int) -> None:
        super().__init__(worker, index)
        self.topic = ""  # the knowledge-base entry the last question was about

    def pick_lang(self) -> str:
        return self.rng.choices(["en", "it", "pl"], weights=[60, 20, 20])[0]

    async def open(self, lang: str) -> Conversation | None:
        sio = await self.worker.connect()
        if sio is None:
            return None
        chat = Conversation(self.worker, sio)
        ack = await chat.call("start", start_payload(self.rng, lang))
        if ack is None:
            chat.closing = True
            await self.worker.close(sio)
            return None
        chat.reset(ack["status"]["status"])
        self.worker.add(CHATS)
        return chat

    async def run(self) -> None:
        plan = self.plan
        await sleep_until(plan.start_at + plan.ramp * self.rng.random())
        lang = self.pick_lang()
        chat = await self.open(lang)
        due = time.time() + self.rng.uniform(0, plan.interval)
        try:
            while time.time() < plan.stop_at:
                if chat is None:  # could not connect: retry a little later
                    await asyncio.sleep(1 + self.rng.random())
                    chat = await self.open(lang)
                    continue
                due = await self.one_chat(chat, lang, due)
                if time.time() >= plan.stop_at:
                    break
                lang = self.pick_lang()
                following = await self.open(lang)  # opened before the old one is closed
                chat.closing = True
                await self.worker.close(chat.sio)
                chat = following
        finally:
            if chat is not None:
                chat.closing = True
                await self.worker.close(chat.sio)

    def next_due(self, due: float) -> float:
        return (
            max(due, time.time() - self.plan.interval)
            + self.rng.uniform(0.5, 1.5) * self.plan.interval
        )

    async def ask(self, chat: Conversation, text: str, pick: str | None = None) -> None:
        self.sent += 1
        data = {"id": f"s{self.index}-{self.sent}", "text": text}
        if pick is not None:
            data["pick"] = pick
        await chat.turn("message", data)

    async def one_chat(self, chat: Conversation, lang: str, due: float) -> float:
        """One chat from the first question to the rating; returns the next question's time."""
        plan, rng, result = self.plan, self.rng, self.worker.result
        questions = self.worker.questions[lang]
        wanted = rng.randint(plan.min_questions, plan.max_questions)
        asks_for_person = rng.random() < plan.escalate
        self.topic = ""
        for _ in range(wanted):
            await sleep_until(due)
            if time.time() >= plan.stop_at or chat.status != "bot":
                break
            text, self.topic, pick = next_message(rng, chat, questions, self.topic)
            if pick is not None:
                result.counts["suggestions picked"] += 1
            await self.ask(chat, text, pick)
            due = self.next_due(due)
        if time.time() >= plan.stop_at:
            return due
        escalated_at = None
        if chat.status == "bot" and asks_for_person:
            await sleep_until(min(due, time.time() + rng.uniform(1, 3)))
            escalated_at = time.perf_counter()
            if await chat.call("handoff", {}) is not None:
                result.counts["hand-offs asked by shoppers"] += 1
        elif chat.status in ("queued", "assigned"):
            escalated_at = chat.last_sent  # by the bot's policy, on the last question
            result.counts["escalated by the bot"] += 1
        if escalated_at is not None:
            self.worker.add(ESCALATED)
            # chat with the agent until it resolves the chat
            while not chat.ended.is_set() and time.time() < plan.stop_at:
                await sleep_until(due, chat.ended)
                if chat.ended.is_set() or time.time() >= plan.stop_at:
                    break
                await self.ask(chat, rng.choice(FOLLOW_UPS[lang]))
                due = self.next_due(due)
            if chat.assigned_at is not None:
                result.handoff_waits.append(chat.assigned_at - escalated_at)
            if not chat.ended.is_set():
                return due
        elif not chat.ended.is_set():
            await sleep_until(min(due, time.time() + rng.uniform(0.5, 2)))
            if await chat.call("end", {}) is None:
                return due
        await chat.rate(rng)
        return due


class LoopClient(Client):
    """``turns`` and ``echo`` modes: closed loop, no think time, while active."""

    async def run(self) -> None:
        plan, worker = self.plan, self.worker
        await sleep_until(plan.start_at + plan.ramp * self.rng.random())
        sio = await worker.connect()
        if sio is None:
            return
        chat = Conversation(worker, sio)
        if plan.mode == "echo":  # the echo server's reply stands for the bot's message
            sio.on("reply", lambda data=None: chat.on_message({"author": "bot"}), namespace=NS)
        lang, topic = "en", ""
        asked, wanted = 0, 0
        due = 0.0  # paced echo: when this client's next turn is due
        try:
            while time.time() < plan.stop_at and worker.active.value >= 0:
                if self.index >= worker.active.value:
                    await asyncio.sleep(0.05)
                    continue
                if plan.mode == "echo":
                    await self.echo(chat)
                    if plan.echo_rate > 0:
                        # Paced: each active client one turn every active / rate seconds,
                        # so the server sees the rate asked for, not its own maximum.
                        period = max(worker.active.value, 1) / plan.echo_rate
                        due = max(due + period, time.time()) if due else time.time() + period
                        await sleep_until(due - period * 0.5 + period * self.rng.random())
                    continue
                if asked >= wanted or chat.status != "bot":
                    if wanted:
                        await self.finish(chat)
                    lang = self.rng.choices(["en", "it", "pl"], weights=[60, 20, 20])[0]
                    ack = await chat.call("start", start_payload(self.rng, lang))
                    if ack is None:
                        await asyncio.sleep(1)
                        continue
                    chat.reset(ack["status"]["status"])
                    worker.add(CHATS)
                    asked, wanted = 0, self.rng.randint(plan.min_questions, plan.max_questions)
                self.sent += 1
                asked += 1
                text, topic, pick = next_message(self.rng, chat, worker.questions[lang], topic)
                data = {"id": f"t{self.index}-{self.sent}", "text": text}
                if pick is not None:
                    data["pick"] = pick
                await chat.turn("message", data, bucket=worker.step.value)
        finally:
            chat.closing = True
            await worker.close(sio)

    async def finish(self, chat: Conversation) -> None:
        if not chat.ended.is_set() and await chat.call("end", {}) is None:
            return
        await chat.rate(self.rng)

    async def echo(self, chat: Conversation) -> None:
        """One echo turn: the ``reply`` event resolves the waiter as a bot message would."""
        self.sent += 1
        text = self.rng.choice(self.worker.questions["en"])[0]
        await chat.turn(
            "echo",
            {"id": f"e{self.index}-{self.sent}", "text": text},
            bucket=self.worker.step.value,
        )


def worker_main(plan: Plan, counters: Any, row: int, active: Any, step: Any, out: Any) -> None:
    """Process entry point: run the plan, put the result (a plain dict) on ``out``."""
    exit_with_parent()
    result = asyncio.run(Worker(plan, counters, row, active, step).run())
    out.put(
        {
            "row": row,
            "latencies": result.latencies,
            "step_latencies": result.step_latencies,
            "handoff_waits": result.handoff_waits,
            "lag": result.lag,
            "counts": dict(result.counts),
            "errors": dict(result.errors),
            "examples": result.examples,
            "cpu_seconds": result.cpu_seconds,
        }
    )
