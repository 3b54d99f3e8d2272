"""The baseline of the load benchmark: a bare python-socketio echo server on aiohttp.

    .venv/bin/python tests/benchmarks/load_echo.py --port 8099 [--allowed-origin URL]
        [--redis redis://127.0.0.1:6379/0]

The framework's own limit, with nothing of ours in it: the same ``AsyncServer``
(``async_mode="aiohttp"``, the same heartbeat settings as ``supportbot serve``),
one namespace ``/chat``, one event. ``echo`` acknowledges its payload (``{"ok": true, "echo": payload}``, the shape of our acks) and emits it
back to the caller as a ``reply`` event, right after the ack: the shape of a
shopper turn (the ack, then the bot's ``message`` event) without the bot, the
database or the rooms.
``GET /healthz`` answers 200 so that the benchmark can wait for the server to start.
With ``--redis``, python-socketio's ``AsyncRedisManager`` is the client manager, as
in ``supportbot serve --redis``: the baseline of several processes (``load_scale.py``).

With ``--durable DB``, the echo is also made durable before it is acknowledged, as a
shopper's message is: our own database writer (``bot.store.db.Database``: one writer
thread, SQLite in WAL mode, the commit before the ack) stores the message and its echo
as two rows of a one-table schema (with the unique index that makes a resent message
a duplicate). Nothing else of ours runs: no judgement, no events, no conversation
state. It tells how much of a turn's CPU the rule "no ack before the commit" costs by
itself (``load.py --durable-echo``).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sqlite3
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, "
    "client_id TEXT, author TEXT NOT NULL, text TEXT NOT NULL, created_at REAL NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_client_id ON messages "
    "(conversation_id, client_id)",
)


def _migrate(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


def _store_turn(conn: sqlite3.Connection, sid: str, client_id: str | None, text: str) -> None:
    """The message and its echo, as a turn stores a message and the bot's reply (a
    message sent again with the same id stores nothing)."""
    now = time.time()
    stored = conn.execute(
        "INSERT OR IGNORE INTO messages (conversation_id, client_id, author, text, created_at) "
        "VALUES (?, ?, 'shopper', ?, ?)",
        (sid, client_id, text, now),
    )
    if not stored.rowcount:
        return
    conn.execute(
        "INSERT INTO messages (conversation_id, client_id, author, text, created_at) "
        "VALUES (?, NULL, 'bot', ?, ?)",
        (sid, text, now),
    )


class EchoNamespace(socketio.AsyncNamespace):
    def __init__(self, namespace: str, db: Any = None) -> None:
        super().__init__(namespace)
        self._pending: set[asyncio.Task[None]] = set()
        self.db = db

    async def on_echo(self, sid: str, data: Any) -> Any:
        if self.db is not None:
            payload = data if isinstance(data, dict) else {}
            await self.db.write(
                partial(
                    _store_turn,
                    sid=sid,
                    client_id=str(payload["id"]) if "id" in payload else None,
                    text=str(payload.get("text", "")),
                )
            )
        # The reply goes out after the ack, as the bot's reply does in supportbot
        # (ChatService.later): a task started here, run once the handler has returned.
        task = asyncio.create_task(self.emit("reply", data, to=sid))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return {"ok": True, "echo": data}


def create_app(
    origins: list[str], redis_url: str | None = None, durable: Path | None = None
) -> web.Application:
    app = web.Application()
    db = None
    if durable is not None:
        sys.path.insert(0, str(ROOT))
        from bot.store.db import Database

        db = Database(durable)
        db.start(_migrate)

        async def stop_db(app: web.Application) -> None:
            db.stop()

        app.on_cleanup.append(stop_db)
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    sio = socketio.AsyncServer(
        client_manager=manager,
        async_mode="aiohttp",
        cors_allowed_origins=origins,
        ping_interval=25,
        ping_timeout=20,
        max_http_buffer_size=1_000_000,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app, socketio_path="socket.io")
    sio.register_namespace(EchoNamespace("/chat", db))

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        help="a web origin whose clients may connect (repeatable)",
    )
    parser.add_argument("--redis", metavar="URL", help="AsyncRedisManager on this Redis")
    parser.add_argument(
        "--durable",
        metavar="DB",
        type=Path,
        help="commit each message and its echo to this SQLite file before the ack",
    )
    args = parser.parse_args()
    # Bound here, so the port the system picks for --port 0 can be told (first line).
    listener = socket.create_server((args.host, args.port))
    print(f"listening on {args.host}:{listener.getsockname()[1]}", flush=True)
    web.run_app(
        create_app(args.allowed_origin, args.redis, args.durable),
        sock=listener,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
