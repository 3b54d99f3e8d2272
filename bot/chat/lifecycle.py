"""One owner for a conversation's life: every move, with its locks, live state and notices.

The chat service (shopper), the agents' service, the dispatcher and the sweeper
move conversations only through :class:`Lifecycle`. Each move

1. takes the conversation's lock (``bot.locks.KeyedLocks``, the same one a
   shopper's turn takes),
2. runs its write job (``bot.chat.moves``), where the state machine
   (``bot.store.lifecycle``) checks the allowed-from state on the row as committed,
3. updates the live state (queue, owner) from what was committed, still under
   the lock, so the live state follows the database in commit order,
4. then tells everyone: the shopper's tabs, the agents concerned, the consoles'
   queue and the managers' list of chats, and asks the dispatcher to match
   chats and seats when one became available.

A move the conversation no longer allows (it was closed or taken meanwhile)
changes nothing and returns False or raises ``ClientError("conflict")``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from bot.brain import Reply
from bot.chat import moves
from bot.chat.moves import Escalation, Moved, Notice
from bot.csat.service import CsatService
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.live import LiveState
from bot.locks import KeyedLocks
from bot.routing.cards import Cards, mood_fields
from bot.routing.directory import AgentDirectory
from bot.routing.queue import QueueBoard
from bot.store import Database, tickets
from bot.store import conversations as convs
from bot.store.clock import parse_iso
from bot.store.conversations import Conversation, Message
from bot.store.lifecycle import TransitionRefused
from bot.texts import say
from bot.types import Status

log = logging.getLogger(__name__)


def escalation_notice(
    reasons: tuple[str, ...], trigger: str, language: str, online: int
) -> Escalation:
    """The escalation of a turn and what the shopper is told about it. The expected
    wait is not in the text: the widget's banner shows it, live."""
    if not online:
        notice = Reply(say("escalated_offline", language), {"leave_message": True})
    else:
        notice = Reply(say("escalated", language))
    return Escalation(tuple(reasons), trigger, notice, online)


def _epoch(iso: str | None) -> float:
    return parse_iso(iso).timestamp() if iso else 0.0


class Lifecycle:
    def __init__(
        self,
        db: Database,
        live: LiveState,
        fanout: Fanout,
        locks: KeyedLocks,
        directory: AgentDirectory,
        board: QueueBoard,
        cards: Cards,
        csat: CsatService,
    ) -> None:
        self.db = db
        self.live = live
        self.fanout = fanout
        self.locks = locks
        self.directory = directory
        self.board = board
        self.cards = cards
        self.csat = csat
        # Called when a chat or a seat became available (the dispatcher's ``soon``).
        self.available: Callable[[], None] = lambda: None

    # -- telling -------------------------------------------------------------------

    async def publish(self, message: Message, *, skip_sid: str | None = None) -> None:
        """A stored message to the shopper's tabs and to the agents watching."""
        await self.fanout.publish(
            message, await self.directory.name(message.agent_id), skip_sid=skip_sid
        )

    async def card_changed(self, conversation: Conversation) -> None:
        """Mood, reasons or status changed: agents watching the chat see it at once."""
        await self.fanout.to_watchers(
            conversation.id,
            "card",
            {
                "id": conversation.id,
                "status": conversation.status,
                "language": conversation.language,
                **mood_fields(conversation, self.cards.scale),
            },
        )

    async def _managers(self, conversation: Conversation) -> None:
        """Managers' list of chats with an agent: add or refresh this one, or drop it."""
        if conversation.status == Status.ASSIGNED:
            card = await self.cards.one(conversation.id)
            await self.fanout.to_managers(
                "all_chats", {"upsert": [card] if card else [], "remove": []}
            )
        else:
            await self.fanout.to_managers("all_chats", {"upsert": [], "remove": [conversation.id]})

    async def fence(self, conversation: Conversation, *, everywhere: bool = True) -> None:
        """Agents who may no longer read the chat stop getting its live updates (on
        every process unless ``everywhere`` is false)."""
        for sid in await self.fanout.watchers(conversation.id):
            presence = await self.live.agent_for_sid(sid)
            if presence is None or not may_read(presence.agent_id, presence.manager, conversation):
                await self.fanout.unwatch(sid, conversation.id)
        if everywhere:
            await self.fanout.fence_elsewhere(conversation.id)

    async def fenced_elsewhere(self, conversation_id: str) -> None:
        """Another process moved the chat: fence this process's watchers of it."""
        conversation = await self.db.read(
            partial(convs.get_conversation, conversation_id=conversation_id)
        )
        if conversation is not None:
            await self.fence(conversation, everywhere=False)

    # -- start-up ------------------------------------------------------------------

    async def rebuild(self) -> None:
        """Restore the queue and chat ownership from the database after a start."""
        waiting = await self.db.read(
            lambda conn: convs.conversations_in_status(conn, Status.QUEUED, Status.ASSIGNED)
        )
        for conversation in waiting:
            # Nobody is connected yet: a shopper's grace period starts now.
            await self.live.shopper_expected(conversation.id)
            if conversation.status == Status.QUEUED:
                await self.live.enqueue(conversation.id, _epoch(conversation.escalated_at))
            elif conversation.agent_id is not None:
                await self.live.claim(conversation.id, conversation.agent_id)
                await self.live.expect_agent(conversation.agent_id)

    # -- escalate ------------------------------------------------------------------

    async def notice_for(self, reasons: tuple[str, ...], trigger: str, language: str) -> Escalation:
        return escalation_notice(reasons, trigger, language, len(await self.directory.available()))

    async def escalate(self, conversation_id: str, reasons: tuple[str, ...], trigger: str) -> bool:
        """bot or ticket -> queued (the hand-off button, "this did not help").
        False when the chat is already with a person or waiting for one."""
        async with self.locks(conversation_id):
            conversation = await self.get(conversation_id)
            if conversation.closed:
                raise ClientError("conversation_closed")
            if conversation.status not in (Status.BOT, Status.TICKET):
                return False
            escalation = await self.notice_for(reasons, trigger, conversation.language)
            try:
                moved = await self.db.write(
                    partial(moves.escalate, conversation_id=conversation_id, escalation=escalation)
                )
            except TransitionRefused as refused:
                if refused.closed:
                    raise ClientError("conversation_closed") from None
                return False
            await self.enter_queue(moved.after)
        await self.escalated(moved)
        return True

    async def enter_queue(self, conversation: Conversation) -> None:
        """The live part of an escalation (call it under the conversation's lock)."""
        await self.live.enqueue(conversation.id, _epoch(conversation.escalated_at))

    async def escalated(self, moved: Moved, *, publish: bool = True) -> None:
        """Tell everyone about a committed escalation."""
        if publish:
            for notice in moved.notices:
                await self.publish(notice)
        await self.card_changed(moved.after)
        if moved.before.status == Status.TICKET:
            await self.ticket_changed(moved.after.id)
        self.available()
        self.board.changed()  # the push tells the shopper its place and expected wait

    # -- assign, requeue, transfer -------------------------------------------------

    async def assign(self, conversation_id: str, agent_id: int, by: str) -> bool:
        """queued -> assigned (``by``: auto | take). False when it is not waiting any more."""
        name = await self.directory.name(agent_id) or ""
        async with self.locks(conversation_id):
            try:
                moved = await self.db.write(
                    partial(
                        moves.assign,
                        conversation_id=conversation_id,
                        agent_id=agent_id,
                        by=by,
                        name=name,
                    )
                )
            except TransitionRefused:
                await self.live.dequeue(conversation_id)  # in case the live queue lags
                return False
            await self.live.claim(conversation_id, agent_id)
            await self.live.mark_assigned(agent_id)
            await self.fence(moved.after)
        await self.fanout.to_agent(
            agent_id, "assigned", {"conversation_id": conversation_id, "by": by}
        )
        await self._after_owner_change(moved)
        return True

    async def requeue(self, conversation_id: str, owner: int, reason: str) -> bool:
        """assigned (to ``owner``) -> back to the queue. False when the chat moved on."""
        async with self.locks(conversation_id):
            try:
                moved = await self.db.write(
                    partial(
                        moves.requeue, conversation_id=conversation_id, owner=owner, reason=reason
                    )
                )
            except TransitionRefused:
                if await self.live.owner(conversation_id) == owner:
                    await self.live.release(conversation_id)
                return False
            await self.live.release(conversation_id)
            await self.enter_queue(moved.after)
            await self.fence(moved.after)
        await self.fanout.to_agent(
            owner, "unassigned", {"conversation_id": conversation_id, "reason": reason}
        )
        await self._after_owner_change(moved)
        self.available()
        return True

    async def transfer(self, conversation_id: str, owner: int | None, to: int, by: int) -> None:
        """assigned to ``owner`` -> assigned to ``to``; ``conflict`` when it moved meanwhile."""
        name = await self.directory.name(to) or ""
        async with self.locks(conversation_id):
            try:
                moved = await self.db.write(
                    partial(
                        moves.transfer,
                        conversation_id=conversation_id,
                        owner=owner,
                        to=to,
                        by=by,
                        name=name,
                    )
                )
            except TransitionRefused as refused:
                if refused.closed:
                    raise ClientError("conversation_closed") from None
                raise ClientError("conflict", "The chat changed hands meanwhile.") from None
            await self.live.transfer(conversation_id, owner, to)
            await self.fence(moved.after)
        if owner is not None:
            await self.fanout.to_agent(
                owner, "unassigned", {"conversation_id": conversation_id, "reason": "transferred"}
            )
        await self.fanout.to_agent(
            to, "assigned", {"conversation_id": conversation_id, "by": "transfer"}
        )
        await self._after_owner_change(moved)
        self.available()  # the old owner has a free seat

    async def _after_owner_change(self, moved: Moved) -> None:
        # (the fence ran under the lock: those who lost the chat hear nothing more)
        for notice in moved.notices:
            await self.publish(notice)
        await self.card_changed(moved.after)
        await self.board.tell(moved.after)
        await self._managers(moved.after)
        self.directory.changed()
        self.board.changed()

    # -- tickets -------------------------------------------------------------------

    async def follow_up(
        self,
        conversation_id: str,
        source: str,
        email: str | None = None,
        text: str | None = None,
        client_id: str | None = None,
    ) -> Moved:
        """bot or queued -> ticket: the team answers in writing."""
        async with self.locks(conversation_id):
            try:
                moved = await self.db.write(
                    partial(
                        moves.follow_up,
                        conversation_id=conversation_id,
                        source=source,
                        email=email,
                        text=text,
                        client_id=client_id,
                    )
                )
            except TransitionRefused as refused:
                if refused.closed:
                    raise ClientError("conversation_closed") from None
                raise ClientError(
                    "conflict",
                    "This chat cannot become a ticket now "
                    f"(it is {refused.conversation.status if refused.conversation else 'gone'}).",
                ) from None
            was_queued = await self.live.dequeue(conversation_id)
        for notice in moved.notices:
            await self.publish(notice)
        await self.ticket_changed(conversation_id)
        await self.card_changed(moved.after)
        await self.board.tell(moved.after)
        if was_queued:
            self.board.changed()
        return moved

    async def ticket_changed(self, conversation_id: str) -> None:
        """Push the conversation's ticket to every console."""
        ticket = await self.db.read(partial(tickets.latest_ticket, conversation_id=conversation_id))
        if ticket is not None:
            await self.fanout.to_agents("ticket", ticket.public())

    async def ticket_pushed(self, ticket_id: int | None) -> None:
        """Push one ticket (by id) to every console: its e-mail was sent or failed."""
        if ticket_id is None:
            return
        ticket = await self.db.read(partial(tickets.get_ticket, ticket_id=ticket_id))
        if ticket is not None:
            await self.fanout.to_agents("ticket", ticket.public())

    # -- close ---------------------------------------------------------------------

    async def close(
        self,
        conversation_id: str,
        *,
        by: str,
        reason: str,
        agent_id: int | None = None,
        notice: Notice | None = None,
        ask_csat: bool = True,
    ) -> bool:
        """Close a conversation; tell everyone; ask the shopper for a rating (unless
        ``ask_csat`` is false: an erasure asks none). False when it was closed already."""
        if notice is None:
            key = {"timeout": "ended_timeout", "shopper": "ended_shopper"}.get(by, "ended_agent")
            notice = (key, {"name": await self.directory.name(agent_id) if agent_id else ""})
        async with self.locks(conversation_id):
            online = await self.live.shopper_online(conversation_id)
            ask = ask_csat and online
            try:
                moved = await self.db.write(
                    partial(
                        moves.close,
                        conversation_id=conversation_id,
                        by=by,
                        reason=reason,
                        agent_id=agent_id,
                        notice=notice,
                        ask_csat=ask,
                    )
                )
            except TransitionRefused:
                return False
            owner, was_queued = await self.live.closed(conversation_id)
        if owner is not None:
            await self.fanout.to_agent(owner, "closed", {"conversation_id": conversation_id})
        await self.fanout.to_watchers(
            conversation_id, "closed", {"conversation_id": conversation_id}
        )
        for message in moved.notices:
            await self.publish(message)
        await self.fanout.to_shopper(conversation_id, "ended", {"by": by, "reason": reason})
        if ask:
            await self.fanout.to_shopper(
                conversation_id, "csat_request", self.csat.request_payload(moved.after.language)
            )
        if moved.before.status == Status.TICKET:
            await self.ticket_changed(conversation_id)
        if moved.before.status == Status.ASSIGNED:
            await self._managers(moved.after)
        if was_queued:
            self.board.changed()
        if owner is not None:
            self.directory.changed()
            self.available()
        return True

    async def closed_elsewhere(self, conversation_id: str, *, by: str, reason: str) -> None:
        """Another process (the command line's erasure) closed the chat in the database:
        bring the live state and everyone watching up to date."""
        async with self.locks(conversation_id):
            owner, was_queued = await self.live.closed(conversation_id)
        if owner is not None:
            await self.fanout.to_agent(owner, "closed", {"conversation_id": conversation_id})
        await self.fanout.to_watchers(
            conversation_id, "closed", {"conversation_id": conversation_id}
        )
        await self.fanout.to_shopper(conversation_id, "ended", {"by": by, "reason": reason})
        await self.fanout.to_managers("all_chats", {"upsert": [], "remove": [conversation_id]})
        if was_queued:
            self.board.changed()
        if owner is not None:
            self.directory.changed()
            self.available()

    # -- the shopper comes and goes ----------------------------------------------------

    async def shopper_presence(self, conversation_id: str, online: bool) -> None:
        await self.fanout.to_watchers(
            conversation_id,
            "presence",
            {"conversation_id": conversation_id, "shopper_online": online},
        )
        if await self.live.queued(conversation_id):
            self.board.changed()  # places count the shoppers who are there
            if online:
                self.available()

    async def get(self, conversation_id: str) -> Conversation:
        conversation = await self.db.read(
            partial(convs.get_conversation, conversation_id=conversation_id)
        )
        if conversation is None:
            raise ClientError("no_conversation")
        return conversation


def may_read(agent_id: int, manager: bool, conversation: Conversation) -> bool:
    """Who may read a chat: managers, its owner, anyone while it waits, and its last
    agent once it ended."""
    return (
        manager
        or conversation.status in (Status.QUEUED, Status.TICKET)
        or conversation.agent_id == agent_id
        or (conversation.closed and conversation.last_agent_id == agent_id)
    )
