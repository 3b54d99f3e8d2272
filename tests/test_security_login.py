"""Sign-in under attack: concurrent guesses, CPU floods, shared office addresses.

Every attack is sent to the real server over HTTP, through the real login form,
concurrently where the attack is concurrent. Different client addresses come
through the server's own trusted-proxy handling (127.0.0.1 trusted, the address
in X-Forwarded-For).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from dataclasses import dataclass

import aiohttp
import pytest

from bot import passwords

from conftest import PASSWORD, ServerFactory

# Sign-in under load: accounts hashed at the real scrypt work factor.
REAL_PASSWORD_COST = True

OFFICE = "198.51.100.20"


@dataclass
class Attempt:
    status: int
    location: str
    retry_after: str | None
    cookie: str | None
    seconds: float

    @property
    def checked(self) -> bool:
        """The password was checked (and was wrong): the form's plain refusal."""
        return self.status == 303 and self.location.startswith("/login?error=1")


class LoginForm:
    """One browser's sign-in form: its CSRF token, posted as often as needed."""

    def __init__(self, url: str, http: aiohttp.ClientSession, token: str, cookie: str) -> None:
        self.url, self.http, self.token, self.cookie = url, http, token, cookie

    @classmethod
    async def open(cls, url: str, http: aiohttp.ClientSession) -> LoginForm:
        async with http.get(f"{url}/login") as response:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
            assert token
            return cls(url, http, token.group(1), response.cookies["supportbot_login"].value)

    async def post(self, email: str, password: str, address: str | None = None) -> Attempt:
        headers = {"Cookie": f"supportbot_login={self.cookie}"}
        if address:
            headers["X-Forwarded-For"] = address
        started = time.perf_counter()
        async with self.http.post(
            f"{self.url}/login",
            allow_redirects=False,
            headers=headers,
            data={
                "email": email,
                "password": password,
                "csrf_token": self.token,
                "next": "/console",
            },
        ) as r:
            await r.read()
            cookie = r.cookies.get("supportbot_session")
            return Attempt(
                r.status,
                r.headers.get("Location", ""),
                r.headers.get("Retry-After"),
                cookie.value if cookie else None,
                time.perf_counter() - started,
            )


async def test_passwords_are_stored_at_the_full_scrypt_work_factor(
    start_server: ServerFactory,
) -> None:
    """The factor the rest of the suite lowers for speed: 2**15, r=8, p=1, a salt of
    16 bytes, for accounts and for the hash checked when the e-mail is unknown."""
    server = await start_server()
    account = await server.add_agent("ada@shop.example", "Ada")
    stored = await server.db.read(
        lambda c: c.execute(
            "SELECT password_hash FROM agents WHERE id = ?", (account.id,)
        ).fetchone()[0]
    )
    for encoded in (stored, passwords.dummy_hash()):
        scheme, n, r, p, salt, digest = encoded.split("$")
        assert (scheme, n, r, p) == ("scrypt", "32768", "8", "1")
        assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert passwords.verify_password(PASSWORD, stored)
    assert not passwords.verify_password(PASSWORD + "!", stored)


async def test_guesses_sent_together_cannot_slip_past_the_limit(
    start_server: ServerFactory, http
) -> None:
    # Room for every guess to be checked at once: only the limit may stop them.
    server = await start_server(login_hash_slots=64)
    await server.add_agent("ada@shop.example", "Ada")
    form = await LoginForm.open(server.url, http)
    attempts = await asyncio.gather(
        *(form.post("ada@shop.example", f"guess {i}") for i in range(59))
    )
    # counted before the password check: no more checked than the limit, the rest refused
    checked = sum(a.checked for a in attempts)
    assert 1 <= checked <= server.settings.login_attempts
    assert all(a.checked or (a.status == 429 and a.retry_after) for a in attempts)
    # guessing on, one at a time: five checked guesses in all, then the limit holds
    for _ in range(10):
        if checked == server.settings.login_attempts:
            break
        attempt = await form.post("ada@shop.example", "one more guess")
        assert attempt.checked, attempt
        checked += 1
    assert checked == server.settings.login_attempts
    right = await form.post("ada@shop.example", PASSWORD)
    assert right.status == 429 and right.cookie is None and int(right.retry_after or 0) > 0


async def test_a_flood_of_checks_is_turned_away_at_once(start_server: ServerFactory, http) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), login_hash_slots=1)
    form = await LoginForm.open(server.url, http)
    started = time.perf_counter()
    attempts = await asyncio.gather(
        *(form.post(f"user{i}@shop.example", "guess", f"203.0.113.{i + 1}") for i in range(60))
    )
    busy = [a for a in attempts if a.status == 429]
    # one check at once and three waiting: most of the 60 are told to come back
    assert len(busy) >= 50 and all(a.retry_after == "1" for a in busy)
    assert max(a.seconds for a in busy) < time.perf_counter() - started
    assert sum(a.checked for a in attempts) == 60 - len(busy)
    # turned away at once: none of them waited for a password check
    checks = sorted(a.seconds for a in attempts if a.checked)
    assert min(a.seconds for a in busy) < checks[-1]
    async with http.post(
        f"{server.url}/login",
        allow_redirects=False,
        data={"email": "x@shop.example", "password": "y", "csrf_token": form.token},
        headers={"Cookie": f"supportbot_login={form.cookie}"},
    ) as r:
        assert r.status in (303, 429)


async def test_a_legitimate_agent_signs_in_during_a_burst(
    start_server: ServerFactory, http
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",))
    await server.add_agent("boss@shop.example", "Boss", role="manager")
    attacker = await LoginForm.open(server.url, http)
    burst = [
        asyncio.create_task(attacker.post(f"guess{i}@shop.example", "wrong", "203.0.113.66"))
        for i in range(150)
    ]
    await asyncio.sleep(0.05)
    boss = await (await LoginForm.open(server.url, http)).post(
        "boss@shop.example", PASSWORD, OFFICE
    )
    attempts = await asyncio.gather(*burst)
    assert boss.cookie, boss  # how fast: tests/benchmarks/bench_login.py
    # the burst from one address got a few checks, the rest were refused unchecked
    assert sum(a.checked for a in attempts) <= server.settings.login_address_attempts
    assert all(a.checked or a.status == 429 for a in attempts)


async def test_failures_are_counted_per_email_and_address(
    start_server: ServerFactory, http
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",))
    await server.add_agent("ada@shop.example", "Ada")
    await server.add_agent("bob@shop.example", "Bob")
    form = await LoginForm.open(server.url, http)
    for _ in range(server.settings.login_attempts):
        assert (await form.post("ada@shop.example", "wrong", OFFICE)).checked
    assert (await form.post("ada@shop.example", PASSWORD, OFFICE)).status == 429
    # a colleague at the same office address is not locked out ...
    assert (await form.post("bob@shop.example", PASSWORD, OFFICE)).cookie
    # ... nor is Ada herself from elsewhere (her phone)
    assert (await form.post("ada@shop.example", PASSWORD, "192.0.2.44")).cookie


@pytest.mark.cheap_passwords  # 51 sign-ins counted, not timed
async def test_spraying_from_an_office_address_does_not_lock_the_office_out(
    start_server: ServerFactory, http
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",))
    await server.add_agent("bob@shop.example", "Bob")
    form = await LoginForm.open(server.url, http)
    for i in range(30):  # one wrong password each for 30 made-up e-mails
        assert (await form.post(f"someone{i}@shop.example", "wrong", OFFICE)).checked
    assert (await form.post("bob@shop.example", PASSWORD, OFFICE)).cookie
    # the looser limit per address still ends the spraying
    settings = server.settings
    for i in range(30, settings.login_address_attempts):
        await form.post(f"someone{i}@shop.example", "wrong", OFFICE)
    refused = await form.post("someone-else@shop.example", "wrong", OFFICE)
    assert refused.status == 429 and refused.retry_after


async def test_successful_sign_ins_from_one_address_are_not_limited(
    start_server: ServerFactory, http
) -> None:
    server = await start_server(login_address_attempts=3)
    await server.add_agent("ada@shop.example", "Ada")
    form = await LoginForm.open(server.url, http)
    for _ in range(8):
        assert (await form.post("ada@shop.example", PASSWORD)).cookie
