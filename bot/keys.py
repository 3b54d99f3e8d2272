"""The application's shared objects, under typed keys (``request.app[CHAT]``).

A module of its own, so that the web pages, the middleware and the application
factory all import it at the top: no module needs a late import to dodge a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.agents.namespace import AgentNamespace
from bot.agents.service import AgentService
from bot.agents.sessions import Sessions
from bot.chat.lifecycle import Lifecycle
from bot.chat.service import ChatService
from bot.chat.uploads import Uploads
from bot.csat.service import CsatService
from bot.judging import Judging
from bot.kb.service import KnowledgeService
from bot.live import LiveState
from bot.mail import Mailer
from bot.origins import OriginPolicy
from bot.ratelimit import Limits
from bot.routing.dispatch import Dispatcher
from bot.routing.queue import QueueBoard
from bot.settings import Settings
from bot.sockets import Server
from bot.store import Database
from bot.store.clock import Clock

if TYPE_CHECKING:  # only with --redis: the redis package is imported then
    from bot.cluster.setup import Cluster

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
CLOCK = web.AppKey("clock", Clock)
SIO = web.AppKey("sio", Server)
KNOWLEDGE = web.AppKey("knowledge", KnowledgeService)
LIVE = web.AppKey("live", LiveState)
CHAT = web.AppKey("chat", ChatService)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
BOARD = web.AppKey("board", QueueBoard)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
AGENTS = web.AppKey("agents", AgentService)
AGENT_NAMESPACE = web.AppKey("agent_namespace", AgentNamespace)
MAILER = web.AppKey("mailer", Mailer)
SESSIONS = web.AppKey("sessions", Sessions)
CSAT = web.AppKey("csat", CsatService)
ORIGINS = web.AppKey("origins", OriginPolicy)
LIMITS = web.AppKey("limits", Limits)
JUDGING = web.AppKey("judging", Judging)
UPLOADS = web.AppKey("uploads", Uploads)
# With --redis only (bot.cluster): absent when the process runs alone.
CLUSTER: web.AppKey[Cluster] = web.AppKey("cluster")
