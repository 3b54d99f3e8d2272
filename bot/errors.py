"""Errors that reach a client, each with a machine-readable code."""

from __future__ import annotations

from typing import Any

MESSAGES = {
    "invalid_payload": "The payload must be a JSON object with the documented fields.",
    "invalid_text": "The message text must be a string.",
    "empty_text": "The message is empty.",
    "text_too_long": "The message is too long.",
    "invalid_id": "The message id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'.",
    "invalid_token": "This conversation cannot be resumed; start a new one.",
    "no_conversation": "Start a conversation first (event 'start').",
    "conversation_closed": "This conversation has ended.",
    "rate_limited": "Too many requests; please wait a moment.",
    "too_many_connections": "Too many connections from your address; please try again later.",
    "unknown_event": "Unknown event.",
    "invalid_rating": "The rating must be a whole number from 1 to 5.",
    "conversation_open": "The chat has not ended yet; it can be rated when it ends.",
    "rating_window_closed": "This conversation can no longer be rated.",
    "invalid_email": "Please give a valid e-mail address.",
    "storage_unavailable": "The service cannot save messages right now; please try again shortly.",
    "internal_error": "Something went wrong on our side.",
    "not_found": "Not found.",
    "forbidden": "You are not allowed to do that.",
    "conflict": "Someone else already did that.",
    "unauthorized": "Please sign in.",
    "over_capacity": "That agent has no free seat; send override: true to go ahead.",
    "file_too_large": "The file is too large.",
    "unsupported_type": "Only PNG, JPEG, GIF and WebP images can be sent.",
    "too_many_files": "This chat has as many images as it may have.",
}


class ClientError(Exception):
    """Refuses one client request; the connection stays usable."""

    def __init__(self, code: str, message: str | None = None, **extra: Any) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.extra = extra
        super().__init__(f"{code}: {self.message}")

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}

    def ack(self) -> dict[str, Any]:
        return {"ok": False, "error": self.payload()}
