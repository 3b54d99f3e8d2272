"""What the agent console shows: conversation cards, the queue, transcripts."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any

from bot.chat.public import message_public
from bot.store import conversations as convs
from bot.store.clock import parse_iso
from bot.store.conversations import Conversation

if TYPE_CHECKING:
    from bot.agents.routing import Router

PREVIEW_MESSAGES = 3


def _recent(conn: sqlite3.Connection, conversation_id: str, limit: int) -> list[convs.Message]:
    rows = conn.execute(
        "SELECT * FROM messages WHERE conversation_id = ? AND kind != 'note' "
        "ORDER BY id DESC LIMIT ?",
        (conversation_id, limit),
    ).fetchall()
    return [convs.Message.from_row(r) for r in reversed(rows)]


def _cards(conn: sqlite3.Connection, ids: list[str]) -> list[tuple[Conversation, list[convs.Message]]]:
    out = []
    for conversation_id in ids:
        conversation = convs.get_conversation(conn, conversation_id)
        if conversation is not None:
            out.append((conversation, _recent(conn, conversation_id, PREVIEW_MESSAGES)))
    return out


async def card(router: Router, conversation: Conversation,
               recent: list[convs.Message]) -> dict[str, Any]:
    waiting_since = conversation.escalated_at
    wait = time.time() - parse_iso(waiting_since).timestamp() if waiting_since else None
    names = {m.agent_id: await router.agent_name(m.agent_id) for m in recent if m.agent_id}
    return {
        "id": conversation.id,
        "status": conversation.status,
        "language": conversation.language,
        "mood": round(conversation.mood.mood, 3),
        "reasons": list(conversation.escalation_reasons),
        "waiting_since": waiting_since,
        "wait_seconds": round(wait, 1) if wait is not None else None,
        "page": {"url": conversation.page_url, "title": conversation.page_title},
        "visitor": {"name": conversation.visitor_name, "email": conversation.visitor_email},
        "agent": {"id": conversation.agent_id, "name": await router.agent_name(conversation.agent_id)}
        if conversation.agent_id else None,
        "shopper_online": await router.live.shopper_online(conversation.id),
        "created_at": conversation.created_at,
        "closed_at": conversation.closed_at,
        "recent": [message_public(m, names.get(m.agent_id) if m.agent_id else None, for_agents=True)
                   for m in recent],
    }


async def cards_for(router: Router, ids: list[str]) -> list[dict[str, Any]]:
    rows = await router.db.read(lambda conn: _cards(conn, ids))
    return [await card(router, conversation, recent) for conversation, recent in rows]


async def queue_view(router: Router) -> list[dict[str, Any]]:
    ids = [conversation_id for conversation_id, _ in await router.live.queue()]
    cards = await cards_for(router, ids)
    for position, item in enumerate(cards, start=1):
        item["position"] = position
    return cards
