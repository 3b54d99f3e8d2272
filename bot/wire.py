"""How conversations and messages look on the wire (see README, "Shopper protocol")."""

from __future__ import annotations

from typing import Any

from bot.mood.scale import MoodScale
from bot.store.conversations import Conversation, Message

DEFAULT_SCALE = MoodScale()
# Relative to the server's base URL (the widget resolves it against the URL it was
# loaded from, so a server under a path prefix works too).
UPLOADS_PATH = "api/uploads/"


def attachment_public(meta: dict[str, Any], *, for_agents: bool) -> dict[str, Any]:
    """An image sent with a message. Its URL (relative to the server) carries the
    shopper's key for the shopper; agents fetch it with their session."""
    url = UPLOADS_PATH + str(meta.get("id", ""))
    if not for_agents:
        url += "?key=" + str(meta.get("key", ""))
    return {
        "id": meta.get("id"),
        "type": meta.get("type"),
        "size": meta.get("size"),
        "width": meta.get("width"),
        "height": meta.get("height"),
        "name": meta.get("name"),
        "url": url,
    }


def message_public(
    message: Message,
    agent_name: str | None = None,
    *,
    for_agents: bool = False,
    scale: MoodScale = DEFAULT_SCALE,
) -> dict[str, Any]:
    """A message as sent to clients; agents also see each shopper message's mood (with
    its label on ``scale``) and the "did you mean" choice it picked."""
    meta = message.meta
    data = {
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
        "leave_message": bool(meta.get("leave_message", False)),
        # "person": sent while waiting for a person, and the bot had no sure answer
        "receipt": meta.get("receipt") if message.author == "shopper" else None,
        "attachment": attachment_public(meta["attachment"], for_agents=for_agents)
        if isinstance(meta.get("attachment"), dict)
        else None,
    }
    if for_agents and message.author == "shopper":
        data["mood"] = meta.get("mood")
        data["mood_label"] = scale.label(meta.get("mood"))
        data["mood_reasons"] = meta.get("mood_reasons", [])
        data["picked"] = meta.get("pick")
    return data


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
