"""Floods from the open internet: limits per conversation and per client address.

Real python-socketio clients against the real server, many at once where the
attack uses many connections. Different client addresses come through the
server's trusted-proxy handling (127.0.0.1 trusted, the address in
X-Forwarded-For).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio

from bot.app import SIO
from bot.ratelimit import RateLimiter

from conftest import Client, LiveServer, ServerFactory, until

Connect = Callable[..., Awaitable[Client]]


async def resume(
    connect: Connect, server: LiveServer, token: str, address: str | None = None
) -> Client:
    client = await connect(
        "/chat", url=server.url, headers={"X-Forwarded-For": address} if address else None
    )
    ack = await client.call("start", {"token": token})
    assert ack["ok"], ack
    return client


async def shopper_at(connect: Connect, server: LiveServer, address: str) -> Client:
    client = await connect("/chat", url=server.url, headers={"X-Forwarded-For": address})
    ack = await client.call("start", {})
    assert ack["ok"], ack
    client.start = ack  # type: ignore[attr-defined]
    return client


def refused(ack: Any, code: str = "rate_limited") -> bool:
    return ack["ok"] is False and ack["error"]["code"] == code


async def count(server: LiveServer, sql: str, *params: Any) -> int:
    return int((await server.query(sql, *params))[0]["n"])


async def test_reconnecting_does_not_reset_a_conversations_message_limit(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(rate_limit_messages=5, rate_limit_window=30.0)
    first = await connect("/chat", url=server.url)
    token = (await first.call("start", {}))["token"]
    for i in range(5):
        assert (await first.call("message", {"id": f"a{i}", "text": "hello"}))["ok"]
    assert refused(await first.call("message", {"id": "a5", "text": "hello"}))
    for n in range(5):  # reconnect with the resume token, again and again
        await first.close()
        first = await resume(connect, server, token)
        assert refused(await first.call("message", {"id": f"b{n}", "text": "hello"}))
    assert await count(server, "SELECT count(*) AS n FROM messages WHERE author = 'shopper'") == 5


async def test_parallel_connections_share_one_conversations_limit(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(rate_limit_messages=10, rate_limit_window=30.0)
    owner = await connect("/chat", url=server.url)
    start = await owner.call("start", {})
    clients = [owner] + list(
        await asyncio.gather(*(resume(connect, server, start["token"]) for _ in range(19)))
    )

    async def flood(n: int, client: Client) -> list[Any]:
        return [
            await client.call("message", {"id": f"c{n}-{i}", "text": "spam"}) for i in range(10)
        ]

    acks = [
        a
        for batch in await asyncio.gather(*(flood(n, c) for n, c in enumerate(clients)))
        for a in batch
    ]
    assert sum(a["ok"] for a in acks) == 10
    assert all(a["ok"] or refused(a) for a in acks)
    assert (
        await count(
            server,
            "SELECT count(*) AS n FROM messages WHERE author = 'shopper' AND conversation_id = ?",
            start["conversation"]["id"],
        )
        == 10
    )


async def test_new_conversations_are_limited_per_address(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), address_conversations=5)
    client = await connect("/chat", url=server.url, headers={"X-Forwarded-For": "203.0.113.7"})
    tokens = []
    for _ in range(5):
        ack = await client.call("start", {})
        assert ack["ok"], ack
        tokens.append(ack["token"])
    ack = await client.call("start", {})
    assert refused(ack) and ack["error"]["retry_after"] > 0
    # more connections from the same address do not help
    other = await connect("/chat", url=server.url, headers={"X-Forwarded-For": "203.0.113.7"})
    assert refused(await other.call("start", {}))
    # resuming is not a new conversation; another address is not limited
    assert (await other.call("start", {"token": tokens[0]}))["ok"]
    await shopper_at(connect, server, "203.0.113.8")
    assert await count(server, "SELECT count(*) AS n FROM conversations") == 6


async def test_queueing_fake_chats_is_limited_per_address(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), address_handoffs=3)
    shoppers = await asyncio.gather(*(shopper_at(connect, server, "203.0.113.9") for _ in range(8)))
    acks = await asyncio.gather(*(s.call("handoff", {}) for s in shoppers))
    assert sum(a["ok"] for a in acks) == 3
    assert all(a["ok"] or refused(a) for a in acks)
    assert (
        await count(server, "SELECT count(*) AS n FROM conversations WHERE status = 'queued'") == 3
    )
    elsewhere = await shopper_at(connect, server, "203.0.113.10")
    assert (await elsewhere.call("handoff", {}))["ok"]


async def test_handoffs_are_limited_per_conversation(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(rate_limit_handoffs=2, rate_limit_window=30.0)
    client = await connect("/chat", url=server.url)
    assert (await client.call("start", {}))["ok"]
    acks = [await client.call("handoff", {}) for _ in range(4)]
    assert [a["ok"] for a in acks] == [True, True, False, False]
    assert refused(acks[2])


async def test_messages_are_limited_per_address(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), address_messages=12)
    shoppers = [await shopper_at(connect, server, "203.0.113.11") for _ in range(4)]
    acks = [
        await s.call("message", {"id": f"m{n}-{i}", "text": "hello"})
        for i in range(4)
        for n, s in enumerate(shoppers)
    ]
    assert sum(a["ok"] for a in acks) == 12 and all(a["ok"] or refused(a) for a in acks)
    elsewhere = await shopper_at(connect, server, "203.0.113.12")
    assert (await elsewhere.call("message", {"id": "x", "text": "hello"}))["ok"]


async def test_leave_message_is_refused_on_a_closed_conversation(
    server: LiveServer, shopper
) -> None:
    client = await shopper()
    assert (await client.call("end", {}))["ok"]
    ack = await client.call("leave_message", {"email": "a@b.example", "text": "call me"})
    assert refused(ack, "conversation_closed")
    assert await count(server, "SELECT count(*) AS n FROM tickets") == 0


async def test_a_ticket_flood_leaves_one_ticket_per_conversation(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), address_tickets=3)
    first = await shopper_at(connect, server, "203.0.113.13")
    tabs = [first] + [
        await resume(connect, server, first.start["token"], "203.0.113.13") for _ in range(4)
    ]
    acks = await asyncio.gather(
        *(
            tab.call("leave_message", {"email": "flood@spam.example", "text": f"ticket {n}-{i}"})
            for n, tab in enumerate(tabs)
            for i in range(5)
        )
    )
    assert sum(a["ok"] for a in acks) == 1
    assert all(a["ok"] or refused(a, "conflict") or refused(a, "conversation_closed") for a in acks)
    # one address, many conversations: the address's allowance
    others = [await shopper_at(connect, server, "203.0.113.13") for _ in range(5)]
    acks = await asyncio.gather(
        *(s.call("leave_message", {"email": "flood@spam.example", "text": "more"}) for s in others)
    )
    assert sum(a["ok"] for a in acks) == 2 and sum(refused(a) for a in acks) == 3
    assert await count(server, "SELECT count(*) AS n FROM tickets") == 3
    # a typo in the e-mail does not use the allowance up
    fresh = await shopper_at(connect, server, "203.0.113.14")
    for _ in range(5):
        assert refused(
            await fresh.call("leave_message", {"email": "nope", "text": "x"}), "invalid_email"
        )
    assert (await fresh.call("leave_message", {"email": "ok@shop.example", "text": "x"}))["ok"]


async def refused_connection(server: LiveServer, address: str) -> Any:
    """Connect to /chat; return the connect_error's data (None when connected)."""
    http = aiohttp.ClientSession()
    sio = socketio.AsyncClient(reconnection=False, http_session=http)
    errors: list[Any] = []
    sio.on("connect_error", lambda data=None: errors.append(data), namespace="/chat")
    try:
        await sio.connect(
            server.url,
            namespaces=["/chat"],
            transports=["websocket"],
            headers={"X-Forwarded-For": address},
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        return errors[0] if errors else "refused"
    finally:
        await sio.disconnect()
        await http.close()
    return None


async def test_connections_are_capped_per_address(
    start_server: ServerFactory, connect: Connect
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), address_connections=5)
    held = [
        await connect("/chat", url=server.url, headers={"X-Forwarded-For": "203.0.113.15"})
        for _ in range(5)
    ]
    error = await refused_connection(server, "203.0.113.15")
    assert error == {
        "message": "Too many connections from your address; please try again later.",
        "data": {
            "code": "too_many_connections",
            "message": "Too many connections from your address; please try again later.",
        },
    }
    assert await refused_connection(server, "203.0.113.16") is None  # another address
    await held[0].close()
    # the server counts the connection out once it has seen it go
    await until(lambda: none_refused(server, "203.0.113.15"))


async def none_refused(server: LiveServer, address: str) -> bool:
    return await refused_connection(server, address) is None


async def test_connections_that_never_join_cannot_pile_up(start_server: ServerFactory) -> None:
    """Bare engine.io connections (no namespace) count too; past the limit a few are
    let in to be told and closed, the rest refused at the handshake."""
    server = await start_server(trusted_proxies=("127.0.0.1",), address_connections=20)
    eio = server.app[SIO].eio
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        sockets, refusals = [], 0
        for _ in range(100):
            try:
                ws = await http.ws_connect(url, headers={"X-Forwarded-For": "203.0.113.17"})
            except aiohttp.WSServerHandshakeError as exc:
                assert exc.status == 401
                refusals += 1
                continue
            assert (await ws.receive_str()).startswith("0{")
            sockets.append(ws)
        assert len(eio.sockets) <= 20 + 10
        assert refusals >= 100 - 30
        # the turned-away ones are closed (after TURN_AWAY_AFTER), the others stay
        await until(lambda: len(eio.sockets) == 20)
        for ws in sockets:
            await ws.close()
    await until(lambda: len(eio.sockets) == 0)


@pytest.mark.parametrize("address", ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"])
async def test_ipv6_clients_are_limited_per_64_network(
    start_server: ServerFactory, connect: Connect, address: str
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), address_conversations=2)
    for n in range(2):
        await shopper_at(connect, server, f"2001:db8:1:2::{n + 100}")
    client = await connect("/chat", url=server.url, headers={"X-Forwarded-For": address})
    assert refused(await client.call("start", {}))


def test_the_limiters_memory_follows_the_active_keys() -> None:
    """A flood from many addresses leaves nothing behind once its window has passed,
    and no limit ever holds more than its ``max_keys``."""
    limiter = RateLimiter(3, 60.0, max_keys=5_000)
    for n in range(20_000):  # a minute of 20,000 made-up addresses, a hit each
        assert limiter.hit(f"2001:db8:{n}::/64", now=1000.0 + n * 0.003) == 0
        assert len(limiter) <= 5_000
    assert limiter.hit("203.0.113.1", now=1000.0 + 61 + 60) == 0  # a window later
    assert len(limiter) == 1
    # the window itself: three hits, then a wait until they leave it (buckets of 6 s:
    # the window spans 54 to 60 s)
    for _ in range(3):
        assert limiter.hit("a", now=2000.0) == 0
    wait = limiter.hit("a", now=2030.0)
    assert 24 <= wait <= 30 and limiter.hit("a", now=2030.0 + wait - 0.1) > 0
    assert limiter.hit("a", now=2030.0 + wait) == 0
