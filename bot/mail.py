"""Send the answers to offline tickets by e-mail (SMTP), retrying until the server takes them.

Answers wait in the ``outbox`` table (``bot.store.tickets``), written in the same
transaction as the answer itself, so nothing is lost across a restart. The mailer
sends what is due in a worker thread (``smtplib``), marks each e-mail sent or
failed, and retries failures with growing pauses (``smtp_retry`` seconds, then 4x
longer each time) up to ``smtp_attempts``; every change is pushed to the
consoles, so an agent sees an e-mail that did not go out. With several processes
only the leader sends (``bot.leadership``): the others relay their pokes to it, so
an answer is never e-mailed twice.

``--smtp-url``: ``smtp://[user[:password]@]host[:port]`` (add ``?starttls=true``
to upgrade the connection) or ``smtps://...`` (TLS from the start, port 465).
Without it answers are shown in the chat only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import sqlite3
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import partial
from urllib.parse import parse_qs, unquote, urlsplit

from bot import events as ev
from bot.leadership import MAIL, Alone, Leadership
from bot.settings import Settings
from bot.store import Database, tickets
from bot.store.clock import iso, now, now_iso, parse_iso
from bot.store.tickets import Mail

log = logging.getLogger(__name__)

MAX_PAUSE = 3600.0
FOLLOWER_WAIT = 2.0  # seconds: how often a process that does not lead checks again


class MailConfigError(ValueError):
    """``--smtp-url`` is not an smtp:// or smtps:// address."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # TLS from the start (smtps)
    starttls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailConfigError(f"not an smtp:// or smtps:// address: {url!r}")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise MailConfigError(f"bad port in {url!r}") from None
        return cls(
            parts.hostname,
            port,
            parts.scheme == "smtps",
            starttls,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def send(self, message: EmailMessage, timeout: float = 20.0) -> None:
        """Hand one message to the server (blocking: runs in a worker thread)."""
        client: smtplib.SMTP
        if self.tls:
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=timeout)
        with client:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


class Mailer:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        changed: Callable[[int | None], Awaitable[None]],
        leadership: Leadership | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.changed = changed  # told the ticket id after each attempt
        self.server = SmtpServer.parse(settings.smtp_url) if settings.smtp_url else None
        self.sender: str | None = None
        if self.server is not None:
            self.sender = settings.smtp_from or f"noreply@{self.server.host}"
        self._wake = asyncio.Event()
        self.leadership: Leadership = leadership or Alone()

    def poke(self) -> None:
        """An e-mail was queued: look at the outbox now (on the leader)."""
        if self.leadership.leads():
            self._wake.set()
        else:
            self.leadership.relay(MAIL)

    def pause(self, attempts: int) -> float:
        return float(min(MAX_PAUSE, self.settings.smtp_retry * 4 ** max(0, attempts - 1)))

    async def run(self) -> None:
        if self.server is None:
            return
        while True:
            try:
                if self.leadership.leads():
                    await self.send_due()
                    wait = await self._next_wait()
                else:  # another process sends; look again in case this one comes to lead
                    wait = FOLLOWER_WAIT
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mailer failed; trying again shortly")
                wait = self.settings.smtp_retry
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _next_wait(self) -> float:
        due = await self.db.read(tickets.next_mail_at)
        if due is None:
            return MAX_PAUSE
        return max(0.05, float((parse_iso(str(due)) - now()).total_seconds()))

    async def send_due(self) -> int:
        """Send every e-mail that is due; return how many went out."""
        assert self.server is not None
        sent = 0
        loop = asyncio.get_running_loop()
        for mail in await self.db.read(partial(tickets.due_mail, at=now_iso())):
            try:
                await loop.run_in_executor(None, self.server.send, self._message(mail))
            except (OSError, smtplib.SMTPException) as exc:
                attempts = mail.attempts + 1
                final = attempts >= self.settings.smtp_attempts
                retry_at = None if final else iso(now() + timedelta(seconds=self.pause(attempts)))
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning(
                    "e-mail %d for ticket %s not sent (attempt %d%s): %s",
                    mail.id,
                    mail.ticket_id,
                    attempts,
                    ", giving up" if final else "",
                    type(exc).__name__,
                )
                await self.db.write(
                    partial(_failed, mail=mail, error=error, retry_at=retry_at, final=final)
                )
            else:
                sent += 1
                await self.db.write(partial(_sent, mail=mail))
            await self.changed(mail.ticket_id)
        return sent

    def _message(self, mail: Mail) -> EmailMessage:
        assert self.sender is not None
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to_email
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1].strip("> "))
        message.set_content(mail.body)
        return message


def _sent(conn: sqlite3.Connection, mail: Mail) -> None:
    at = now_iso()
    tickets.mail_sent(conn, mail.id, at)
    ev.insert_events(
        conn,
        ev.MailSent(
            conversation_id=mail.conversation_id,
            created_at=at,
            ticket_id=mail.ticket_id,
            attempts=mail.attempts + 1,
        ),
    )


def _failed(
    conn: sqlite3.Connection, mail: Mail, error: str, retry_at: str | None, final: bool
) -> None:
    tickets.mail_failed(conn, mail.id, error, retry_at)
    ev.insert_events(
        conn,
        ev.MailFailed(
            conversation_id=mail.conversation_id,
            ticket_id=mail.ticket_id,
            attempts=mail.attempts + 1,
            final=final,
            error=error,
        ),
    )
