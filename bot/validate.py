"""Checks for client payloads: each failure is a :class:`ClientError` with a code."""

from __future__ import annotations

import re
from typing import Any

from bot.errors import ClientError

CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")
# A lone UTF-16 surrogate (JSON "\ud800") decodes to a str that is not valid Unicode:
# SQLite, UTF-8 and every reader after us would choke on it.
SURROGATE = re.compile("[\ud800-\udfff]")
MAX_VALUES = 10_000  # strings, numbers, lists and objects in one payload (ours use < 50)


def payload(data: Any) -> dict[str, Any]:
    """The event payload must be one JSON object (``None`` counts as ``{}``) of at most
    :data:`MAX_VALUES` values whose strings, keys included, are valid Unicode."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClientError("invalid_payload")
    if isinstance(data.get("text"), str) and SURROGATE.search(data["text"]):
        raise ClientError("invalid_text", "The text is not valid Unicode (a lone surrogate).")
    pending: list[Any] = [data]
    seen = 0
    while pending:  # iterative: a deeply nested payload must not exhaust the stack
        value = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ClientError("invalid_payload", "The payload has too many values.")
        if isinstance(value, str):
            if SURROGATE.search(value):
                raise ClientError(
                    "invalid_payload",
                    "A string in the payload is not valid Unicode (a lone surrogate).",
                )
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return data


def text(data: dict[str, Any], key: str = "text", *, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ClientError("invalid_text")
    if not value.strip():
        raise ClientError("empty_text")
    if len(value) > limit:
        raise ClientError("text_too_long", f"The message is over {limit} characters.", limit=limit)
    if "\x00" in value:
        raise ClientError("invalid_text", "The message contains a NUL character.")
    if SURROGATE.search(value):
        raise ClientError("invalid_text", "The text is not valid Unicode (a lone surrogate).")
    return value


def client_id(data: dict[str, Any], key: str = "id") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not CLIENT_ID.fullmatch(value):
        raise ClientError("invalid_id")
    return value


def optional_str(data: dict[str, Any], key: str, *, limit: int = 500) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ClientError(
            "invalid_payload", f"'{key}' must be a string of at most {limit} characters."
        )
    return value


def boolean(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise ClientError("invalid_payload", f"'{key}' must be true or false.")
    return value


def integer(
    data: dict[str, Any],
    key: str,
    *,
    code: str = "invalid_payload",
    low: int | None = None,
    high: int | None = None,
) -> int:
    value = data.get(key)
    # bool is an int in Python; JSON true is not a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ClientError(code)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ClientError(code)
    return value


def email(data: dict[str, Any], key: str = "email") -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.fullmatch(value.strip()):
        raise ClientError("invalid_email")
    return value.strip()
