"""How conversations and messages look on the wire (see README, "Shopper protocol")."""

from __future__ import annotations

from typing import Any

from bot.store.conversations import Conversation, Message


def message_public(message: Message, agent_name: str | None = None) -> dict[str, Any]:
    meta = message.meta
    return {
        "id": message.id,
        "client_id": message.client_id,
        "conversation_id": message.conversation_id,
        "author": message.author,
        "kind": message.kind,
        "text": message.text,
        "created_at": message.created_at,
        "agent": {"name": agent_name} if message.author == "agent" and agent_name else None,
        "entry_id": meta.get("entry_id"),
        "quick_replies": meta.get("quick_replies", []),
        "feedback": bool(meta.get("feedback", False)),
    }


def conversation_public(
    conversation: Conversation,
    *,
    agent_name: str | None = None,
    csat: dict[str, Any] | None = None,
    csat_open: bool = False,
) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "status": conversation.status,
        "language": conversation.language,
        "agent": {"name": agent_name} if agent_name else None,
        "created_at": conversation.created_at,
        "closed_at": conversation.closed_at,
        "csat": csat,
        "csat_open": csat_open,
    }
