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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

from bot import passwords
from bot.ratelimit import Counters, Gauge, MemoryCounters, RateLimiter, Rule
from bot.remotes import address_key
from bot.settings import Settings
from bot.store import Database, accounts
from bot.store import sessions as store
from bot.store.accounts import Agent
from bot.store.clock import iso, now, now_iso

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
    def __init__(self, settings: Settings, db: Database, counters: Counters | None = None) -> None:
        self.settings = settings
        self.db = db
        # Counted where every process of a deployment sees them (Redis with --redis).
        self.counters: Counters = counters or MemoryCounters()
        self.by_account = Rule("login_account", settings.login_attempts, settings.login_window)
        self.by_address = Rule(
            "login_address", settings.login_address_attempts, settings.login_window
        )
        self.checks = CheckGate(settings.login_hash_slots)
        self.known = asyncio.Semaphore(1)  # the password checks of known devices
        self._limits_logged = RateLimiter(1, settings.login_window)

    async def login(
        self, email: str, password: str, ip: str, device: str | None = None
    ) -> tuple[str, Session, str]:
        """Check the password; return a new session cookie, its session and the
        browser's (new) device cookie.

        An unknown e-mail, a disabled account and a wrong password all raise the
        same :class:`LoginRefused` after the same amount of work.
        """
        email = accounts.normalise_email(email)[:320]
        if device and len(device) <= 100:
            known = await self.db.read(
                partial(
                    store.known_device, id_hash=_digest(device), email=email, since=_device_since()
                )
            )
            if known is not None:
                return await self._login_known(known, device, password)
        address = address_key(ip)
        account = f"{email} {address}"
        # Counted before the check, given back on success (and when not checked):
        # only failures count, so a team behind one address can still sign in.
        for rule, key in ((self.by_account, account), (self.by_address, address)):
            wait = await self.counters.hit(rule, key)
            if wait:
                if rule is self.by_address:
                    await self.counters.undo(self.by_account, account)
                if not self._limits_logged.hit(key):
                    log.warning(
                        "sign-in attempts limited for %s",
                        address if rule is self.by_address else f"one e-mail from {address}",
                    )
                raise LoginRefused(retry_after=wait)
        if not self.checks.enter(address):
            await self.counters.undo(self.by_account, account)
            await self.counters.undo(self.by_address, address)
            raise LoginRefused(retry_after=1.0, busy=True)
        try:
            found = await self.db.read(partial(accounts.find_agent, email=email))
            encoded = found[1] if found else passwords.dummy_hash()
            ok = await self.checks.run(passwords.verify_password, password[:1024], encoded)
        finally:
            self.checks.leave(address)
        if not ok or found is None or found[0].disabled:
            log.info("failed sign-in from %s", address)
            raise LoginRefused()
        agent = found[0]
        await self.counters.forget(self.by_account, account)
        await self.counters.undo(self.by_address, address)
        return await self._open_session(agent, None)  # a device cookie of another agent stays

    async def _login_known(
        self, agent: Agent, device: str, password: str
    ) -> tuple[str, Session, str]:
        """A sign-in from a browser this agent used before: its own check, no queue."""
        encoded = await self.db.read(partial(store.password_hash, agent_id=agent.id))
        async with self.known:
            ok = await asyncio.get_running_loop().run_in_executor(
                None, passwords.verify_password, password[:1024], encoded
            )
        if not ok:
            await self.db.write(
                partial(store.device_failed, id_hash=_digest(device), limit=DEVICE_FAILURES)
            )
            log.info("failed sign-in from a known device of agent %d", agent.id)
            raise LoginRefused()
        return await self._open_session(agent, device)

    async def _open_session(self, agent: Agent, device: str | None) -> tuple[str, Session, str]:
        cookie = secrets.token_urlsafe(32)
        new_device = secrets.token_urlsafe(32)  # a fresh one each time: the old one ends
        session = Session(
            agent,
            secrets.token_urlsafe(24),
            iso(now() + timedelta(seconds=self.settings.session_ttl)),
        )
        await self.db.write(
            partial(
                store.insert_session,
                id_hash=_digest(cookie),
                agent_id=agent.id,
                csrf_token=session.csrf_token,
                expires_at=session.expires_at,
                device=(_digest(new_device), _digest(device) if device else None),
                devices_since=_device_since(),
            )
        )
        return cookie, session, new_device

    async def get(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 100:
            return None
        found = await self.db.read(
            partial(store.find_session, id_hash=_digest(cookie), at=now_iso())
        )
        return Session(*found) if found else None

    async def valid(self, cookies: set[str]) -> set[str]:
        """Those of ``cookies`` whose session is still valid (not ended, not expired, the
        account not disabled)."""
        digests = {_digest(c): c for c in cookies if c and len(c) <= 100}
        if not digests:
            return set()
        found = await self.db.read(partial(store.valid_hashes, hashes=list(digests), at=now_iso()))
        return {digests[h] for h in found}

    async def logout(self, cookie: str) -> None:
        await self.db.write(partial(store.delete_session, id_hash=_digest(cookie)))


def _device_since() -> str:
    return iso(now() - timedelta(seconds=DEVICE_TTL))
