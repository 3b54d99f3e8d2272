"""Offline tickets: the team answers a conversation in writing.

An agent answers a ticket from the console: the answer is stored in the
conversation (the shopper sees it in the widget when they come back) and, when
the ticket has an e-mail address and a mail server is configured, queued in the
outbox for the mailer (``bot.mail``). Marking a ticket done resolves its
conversation; the shopper is asked to rate it then (or when they come back).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot import events as ev
from bot.chat.lifecycle import Lifecycle
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.locks import KeyedLocks
from bot.mail import Mailer
from bot.store import Database, tickets
from bot.store import conversations as convs
from bot.store.accounts import Agent
from bot.store.clock import now_iso
from bot.store.conversations import Message
from bot.store.tickets import Ticket
from bot.texts import say
from bot.types import Status


@dataclass(frozen=True, slots=True)
class Answered:
    ticket: Ticket
    message: Message
    duplicate: bool
    emailed: bool


def answer_ticket(
    conn: sqlite3.Connection,
    ticket_id: int,
    agent: Agent,
    client_id: str,
    text: str,
    mail_from: str | None,
    shop: str,
) -> Answered:
    """Store the agent's answer in the conversation, mark the ticket answered and, with
    an address and a mail server (``mail_from``), queue the e-mail."""
    ticket = tickets.get_ticket(conn, ticket_id)
    if ticket is None or ticket.conversation_id is None or ticket.status == "done":
        raise ClientError("not_found", "No such open ticket.")
    conversation = convs.get_conversation(conn, ticket.conversation_id)
    if conversation is None or conversation.closed:
        raise ClientError("conversation_closed")
    existing = convs.find_message_by_client_id(conn, conversation.id, client_id, "agent", agent.id)
    if existing is not None:
        return Answered(ticket, existing, True, False)
    at = now_iso()
    message = convs.insert_message(
        conn,
        conversation.id,
        "agent",
        text,
        client_id=client_id,
        agent_id=agent.id,
        created_at=at,
        meta={"ticket": ticket.id},
    )
    convs.record_agent_reply(conn, conversation.id, at)
    tickets.set_ticket_status(conn, ticket.id, "answered", at, agent.id)
    to = ticket.email or conversation.visitor_email
    emailed = bool(to and mail_from)
    if emailed:
        assert to is not None
        language = conversation.language
        body = say(
            "mail_body",
            language,
            text=text,
            name=agent.name,
            shop=shop,
            question=(ticket.text or "").strip() or "-",
        )
        tickets.queue_mail(
            conn,
            ticket.id,
            conversation.id,
            message.id,
            to,
            say("mail_subject", language, shop=shop),
            body,
            at,
        )
    ev.insert_events(
        conn,
        ev.TicketAnswered(
            conversation_id=conversation.id,
            actor="agent",
            agent_id=agent.id,
            created_at=at,
            ticket_id=ticket.id,
            message_id=message.id,
            emailed=emailed,
        ),
    )
    updated = tickets.get_ticket(conn, ticket.id)
    assert updated is not None
    return Answered(updated, message, False, emailed)


def ticket_done(conn: sqlite3.Connection, ticket_id: int, agent_id: int) -> Ticket:
    """Mark a ticket done on its own (its conversation ended already)."""
    at = now_iso()
    if not tickets.set_ticket_status(conn, ticket_id, "done", at, agent_id):
        raise ClientError("not_found", "No such open ticket.")
    ticket = tickets.get_ticket(conn, ticket_id)
    assert ticket is not None
    ev.insert_events(
        conn,
        ev.TicketDone(
            conversation_id=ticket.conversation_id,
            actor="agent",
            agent_id=agent_id,
            created_at=at,
            ticket_id=ticket_id,
        ),
    )
    return ticket


class TicketService:
    def __init__(
        self,
        db: Database,
        fanout: Fanout,
        locks: KeyedLocks,
        lifecycle: Lifecycle,
        mailer: Mailer,
        shop: str,
    ) -> None:
        self.db = db
        self.fanout = fanout
        self.locks = locks
        self.lifecycle = lifecycle
        self.mailer = mailer
        self.shop = shop

    async def page(self, after: int | None = None) -> dict[str, Any]:
        """Open tickets, oldest first, a page at a time (those after the ticket ``after``)."""
        items, total = await self.db.read(partial(tickets.ticket_page, after_id=after))
        return {
            "items": [t.public() for t in items],
            "total": total,
            "more": bool(items) and len(items) == tickets.PAGE_SIZE,
        }

    async def _get(self, ticket_id: int) -> Ticket:
        ticket = await self.db.read(partial(tickets.get_ticket, ticket_id=ticket_id))
        if ticket is None or ticket.status == "done":
            raise ClientError("not_found", "No such open ticket.")
        return ticket

    async def answer(
        self, agent: Agent, ticket_id: int, client_id: str, text: str
    ) -> dict[str, Any]:
        ticket = await self._get(ticket_id)
        assert ticket.conversation_id is not None
        async with self.locks(ticket.conversation_id):
            answered: Answered = await self.db.write(
                partial(
                    answer_ticket,
                    ticket_id=ticket_id,
                    agent=agent,
                    client_id=client_id,
                    text=text,
                    mail_from=self.mailer.sender,
                    shop=self.shop,
                )
            )
        if not answered.duplicate:
            await self.lifecycle.publish(answered.message)
            await self.fanout.to_agents("ticket", answered.ticket.public())
            if answered.emailed:
                self.mailer.poke()
        return {
            "ticket": answered.ticket.public(),
            "message": {
                "id": answered.message.id,
                "text": answered.message.text,
                "created_at": answered.message.created_at,
            },
            "duplicate": answered.duplicate,
        }

    async def done(self, agent: Agent, ticket_id: int) -> dict[str, Any]:
        """The ticket is done: its conversation is resolved (and the shopper asked to rate it)."""
        ticket = await self._get(ticket_id)
        conversation_id = ticket.conversation_id
        closed = False
        if conversation_id is not None:
            conversation = await self.lifecycle.get(conversation_id)
            if conversation.status == Status.TICKET:
                closed = await self.lifecycle.close(
                    conversation_id, by="agent", reason="ticket resolved", agent_id=agent.id
                )
        if not closed:
            updated = await self.db.write(
                partial(ticket_done, ticket_id=ticket_id, agent_id=agent.id)
            )
            await self.fanout.to_agents("ticket", updated.public())
        return {}
