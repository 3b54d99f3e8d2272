"""Console sessions and known devices: typed queries (writer thread or reader pool).

Only SHA-256 digests of the cookie values are stored.
"""

from __future__ import annotations

import sqlite3

from bot import passwords
from bot.store.accounts import Agent
from bot.store.clock import now_iso


def insert_session(
    conn: sqlite3.Connection,
    id_hash: str,
    agent_id: int,
    csrf_token: str,
    expires_at: str,
    device: tuple[str, str | None],
    devices_since: str,
) -> None:
    """A new session, and the browser's new device cookie (``device``: the new digest and
    the one it replaces); devices unused since ``devices_since`` are forgotten."""
    at = now_iso()
    conn.execute("DELETE FROM sessions WHERE expires_at < ?", (at,))
    conn.execute(
        "INSERT INTO sessions (id_hash, agent_id, csrf_token, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (id_hash, agent_id, csrf_token, at, expires_at),
    )
    new, old = device
    if old is not None:
        conn.execute("DELETE FROM devices WHERE id_hash = ?", (old,))
    conn.execute("DELETE FROM devices WHERE last_used_at < ?", (devices_since,))
    conn.execute(
        "INSERT INTO devices (id_hash, agent_id, failures, created_at, last_used_at) "
        "VALUES (?, ?, 0, ?, ?)",
        (new, agent_id, at, at),
    )


def known_device(conn: sqlite3.Connection, id_hash: str, email: str, since: str) -> Agent | None:
    """The agent whose device cookie this is, if it is that e-mail's, recent, and the
    account is enabled."""
    row = conn.execute(
        "SELECT a.* FROM devices d JOIN agents a ON a.id = d.agent_id WHERE d.id_hash = ? "
        "AND a.email = ? AND a.disabled = 0 AND d.last_used_at >= ?",
        (id_hash, email, since),
    ).fetchone()
    return Agent.from_row(row) if row else None


def password_hash(conn: sqlite3.Connection, agent_id: int) -> str:
    row = conn.execute("SELECT password_hash FROM agents WHERE id = ?", (agent_id,)).fetchone()
    return str(row[0]) if row else passwords.dummy_hash()


def device_failed(conn: sqlite3.Connection, id_hash: str, limit: int) -> None:
    """A wrong password with this device cookie; at ``limit`` failures it is forgotten."""
    conn.execute("UPDATE devices SET failures = failures + 1 WHERE id_hash = ?", (id_hash,))
    conn.execute("DELETE FROM devices WHERE id_hash = ? AND failures >= ?", (id_hash, limit))


def valid_hashes(conn: sqlite3.Connection, hashes: list[str], at: str) -> set[str]:
    marks = ", ".join("?" for _ in hashes)
    rows = conn.execute(
        f"SELECT s.id_hash FROM sessions s JOIN agents a ON a.id = s.agent_id "
        f"WHERE s.id_hash IN ({marks}) AND s.expires_at > ? AND a.disabled = 0",
        (*hashes, at),
    ).fetchall()
    return {row[0] for row in rows}


def find_session(conn: sqlite3.Connection, id_hash: str, at: str) -> tuple[Agent, str, str] | None:
    """(agent, CSRF token, expiry) of a valid session."""
    row = conn.execute(
        "SELECT s.csrf_token, s.expires_at, a.* FROM sessions s JOIN agents a ON a.id = s.agent_id "
        "WHERE s.id_hash = ? AND s.expires_at > ? AND a.disabled = 0",
        (id_hash, at),
    ).fetchone()
    if row is None:
        return None
    return Agent.from_row(row), row["csrf_token"], row["expires_at"]


def delete_session(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))
