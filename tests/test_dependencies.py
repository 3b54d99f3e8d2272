"""The internals of our dependencies that the code relies on: each check fails loudly
when an upgrade changes them, so the code that leans on them is redone first.

- ``bot/sockets.py`` overrides private methods of python-socketio's server and
  manager (connection limits, refusals with an ack, an index of rooms) and copies
  one (``AsyncManager.basic_disconnect``): both libraries are pinned exactly in
  ``pyproject.toml``.
- ``bot/mood/cues.py`` reads patterns with the standard library's regular-expression
  parser (``re._parser``) to index cue phrases by their first word; without it the
  cues still work, only slower, and this test says so.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parent.parent

# socketio.AsyncManager.basic_disconnect in python-socketio 5.18.1, which
# bot.sockets.RoomIndex.basic_disconnect copies (with the rooms from its index).
BASIC_DISCONNECT_SHA256 = "2933b50bc4b2ea7b4367a84e05c2e22c52fed98b00afc3b88d06d61ab9fb9aa1"


def pins() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    out = {}
    for requirement in data["project"]["dependencies"]:
        name, _, pinned = requirement.partition("==")
        if pinned:
            out[name.strip()] = pinned.strip()
    return out


def test_the_socket_libraries_are_the_pinned_versions() -> None:
    pinned = pins()
    assert set(pinned) == {"python-socketio", "python-engineio"}, pinned
    for name, wanted in pinned.items():
        assert version(name) == wanted, f"{name} {version(name)} installed, {wanted} pinned"


def test_the_private_methods_we_override_are_as_we_know_them() -> None:
    expected = {
        (socketio.AsyncServer, "_handle_eio_connect"): "(self, eio_sid, environ)",
        (socketio.AsyncServer, "_handle_connect"): "(self, eio_sid, namespace, data)",
        (socketio.AsyncServer, "_handle_eio_disconnect"): "(self, eio_sid, reason)",
        (socketio.AsyncServer, "_handle_event"): "(self, eio_sid, namespace, id, data)",
        (
            socketio.AsyncServer,
            "_handle_event_internal",
        ): "(self, server, sid, eio_sid, data, namespace, id)",
        (socketio.AsyncManager, "basic_enter_room"): "(self, sid, namespace, room, eio_sid=None)",
        (socketio.AsyncManager, "basic_leave_room"): "(self, sid, namespace, room)",
        (socketio.AsyncManager, "get_rooms"): "(self, sid, namespace)",
        # bot/cluster/rooms.py: publishing coalesced into pipelines
        (socketio.AsyncRedisManager, "_publish"): "(self, data)",
        (socketio.AsyncRedisManager, "_redis_connect"): "(self)",
    }
    for (cls, name), signature in expected.items():
        assert str(inspect.signature(getattr(cls, name))) == signature, (cls.__name__, name)
    copied = inspect.getsource(socketio.AsyncManager.basic_disconnect)
    assert hashlib.sha256(copied.encode()).hexdigest() == BASIC_DISCONNECT_SHA256, (
        "python-socketio's basic_disconnect changed: redo RoomIndex.basic_disconnect"
    )
    assert "json" in vars(socketio.packet.Packet), "bot.sockets.Packet replaces Packet.json"


def test_cue_phrases_are_indexed_by_their_first_word() -> None:
    from bot.mood import cues

    assert cues.first_words(r"(?:where|when) is my order") == frozenset(
        {("where", True), ("when", True)}
    )
    assert hasattr(re, "_parser"), "re._parser is gone: bot/mood/cues.py searches every pattern"
