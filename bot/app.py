"""The application factory: ``create_app(settings) -> aiohttp.web.Application``.

No module-level app or server objects: everything with a lifetime is an
``app.cleanup_ctx`` context (the database and its writer thread, the knowledge
base and its reload task, the services with the sweeper), and shared objects
live on the app under typed keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from bot.agents.namespace import AgentNamespace
from bot.agents.service import AgentService
from bot.agents.sessions import Sessions
from bot.agents.tickets import TicketService
from bot.brain import Brain
from bot.chat.lifecycle import Lifecycle
from bot.chat.namespace import ShopperNamespace
from bot.chat.service import ChatService
from bot.chat.uploads import Uploads
from bot.csat.service import CsatService
from bot.fanout import Fanout
from bot.hours import OfficeHours
from bot.judging import JudgeWorkers, Judging
from bot.kb.semantic import EmbeddingCache, Encoder, load_encoder
from bot.kb.service import KnowledgeService
from bot.keys import (
    AGENT_NAMESPACE,
    AGENTS,
    BOARD,
    CHAT,
    CLOCK,
    CLUSTER,
    CSAT,
    DB,
    DISPATCHER,
    JUDGING,
    KNOWLEDGE,
    LIFECYCLE,
    LIMITS,
    LIVE,
    MAILER,
    ORIGINS,
    SESSIONS,
    SETTINGS,
    SIO,
    UPLOADS,
)
from bot.leadership import DISPATCH, MAIL, QUEUE, Alone, Leadership
from bot.live import LiveState, MemoryLiveState
from bot.locks import KeyedLocks, cancel_and_wait
from bot.mail import Mailer
from bot.mood.detector import MoodDetector
from bot.mood.scale import MoodScale
from bot.origins import OriginPolicy
from bot.privacy import web as privacy_web
from bot.ratelimit import Limits
from bot.remotes import Remotes
from bot.routing.cards import Cards
from bot.routing.directory import AgentDirectory
from bot.routing.dispatch import Dispatcher
from bot.routing.queue import QueueBoard
from bot.routing.team import Team
from bot.settings import (
    Settings,
    cache_dir,
    matcher_config,
    model_dir,
    mood_config,
    policy_config,
    semantic_mode,
)
from bot.sockets import RoomIndex, Server
from bot.store import Database
from bot.store.clock import Clock
from bot.store.migrations import migrate
from bot.sweeper import Sweeper
from bot.web import dashboard, pages
from bot.web import uploads as uploads_web
from bot.web.middleware import security_headers

if TYPE_CHECKING:
    from bot.cluster.node import Node

log = logging.getLogger(__name__)


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = Database(settings.store, batch=settings.writer_batch)
    await asyncio.get_running_loop().run_in_executor(None, partial(db.start, migrate))
    app[DB] = db
    yield
    await asyncio.get_running_loop().run_in_executor(None, db.stop)


async def _knowledge(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    loop = asyncio.get_running_loop()
    mode = semantic_mode(settings)
    encoder, cache = None, None
    preloaded = app[PRELOADED]
    if mode == "inline" and preloaded.encoder is not None and model_dir(settings) is None:
        encoder = preloaded.encoder
    elif mode == "inline":  # the slow path in this process (the judging threads)
        encoder, warning = await loop.run_in_executor(None, load_encoder, mode, model_dir(settings))
        if warning:
            log.warning("FAQ slow path unavailable: %s", warning)
    if mode == "inline":
        cache = EmbeddingCache(cache_dir(settings, server=True))
    knowledge = await loop.run_in_executor(
        None, KnowledgeService, settings.kb, matcher_config(settings), encoder, cache
    )
    app[KNOWLEDGE] = knowledge

    clock = app[CLOCK]

    async def watch() -> None:
        while True:
            await clock.sleep(settings.kb_reload_interval)
            try:
                if await loop.run_in_executor(None, knowledge.reload_if_changed):
                    log.info("knowledge base reloaded from %s", settings.kb)
            except Exception:
                log.exception("knowledge base reload failed; keeping the last good version")

    task = asyncio.create_task(watch(), name="kb-reload")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _judging(app: web.Application) -> AsyncIterator[None]:
    """The worker processes (SUPPORTBOT_FAQ_SEMANTIC=process) or else the threads that
    judge shopper messages off the event loop."""
    settings = app[SETTINGS]
    workers = None
    if semantic_mode(settings) == "process":
        workers = JudgeWorkers(
            settings.kb,
            matcher_config(settings),
            model_dir(settings),
            cache_dir(settings, server=True),
            mood_config(settings),
            settings.faq_workers,
        )
    judging = Judging(workers)
    await judging.start()
    app[JUDGING] = judging
    yield
    await judging.close()


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings, db, sio = app[SETTINGS], app[DB], app[SIO]
    cluster = app.get(CLUSTER)
    live: LiveState = MemoryLiveState(app[CLOCK]) if cluster is None else cluster.live()
    leadership: Leadership = Alone() if cluster is None else cluster.node
    scale = MoodScale.for_threshold(policy_config(settings).mood_threshold)
    fanout = Fanout(sio, scale)
    locks = KeyedLocks() if cluster is None else cluster.locks()
    judging = app[JUDGING]
    mood = app[PRELOADED].mood
    if mood is None or mood.config != mood_config(settings):
        mood = MoodDetector(mood_config(settings))
    brain = Brain(
        app[KNOWLEDGE],
        mood,
        policy_config(settings),
        executor=judging.executor,
        workers=judging.workers,
    )
    brain.prepare()  # a broken tone model file is reported now, not at the first message
    directory = AgentDirectory(db, live, fanout)
    cards = Cards(db, live, directory, scale)
    team = Team(settings, db, OfficeHours.parse(settings.office_hours, settings.timezone))
    board = QueueBoard(settings, db, live, fanout, directory, cards, team, leadership)
    csat = CsatService(settings, db, live, fanout)
    lifecycle = Lifecycle(db, live, fanout, locks, directory, board, cards, csat)
    dispatcher = Dispatcher(directory, board, lifecycle.assign, leadership)
    lifecycle.available = dispatcher.soon
    mailer = Mailer(settings, db, lifecycle.ticket_pushed, leadership)
    tickets = TicketService(db, fanout, locks, lifecycle, mailer, settings.shop_name)
    chat = ChatService(settings, db, live, brain, fanout, locks, lifecycle, board, csat)
    agents = AgentService(
        settings, db, live, fanout, locks, lifecycle, directory, board, cards, dispatcher, tickets
    )
    sessions = Sessions(settings, db, app[LIMITS].counters)
    agent_namespace = AgentNamespace(settings, sessions, agents, live, app[ORIGINS])
    app[LIVE], app[LIFECYCLE], app[BOARD], app[DISPATCHER] = live, lifecycle, board, dispatcher
    app[CHAT], app[AGENTS], app[SESSIONS], app[CSAT] = chat, agents, sessions, csat
    app[AGENT_NAMESPACE], app[MAILER] = agent_namespace, mailer
    app[UPLOADS] = Uploads(settings, db, lifecycle, app[LIMITS])
    sio.register_namespace(ShopperNamespace(settings, chat, csat, app[LIMITS]))
    sio.register_namespace(agent_namespace)
    await lifecycle.rebuild()
    if cluster is not None:
        await _join_cluster(app, cluster.node, lifecycle, dispatcher, board, directory, mailer)
    tasks = [
        asyncio.create_task(
            Sweeper(
                settings,
                db,
                live,
                lifecycle,
                board,
                agent_namespace.audit,
                leadership,
                app[CLOCK],
            ).run(),
            name="sweeper",
        ),
        asyncio.create_task(mailer.run(), name="mailer"),
    ]
    yield
    await cancel_and_wait(tasks)
    if cluster is not None:
        # Leave first: no more beats or relayed jobs starting dispatches and pushes while
        # they settle below, and another process takes over the leader's work at once.
        await cluster.node.stop()
    # Let pending fan-out and broadcasts finish while the database is still open;
    # every acknowledged write is already committed.
    await chat.drain()
    await dispatcher.settled()
    await board.settled()
    await directory.settled()
    await db.flush()
    if cluster is not None:
        await cluster.rooms.flush()  # the last emits reach the other processes
        await cluster.close()


async def _join_cluster(
    app: web.Application,
    node: Node,
    lifecycle: Lifecycle,
    dispatcher: Dispatcher,
    board: QueueBoard,
    directory: AgentDirectory,
    mailer: Mailer,
) -> None:
    """Wire this process into the deployment (``bot.cluster.node``) and join it."""
    sio = app[SIO]
    node.jobs = {DISPATCH: dispatcher.soon, QUEUE: board.changed, MAIL: mailer.poke}

    def elected() -> None:
        dispatcher.soon()
        board.changed()
        directory.changed()
        mailer.poke()

    async def reaped(away: list[str], agents: list[int]) -> None:
        for conversation_id in away:
            await lifecycle.shopper_presence(conversation_id, False)
        directory.changed()
        board.changed()

    async def orphaned() -> None:
        # Our connections were closed in Redis: have every client connect again.
        await sio.eio.disconnect()

    node.elected, node.reaped, node.orphaned = elected, reaped, orphaned
    app[CLUSTER].rooms.fenced = lifecycle.fenced_elsewhere
    await node.start()


@dataclass(frozen=True, slots=True)
class Preloaded:
    """Parts that take a second to build and never change while they run, built once
    and shared by several apps (the tests start hundreds): the sentence encoder (used
    only with the default model files) and a mood detector (used only when its config
    is the one these settings ask for)."""

    encoder: Encoder | None = None
    mood: MoodDetector | None = None


PRELOADED = web.AppKey("preloaded", Preloaded)


def create_app(
    settings: Settings, preloaded: Preloaded | None = None, clock: Clock | None = None
) -> web.Application:
    """The application; ``clock`` (the real one by default) paces the knowledge base's
    reload and the sweeper."""
    # The client's real address first (behind trusted proxies), so everything after sees it.
    remotes = Remotes(settings.trusted_proxies)
    app = web.Application(
        middlewares=[remotes.middleware(), security_headers], client_max_size=256 * 1024
    )
    app[SETTINGS] = settings
    app[PRELOADED] = preloaded or Preloaded()
    app[CLOCK] = clock or Clock()
    app[ORIGINS] = OriginPolicy(settings.allowed_origins)
    manager: RoomIndex = RoomIndex()
    if settings.redis_url:  # several processes: live state, limits and emits in Redis
        from bot.cluster.setup import Cluster

        cluster = app[CLUSTER] = Cluster.create(settings)
        manager = cluster.rooms
        app[LIMITS] = Limits(settings, cluster.counters())
    else:
        app[LIMITS] = Limits(settings)
    sio = Server(
        limits=app[LIMITS],
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=app[ORIGINS],
        cors_credentials=False,
        max_http_buffer_size=1_000_000,
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app, socketio_path="socket.io")
    app[SIO] = sio
    app.cleanup_ctx.extend([_storage, _knowledge, _judging, _services])
    pages.setup(app)
    dashboard.setup(app)
    uploads_web.setup(app)
    privacy_web.setup(app)  # retention, erasure, export (after pages: uses the report cache)
    return app
