"""Helpers of the tests of several server processes on one Redis and one store (a SQLite
file or a PostgreSQL database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import accounts
from bot.store.db import connect
from bot.store.migrations import migrate

from benchmarks.serverproc import ServerProcess
from conftest import PASSWORD, Client, login, open_client

# The bot answers on the lexical fast path only: a process starts in about a second.
# Processes are taken for dead after 2 s without a heartbeat; sweeps are frequent.
CLUSTER_ENV = {
    "SUPPORTBOT_FAQ_SEMANTIC": "off",
    "SUPPORTBOT_REDIS_TTL": "2",
    "SUPPORTBOT_SWEEP_INTERVAL": "0.2",
    "SUPPORTBOT_RATE_LIMIT_MESSAGES": "10000",
    "SUPPORTBOT_RATE_LIMIT_EVENTS": "10000",
}


def add_agents(db: Path | str, *agents: tuple[str, str, str, int]) -> dict[str, int]:
    """(email, name, role, capacity) accounts; returns their ids by name."""
    conn = connect(db)
    migrate(conn)
    conn.execute("BEGIN IMMEDIATE")
    ids = {
        name: accounts.add_agent(conn, email, name, role, PASSWORD, capacity).id
        for email, name, role, capacity in agents
    }
    conn.execute("COMMIT")
    conn.close()
    return ids


def start_servers(
    db: Path | str, redis_url: str, count: int = 2, log_dir: Path | None = None
) -> list[ServerProcess]:
    servers = []
    for i in range(count):
        log = log_dir / f"server{i}.log" if log_dir else None
        servers.append(
            ServerProcess(db, env=CLUSTER_ENV, args=["--redis", redis_url], log=log).start()
        )
    return servers


class Clients:
    """Real socket.io clients (websocket), each recording what it is sent."""

    def __init__(self) -> None:
        self.all: list[Client] = []

    async def open(self, url: str, namespace: str, headers: dict[str, str] | None = None) -> Client:
        return await open_client(url, namespace, self.all, headers=headers, wait_timeout=10)

    async def agent(self, url: str, email: str, *, online: bool = True) -> Client:
        cookie = await login(url, email)
        assert cookie, f"sign-in of {email} refused"
        client = await self.open(url, "/agent", {"Cookie": f"supportbot_session={cookie}"})
        client.cookie = cookie  # type: ignore[attr-defined]
        assert (await client.call("sync", {}))["ok"]
        if online:
            assert (await client.call("status", {"status": "online"}))["ok"]
        return client

    async def shopper(self, url: str, **start: Any) -> tuple[Client, dict[str, Any]]:
        client = await self.open(url, "/chat")
        ack = await client.call("start", start)
        assert ack["ok"], ack
        return client, ack

    async def close(self) -> None:
        for client in self.all:
            try:
                await client.close()
            except Exception:  # noqa: BLE001 - its server may have been killed
                pass


@pytest.fixture(params=["sqlite", "postgres"])
def cluster_store(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where the processes store: one SQLite file, or one PostgreSQL database (a real
    server; skipped when it is not installed)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return tmp_path / "cluster.db"


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    """The test's socket.io clients, closed at the end (a plugin of ``conftest``)."""
    made = Clients()
    yield made
    await made.close()


async def stop_servers(servers: list[ServerProcess], clients: Clients) -> None:
    """The clients leave first (a server's shutdown waits a while for connections that
    stay open), then the servers stop together, off the event loop."""
    await clients.close()
    await asyncio.gather(*(asyncio.to_thread(server.stop) for server in servers))


def stored_client_ids(db: Path | str) -> set[tuple[str, str]]:
    conn = connect(db, readonly=True)
    try:
        return {
            (row[0], row[1])
            for row in conn.execute(
                "SELECT conversation_id, client_id FROM messages WHERE client_id IS NOT NULL"
            )
        }
    finally:
        conn.close()
