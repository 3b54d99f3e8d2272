"""What agents do in the console: take, read, reply, note, transfer, resolve.

Who may do what:
- any agent: see the queue and open a waiting chat to read it, take it;
- the owner: reply, note, transfer, resolve;
- a manager: everything, on every chat (except replying to a chat owned by someone else).
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

from bot import events as ev
from bot import validate
from bot.agents import accounts, tickets
from bot.agents.accounts import Agent
from bot.agents.routing import Router
from bot.agents.views import cards_for, queue_view
from bot.chat.public import message_public
from bot.chat.service import ChatService
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.live import LiveState
from bot.locks import KeyedLocks
from bot.settings import Settings
from bot.store import Database
from bot.store import conversations as convs
from bot.store.clock import now_iso
from bot.store.conversations import Conversation, Message
from bot.texts import say

STATUSES = ("online", "away")


class AgentService:
    def __init__(
        self, settings: Settings, db: Database, live: LiveState, fanout: Fanout,
        locks: KeyedLocks, router: Router, chat: ChatService,
    ) -> None:
        self.settings = settings
        self.db = db
        self.live = live
        self.fanout = fanout
        self.locks = locks
        self.router = router
        self.chat = chat

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

    def may_read(self, agent: Agent, conversation: Conversation) -> bool:
        return (
            agent.is_manager
            or conversation.status == "queued"
            or conversation.agent_id == agent.id
            or (conversation.closed and conversation.last_agent_id == agent.id)
        )

    def require_owner(self, agent: Agent, conversation: Conversation, *, manager_ok: bool) -> None:
        if conversation.closed:
            raise ClientError("conversation_closed")
        if conversation.agent_id == agent.id or (manager_ok and agent.is_manager):
            return
        raise ClientError("forbidden", "This chat is not yours.")

    # -- the console's view ------------------------------------------------------

    async def snapshot(self, agent: Agent) -> dict[str, Any]:
        mine = sorted(await self.live.owned_by(agent.id))
        presence = await self.live.agent(agent.id)
        result: dict[str, Any] = {
            "agent": agent.public(),
            "status": presence.status if presence else "away",
            "queue": await queue_view(self.router),
            "chats": await cards_for(self.router, mine),
            "agents": await self.router.agents_view(),
            "canned": await self.db.read(tickets.list_canned),
            "tickets": await self.db.read(tickets.open_tickets),
        }
        if agent.is_manager:
            active = await self.db.read(
                lambda conn: [c.id for c in convs.conversations_in_status(conn, "assigned")]
            )
            result["all_chats"] = await cards_for(self.router, active)
        return result

    async def open(self, agent: Agent, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        if not self.may_read(agent, conversation):
            raise ClientError("forbidden", "You cannot read this chat.")
        messages = await self.db.read(
            partial(convs.transcript, conversation_id=conversation.id, include_notes=True)
        )
        await self.fanout.watch(sid, conversation.id)
        (card,) = await cards_for(self.router, [conversation.id])
        return {
            "conversation": card,
            "messages": [message_public(m, await self.router.agent_name(m.agent_id),
                                        for_agents=True) for m in messages],
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
        await self.live.set_agent_status(agent.id, status)
        self.db.submit(ev.INSERT_SQL, ev.AgentStatusChanged(actor="agent", agent_id=agent.id,
                                                            status=status).row())
        self.router.agents_changed()
        if status == "online":
            await self.router.dispatch()
        self.router.queue_changed()
        return {"status": status}

    # -- taking and handing over -------------------------------------------------

    async def take(self, agent: Agent, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        if conversation.status != "queued":
            raise ClientError("conflict", "This chat is not waiting in the queue.")
        if not await self.router.assign(conversation.id, agent.id, by="take"):
            raise ClientError("conflict", "Another agent took this chat first.")
        self.router.agents_changed()
        return await self.open(agent, sid, data)

    async def transfer(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        self.require_owner(agent, conversation, manager_ok=True)
        if conversation.status != "assigned":
            raise ClientError("conflict", "Only a chat with an agent can be transferred; "
                              "take a waiting chat from the queue instead.")
        target_id = validate.integer(data, "agent_id")
        target = await self.db.read(partial(accounts.get_agent, agent_id=target_id))
        presence = await self.live.agent(target_id)
        if target is None or target.disabled or presence is None or not presence.connected:
            raise ClientError("not_found", "That agent is not available.")
        if target_id == conversation.agent_id:
            raise ClientError("conflict", "The chat is already theirs.")
        if not await self.live.transfer(conversation.id, conversation.agent_id, target_id):
            raise ClientError("conflict", "The chat changed hands meanwhile.")
        notice = await self.db.write(
            partial(_store_transfer, conversation=conversation, by=agent.id, to=target_id,
                    text=say("transferred", conversation.language, name=target.name))
        )
        if conversation.agent_id is not None:
            await self.fanout.to_agent(conversation.agent_id, "unassigned",
                                       {"conversation_id": conversation.id, "reason": "transferred"})
        await self.fanout.to_agent(target_id, "assigned",
                                   {"conversation_id": conversation.id, "by": "transfer"})
        await self.chat.publish(notice)
        await self.router.tell_status(conversation.id)
        self.router.agents_changed()
        return {}

    async def resolve(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        self.require_owner(agent, conversation, manager_ok=True)
        await self.chat.close(conversation.id, by="agent", reason="resolved by agent",
                              agent_id=agent.id)
        self.router.agents_changed()
        return {}

    # -- talking -----------------------------------------------------------------

    async def send(self, agent: Agent, sid: str, data: dict[str, Any], *, note: bool) -> dict[str, Any]:
        conversation = await self.conversation(data)
        self.require_owner(agent, conversation, manager_ok=note)
        client_id = validate.client_id(data)
        text = validate.text(data, limit=self.settings.max_message_length)
        async with self.locks(conversation.id):
            message, duplicate = await self.db.write(
                partial(_store_agent_message, conversation_id=conversation.id, agent_id=agent.id,
                        client_id=client_id, text=text, note=note)
            )
        if not duplicate:
            self.chat.later(self.chat.publish(message))
        return {"message": message_public(message, agent.name), "duplicate": duplicate}

    async def typing(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        conversation = await self.conversation(data)
        if conversation.agent_id != agent.id:
            raise ClientError("forbidden", "This chat is not yours.")
        typing = validate.boolean(data, "typing")
        await self.fanout.to_shopper(conversation.id, "typing",
                                     {"author": "agent", "name": agent.name, "typing": typing})
        return {}

    # -- canned replies and offline tickets ------------------------------------------

    async def add_canned(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        shortcut = validate.optional_str(data, "shortcut", limit=40)
        if not shortcut or not shortcut.strip():
            raise ClientError("invalid_payload", "'shortcut' is required (at most 40 characters).")
        text = validate.text(data, limit=self.settings.max_message_length)
        try:
            item = await self.db.write(partial(tickets.add_canned, shortcut=shortcut.strip(),
                                               text=text, agent_id=agent.id))
        except sqlite3.IntegrityError:
            raise ClientError("conflict", "A canned reply with that shortcut exists.") from None
        await self.fanout.to_agents("canned", await self.db.read(tickets.list_canned))
        return {"canned": item}

    async def delete_canned(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        canned_id = validate.integer(data, "id")
        if not await self.db.write(partial(tickets.delete_canned, canned_id=canned_id)):
            raise ClientError("not_found", "No such canned reply.")
        await self.fanout.to_agents("canned", await self.db.read(tickets.list_canned))
        return {}

    async def ticket_done(self, agent: Agent, data: dict[str, Any]) -> dict[str, Any]:
        ticket_id = validate.integer(data, "id")
        if not await self.db.write(partial(tickets.close_ticket, ticket_id=ticket_id,
                                           agent_id=agent.id)):
            raise ClientError("not_found", "No such open ticket.")
        await self.fanout.to_agents("tickets", await self.db.read(tickets.open_tickets))
        return {}


def _store_agent_message(
    conn: sqlite3.Connection, conversation_id: str, agent_id: int, client_id: str, text: str,
    note: bool,
) -> tuple[Message, bool]:
    existing = convs.find_message_by_client_id(conn, conversation_id, client_id)
    if existing is not None:
        return existing, True
    conversation = convs.get_conversation(conn, conversation_id)
    if conversation is None or conversation.closed:
        raise ClientError("conversation_closed")
    if not note and conversation.agent_id != agent_id:
        raise ClientError("forbidden", "This chat is not yours.")
    at = now_iso()
    message = convs.insert_message(conn, conversation_id, "agent", text, client_id=client_id,
                                   agent_id=agent_id, kind="note" if note else "text",
                                   created_at=at)
    if note:
        event: ev.Event = ev.AgentNote(conversation_id=conversation_id, actor="agent",
                                       agent_id=agent_id, created_at=at, message_id=message.id)
    else:
        event = ev.AgentMessage(conversation_id=conversation_id, actor="agent", agent_id=agent_id,
                                created_at=at, message_id=message.id)
        changes: dict[str, Any] = {"last_activity_at": at}
        if conversation.first_agent_reply_at is None:
            changes["first_agent_reply_at"] = at
        convs.update_conversation(conn, conversation_id, **changes)
    ev.insert_events(conn, event)
    return message, False


def _store_transfer(conn: sqlite3.Connection, conversation: Conversation, by: int, to: int,
                    text: str) -> Message:
    at = now_iso()
    convs.update_conversation(conn, conversation.id, agent_id=to, last_agent_id=to,
                              last_activity_at=at)
    notice = convs.insert_message(conn, conversation.id, "system", text, agent_id=to,
                                  created_at=at)
    ev.insert_events(
        conn,
        ev.ChatTransferred(conversation_id=conversation.id, actor="agent", agent_id=by,
                           created_at=at, from_agent=conversation.agent_id, to_agent=to),
        ev.AgentLeft(conversation_id=conversation.id, actor="agent",
                     agent_id=conversation.agent_id, created_at=at, reason="transferred"),
        ev.AgentAssigned(conversation_id=conversation.id, actor="agent", agent_id=to,
                         created_at=at, by="transfer"),
        ev.AgentJoined(conversation_id=conversation.id, actor="agent", agent_id=to,
                       created_at=at),
    )
    return notice
