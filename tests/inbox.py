"""The handler of a real SMTP server (aiosmtpd) for the tests of e-mailed answers."""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email.message import Message
from typing import Any


@dataclass
class Inbox:
    """Keeps what it accepts; refuses the first ``refuse`` attempts (so that retries
    fall due)."""

    refuse: int = 0
    attempts: int = 0
    received: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.attempts += 1
        if self.attempts <= self.refuse:
            return "451 4.3.0 Try again later"
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 OK"
