"""A conversation's resume token: what the widget keeps, and the hash the database keeps."""

from __future__ import annotations

import hashlib
import re

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
