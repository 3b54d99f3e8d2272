"""Behind a reverse proxy: the client's address and scheme, believed only from
trusted proxies, the same for HTTP requests and socket.io connections."""

from __future__ import annotations

import logging

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import make_mocked_request
from test_security_login import LoginForm

from bot.remotes import Remotes, address_key

from conftest import PASSWORD, LiveServer, ServerFactory


def resolve(trusted: tuple[str, ...], peer: str, headers: dict[str, str]) -> tuple[str, str]:
    request = make_mocked_request("GET", "/", headers=headers)
    request = request.clone(remote=peer)
    found = Remotes(trusted).resolve(request)
    return found if found is not None else (str(request.remote), request.scheme)


@pytest.mark.parametrize(
    "trusted, peer, headers, expected",
    [
        # from an untrusted peer, the headers mean nothing
        (
            (),
            "203.0.113.1",
            {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"},
            ("203.0.113.1", "http"),
        ),
        (
            ("10.0.0.0/8",),
            "203.0.113.1",
            {"X-Forwarded-For": "198.51.100.1"},
            ("203.0.113.1", "http"),
        ),
        # one trusted proxy
        (
            ("10.0.0.0/8",),
            "10.1.2.3",
            {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"},
            ("198.51.100.1", "https"),
        ),
        # a client's own X-Forwarded-For is the leftmost entry: the proxy appended the real one
        (
            ("10.0.0.0/8",),
            "10.1.2.3",
            {"X-Forwarded-For": "192.0.2.66, 198.51.100.1"},
            ("198.51.100.1", "http"),
        ),
        # two trusted proxies, walked from the right
        (
            ("10.0.0.0/8", "127.0.0.1"),
            "127.0.0.1",
            {
                "X-Forwarded-For": "192.0.2.66, 198.51.100.1, 10.9.9.9",
                "X-Forwarded-Proto": "https, http, http",
            },
            ("198.51.100.1", "http"),
        ),
        (
            ("10.0.0.0/8", "127.0.0.1"),
            "127.0.0.1",
            {"X-Forwarded-For": "198.51.100.1, 10.9.9.9", "X-Forwarded-Proto": "https"},
            ("198.51.100.1", "https"),
        ),
        # ports, brackets, and garbage
        (
            ("127.0.0.1",),
            "127.0.0.1",
            {"X-Forwarded-For": "198.51.100.1:4711"},
            ("198.51.100.1", "http"),
        ),
        (
            ("127.0.0.1",),
            "127.0.0.1",
            {"X-Forwarded-For": "[2001:db8::7]:443"},
            ("2001:db8::7", "http"),
        ),
        (("127.0.0.1",), "127.0.0.1", {"X-Forwarded-For": "not an address"}, ("127.0.0.1", "http")),
        (("127.0.0.1",), "127.0.0.1", {"X-Forwarded-Proto": "gopher"}, ("127.0.0.1", "http")),
        # RFC 7239
        (
            ("127.0.0.1",),
            "127.0.0.1",
            {"Forwarded": 'for="[2001:db8::1]:4711";proto=https'},
            ("2001:db8::1", "https"),
        ),
        (
            ("127.0.0.1",),
            "127.0.0.1",
            {"Forwarded": "for=192.0.2.1, for=198.51.100.3;proto=https"},
            ("198.51.100.3", "https"),
        ),
        (("127.0.0.1",), "127.0.0.1", {"Forwarded": "for=unknown"}, ("127.0.0.1", "http")),
    ],
)
def test_the_client_behind_trusted_proxies(trusted, peer, headers, expected) -> None:
    assert resolve(trusted, peer, headers) == expected


def test_limits_key_ipv6_clients_by_their_64_network() -> None:
    assert address_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_key("::ffff:198.51.100.1") == "198.51.100.1"
    assert address_key("198.51.100.1") == "198.51.100.1"


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    await server.add_agent("ada@shop.example", "Ada")
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        form = await LoginForm.open(server.url, http)
        # a new made-up address each time does not get around the limit
        for n in range(server.settings.login_attempts):
            assert (await form.post("ada@shop.example", "wrong", f"203.0.113.{n + 1}")).checked
        assert (await form.post("ada@shop.example", PASSWORD, "203.0.113.99")).status == 429
    assert "failed sign-in from 127.0.0.1" in caplog.text
    assert "not trusted" in caplog.text  # the operator is told once how to fix it


async def console_connects(server: LiveServer, cookie: str | None, headers: dict[str, str]) -> bool:
    # engine.io's client hands the Cookie header to its session's jar: a real jar here
    async with aiohttp.ClientSession() as http:
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        try:
            await sio.connect(
                server.url,
                namespaces=["/agent"],
                transports=["websocket"],
                headers={"Cookie": f"supportbot_session={cookie}", **headers},
                wait_timeout=5,
            )
        except socketio.exceptions.ConnectionError:
            pass
        connected = sio.connected
        await sio.disconnect()
        return connected


async def test_x_forwarded_proto_is_believed_only_from_a_trusted_proxy(
    start_server: ServerFactory, tmp_path
) -> None:
    """The console is same-origin only: a client may not pass https://HOST for our
    http://HOST origin by sending X-Forwarded-Proto itself."""
    for trusted, accepted in (((), False), (("127.0.0.1",), True)):
        server = await start_server(trusted_proxies=trusted, db=tmp_path / f"{accepted}.db")
        await server.add_agent("ada@shop.example", "Ada")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            cookie = (
                await (await LoginForm.open(server.url, http)).post("ada@shop.example", PASSWORD)
            ).cookie
        host = server.url.removeprefix("http://")
        headers = {"Origin": f"https://{host}", "X-Forwarded-Proto": "https"}
        assert await console_connects(server, cookie, headers) is accepted, trusted
        assert await console_connects(server, cookie, {"Origin": server.url})  # plain http


async def test_socketio_connections_see_the_address_from_the_proxy(
    start_server: ServerFactory, connect
) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",), address_conversations=1)
    for address in ("203.0.113.20", "203.0.113.21"):
        client = await connect("/chat", url=server.url, headers={"X-Forwarded-For": address})
        assert (await client.call("start", {}))["ok"]
        again = await client.call("start", {})
        assert again["ok"] is False and again["error"]["code"] == "rate_limited"
