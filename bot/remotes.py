"""Who the client is: its address and scheme, also behind a reverse proxy.

Behind a proxy every request comes from the proxy's address and over its
scheme. With ``--trusted-proxy`` (``SUPPORTBOT_TRUSTED_PROXIES``) the
middleware takes the client's address from ``Forwarded`` (RFC 7239) or else
``X-Forwarded-For``, and the scheme from the same ``Forwarded`` element or
``X-Forwarded-Proto``, but only when the direct peer is a trusted proxy: the
chain is walked from the right past trusted proxies, and the first address not
trusted is the client. From any other peer these headers are ignored. Handlers
then read ``request.remote`` and ``request.scheme``; socket.io connections see
the same, since python-engineio hands the aiohttp request over in the environ
(``aiohttp.request``).

aiohttp-remotes does this too, but its strict middlewares answer 400 to any
request that did not come through the proxy (a health check on the host, a
test client) and its relaxed ones believe whoever sends the headers; this
middleware keeps serving direct requests, as themselves.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import hdrs, web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` -> networks; ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {value!r}") from None
    return tuple(networks)


def parse_address(text: str | None) -> Address | None:
    """An address as proxies write it: ``192.0.2.1``, ``192.0.2.1:443``, ``[2001:db8::1]:80``,
    ``"[2001:db8::1]"``; None for ``unknown``, obfuscated names and anything else."""
    if not text:
        return None
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def address_key(remote: str | None) -> str:
    """The key a client address is limited under: the address itself, or for IPv6 its
    /64 network (one subscriber's share, which they can fill with addresses at will)."""
    address = parse_address(remote)
    if address is None:
        return remote or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(environ: Mapping[str, Any]) -> str:
    """The client address of a socket.io connection (engine.io's own REMOTE_ADDR is a constant)."""
    request = environ.get("aiohttp.request")
    return (request.remote if request is not None else None) or environ.get("REMOTE_ADDR") or ""


def client_scheme(environ: Mapping[str, Any]) -> str:
    """The scheme a socket.io connection came over (engine.io believes X-Forwarded-Proto
    from anyone; the request's own scheme is only set from trusted proxies)."""
    request = environ.get("aiohttp.request")
    if request is not None:
        return str(request.scheme)
    return str(environ.get("wsgi.url_scheme", "http"))


class Remotes:
    """The trusted proxies, and the client behind them."""

    def __init__(self, trusted: Iterable[str]) -> None:
        self.networks = parse_networks(trusted)
        self._warned = False

    def trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def _hops(self, request: web.Request) -> list[tuple[str | None, str | None]]:
        """(address, scheme) written by each proxy, nearest the client first."""
        forwarded = request.forwarded
        if forwarded:
            return [(element.get("for"), element.get("proto")) for element in forwarded]
        chain = [
            part
            for value in request.headers.getall(hdrs.X_FORWARDED_FOR, ())
            for part in value.split(",")
        ]
        protos = [
            part.strip().lower()
            for value in request.headers.getall(hdrs.X_FORWARDED_PROTO, ())
            for part in value.split(",")
        ]
        if len(protos) == len(chain):
            return list(zip(chain, protos, strict=True))
        # Proxies that overwrite X-Forwarded-Proto leave one value, about the client.
        return [(address, protos[-1] if protos else None) for address in chain]

    def resolve(self, request: web.Request) -> tuple[str, str] | None:
        """The client's (address, scheme), or None when the request is taken as it came."""
        peer = parse_address(request.remote)
        if not self.trusted(peer):
            self._warn_untrusted(request, peer)
            return None
        hops = self._hops(request)
        address, scheme = peer, None
        if not hops:  # the proxy says only how the client came in
            said = request.headers.get(hdrs.X_FORWARDED_PROTO, "").split(",")[-1].strip().lower()
            scheme = said if said in SCHEMES else None
        for written, proto in reversed(hops):
            if not self.trusted(address):
                break
            hop = parse_address(written)
            if hop is None:
                break  # "unknown", a secret name or garbage: the last proxy is the client
            address = hop
            if proto and proto.lower() in SCHEMES:
                scheme = proto.lower()
        if address == peer and scheme is None:
            return None
        return str(address), scheme or request.scheme

    def _warn_untrusted(self, request: web.Request, peer: Address | None) -> None:
        if self._warned or peer is None or not (peer.is_private or peer.is_loopback):
            return
        if hdrs.X_FORWARDED_FOR in request.headers or hdrs.FORWARDED in request.headers:
            self._warned = True
            log.warning(
                "requests come through a proxy at %s that is not trusted: every client looks "
                "the same to the per-address limits; start with --trusted-proxy %s if it is yours",
                peer,
                peer,
            )

    def middleware(self) -> Any:
        @web.middleware
        async def real_client(request: web.Request, handler: Handler) -> web.StreamResponse:
            found = self.resolve(request)
            if found is not None:
                remote, scheme = found
                request = request.clone(remote=remote, scheme=scheme)
            return await handler(request)

        return real_client
