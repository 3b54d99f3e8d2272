"""Shopper conversations: start or resume, messages and the bot's turn, hand-off, end.

The socket.io namespace (``bot.chat.namespace``) validates nothing but the shape
of the call and delegates here; everything here raises :class:`ClientError` for
requests it refuses. State changes of one conversation are serialised by a
per-conversation lock and committed through the writer before anyone is told.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from functools import partial
from typing import TYPE_CHECKING, Any

from bot import events as ev
from bot import validate
from bot.agents import tickets
from bot.brain import Brain, Reply, Turn, handoff_reply
from bot.chat.jobs import (
    Escalation,
    close_conversation,
    create_conversation,
    store_escalation,
    store_person_offer,
    store_shopper_turn,
    store_visitor,
    visitor_columns,
)
from bot.chat.public import conversation_public, message_public
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.live import LiveState
from bot.locks import KeyedLocks
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from bot.store import Database
from bot.store import conversations as convs
from bot.store.conversations import Conversation, Message
from bot.texts import say
from bot.types import LANGUAGES

if TYPE_CHECKING:
    from bot.agents.routing import Router
    from bot.csat.service import CsatService

log = logging.getLogger(__name__)

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def escalation_notice(
    reasons: tuple[str, ...], trigger: str, language: str, online: int, wait: float | None
) -> Escalation:
    """The escalation of a turn and what the shopper is told about it."""
    if not online:
        notice = Reply(say("escalated_offline", language), {"leave_message": True})
    elif wait is not None and wait >= 60:
        notice = Reply(say("escalated_wait", language, minutes=round(wait / 60)))
    else:
        notice = Reply(say("escalated", language))
    return Escalation(tuple(reasons), trigger, notice, online)


def new_conversation_id() -> str:
    return "c_" + secrets.token_hex(8)


class ChatService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        live: LiveState,
        brain: Brain,
        fanout: Fanout,
        locks: KeyedLocks,
        router: Router,
        csat: CsatService,
    ) -> None:
        self.settings = settings
        self.db = db
        self.live = live
        self.brain = brain
        self.fanout = fanout
        self.locks = locks
        self.router = router
        self.csat = csat
        self.message_limits = RateLimiter(settings.rate_limit_messages, settings.rate_limit_window)
        self._background: set[asyncio.Task[Any]] = set()

    # -- helpers -----------------------------------------------------------

    async def drain(self) -> None:
        """Wait for pending fan-out (at shutdown, before the database closes)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def later(self, coro: Any) -> None:
        """Run fan-out after the current handler has returned (its ack goes first)."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def conversation_of(self, sid: str) -> str:
        conversation_id = await self.live.shopper_conversation(sid)
        if conversation_id is None:
            raise ClientError("no_conversation")
        return conversation_id

    async def get(self, conversation_id: str) -> Conversation:
        conversation = await self.db.read(partial(convs.get_conversation, conversation_id=conversation_id))
        if conversation is None:
            raise ClientError("no_conversation")
        return conversation

    async def public_message(self, message: Message) -> dict[str, Any]:
        name = await self.router.agent_name(message.agent_id) if message.agent_id else None
        return message_public(message, name)

    async def public_conversation(self, conversation: Conversation) -> dict[str, Any]:
        name = await self.router.agent_name(conversation.agent_id) if conversation.agent_id else None
        rating, rating_open = await self.csat.state(conversation)
        return conversation_public(conversation, agent_name=name, csat=rating, csat_open=rating_open)

    async def publish(self, message: Message, *, skip_sid: str | None = None) -> None:
        """Send a stored message to the shopper's tabs and to agents watching."""
        name = await self.router.agent_name(message.agent_id) if message.agent_id else None
        await self.fanout.publish(message, name, skip_sid=skip_sid)

    # -- start / resume ---------------------------------------------------

    async def start(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        token = data.get("token")
        lang = data.get("lang") or "auto"
        if not isinstance(lang, str) or (lang != "auto" and lang not in LANGUAGES):
            lang = "auto"
        page: dict[str, Any] = data["page"] if isinstance(data.get("page"), dict) else {}
        page_url = validate.optional_str(page, "url", limit=2000)
        page_title = validate.optional_str(page, "title", limit=300)
        user: dict[str, Any] = data["user"] if isinstance(data.get("user"), dict) else {}
        site = validate.optional_str(data, "site", limit=100)
        hint = validate.optional_str(data, "page_lang", limit=20) or ""
        hint = hint[:2].lower()

        resumed = token is not None
        if resumed:
            if not isinstance(token, str) or not TOKEN.fullmatch(token):
                raise ClientError("invalid_token")
            found = await self.db.read(
                partial(convs.find_by_token_hash, token_hash=token_hash(token))
            )
            if found is None:
                raise ClientError("invalid_token")
            conversation = found
            self.db.submit(
                ev.INSERT_SQL,
                ev.ChatResumed(
                    conversation_id=conversation.id, actor="shopper", status=conversation.status
                ).row(),
            )
        else:
            token = secrets.token_urlsafe(32)
            language = lang if lang in LANGUAGES else (hint if hint in LANGUAGES else "en")
            greeting = self.brain.greet(language)
            conversation = await self.db.write(
                partial(
                    create_conversation,
                    values={
                        "id": new_conversation_id(),
                        "token_hash": token_hash(token),
                        "site": site,
                        "language": language,
                        "lang_setting": lang,
                        "page_url": page_url,
                        "page_title": page_title,
                        **visitor_columns(user),
                    },
                    greeting=greeting,
                )
            )
        previous = await self.live.shopper_conversation(sid)
        if previous is not None and previous != conversation.id:
            await self.fanout.leave_shopper(sid, previous)  # a new chat on the same connection
        await self.live.shopper_joined(sid, conversation.id)
        await self.fanout.join_shopper(sid, conversation.id)
        if user:
            await self.identify(sid, user)
        messages = await self.db.read(
            partial(convs.transcript, conversation_id=conversation.id)
        )
        if conversation.closed:
            self.later(self.csat.ask_if_open(conversation))
        else:
            self.later(self.router.shopper_presence(conversation.id, True))
        return {
            "conversation": await self.public_conversation(conversation),
            "token": token,
            "resumed": resumed,
            "messages": [await self.public_message(m) for m in messages],
            "status": await self.router.status_for(conversation.id),
        }

    async def left(self, sid: str) -> None:
        conversation_id = await self.live.shopper_left(sid)
        self.message_limits.forget(sid)
        if conversation_id is not None and not await self.live.shopper_online(conversation_id):
            await self.router.shopper_presence(conversation_id, False)

    async def identify(self, sid: str, user: dict[str, Any]) -> None:
        conversation_id = await self.conversation_of(sid)
        values = visitor_columns(user)
        if not values:
            return
        await self.db.write(partial(store_visitor, conversation_id=conversation_id, values=values))

    # -- messages ------------------------------------------------------------

    async def message(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        client_id = validate.client_id(data)
        text = validate.text(data, limit=self.settings.max_message_length)
        pick = data.get("pick")
        if pick is not None and (not isinstance(pick, str) or len(pick) > 200):
            raise ClientError("invalid_payload", "'pick' must be an entry id.")
        wait = self.message_limits.hit(sid)
        if wait:
            raise ClientError("rate_limited", retry_after=wait)

        # The turn is judged in the writer, on the conversation as committed, so a
        # message costs one trip to the database thread, not a read and a write.
        # What the shopper is told if it escalates depends on who is online (read
        # under the lock, just before the write).
        async with self.locks(conversation_id):
            online, expected = await self._availability()
            result = await self.db.write(
                partial(
                    store_shopper_turn,
                    conversation_id=conversation_id,
                    client_id=client_id,
                    text=text,
                    judge=partial(self._judge, text=text, pick=pick, online=online,
                                  expected=expected),
                )
            )
        if not result.duplicate:
            self.later(self._after_turn(sid, result.message, result.replies, result.escalated))
        return {"message": await self.public_message(result.message), "duplicate": result.duplicate}

    async def _after_turn(
        self, sid: str, message: Message, replies: list[Message], escalated: bool
    ) -> None:
        await self.publish(message, skip_sid=sid)
        for reply in replies:
            await self.publish(reply)
        await self.router.conversation_changed(message.conversation_id)
        if escalated:
            await self.router.enqueued(message.conversation_id)

    def _judge(
        self, conversation: Conversation, *, text: str, pick: str | None, online: int,
        expected: float | None,
    ) -> tuple[Turn, Escalation | None]:
        """The brain's turn on ``conversation`` and, when it escalates, what the shopper
        is told (runs in the writer thread: no awaiting here)."""
        bot_active = conversation.status == "bot"
        turn = self.brain.respond(
            text,
            state=conversation.mood,
            language=conversation.language,
            lang_setting=conversation.lang_setting,
            bot_active=bot_active,
            pick=pick,
        )
        escalation = None
        if bot_active and turn.decision.escalate:
            trigger = "shopper" if turn.mood.asks_for_person else "policy"
            escalation = escalation_notice(
                turn.decision.reasons, trigger, turn.language, online, expected
            )
        return turn, escalation

    async def _availability(self) -> tuple[int, float | None]:
        """Agents online, and the expected wait of a chat queued now (None if nobody)."""
        online = await self.router.agents_online()
        return online, (await self.router.expected_wait() if online else None)

    async def escalation_for(
        self, reasons: tuple[str, ...], trigger: str, language: str
    ) -> Escalation:
        online, wait = await self._availability()
        return escalation_notice(reasons, trigger, language, online, wait)

    async def handoff(self, sid: str, reasons: tuple[str, ...] = ("asks for a person",)) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        async with self.locks(conversation_id):
            conversation = await self.get(conversation_id)
            if conversation.closed:
                raise ClientError("conversation_closed")
            escalation = await self.escalation_for(reasons, "shopper", conversation.language)
            notice, status = await self.db.write(
                partial(store_escalation, conversation_id=conversation_id, escalation=escalation)
            )
        if notice is not None:
            await self.publish(notice)
            await self.router.enqueued(conversation_id)
        return {"status": await self.router.status_for(conversation_id)}

    async def feedback(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        message_id = validate.integer(data, "message_id")
        helpful = validate.boolean(data, "helpful")
        message = await self.db.read(partial(convs.get_message, message_id=message_id))
        if message is None or message.conversation_id != conversation_id or message.author != "bot":
            raise ClientError("not_found", "No such bot answer in this conversation.")
        self.db.submit(
            ev.INSERT_SQL,
            ev.AnswerFeedback(
                conversation_id=conversation_id, actor="shopper", message_id=message_id,
                entry_id=message.meta.get("entry_id"), helpful=helpful,
            ).row(),
        )
        if helpful:
            return {}
        async with self.locks(conversation_id):
            conversation = await self.get(conversation_id)
            if conversation.status != "bot":
                return {}
            state, decision = self.brain.not_helpful(conversation.mood)
            await self.db.write(
                lambda conn: convs.update_conversation(
                    conn, conversation_id, **convs.mood_columns(state)
                )
            )
        if decision.escalate:
            return await self.handoff(sid, decision.reasons)
        if decision.offer_person:
            language = conversation.language
            reply = Reply(say("offer_person", language), {"quick_replies": [handoff_reply(language)]})
            stored = await self.db.write(partial(
                store_person_offer, conversation_id=conversation_id, reply=reply,
                reasons=decision.reasons,
            ))
            self.later(self.publish(stored))
        return {}

    async def typing(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        typing = validate.boolean(data, "typing")
        preview = validate.optional_str(data, "preview", limit=self.settings.max_message_length)
        await self.fanout.to_watchers(
            conversation_id,
            "typing",
            {"conversation_id": conversation_id, "author": "shopper", "typing": typing,
             "preview": preview if typing else None},
        )
        return {}

    async def widget(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        action = data.get("action")
        kinds = {"opened": ev.WidgetOpened, "closed": ev.WidgetClosed}
        if not isinstance(action, str) or action not in kinds:
            raise ClientError("invalid_payload", "'action' must be 'opened' or 'closed'.")
        self.db.submit(ev.INSERT_SQL, kinds[action](conversation_id=conversation_id, actor="shopper").row())
        return {}

    async def leave_message(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """The offline form: an e-mail and a message become a ticket for the agents."""
        conversation_id = await self.conversation_of(sid)
        email = validate.email(data)
        text = validate.text(data, limit=self.settings.max_message_length)
        wait = self.message_limits.hit(sid)
        if wait:
            raise ClientError("rate_limited", retry_after=wait)
        ticket_id = await self.db.write(
            partial(tickets.create_ticket, conversation_id=conversation_id, email=email, text=text)
        )
        await self.fanout.to_agents("tickets", await self.db.read(tickets.open_tickets))
        conversation = await self.get(conversation_id)
        await self.close(
            conversation_id, by="shopper", reason="left a message",
            notice=say("ticket", conversation.language, email=email),
        )
        return {"ticket_id": ticket_id}

    # -- ending --------------------------------------------------------------

    async def end(self, sid: str) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        await self.close(conversation_id, by="shopper", reason="shopper ended the chat")
        return {}

    async def close(
        self, conversation_id: str, *, by: str, reason: str, agent_id: int | None = None,
        notice: str | None = None, ask_csat: bool = True,
    ) -> bool:
        """Close a conversation; tell everyone; ask the shopper for a rating (unless
        ``ask_csat`` is false: an erasure ends the chat without asking)."""
        async with self.locks(conversation_id):
            conversation = await self.get(conversation_id)
            if conversation.closed:
                return False
            online = ask_csat and await self.live.shopper_online(conversation_id)
            text = notice or say(
                {"timeout": "ended_timeout", "shopper": "ended_shopper"}.get(by, "ended_agent"),
                conversation.language,
                name=await self.router.agent_name(agent_id) if agent_id else "",
            )
            message = await self.db.write(
                partial(
                    close_conversation,
                    conversation=conversation,
                    by=by,
                    reason=reason,
                    agent_id=agent_id,
                    text=text,
                    ask_csat=online,
                )
            )
        await self.router.conversation_closed(conversation_id)
        await self.publish(message)
        await self.fanout.to_shopper(conversation_id, "ended", {"by": by, "reason": reason})
        if online:
            await self.fanout.to_shopper(conversation_id, "csat_request", self.csat.request_payload())
        return True
