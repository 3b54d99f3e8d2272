"""Fixtures: a real server on 127.0.0.1 and real socket.io clients talking to it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from bot import passwords
from bot.app import Preloaded, create_app
from bot.kb.semantic import load_encoder
from bot.keys import BOARD, CHAT, DB, DISPATCHER, LIFECYCLE
from bot.mood.detector import MoodDetector
from bot.settings import Settings, mood_config
from bot.store import Database, accounts
from bot.store.clock import Clock

import pgproc
import redisproc
from benchmarks.serverproc import try_sign_in

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["browser_fixtures", "cluster_helpers"]
PASSWORD = "correct horse battery"
# SUPPORTBOT_TEST_STORE=postgres runs every server of the ``settings`` fixture on
# PostgreSQL (a development aid: tests that open the SQLite file themselves fail);
# tests marked ``postgres`` always do.
STORE_VARIABLE = "SUPPORTBOT_TEST_STORE"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (a stable sort keeps the rest in order): spread over the
    test processes early, they do not end the run with one process busy and the
    others idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# scrypt's work factor for the accounts the tests make: 2**10 instead of 2**15, a
# millisecond instead of about 90 ms of CPU per hash (the suite hashes hundreds of
# times). The hash records its own factor, so signing in runs the real check on it.
# Modules that measure sign-in under load (``REAL_PASSWORD_COST = True``) keep the
# real factor (except their tests marked ``cheap_passwords``, which count attempts and
# do not time them), as do servers started as their own processes for what they hash
# themselves (accounts made with the CLI, the check of an unknown e-mail).
TEST_SCRYPT_N = 2**10


@pytest.fixture(autouse=True)
def password_cost(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    real = getattr(request.module, "REAL_PASSWORD_COST", False)
    if not real or request.node.get_closest_marker("cheap_passwords"):
        monkeypatch.setattr(passwords, "SCRYPT_N", TEST_SCRYPT_N)
    passwords.dummy_hash.cache_clear()  # made again at this test's factor
    request.addfinalizer(passwords.dummy_hash.cache_clear)


@pytest.fixture(scope="session")
def vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of phrasing vectors and calibrations for the whole run (a KB is
    encoded and calibrated once)."""
    return tmp_path_factory.mktemp("vectors")


@pytest.fixture(scope="session", autouse=True)
def shared_faq_cache(vector_cache: Path) -> Iterator[None]:
    """The servers and commands the tests start as processes of their own use the
    run's cache too (otherwise each calibrates the KB again, about a second of CPU,
    in a cache beside its fresh database). A test that gives its own
    SUPPORTBOT_FAQ_CACHE_DIR in a process's environment still gets that."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUPPORTBOT_FAQ_CACHE_DIR", str(vector_cache))
        yield


@pytest.fixture(scope="session")
def preloaded() -> Preloaded:
    """The sentence encoder and the mood detector, built once for the whole run and
    shared by every server the tests start (each takes about a second to build)."""
    encoder, warning = load_encoder("inline")
    assert encoder is not None, warning
    return Preloaded(encoder=encoder, mood=MoodDetector(mood_config(Settings())))


def make_settings(tmp_path: Path, vector_cache: Path, **changes: Any) -> Settings:
    """The settings of a test server: a fresh database, quick sweeps and reloads, the
    slow path in the judging threads (no worker processes) with the run's one vector
    cache; a module overriding the ``settings`` fixture passes its own ``changes``."""
    return Settings(
        db=tmp_path / "test.db",
        sweep_interval=0.2,
        kb_reload_interval=0.2,
        faq_semantic="inline",
        faq_cache_dir=vector_cache,
    ).replace(**changes)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, vector_cache: Path) -> Settings:
    if request.node.get_closest_marker("postgres") or os.environ.get(STORE_VARIABLE) == "postgres":
        # the same server on a PostgreSQL database of the test's own
        url = request.getfixturevalue("postgres_url")
        return make_settings(tmp_path, vector_cache, database=url)
    return make_settings(tmp_path, vector_cache)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server of this test's own (skipped when it is not installed)."""
    if not redisproc.available():
        pytest.skip(redisproc.MISSING)
    server = redisproc.RedisServer(tmp_path / "redis").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pgproc.PostgresServer]:
    """One real PostgreSQL server per test process, started when a test first needs it
    (skipped when it is not installed)."""
    if not pgproc.available():
        pytest.skip(pgproc.MISSING)
    server = pgproc.PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: pgproc.PostgresServer) -> str:
    """The URL of a new, empty PostgreSQL database of this test's own."""
    return postgres_server.database()


@dataclass
class LiveServer:
    url: str
    app: web.Application
    settings: Settings

    @property
    def db(self) -> Database:
        return self.app[DB]

    async def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return await self.db.read(lambda c: [dict(r) for r in c.execute(sql, params).fetchall()])

    async def events(
        self, type_: str | None = None, conversation_id: str | None = None
    ) -> list[dict[str, Any]]:
        await self.db.flush()
        sql, params = "SELECT * FROM events WHERE 1=1", []
        if type_:
            sql += " AND type = ?"
            params.append(type_)
        if conversation_id:
            sql += " AND conversation_id = ?"
            params.append(conversation_id)
        return await self.query(sql + " ORDER BY id", *params)

    async def settled(self, *clients: Client) -> None:
        """Until the server has finished what it had started (the turns' fan-out, the
        dispatcher's and the queue's pushes, queued writes: what it waits for before
        shutting down) and each of ``clients`` has everything it was sent (a round
        trip). A check that something did NOT arrive is sure after this."""
        await self.app[CHAT].drain()
        await self.app[DISPATCHER].settled()
        await self.app[BOARD].settled()
        await self.app[LIFECYCLE].directory.settled()
        await self.db.flush()
        for client in clients:
            await client.round_trip()

    async def add_agent(
        self, email: str, name: str, role: str = "agent", capacity: int = 3
    ) -> accounts.Agent:
        return await self.db.write(
            lambda c: accounts.add_agent(c, email, name, role, PASSWORD, capacity)
        )


class ManualClock(Clock):
    """A clock that moves only when a test advances it. ``advance`` wakes every task
    whose sleep is over and returns once each has done its round and sleeps again (or
    ended): a test waits for exactly one knowledge-base reload or sweep, not a while."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None], asyncio.Task[Any]]] = []
        self._changed = asyncio.Event()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, woken, task))
        self._changed.set()
        try:
            await woken
        finally:
            self._sleepers = [s for s in self._sleepers if s[1] is not woken]

    def sleeping(self) -> set[str]:
        """The names of the tasks that wait on this clock."""
        return {task.get_name() for _, _, task in self._sleepers}

    async def _until(self, done: Callable[[], bool], timeout: float) -> None:
        async def wait() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    async def wait_sleeping(self, name: str, timeout: float = 10) -> None:
        """Until the task called ``name`` waits on this clock."""
        await self._until(lambda: name in self.sleeping(), timeout)

    async def advance(self, seconds: float, timeout: float = 10) -> None:
        self.now += seconds
        due = [s for s in self._sleepers if s[0] <= self.now]
        for _, woken, task in due:
            woken.set_result(None)
            task.add_done_callback(lambda _: self._changed.set())

        # each woken task is back asleep (a new sleep of its own) or has ended
        def waiting_again(task: asyncio.Task[Any]) -> bool:
            return task.done() or any(t is task and not f.done() for _, f, t in self._sleepers)

        await self._until(lambda: all(waiting_again(task) for _, _, task in due), timeout)


async def until(check: Callable[[], Any], timeout: float = 5, every: float = 0.01) -> None:
    """Wait for a condition the test can observe (``check()`` true; a coroutine's result
    counts), at most ``timeout`` seconds, instead of sleeping for a guessed while."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"not true after {timeout} s: {check}")
        await asyncio.sleep(every)


ServerFactory = Callable[..., Awaitable[LiveServer]]


async def supportbot(*args: str) -> tuple[int, str, str]:
    """The real command, in its own process (as a shop's operator runs it)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def start_server(
    aiohttp_server: Any, settings: Settings, preloaded: Preloaded
) -> ServerFactory:
    async def start(clock: Clock | None = None, **changes: Any) -> LiveServer:
        s = settings.replace(**changes)
        app = create_app(s, preloaded, clock)
        server = await aiohttp_server(app, host="127.0.0.1")
        return LiveServer(str(server.make_url("")).rstrip("/"), app, s)

    return start


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client: cookies carried by hand, no limit on parallel requests."""
    session = aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), connector=aiohttp.TCPConnector(limit=0)
    )
    yield session
    await session.close()


@pytest.fixture
async def server(start_server: ServerFactory) -> LiveServer:
    return await start_server()


@dataclass
class Client:
    """A real python-socketio client that records what the server sends."""

    sio: socketio.AsyncClient
    namespace: str
    http: aiohttp.ClientSession | None = None
    received: list[tuple[str, Any]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data, namespace=self.namespace)

    def record(self, event: str, data: Any) -> None:
        self.received.append((event, data))
        self._arrived.set()

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.received if name == event]

    async def wait_for(
        self, event: str, predicate: Callable[[Any], bool] = lambda d: True, timeout: float = 5
    ) -> Any:
        async def scan() -> Any:
            seen = 0
            while True:
                for name, data in self.received[seen:]:
                    if name == event and predicate(data):
                        return data
                seen = len(self.received)
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def round_trip(self) -> None:
        """Returns once everything the server sent this client before the call has
        arrived: the refusal of an unknown event (immediate, without side effects) comes
        on the same connection, after it. "Nothing arrived" checks end on this, not on a
        sleep: whatever the server had sent by then would be in ``received``."""
        ack = await self.call("round-trip")
        assert ack["error"]["code"] == "unknown_event", ack

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        if self.http is not None:
            await self.http.close()


SERVER_EVENTS = (
    "message",
    "status",
    "typing",
    "ended",
    "csat_request",
    "error",
    "queue",
    "assigned",
    "unassigned",
    "closed",
    "presence",
    "agents",
    "canned",
    "ticket",
    "card",
    "all_chats",
    "seen",
)


async def open_client(
    url: str,
    namespace: str,
    made: list[Client],
    *,
    headers: dict[str, str] | None = None,
    auth: Any = None,
    wait_timeout: float = 5,
) -> Client:
    """A recording client connected over websocket; added to ``made`` first, so that it
    is closed at the end even when connecting fails."""
    http = aiohttp.ClientSession()
    sio = socketio.AsyncClient(reconnection=False, http_session=http)
    client = Client(sio, namespace, http)
    made.append(client)
    for name in SERVER_EVENTS:
        sio.on(
            name,
            (lambda n: lambda data=None: client.record(n, data))(name),
            namespace=namespace,
        )
    await sio.connect(
        url,
        namespaces=[namespace],
        headers=dict(headers or {}),
        auth=auth,
        transports=["websocket"],
        wait_timeout=wait_timeout,
    )
    return client


@pytest.fixture
async def connect(server: LiveServer) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    clients: list[Client] = []

    async def make(
        namespace: str = "/chat",
        *,
        url: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
    ) -> Client:
        return await open_client(url or server.url, namespace, clients, headers=headers, auth=auth)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def shopper(connect: Callable[..., Awaitable[Client]]) -> Callable[..., Awaitable[Client]]:
    """A connected shopper whose conversation has started (``client.start`` holds the ack)."""

    async def make(**start: Any) -> Client:
        client = await connect("/chat")
        ack = await client.call("start", start)
        assert ack["ok"], ack
        client.start = ack  # type: ignore[attr-defined]
        return client

    return make


async def login(url: str, email: str, password: str = PASSWORD) -> str | None:
    """Sign in through the real login form; return the session cookie value."""
    return await try_sign_in(url, email, password)


@pytest.fixture
async def agent(
    server: LiveServer, connect: Callable[..., Awaitable[Client]]
) -> Callable[..., Awaitable[Client]]:
    """An agent account, signed in, connected to /agent, status online."""
    count = 0

    async def make(
        name: str = "Ada", role: str = "agent", online: bool = True, capacity: int = 3
    ) -> Client:
        nonlocal count
        count += 1
        email = f"{name.lower().replace(' ', '.')}{count}@shop.example"
        account = await server.add_agent(email, name, role, capacity)
        cookie = await login(server.url, email)
        assert cookie
        client = await connect("/agent", headers={"Cookie": f"supportbot_session={cookie}"})
        client.account = account  # type: ignore[attr-defined]
        client.cookie = cookie  # type: ignore[attr-defined]
        if online:
            ack = await client.call("status", {"status": "online"})
            assert ack["ok"], ack
        return client

    return make
