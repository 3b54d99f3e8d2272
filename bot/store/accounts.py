"""Agent accounts: e-mail, name, role, password hash, capacity, status, disabled flag
(typed queries; the hashing is ``bot.passwords``)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from bot.passwords import hash_password
from bot.store.clock import now_iso

ROLES = ("agent", "manager")
LOCALES = ("en", "it", "pl")  # the console's and the dashboard's languages
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    email: str
    name: str
    role: str
    capacity: int
    disabled: bool
    created_at: str
    status: str = "away"  # online | away: the status the agent last chose
    locale: str | None = None  # the console's language (None: the browser's)

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "capacity": self.capacity,
            "locale": self.locale,
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Agent:
        return cls(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            role=row["role"],
            capacity=row["capacity"],
            disabled=bool(row["disabled"]),
            created_at=row["created_at"],
            status=row["status"] or "away",
            locale=row["locale"] if "locale" in row.keys() else None,
        )


class AccountError(ValueError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def add_agent(
    conn: sqlite3.Connection, email: str, name: str, role: str, password: str, capacity: int = 3
) -> Agent:
    email = normalise_email(email)
    if not EMAIL.fullmatch(email):
        raise AccountError(f"not an e-mail address: {email!r}")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise AccountError("the name must not be empty")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if capacity < 1:
        raise AccountError("capacity must be at least 1")
    if conn.execute("SELECT 1 FROM agents WHERE email = ?", (email,)).fetchone():
        raise AccountError(f"an agent with e-mail {email} already exists")
    cursor = conn.execute(
        "INSERT INTO agents (email, name, role, password_hash, capacity, disabled, created_at) "
        "VALUES (?, ?, ?, ?, ?, 0, ?)",
        (email, name.strip(), role, hash_password(password), capacity, now_iso()),
    )
    agent = get_agent(conn, int(cursor.lastrowid or 0))
    assert agent is not None
    return agent


def get_agent(conn: sqlite3.Connection, agent_id: int) -> Agent | None:
    row = conn.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
    return Agent.from_row(row) if row else None


def find_agent(conn: sqlite3.Connection, email: str) -> tuple[Agent, str] | None:
    row = conn.execute("SELECT * FROM agents WHERE email = ?", (normalise_email(email),)).fetchone()
    return (Agent.from_row(row), row["password_hash"]) if row else None


def list_agents(conn: sqlite3.Connection) -> list[Agent]:
    return [Agent.from_row(r) for r in conn.execute("SELECT * FROM agents ORDER BY id")]


def set_status(conn: sqlite3.Connection, agent_id: int, status: str) -> None:
    """Remember the agent's chosen status (online / away) for the next sign-in."""
    conn.execute("UPDATE agents SET status = ? WHERE id = ?", (status, agent_id))


def set_locale(conn: sqlite3.Connection, agent_id: int, locale: str | None) -> None:
    """The language the agent chose for the console and the dashboard."""
    conn.execute("UPDATE agents SET locale = ? WHERE id = ?", (locale, agent_id))


def set_disabled(conn: sqlite3.Connection, email: str, disabled: bool = True) -> Agent:
    found = find_agent(conn, email)
    if found is None:
        raise AccountError(f"no agent with e-mail {normalise_email(email)}")
    conn.execute("UPDATE agents SET disabled = ? WHERE id = ?", (int(disabled), found[0].id))
    if disabled:
        conn.execute("DELETE FROM sessions WHERE agent_id = ?", (found[0].id,))
        conn.execute("DELETE FROM devices WHERE agent_id = ?", (found[0].id,))
    agent = get_agent(conn, found[0].id)
    assert agent is not None
    return agent


def agent_options(conn: sqlite3.Connection) -> list[dict[str, object]]:
    """Every account, for the dashboard's agent filter (disabled ones marked)."""
    rows = conn.execute("SELECT id, name, role, disabled FROM agents ORDER BY name, id")
    return [{"id": r[0], "name": r[1], "role": r[2], "disabled": bool(r[3])} for r in rows]
