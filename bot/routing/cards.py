"""What the agent console shows of a conversation: its card (queue, tabs, all chats)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from bot.csat.store import get_rating
from bot.live import LiveState
from bot.mood.scale import MoodScale
from bot.routing.directory import AgentDirectory
from bot.routing.visitors import alias
from bot.store import Database
from bot.store import conversations as convs
from bot.store.clock import parse_iso
from bot.store.conversations import Conversation
from bot.wire import DEFAULT_SCALE, message_public

PREVIEW_MESSAGES = 3


class Cards:
    """Builds conversation cards: the conversation, its visitor, agent and last messages."""

    def __init__(
        self,
        db: Database,
        live: LiveState,
        directory: AgentDirectory,
        scale: MoodScale = DEFAULT_SCALE,
    ) -> None:
        self.db = db
        self.live = live
        self.directory = directory
        self.scale = scale

    async def card(self, conversation: Conversation, recent: list[convs.Message]) -> dict[str, Any]:
        waiting_since = conversation.escalated_at
        wait = time.time() - parse_iso(waiting_since).timestamp() if waiting_since else None
        name = self.directory.name
        names = {m.agent_id: await name(m.agent_id) for m in recent if m.agent_id}
        return {
            "id": conversation.id,
            "status": conversation.status,
            "language": conversation.language,
            **mood_fields(conversation, self.scale),
            "waiting_since": waiting_since,
            "wait_seconds": round(wait, 1) if wait is not None else None,
            "page": {"url": conversation.page_url, "title": conversation.page_title},
            "visitor": {
                "name": conversation.visitor_name,
                "email": conversation.visitor_email,
                "alias": alias(conversation.id),
            },
            "agent": {"id": conversation.agent_id, "name": await name(conversation.agent_id)}
            if conversation.agent_id
            else None,
            "shopper_online": await self.live.shopper_online(conversation.id),
            "created_at": conversation.created_at,
            "closed_at": conversation.closed_at,
            "csat": await self.db.read(partial(get_rating, conversation_id=conversation.id))
            if conversation.closed
            else None,
            "recent": [
                message_public(
                    m,
                    names.get(m.agent_id) if m.agent_id else None,
                    for_agents=True,
                    scale=self.scale,
                )
                for m in recent
            ],
        }

    async def cards_for(self, ids: list[str]) -> list[dict[str, Any]]:
        rows = await self.db.read(partial(convs.with_recent, ids=ids, limit=PREVIEW_MESSAGES))
        return [await self.card(conversation, recent) for conversation, recent in rows]

    async def one(self, conversation_id: str) -> dict[str, Any] | None:
        cards = await self.cards_for([conversation_id])
        return cards[0] if cards else None


def mood_fields(conversation: Conversation, scale: MoodScale = DEFAULT_SCALE) -> dict[str, Any]:
    """The part of a card that changes with every shopper message."""
    mood = round(conversation.mood.mood, 3)
    return {
        "mood": mood,
        "mood_label": scale.label(mood),
        "reasons": list(conversation.escalation_reasons),
    }
