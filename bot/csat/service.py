"""Asking for and taking CSAT ratings (and the optional NPS question)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from bot import events as ev
from bot import validate
from bot.csat import labels
from bot.csat.store import get_rating, record_asked, store_nps, store_rating
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.live import LiveState
from bot.settings import Settings
from bot.store import Database
from bot.store import conversations as convs
from bot.store.clock import now, now_iso, parse_iso
from bot.store.conversations import Conversation

COMMENT_MAX = 1000


class CsatService:
    def __init__(self, settings: Settings, db: Database, live: LiveState, fanout: Fanout) -> None:
        self.settings = settings
        self.db = db
        self.live = live
        self.fanout = fanout

    def request_payload(self, language: str) -> dict[str, Any]:
        """``csat_request``: the scale's labels in the conversation's language."""
        return {
            "scale": labels.scale(language),
            "comment_max": COMMENT_MAX,
            "nps": self.settings.nps_enabled,
            "nps_labels": labels.nps_ends(language),
            "language": language,
        }

    def window_open(self, conversation: Conversation) -> bool:
        if not conversation.closed or conversation.closed_at is None:
            return False
        deadline = parse_iso(conversation.closed_at) + timedelta(seconds=self.settings.csat_window)
        return now() < deadline

    async def state(self, conversation: Conversation) -> tuple[dict[str, Any] | None, bool]:
        if not conversation.closed:
            return None, False
        rating = await self.db.read(partial(get_rating, conversation_id=conversation.id))
        return rating, self.window_open(conversation)

    async def ask_if_open(self, conversation: Conversation) -> None:
        """A shopper came back to an ended chat: ask again if it is still unrated."""
        if not self.window_open(conversation):
            return
        rating = await self.db.read(partial(get_rating, conversation_id=conversation.id))
        if rating is not None:
            return

        def asked(conn: Any) -> None:
            at = now_iso()
            if record_asked(conn, conversation, at):
                ev.insert_events(
                    conn,
                    ev.CsatAsked(conversation_id=conversation.id, actor="system", created_at=at),
                )

        await self.db.write(asked)
        await self.fanout.to_shopper(
            conversation.id, "csat_request", self.request_payload(conversation.language)
        )

    async def _own_conversation(self, sid: str, data: dict[str, Any]) -> str:
        """The id of the chat this shopper socket may rate (its own)."""
        conversation_id = await self.live.shopper_conversation(sid)
        if conversation_id is None:
            raise ClientError("no_conversation")
        claimed = data.get("conversation_id")
        if claimed is not None and claimed != conversation_id:
            raise ClientError("forbidden", "You can only rate your own conversation.")
        return conversation_id

    def _rateable(self, conn: Any, conversation_id: str) -> Conversation:
        """The chat as committed, if it can be rated now (in the rating's write job:
        checked and stored in one transaction, one trip to the database)."""
        conversation = convs.get_conversation(conn, conversation_id)
        if conversation is None:
            raise ClientError("no_conversation")
        if not conversation.closed:
            raise ClientError("conversation_open")
        if not self.window_open(conversation):
            raise ClientError("rating_window_closed")
        return conversation

    async def rate(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        rating = validate.integer(data, "rating", code="invalid_rating", low=1, high=5)
        comment = data.get("comment")
        if comment is not None:
            if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
                raise ClientError(
                    "invalid_rating",
                    f"The comment must be text of at most {COMMENT_MAX} characters.",
                )
            comment = comment.strip() or None
        conversation_id = await self._own_conversation(sid, data)

        def rate(conn: Any) -> dict[str, Any]:
            conversation = self._rateable(conn, conversation_id)
            return store_rating(conn, conversation, rating, comment)[0]

        stored = await self.db.write(rate)
        await self.rated(conversation_id, stored)
        return {"csat": stored}

    async def rated(self, conversation_id: str, rating: dict[str, Any] | None = None) -> None:
        """Agents who have the chat open see the rating as it arrives (read only when
        someone watches and it was not given)."""
        if not self.fanout.watched(conversation_id):
            return
        if rating is None:
            rating = await self.db.read(partial(get_rating, conversation_id=conversation_id))
        await self.fanout.to_watchers(
            conversation_id, "card", {"id": conversation_id, "csat": rating}
        )

    async def nps(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        if not self.settings.nps_enabled:
            raise ClientError("invalid_payload", "The NPS question is not enabled.")
        score = validate.integer(data, "score", code="invalid_rating", low=0, high=10)
        conversation_id = await self._own_conversation(sid, data)

        def answer(conn: Any) -> None:
            store_nps(conn, self._rateable(conn, conversation_id), score)

        await self.db.write(answer)
        await self.rated(conversation_id)
        return {}
