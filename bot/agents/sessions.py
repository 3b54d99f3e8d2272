"""Console sessions: login, the session cookie, CSRF tokens, login rate limits.

The cookie holds 256 random bits; the database keeps only their SHA-256, with
the agent, an expiry and the session's CSRF token. State-changing HTTP
requests must send that token in ``X-CSRF-Token`` (or the form field
``csrf_token``) and come from our own origin.

Sign-in attempts are limited per e-mail and address (tight: one person's
password) and per address (looser: an office signs in from one address), and
counted before the password is checked, so attempts sent together cannot slip
past the limit while the first ones are being checked; a successful sign-in
then gives its count back. Password checks (scrypt, ~80 ms of a core and
32 MiB each) pass through a :class:`CheckGate`: a few at once, a few waiting,
and the rest are turned away at once instead of piling up.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

from bot.agents import accounts
from bot.agents.accounts import Agent
from bot.ratelimit import Gauge, RateLimiter
from bot.settings import Settings
from bot.store import Database
from bot.store.clock import iso, now, now_iso
from bot.web.remotes import address_key

log = logging.getLogger(__name__)
T = TypeVar("T")

COOKIE = "supportbot_session"
LOGIN_CSRF_COOKIE = "supportbot_login"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    agent: Agent
    csrf_token: str
    expires_at: str


class LoginRefused(Exception):
    """Wrong e-mail or password; with ``retry_after``, not checked (limit or busy)."""

    def __init__(self, retry_after: float = 0.0, *, busy: bool = False) -> None:
        self.retry_after = retry_after
        self.busy = busy
        super().__init__("Wrong e-mail or password.")


class CheckGate:
    """At most ``slots`` password checks at once, three times as many waiting, and no
    address holding more than ``slots`` of those places: one address's burst cannot
    keep everyone else's sign-in waiting, and a burst from many addresses is turned
    away at once (the caller answers 429) instead of queueing for minutes."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self.places = self.slots * 4
        self._running = asyncio.Semaphore(self.slots)
        self._inside = 0
        self._per_address = Gauge(self.slots)

    def enter(self, address: str) -> bool:
        if self._inside >= self.places or not self._per_address.acquire(address):
            return False
        self._inside += 1
        return True

    def leave(self, address: str) -> None:
        self._inside -= 1
        self._per_address.release(address)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        async with self._running:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


class Sessions:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.by_account = RateLimiter(settings.login_attempts, settings.login_window)
        self.by_address = RateLimiter(settings.login_address_attempts, settings.login_window)
        self.checks = CheckGate(settings.login_hash_slots)
        self._limits_logged = RateLimiter(1, settings.login_window)

    async def login(self, email: str, password: str, ip: str) -> tuple[str, Session]:
        """Check the password; return a new cookie value and its session.

        An unknown e-mail, a disabled account and a wrong password all raise the
        same :class:`LoginRefused` after the same amount of work.
        """
        email = accounts.normalise_email(email)[:320]
        address = address_key(ip)
        account = f"{email} {address}"
        # Counted before the check, given back on success (and when not checked):
        # only failures count, so a team behind one address can still sign in.
        for limiter, key in ((self.by_account, account), (self.by_address, address)):
            wait = limiter.hit(key)
            if wait:
                if limiter is self.by_address:
                    self.by_account.undo(account)
                if not self._limits_logged.hit(key):
                    log.warning("sign-in attempts limited for %s", address if
                                limiter is self.by_address else f"one e-mail from {address}")
                raise LoginRefused(retry_after=wait)
        if not self.checks.enter(address):
            self.by_account.undo(account)
            self.by_address.undo(address)
            raise LoginRefused(retry_after=1.0, busy=True)
        try:
            found = await self.db.read(partial(accounts.find_agent, email=email))
            encoded = found[1] if found else accounts.dummy_hash()
            ok = await self.checks.run(accounts.verify_password, password[:1024], encoded)
        finally:
            self.checks.leave(address)
        if not ok or found is None or found[0].disabled:
            log.info("failed sign-in from %s", address)
            raise LoginRefused()
        agent = found[0]
        self.by_account.forget(account)
        self.by_address.undo(address)
        cookie = secrets.token_urlsafe(32)
        session = Session(agent, secrets.token_urlsafe(24),
                          iso(now() + timedelta(seconds=self.settings.session_ttl)))
        await self.db.write(partial(_insert_session, id_hash=_digest(cookie), session=session))
        return cookie, session

    async def get(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 100:
            return None
        return await self.db.read(partial(_find_session, id_hash=_digest(cookie), at=now_iso()))

    async def valid(self, cookies: set[str]) -> set[str]:
        """Those of ``cookies`` whose session is still valid (not ended, not expired, the
        account not disabled)."""
        digests = {_digest(c): c for c in cookies if c and len(c) <= 100}
        if not digests:
            return set()
        found = await self.db.read(partial(_valid_hashes, hashes=list(digests), at=now_iso()))
        return {digests[h] for h in found}

    async def logout(self, cookie: str) -> None:
        await self.db.write(
            lambda conn: conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_digest(cookie),))
        )


def _insert_session(conn: sqlite3.Connection, id_hash: str, session: Session) -> None:
    conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now_iso(),))
    conn.execute(
        "INSERT INTO sessions (id_hash, agent_id, csrf_token, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (id_hash, session.agent.id, session.csrf_token, now_iso(), session.expires_at),
    )


def _valid_hashes(conn: sqlite3.Connection, hashes: list[str], at: str) -> set[str]:
    marks = ", ".join("?" for _ in hashes)
    rows = conn.execute(
        f"SELECT s.id_hash FROM sessions s JOIN agents a ON a.id = s.agent_id "
        f"WHERE s.id_hash IN ({marks}) AND s.expires_at > ? AND a.disabled = 0",
        (*hashes, at),
    ).fetchall()
    return {row[0] for row in rows}


def _find_session(conn: sqlite3.Connection, id_hash: str, at: str) -> Session | None:
    row = conn.execute(
        "SELECT s.csrf_token, s.expires_at, a.* FROM sessions s JOIN agents a ON a.id = s.agent_id "
        "WHERE s.id_hash = ? AND s.expires_at > ? AND a.disabled = 0",
        (id_hash, at),
    ).fetchone()
    if row is None:
        return None
    return Session(Agent.from_row(row), row["csrf_token"], row["expires_at"])
