"""Which web origins may talk to us.

Widget connections (socket.io ``/chat``) are accepted from the configured shop
origins (``--allowed-origin``) and from the server's own origin (the demo page).
The agent console is same-origin only. Never ``"*"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.remotes import client_scheme


def normalise_origin(origin: str) -> str:
    """``HTTPS://Shop.Example:443/`` -> ``https://shop.example``; raises ValueError."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) origin: {origin!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"an origin has no path: {origin!r}")
    host = parts.hostname.lower()
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def own_origin(environ: Mapping[str, Any]) -> str | None:
    host = environ.get("HTTP_HOST")
    if not host:
        return None
    # X-Forwarded-Proto counts only from a trusted proxy (bot.remotes), never as sent.
    scheme = client_scheme(environ)
    try:
        return normalise_origin(f"{scheme}://{host}")
    except ValueError:
        return None


class OriginPolicy:
    """Callable for python-engineio's ``cors_allowed_origins``."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = frozenset(normalise_origin(o) for o in allowed)

    def __call__(self, origin: str | None, environ: Mapping[str, Any] | None = None) -> bool:
        if not origin:
            return True  # not a browser (server-side clients send no Origin)
        try:
            origin = normalise_origin(origin)
        except ValueError:
            return False
        if origin in self.allowed:
            return True
        return environ is not None and origin == own_origin(environ)

    def same_origin(self, environ: Mapping[str, Any]) -> bool:
        """For the agent namespace: a browser must be on our own origin."""
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            return True
        try:
            return normalise_origin(origin) == own_origin(environ)
        except ValueError:
            return False
