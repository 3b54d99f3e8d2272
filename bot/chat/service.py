"""Shopper conversations: start or resume, messages and the bot's turn, hand-off, end.

The socket.io namespace (``bot.chat.namespace``) validates nothing but the shape
of the call and delegates here; everything here raises :class:`ClientError` for
requests it refuses. A shopper's turn is serialised with every other change of
the same conversation by its lock and committed through the writer before anyone
is told; moves of the conversation's state (hand-off, ticket, end) go through
:class:`bot.chat.lifecycle.Lifecycle`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from functools import partial
from typing import Any

from bot import events as ev
from bot import validate
from bot.brain import Assessment, Brain, Reply, Turn, handoff_reply
from bot.chat.jobs import (
    TurnResult,
    create_conversation,
    store_bot_reply,
    store_shopper_turn,
    store_visitor,
    visitor_columns,
)
from bot.chat.lifecycle import Lifecycle, escalation_notice
from bot.chat.moves import Escalation
from bot.chat.tokens import TOKEN, token_hash
from bot.chat.uploads import limits_public
from bot.csat.service import CsatService
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.live import LiveState
from bot.locks import KeyedLocks
from bot.routing.queue import QueueBoard
from bot.settings import Settings
from bot.store import Database, attachments
from bot.store import conversations as convs
from bot.store.conversations import Conversation, Message
from bot.texts import say
from bot.types import LANGUAGES, ConversationMood, Decision, Status
from bot.wire import conversation_public, message_public

log = logging.getLogger(__name__)


def new_conversation_id() -> str:
    return "c_" + secrets.token_hex(8)


def _transcript(conn: sqlite3.Connection, conversation_id: str) -> tuple[list[Message], int | None]:
    """The messages of a chat and the last one its agent has seen (one trip to a reader)."""
    return (
        convs.transcript(conn, conversation_id),
        attachments.seen_message_id(conn, conversation_id),
    )


class _Escalates(Exception):
    """A shopper turn would escalate: it is decided again under every process's lock."""


class ChatService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        live: LiveState,
        brain: Brain,
        fanout: Fanout,
        locks: KeyedLocks,
        lifecycle: Lifecycle,
        board: QueueBoard,
        csat: CsatService,
    ) -> None:
        self.settings = settings
        self.db = db
        self.live = live
        self.brain = brain
        self.fanout = fanout
        self.locks = locks
        self.lifecycle = lifecycle
        self.board = board
        self.csat = csat
        self._background: set[asyncio.Task[Any]] = set()
        # Connections whose client takes the bot's replies in the message's ack (the
        # widget since protocol 2): they are not sent to it again as events.
        self._replies_in_ack: set[str] = set()

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
        conversation = await self.db.read(
            partial(convs.get_conversation, conversation_id=conversation_id)
        )
        if conversation is None:
            raise ClientError("no_conversation")
        return conversation

    async def public_message(self, message: Message) -> dict[str, Any]:
        return message_public(message, await self.lifecycle.directory.name(message.agent_id))

    async def public_conversation(self, conversation: Conversation) -> dict[str, Any]:
        name = await self.lifecycle.directory.name(conversation.agent_id)
        rating, rating_open = await self.csat.state(conversation)
        return conversation_public(
            conversation, agent_name=name, csat=rating, csat_open=rating_open
        )

    async def publish(self, message: Message, *, skip_sid: str | None = None) -> None:
        """Send a stored message to the shopper's tabs and to agents watching."""
        await self.lifecycle.publish(message, skip_sid=skip_sid)

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

        if data.get("replies_in_ack") is True:
            self._replies_in_ack.add(sid)
        else:
            self._replies_in_ack.discard(sid)
        resumed = token is not None
        transcript: tuple[list[Message], int | None] | None = None
        if resumed:
            if not isinstance(token, str) or not TOKEN.fullmatch(token):
                raise ClientError("invalid_token")
            found = await self.db.read(
                partial(convs.find_by_token_hash, token_hash=token_hash(token))
            )
            if found is None:
                raise ClientError("invalid_token")
            conversation = found
            ev.submit(
                self.db,
                ev.ChatResumed(
                    conversation_id=conversation.id, actor="shopper", status=conversation.status
                ),
            )
        else:
            token = secrets.token_urlsafe(32)
            language = lang if lang in LANGUAGES else (hint if hint in LANGUAGES else "en")
            greeting = self.brain.greet(language)
            conversation, greeting_message = await self.db.write(
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
            transcript = [greeting_message], None  # a new chat: nobody has seen it yet
        previous = await self.live.shopper_conversation(sid)
        if previous is not None and previous != conversation.id:
            await self.fanout.leave_shopper(sid, previous)  # a new chat on the same connection
            await self._left_conversation(previous)
        await self.live.shopper_joined(sid, conversation.id)
        await self.fanout.join_shopper(sid, conversation.id)
        if user:
            await self.identify(sid, user)
        if transcript is None:
            transcript = await self.db.read(partial(_transcript, conversation_id=conversation.id))
        messages, seen = transcript
        if conversation.closed:
            self.later(self.csat.ask_if_open(conversation))
        else:
            self.later(self.lifecycle.shopper_presence(conversation.id, True))
        return {
            "conversation": await self.public_conversation(conversation),
            "token": token,
            "resumed": resumed,
            "messages": [await self.public_message(m) for m in messages],
            "status": await self.board.status_for(conversation),
            "seen": seen,
            "limits": limits_public(self.settings),
            "hours": self.board.team.hours_public(),
        }

    async def left(self, sid: str) -> None:
        self._replies_in_ack.discard(sid)
        conversation_id = await self.live.shopper_left(sid)
        if conversation_id is not None:
            await self._left_conversation(conversation_id)

    async def _left_conversation(self, conversation_id: str) -> None:
        if not await self.live.shopper_online(conversation_id):
            await self.lifecycle.shopper_presence(conversation_id, False)

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

        # The message is assessed on its own first, off the event loop (language, mood,
        # FAQ match: the CPU-heavy part), then the turn is decided in the writer, on the
        # conversation as committed, so a message costs one trip to the database
        # thread, not a read and a write.
        assessment = await self.brain.assess_async(text, pick)
        turn = partial(
            store_shopper_turn, conversation_id=conversation_id, client_id=client_id, text=text
        )
        try:
            # Most turns move nothing the other processes hold (live state): this
            # process's lock keeps its turns of the chat in order, and the database
            # orders them against everyone's moves.
            async with self.locks.local(conversation_id):
                result: TurnResult = await self.db.write(
                    partial(turn, judge=partial(self._judge, assessment=assessment, online=None))
                )
        except _Escalates:
            # The turn escalates (nothing was written): again under the lock of every
            # process, as every move, and with who is online, which decides what the
            # shopper is told (read just before the write).
            async with self.locks(conversation_id):
                online = len(await self.lifecycle.directory.available())
                result = await self.db.write(
                    partial(turn, judge=partial(self._judge, assessment=assessment, online=online))
                )
                if result.escalated is not None:
                    await self.lifecycle.enter_queue(result.escalated.after)
        ack: dict[str, Any] = {
            "message": await self.public_message(result.message),
            "duplicate": result.duplicate,
        }
        in_ack = sid in self._replies_in_ack
        if in_ack:
            ack["replies"] = [await self.public_message(reply) for reply in result.replies]
        if not result.duplicate:
            self.later(self._after_turn(sid, result, replied=in_ack))
        return ack

    async def _after_turn(self, sid: str, result: TurnResult, *, replied: bool) -> None:
        """Tell the others: the shopper's other tabs, agents watching, and this tab the
        bot's replies unless they went in the ack (``replied``)."""
        await self.publish(result.message, skip_sid=sid)
        for reply in result.replies:
            await self.publish(reply, skip_sid=sid if replied else None)
        conversation = result.conversation
        if conversation is None:
            return
        if result.escalated is not None:
            await self.lifecycle.escalated(result.escalated, publish=False)
            return
        await self.lifecycle.card_changed(conversation)
        if result.language_changed:
            await self.board.tell(conversation)  # the widget speaks the new language
        if conversation.status == Status.QUEUED:
            self.board.changed()  # the queue's cards show the mood and last messages
        if result.ticket_reopened:
            await self.lifecycle.ticket_changed(conversation.id)

    def _judge(
        self,
        conversation: Conversation,
        *,
        assessment: Assessment,
        online: int | None,
    ) -> tuple[Turn, Escalation | None]:
        """The brain's turn on ``conversation`` and, when it escalates, what the shopper
        is told (runs in the writer thread: no awaiting here). The bot answers while it
        has the chat, and also while the chat waits for a person (queued or a ticket).
        Without ``online`` (the number of agents available) an escalating turn raises
        ``_Escalates`` before anything is written."""
        status = conversation.status
        turn = self.brain.decide(
            assessment,
            state=conversation.mood,
            language=conversation.language,
            lang_setting=conversation.lang_setting,
            bot_active=status in (Status.BOT, Status.QUEUED, Status.TICKET),
        )
        escalation = None
        if status == Status.BOT and turn.decision.escalate:
            if online is None:
                raise _Escalates
            trigger = "shopper" if turn.mood.asks_for_person else "policy"
            escalation = escalation_notice(turn.decision.reasons, trigger, turn.language, online)
        return turn, escalation

    async def handoff(
        self, sid: str, reasons: tuple[str, ...] = ("asks for a person",)
    ) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        await self.lifecycle.escalate(conversation_id, reasons, "shopper")
        return {"status": await self.board.status_for(conversation_id)}

    async def feedback(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """'Was this helpful?' on a bot answer. The first "no" in a chat gets a second
        try (the next candidate answers, or a request to rephrase, and the offer of a
        person); a "no" after that brings in a person."""
        conversation_id = await self.conversation_of(sid)
        message_id = validate.integer(data, "message_id")
        helpful = validate.boolean(data, "helpful")
        message = await self.db.read(partial(convs.get_message, message_id=message_id))
        if message is None or message.conversation_id != conversation_id or message.author != "bot":
            raise ClientError("not_found", "No such bot answer in this conversation.")
        ev.submit(
            self.db,
            ev.AnswerFeedback(
                conversation_id=conversation_id,
                actor="shopper",
                message_id=message_id,
                entry_id=message.meta.get("entry_id"),
                helpful=helpful,
            ),
        )
        if helpful:
            return {}
        async with self.locks(conversation_id):
            # Read and written in one job: a turn of this chat on another process
            # (which takes only its own lock) cannot slip between them.
            outcome = await self.db.write(
                partial(self._not_helpful, conversation_id=conversation_id, answer=message)
            )
        if outcome is None:
            return {}
        decision, stored = outcome
        if stored is None:
            return await self.handoff(sid, decision.reasons)
        self.later(self.publish(stored))
        return {}

    def _not_helpful(
        self, conn: Any, conversation_id: str, answer: Message
    ) -> tuple[Decision, Message | None] | None:
        """The bot's move after "no" on one of its answers, on the conversation as
        committed (writer thread): None when the bot no longer has the chat; else the
        decision and, unless it escalates, the second try (the mood saved either way)."""
        conversation = convs.get_conversation(conn, conversation_id)
        if conversation is None or conversation.status != Status.BOT:
            return None
        tried = convs.retried_since_escalation(conn, conversation=conversation)
        state, decision = self.brain.not_helpful(conversation.mood, again=tried)
        if decision.escalate:
            convs.set_mood(conn, conversation_id, state)
            return decision, None
        stored = self._second_try(
            conn, conversation=conversation, answer=answer, state=state, offer_person=True
        )
        return decision, stored

    def _second_try(
        self,
        conn: Any,
        conversation: Conversation,
        answer: Message,
        state: ConversationMood,
        offer_person: bool,
    ) -> Message:
        """After "this did not help": the other likely answers, or ask to rephrase
        (writer thread: the matcher runs where the turns run)."""
        language = conversation.language
        question = convs.question_before(conn, answer)
        suggestions = self.brain.alternatives(
            question, language, exclude=answer.meta.get("entry_id")
        )
        quick: list[dict[str, Any]] = [
            {"type": "suggestion", "entry_id": entry_id, "label": label}
            for entry_id, label in suggestions
        ]
        if offer_person:
            quick.append(handoff_reply(language))
        key = "retry_suggest" if suggestions else "retry_rephrase"
        reply = Reply(say(key, language), {"quick_replies": quick, "retry": True})
        convs.set_mood(conn, conversation.id, state)
        message = store_bot_reply(conn, conversation.id, reply)
        ev.insert_events(
            conn,
            ev.AnswerRetried(
                conversation_id=conversation.id,
                actor="bot",
                message_id=message.id,
                suggestions=[entry_id for entry_id, _ in suggestions],
            ),
        )
        return message

    async def typing(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        typing = validate.boolean(data, "typing")
        preview = validate.optional_str(data, "preview", limit=self.settings.max_message_length)
        await self.fanout.to_watchers(
            conversation_id,
            "typing",
            {
                "conversation_id": conversation_id,
                "author": "shopper",
                "typing": typing,
                "preview": preview if typing else None,
            },
        )
        return {}

    async def widget(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        action = data.get("action")
        kinds = {"opened": ev.WidgetOpened, "closed": ev.WidgetClosed}
        if not isinstance(action, str) or action not in kinds:
            raise ClientError("invalid_payload", "'action' must be 'opened' or 'closed'.")
        ev.submit(self.db, kinds[action](conversation_id=conversation_id, actor="shopper"))
        return {}

    async def leave_message(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """The offline form: an e-mail and a message become a ticket; the chat stays open
        for the team's written answer (in the chat, and by e-mail)."""
        conversation_id = await self.conversation_of(sid)
        email = validate.email(data)
        text = validate.text(data, limit=self.settings.max_message_length)
        client_id = data.get("id")
        if client_id is not None:
            client_id = validate.client_id(data)
        moved = await self.lifecycle.follow_up(
            conversation_id, "form", email=email, text=text, client_id=client_id
        )
        return {"ticket_id": moved.ticket_id, "status": await self.board.status_for(moved.after)}

    # -- ending --------------------------------------------------------------

    async def end(self, sid: str) -> dict[str, Any]:
        conversation_id = await self.conversation_of(sid)
        await self.lifecycle.close(conversation_id, by="shopper", reason="shopper ended the chat")
        return {}
