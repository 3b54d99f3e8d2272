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

A browser an agent signed in from gets a device cookie (``supportbot_device``:
256 random bits, the database keeps their SHA-256 with the agent). A sign-in for
that agent's e-mail with it is not subject to the limits for strangers and has a
password check of its own, so a burst of wrong sign-ins from anywhere cannot keep
the team out. A device cookie sent with ``DEVICE_FAILURES`` wrong passwords is
forgotten, so a stolen one gives a handful of guesses at most.
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
DEVICE_COOKIE = "supportbot_device"
DEVICE_TTL = 90 * 24 * 3600.0  # a device not used for this long is a stranger again
DEVICE_FAILURES = 3


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
        self.known = asyncio.Semaphore(1)  # the password checks of known devices
        self._limits_logged = RateLimiter(1, settings.login_window)

    async def login(self, email: str, password: str, ip: str, device: str | None = None
                    ) -> tuple[str, Session, str]:
        """Check the password; return a new session cookie, its session and the
        browser's (new) device cookie.

        An unknown e-mail, a disabled account and a wrong password all raise the
        same :class:`LoginRefused` after the same amount of work.
        """
        email = accounts.normalise_email(email)[:320]
        if device and len(device) <= 100:
            known = await self.db.read(partial(_known_device, id_hash=_digest(device),
                                               email=email, since=_device_since()))
            if known is not None:
                return await self._login_known(known, device, password)
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
        return await self._open_session(agent, None)  # a device cookie of another agent stays

    async def _login_known(self, agent: Agent, device: str, password: str
                           ) -> tuple[str, Session, str]:
        """A sign-in from a browser this agent used before: its own check, no queue."""
        encoded = await self.db.read(partial(_password_hash, agent_id=agent.id))
        async with self.known:
            ok = await asyncio.get_running_loop().run_in_executor(
                None, accounts.verify_password, password[:1024], encoded)
        if not ok:
            await self.db.write(partial(_device_failed, id_hash=_digest(device)))
            log.info("failed sign-in from a known device of agent %d", agent.id)
            raise LoginRefused()
        return await self._open_session(agent, device)

    async def _open_session(self, agent: Agent, device: str | None) -> tuple[str, Session, str]:
        cookie = secrets.token_urlsafe(32)
        new_device = secrets.token_urlsafe(32)  # a fresh one each time: the old one ends
        session = Session(agent, secrets.token_urlsafe(24),
                          iso(now() + timedelta(seconds=self.settings.session_ttl)))
        await self.db.write(partial(
            _insert_session, id_hash=_digest(cookie), session=session,
            device=(_digest(new_device), _digest(device) if device else None)))
        return cookie, session, new_device

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


def _device_since() -> str:
    return iso(now() - timedelta(seconds=DEVICE_TTL))


def _insert_session(conn: sqlite3.Connection, id_hash: str, session: Session,
                    device: tuple[str, str | None]) -> None:
    at = now_iso()
    conn.execute("DELETE FROM sessions WHERE expires_at < ?", (at,))
    conn.execute(
        "INSERT INTO sessions (id_hash, agent_id, csrf_token, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (id_hash, session.agent.id, session.csrf_token, at, session.expires_at),
    )
    new, old = device
    if old is not None:
        conn.execute("DELETE FROM devices WHERE id_hash = ?", (old,))
    conn.execute("DELETE FROM devices WHERE last_used_at < ?", (_device_since(),))
    conn.execute("INSERT INTO devices (id_hash, agent_id, failures, created_at, last_used_at) "
                 "VALUES (?, ?, 0, ?, ?)", (new, session.agent.id, at, at))


def _known_device(conn: sqlite3.Connection, id_hash: str, email: str, since: str
                  ) -> Agent | None:
    """The agent whose device cookie this is, if it is that e-mail's, recent, and the
    account is enabled."""
    row = conn.execute(
        "SELECT a.* FROM devices d JOIN agents a ON a.id = d.agent_id WHERE d.id_hash = ? "
        "AND a.email = ? AND a.disabled = 0 AND d.last_used_at >= ?",
        (id_hash, email, since),
    ).fetchone()
    return Agent.from_row(row) if row else None


def _password_hash(conn: sqlite3.Connection, agent_id: int) -> str:
    row = conn.execute("SELECT password_hash FROM agents WHERE id = ?", (agent_id,)).fetchone()
    return str(row[0]) if row else accounts.dummy_hash()


def _device_failed(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("UPDATE devices SET failures = failures + 1 WHERE id_hash = ?", (id_hash,))
    conn.execute("DELETE FROM devices WHERE id_hash = ? AND failures >= ?",
                 (id_hash, DEVICE_FAILURES))


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
