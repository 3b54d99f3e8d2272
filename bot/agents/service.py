"""What agents do in the console: take, read, reply, note, transfer, resolve, tickets.

Who may do what:
- any agent: see the queue and the offline tickets, open a waiting chat or a
  ticket to read it, take a waiting chat, answer a ticket;
- the owner: reply, note, transfer, resolve;
- a manager: everything, on every chat (except replying to a chat owned by someone else).

Moves of a conversation go through :class:`bot.chat.lifecycle.Lifecycle`; access
ends at once when it is revoked (sign-out, a disabled account, an expired
session): see :meth:`AgentService.revoke`.
"""

from __future__ import annotations

import logging
import sqlite3
from functools import partial
from typing import Any

from bot import events as ev
from bot import validate
from bot.agents.tickets import TicketService
from bot.chat.lifecycle import Lifecycle, may_read
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.live import LiveState
from bot.locks import KeyedLocks
from bot.routing.cards import Cards
from bot.routing.directory import AgentDirectory
from bot.routing.dispatch import Dispatcher
from bot.routing.queue import QueueBoard
from bot.settings import Settings
from bot.store import Database, accounts, attachments, canned
from bot.store import conversations as convs
from bot.store.accounts import Agent
from bot.store.clock import now_iso
from bot.store.conversations import Conversation, Message
from bot.types import Status
from bot.wire import message_public

log = logging.getLogger(__name__)

STATUSES = ("online", "away")


class AgentService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        live: LiveState,
        fanout: Fanout,
        locks: KeyedLocks,
        lifecycle: Lifecycle,
        directory: AgentDirectory,
        board: QueueBoard,
        cards: Cards,
        dispatcher: Dispatcher,
        tickets: TicketService,
    ) -> None:
        self.settings = settings
        self.db = db
        self.live = live
        self.fanout = fanout
        self.locks = locks
        self.lifecycle = lifecycle
        self.directory = directory
        self.board = board
        self.cards = cards
        self.dispatcher = dispatcher
        self.tickets = tickets

    # -- access ------------------------------------------------------------

    async def conversation(self, data: dict[str, Any]) -> Conversation:
        conversation_id = data.get("conversation_id")
        if not isinstance(conversation_id, str) or len(conversation_id) > 64:
            raise ClientError("invalid_payload", "'conversation_id' must be a conversation id.")
        conversation = await self.db.read(
            partial(convs.get_conversation, conversation_id=conversation_id)
        )
        if conversation is None:
            raise ClientError("not_found", "No such conversation.")
        return conversation

    def require_owner(self, agent: Agent, conversation: Conversation, *, manager_ok: bool) -> None:
        if conversation.closed:
            raise ClientError("conversation_closed")
        if conversation.agent_id == agent.id or (manager_ok and agent.is_manager):
            return
        raise ClientError("forbidden", "This chat is not yours.")

    # -- connections ---------------------------------------------------------------

    async def connected(self, agent: Agent, sid: str) -> None:
        await self.live.agent_connected(
            agent.id, sid, agent.capacity, agent.status, agent.is_manager
        )
        self.directory.changed()
        if agent.status == "online":
            self.dispatcher.soon()  # a seat became available: live shoppers first
            self.board.changed()

    async def disconnected(self, sid: str) -> None:
        presence = await self.live.agent_disconnected(sid)
        if presence is not None:
            self.directory.changed()
            if not presence.connected:
                self.board.changed()  # fewer agents online: expected waits change

    async def revoke(self, agent_id: int, reason: str) -> set[str]:
        """The agent's access ended (signed out, disabled, session expired): it leaves
        routing at once and its chats go back to the queue. Returns the connections to
        drop (the namespace drops them)."""
        sids = await self.live.agent_gone(agent_id)
        owned = sorted(await self.live.owned_by(agent_id))
        ev.submit(self.db, ev.AgentRevoked(actor="system", agent_id=agent_id, reason=reason))
        for conversation_id in owned:
            await self.lifecycle.requeue(conversation_id, agent_id, f"agent {reason}")
        self.directory.changed()
        self.board.changed()
        return sids

    # -- the console's view ------------------------------------------------------

    async def snapshot(self, agent: Agent) -> dict[str, Any]:
        mine = sorted(await self.live.owned_by(agent.id))
        presence = await self.live.agent(agent.id)
        order = [conversation_id for conversation_id, _ in await self.board.order()]
        queue = await self.cards.cards_for(order)
        for position, card in enumerate(queue, start=1):
            card["position"] = position
        page = await self.tickets.page()
        result: dict[str, Any] = {
            "agent": agent.public(),
            "status": presence.status if presence else agent.status,
            "queue": queue,
            "chats": await self.cards.cards_for(mine),
            "agents": await self.directory.view(),
            "canned": await self.db.read(canned.list_canned),
            "tickets": page["items"],
            "tickets_total": page["total"],
        }
        if agent.is_manager:
            active = await self.db.read(
                lambda conn: [c.id for c in convs.conversations_in_status(conn, Status.ASSIGNED)]
            )
            result["all_chats"] = await self.cards.cards_for(active)
        return result

    async def open(self, agent: Agent, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        if not may_read(agent.id, agent.is_manager, conversation):
            raise ClientError("forbidden", "You cannot read this chat.")
        # Watch first, then read: a message committed meanwhile is in the read or comes
        # live (with Redis, once the room is recorded), never in neither; the console
        # drops one it has by its id.
        await self.fanout.watch(sid, conversation.id)
        messages = await self.db.read(
            partial(convs.transcript, conversation_id=conversation.id, include_notes=True)
        )
        card = await self.cards.one(conversation.id)
        return {
            "conversation": card,
            "messages": [
                message_public(
                    m,
                    await self.directory.name(m.agent_id),
                    for_agents=True,
                    scale=self.cards.scale,
                )
                for m in messages
            ],
        }

    async def close_view(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = data.get("conversation_id")
        if isinstance(conversation_id, str):
            await self.fanout.unwatch(sid, conversation_id)
        return {}

    # -- status ------------------------------------------------------------------

    async def set_status(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        status = data.get("status")
        if status not in STATUSES:
            raise ClientError("invalid_payload", "'status' must be 'online' or 'away'.")
        await self.db.write(partial(_store_status, agent_id=agent.id, status=status))
        await self.live.set_agent_status(agent.id, status)
        self.directory.changed()
        if status == "online":
            self.dispatcher.soon()
        self.board.changed()
        return {"status": status}

    # -- taking and handing over -------------------------------------------------

    async def over_capacity(
        self, agent_id: int, data: dict[str, Any], action: str, conversation_id: str, by: int
    ) -> None:
        """Refuse a chat that would take ``agent_id`` past its capacity, unless the call
        says ``override: true``: then it goes ahead and the override is logged."""
        presence = await self.live.agent(agent_id)
        load = await self.directory.load(agent_id)
        if presence is None or load < presence.capacity:
            return
        if data.get("override") is not True:
            raise ClientError(
                "over_capacity",
                f"That would make {load + 1} chats of "
                f"{presence.capacity}; send override: true to go ahead.",
                load=load,
                capacity=presence.capacity,
            )
        log.info(
            "agent %s takes chat %s over capacity (%d/%d), by agent %s",
            agent_id,
            conversation_id,
            load + 1,
            presence.capacity,
            by,
        )
        ev.submit(
            self.db,
            ev.CapacityOverridden(
                conversation_id=conversation_id,
                actor="agent",
                agent_id=by,
                action=action,
                target=agent_id,
                load=load + 1,
                capacity=presence.capacity,
            ),
        )

    async def take(self, agent: Agent, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        if conversation.status != Status.QUEUED:
            raise ClientError("conflict", "This chat is not waiting in the queue.")
        await self.over_capacity(agent.id, data, "take", conversation.id, agent.id)
        if not await self.lifecycle.assign(conversation.id, agent.id, "take"):
            raise ClientError("conflict", "Another agent took this chat first.")
        return await self.open(agent, sid, data)

    async def seen(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        """The console showed the chat's owner the shopper's messages up to
        ``message_id``: the shopper's widget shows "seen"."""
        conversation = await self.conversation(data)
        if conversation.agent_id != agent.id:
            raise ClientError("forbidden", "Only the chat's agent marks it seen.")
        message_id = validate.integer(data, "message_id")
        marked = await self.db.write(
            partial(attachments.mark_seen, conversation_id=conversation.id, message_id=message_id)
        )
        if marked is not None:
            await self.fanout.to_shopper(
                conversation.id, "seen", {"message_id": marked, "agent": {"name": agent.name}}
            )
        return {"seen": marked is not None}

    async def transfer(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        self.require_owner(agent, conversation, manager_ok=True)
        if conversation.status != Status.ASSIGNED:
            raise ClientError(
                "conflict",
                "Only a chat with an agent can be transferred; "
                "take a waiting chat from the queue instead.",
            )
        target_id = validate.integer(data, "agent_id")
        target = await self.db.read(partial(accounts.get_agent, agent_id=target_id))
        presence = await self.live.agent(target_id)
        if target is None or target.disabled or presence is None or not presence.connected:
            raise ClientError("not_found", "That agent is not available.")
        if target_id == conversation.agent_id:
            raise ClientError("conflict", "The chat is already theirs.")
        await self.over_capacity(target_id, data, "transfer", conversation.id, agent.id)
        await self.lifecycle.transfer(conversation.id, conversation.agent_id, target_id, agent.id)
        return {}

    async def resolve(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        self.require_owner(agent, conversation, manager_ok=True)
        if not await self.lifecycle.close(
            conversation.id, by="agent", reason="resolved by agent", agent_id=agent.id
        ):
            raise ClientError("conversation_closed")
        return {}

    # -- talking -----------------------------------------------------------------

    async def send(
        self, agent: Agent, sid: str, data: dict[str, Any], *, note: bool
    ) -> dict[str, Any]:
        conversation = await self.conversation(data)
        self.require_owner(agent, conversation, manager_ok=note)
        client_id = validate.client_id(data)
        text = validate.text(data, limit=self.settings.max_message_length)
        async with self.locks(conversation.id):
            message, duplicate = await self.db.write(
                partial(
                    _store_agent_message,
                    conversation_id=conversation.id,
                    agent_id=agent.id,
                    client_id=client_id,
                    text=text,
                    note=note,
                )
            )
        if not duplicate:
            await self.lifecycle.publish(message)
        return {"message": message_public(message, agent.name), "duplicate": duplicate}

    async def typing(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        if conversation.agent_id != agent.id:
            raise ClientError("forbidden", "This chat is not yours.")
        typing = validate.boolean(data, "typing")
        await self.fanout.to_shopper(
            conversation.id, "typing", {"author": "agent", "name": agent.name, "typing": typing}
        )
        return {}

    # -- canned replies ---------------------------------------------------------------

    async def add_canned(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        shortcut = validate.optional_str(data, "shortcut", limit=40)
        if not shortcut or not shortcut.strip():
            raise ClientError("invalid_payload", "'shortcut' is required (at most 40 characters).")
        text = validate.text(data, limit=self.settings.max_message_length)
        try:
            item = await self.db.write(
                partial(canned.add_canned, shortcut=shortcut.strip(), text=text, agent_id=agent.id)
            )
        except sqlite3.IntegrityError:
            raise ClientError("conflict", "A canned reply with that shortcut exists.") from None
        await self.fanout.to_agents("canned", await self.db.read(canned.list_canned))
        return {"canned": item}

    async def delete_canned(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        canned_id = validate.integer(data, "id")
        if not await self.db.write(partial(canned.delete_canned, canned_id=canned_id)):
            raise ClientError("not_found", "No such canned reply.")
        await self.fanout.to_agents("canned", await self.db.read(canned.list_canned))
        return {}

    # -- offline tickets ------------------------------------------------------------

    async def ticket_reply(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        ticket_id = validate.integer(data, "id")
        client_id = validate.client_id(data, "client_id")
        text = validate.text(data, limit=self.settings.max_message_length)
        return await self.tickets.answer(agent, ticket_id, client_id, text)

    async def ticket_done(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        return await self.tickets.done(agent, validate.integer(data, "id"))

    async def tickets_page(self, data: dict[str, Any]) -> dict[str, Any]:
        after = data.get("after")
        if after is not None:
            after = validate.integer(data, "after")
        return await self.tickets.page(after)


def _store_status(conn: sqlite3.Connection, agent_id: int, status: str) -> None:
    accounts.set_status(conn, agent_id, status)
    ev.insert_events(conn, ev.AgentStatusChanged(actor="agent", agent_id=agent_id, status=status))


def _store_agent_message(
    conn: sqlite3.Connection,
    conversation_id: str,
    agent_id: int,
    client_id: str,
    text: str,
    note: bool,
) -> tuple[Message, bool]:
    existing = convs.find_message_by_client_id(conn, conversation_id, client_id, "agent", agent_id)
    if existing is not None:
        return existing, True
    conversation = convs.get_conversation(conn, conversation_id)
    if conversation is None or conversation.closed:
        raise ClientError("conversation_closed")
    if not note and conversation.agent_id != agent_id:
        raise ClientError("forbidden", "This chat is not yours.")
    at = now_iso()
    message = convs.insert_message(
        conn,
        conversation_id,
        "agent",
        text,
        client_id=client_id,
        agent_id=agent_id,
        kind="note" if note else "text",
        created_at=at,
    )
    if note:
        event: ev.Event = ev.AgentNote(
            conversation_id=conversation_id,
            actor="agent",
            agent_id=agent_id,
            created_at=at,
            message_id=message.id,
        )
    else:
        event = ev.AgentMessage(
            conversation_id=conversation_id,
            actor="agent",
            agent_id=agent_id,
            created_at=at,
            message_id=message.id,
        )
        convs.record_agent_reply(conn, conversation_id, at)
    ev.insert_events(conn, event)
    return message, False
