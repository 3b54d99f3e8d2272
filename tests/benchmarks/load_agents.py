"""Simulated agents of the load benchmark (``load.py``), all in one process.

Each agent signs in through the real ``/login`` form (cookies carried by hand, as
in ``tests/conftest.py``), connects to ``/agent`` with the session cookie and our
own origin, syncs and goes online. Then it acts like a person at the console:
on ``assigned`` it opens the chat and greets the shopper with ``send``, answers
each shopper message after a short pause, and ``resolve``s the chat after a
handling time (the shopper then gets ``ended`` and the CSAT question).
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections import Counter
from typing import Any

import socketio

from serverproc import close_client, exit_with_parent, go_online

NS = "/agent"
GREETINGS = ["Hello, I'm looking into it right now.", "Hi! Let me check that for you."]
ANSWERS = [
    "Thanks, one moment please.",
    "I see it here, it leaves the warehouse today.",
    "Done, you will get an e-mail shortly.",
    "Is there anything else I can do?",
]


class Agent:
    def __init__(
        self,
        url: str,
        email: str,
        number: int,
        handle: float,
        stats: Counter[str],
        examples: list[str],
    ) -> None:
        self.url = url
        self.email = email
        self.number = number
        self.handle = handle
        self.stats = stats
        self.examples = examples
        self.rng = random.Random(number)
        self.sent = 0
        self.owned: set[str] = set()
        self.replying: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.sio.on("assigned", self.on_assigned, namespace=NS)
        self.sio.on("message", self.on_message, namespace=NS)
        self.sio.on("closed", self.on_closed, namespace=NS)
        self.sio.on("disconnect", self.on_disconnect, namespace=NS)

    def error(self, kind: str, detail: str = "") -> None:
        self.stats[f"error: {kind}"] += 1
        if len(self.examples) < 10:
            self.examples.append(f"agent {kind}: {detail}"[:200])

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def start(self, password: str) -> None:
        await go_online(self.sio, self.url, self.email, password)

    async def call(self, event: str, data: dict[str, Any]) -> bool:
        try:
            ack = await self.sio.call(event, data, namespace=NS, timeout=30)
        except Exception as exc:  # noqa: BLE001 - counted
            self.error(f"{event}: {type(exc).__name__}", repr(exc))
            return False
        if not ack.get("ok"):
            code = ack.get("error", {}).get("code")
            if code == "conversation_closed":
                # the shopper (or the inactivity timeout) ended the chat while the agent
                # was answering, opening or resolving it: the console's race too, not a fault
                self.stats[f"{event} after the chat ended"] += 1
            else:
                self.error(f"{event} refused: {code}", repr(ack))
            return False
        self.stats[f"{event} ok"] += 1
        return True

    def on_assigned(self, data: dict[str, Any]) -> None:
        conversation = data.get("conversation_id")
        if isinstance(conversation, str) and conversation not in self.owned:
            self.owned.add(conversation)
            self.stats["assigned"] += 1
            self.spawn(self.take_care(conversation))

    def on_message(self, data: dict[str, Any]) -> None:
        conversation = data.get("conversation_id")
        if (
            data.get("author") == "shopper"
            and conversation in self.owned
            and conversation not in self.replying
        ):
            self.replying.add(conversation)
            self.spawn(self.answer(conversation))

    def on_closed(self, data: dict[str, Any]) -> None:
        self.owned.discard(data.get("conversation_id", ""))

    def on_disconnect(self, reason: Any = None) -> None:
        if not self.stopping:
            self.error("dropped by the server", str(reason))

    async def send(self, conversation: str, text: str) -> None:
        self.sent += 1
        await self.call(
            "send",
            {"conversation_id": conversation, "id": f"a{self.number}-{self.sent}", "text": text},
        )

    async def take_care(self, conversation: str) -> None:
        """Open the chat, greet the shopper, resolve it after the handling time."""
        started = time.monotonic()
        if not await self.call("open", {"conversation_id": conversation}):
            return
        await asyncio.sleep(self.rng.uniform(0.3, 1.0))
        await self.send(conversation, self.rng.choice(GREETINGS))
        await asyncio.sleep(
            max(0.0, started + self.rng.uniform(0.5, 1.5) * self.handle - time.monotonic())
        )
        if conversation in self.owned:
            await self.call("resolve", {"conversation_id": conversation})

    async def answer(self, conversation: str) -> None:
        try:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5))
            if conversation in self.owned:
                await self.send(conversation, self.rng.choice(ANSWERS))
        finally:
            self.replying.discard(conversation)

    async def stop(self) -> None:
        self.stopping = True
        await close_client(self.sio, self.tasks)


async def run_agents(
    url: str, emails: list[str], password: str, handle: float, stop: Any, ready: Any
) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    examples: list[str] = []
    agents = [Agent(url, email, i, handle, stats, examples) for i, email in enumerate(emails)]
    try:
        for agent in agents:
            await agent.start(password)
    except Exception as exc:  # noqa: BLE001 - the main process reports it and stops
        ready.put(f"agents could not start: {exc!r}")
        return {"stats": dict(stats), "examples": examples, "cpu_seconds": 0.0}
    ready.put("ok")
    while not stop.is_set():
        await asyncio.sleep(0.2)
    for agent in agents:
        await agent.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "stats": dict(stats),
        "examples": examples,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def agents_main(
    url: str, emails: list[str], password: str, handle: float, stop: Any, ready: Any, out: Any
) -> None:
    """Process entry point: agents online until ``stop`` is set; the result goes on ``out``."""
    exit_with_parent()
    out.put(asyncio.run(run_agents(url, emails, password, handle, stop, ready)))
