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
from functools import partial

from aiohttp import web

from bot.agents.namespace import AgentNamespace
from bot.agents.routing import Router
from bot.agents.service import AgentService
from bot.agents.sessions import Sessions
from bot.brain import Brain
from bot.chat.namespace import ShopperNamespace
from bot.chat.service import ChatService
from bot.csat.service import CsatService
from bot.fanout import Fanout
from bot.kb.service import KnowledgeService
from bot.live import LiveState, MemoryLiveState
from bot.locks import KeyedLocks
from bot.mood.detector import MoodDetector
from bot.privacy import web as privacy_web
from bot.settings import Settings, matcher_config, mood_config, policy_config
from bot.sockets import RoomIndex, Server
from bot.store import Database
from bot.store.migrations import migrate
from bot.sweeper import Sweeper
from bot.web import pages
from bot.web.middleware import security_headers
from bot.web.origins import OriginPolicy

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
SIO = web.AppKey("sio", Server)
KNOWLEDGE = web.AppKey("knowledge", KnowledgeService)
LIVE = web.AppKey("live", LiveState)
CHAT = web.AppKey("chat", ChatService)
ROUTER = web.AppKey("router", Router)
AGENTS = web.AppKey("agents", AgentService)
SESSIONS = web.AppKey("sessions", Sessions)
CSAT = web.AppKey("csat", CsatService)
ORIGINS = web.AppKey("origins", OriginPolicy)


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = Database(settings.db, batch=settings.writer_batch)
    await asyncio.get_running_loop().run_in_executor(None, partial(db.start, migrate))
    app[DB] = db
    yield
    await asyncio.get_running_loop().run_in_executor(None, db.stop)


async def _knowledge(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    loop = asyncio.get_running_loop()
    knowledge = await loop.run_in_executor(
        None, KnowledgeService, settings.kb, matcher_config(settings)
    )
    app[KNOWLEDGE] = knowledge

    async def watch() -> None:
        while True:
            await asyncio.sleep(settings.kb_reload_interval)
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


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings, db, sio = app[SETTINGS], app[DB], app[SIO]
    live: LiveState = MemoryLiveState()
    fanout = Fanout(sio)
    locks = KeyedLocks()
    brain = Brain(app[KNOWLEDGE], MoodDetector(mood_config(settings)), policy_config(settings))
    router = Router(settings, db, live, fanout)
    csat = CsatService(settings, db, live, fanout)
    chat = ChatService(settings, db, live, brain, fanout, locks, router, csat)
    agents = AgentService(settings, db, live, fanout, locks, router, chat)
    sessions = Sessions(settings, db)
    app[LIVE], app[ROUTER], app[CHAT], app[AGENTS], app[SESSIONS], app[CSAT] = (
        live, router, chat, agents, sessions, csat
    )
    sio.register_namespace(ShopperNamespace(settings, chat, csat))
    sio.register_namespace(AgentNamespace(settings, sessions, agents, live, app[ORIGINS]))
    await router.rebuild()
    sweeper = asyncio.create_task(Sweeper(settings, db, live, router, chat).run(), name="sweeper")
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper
    # Let pending fan-out and broadcasts finish while the database is still open;
    # every acknowledged write is already committed.
    await chat.drain()
    await router.settled()
    await db.flush()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=256 * 1024)
    app[SETTINGS] = settings
    app[ORIGINS] = OriginPolicy(settings.allowed_origins)
    sio = Server(
        async_mode="aiohttp",
        client_manager=RoomIndex(),
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
    app.cleanup_ctx.extend([_storage, _knowledge, _services])
    pages.setup(app)
    privacy_web.setup(app)  # retention, erasure, export (after pages: uses the report cache)
    return app
