"""Numbered, recorded schema migrations (sqlite-utils).

Each migration is a function ``NNNN_name(db)`` registered with :func:`migration`;
:func:`migrate` applies the ones not yet recorded in ``_migrations``, in order,
each in its own transaction. Never edit a migration that has shipped: add one.

Times are ISO 8601 UTC strings with milliseconds (``2026-11-27T03:17:40.123Z``):
readable, and they sort as text.

They are written for SQLite; a PostgreSQL database gets the schema they make
(``bot.store.postgres.migrate``), so a migration of the schema (tables, columns,
indexes) serves both. A migration that also changes rows needs its PostgreSQL
counterpart there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

import sqlite_utils

from bot.store import postgres
from bot.store.clock import now_iso

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__.lstrip("_"), fn))
    return fn


@migration
def _0001_conversations_messages_events(db: sqlite_utils.Database) -> None:
    db.table("conversations").create(
        {
            "id": str,
            "token_hash": str,  # sha256 of the resume token; the token itself is never stored
            "site": str,
            "status": str,  # bot | queued | assigned | closed
            "language": str,
            "lang_setting": str,  # auto | en | it | pl
            "page_url": str,
            "page_title": str,
            "visitor_name": str,
            "visitor_email": str,
            "visitor_id": str,
            "created_at": str,
            "updated_at": str,
            "last_activity_at": str,  # last shopper or agent message: drives the inactivity timeout
            "closed_at": str,
            "closed_by": str,
            "close_reason": str,
            "escalated_at": str,
            "escalation_reasons": str,  # JSON list
            "queued_at": str,
            "agent_id": int,  # current owner
            "last_agent_id": int,
            "first_agent_reply_at": str,
            "mood": float,
            "mood_messages": int,
            "failures_in_row": int,
        },
        pk="id",
        not_null={"token_hash", "status", "created_at", "updated_at", "language"},
        defaults={
            "status": "bot",
            "language": "en",
            "lang_setting": "auto",
            "mood": 0.0,
            "mood_messages": 0,
            "failures_in_row": 0,
        },
    )
    db.table("conversations").create_index(["token_hash"], unique=True)
    db.table("conversations").create_index(["status", "last_activity_at"])
    db.table("conversations").create_index(["created_at"])

    db.table("messages").create(
        {
            "id": int,
            "conversation_id": str,
            "client_id": str,
            "author": str,  # shopper | bot | agent | system
            "agent_id": int,
            "kind": str,  # text | note (notes are for agents only)
            "text": str,
            "created_at": str,
            "meta": str,  # JSON: entry_id, quick_replies, feedback, mood ...
        },
        pk="id",
        foreign_keys=[("conversation_id", "conversations", "id")],
        not_null={"conversation_id", "author", "kind", "text", "created_at"},
        defaults={"kind": "text"},
    )
    db.table("messages").create_index(["conversation_id", "id"])
    db.execute(
        "CREATE UNIQUE INDEX idx_messages_client_id ON messages (conversation_id, client_id) "
        "WHERE client_id IS NOT NULL"
    )

    db.table("events").create(
        {
            "id": int,
            "conversation_id": str,
            "actor": str,  # shopper | bot | agent | manager | system
            "agent_id": int,
            "type": str,
            "created_at": str,
            "properties": str,  # JSON object
        },
        pk="id",
        not_null={"actor", "type", "created_at", "properties"},
    )
    db.table("events").create_index(["conversation_id", "id"])
    db.table("events").create_index(["type", "created_at"])
    db.table("events").create_index(["created_at"])


def pending(conn: sqlite3.Connection) -> list[str]:
    """The migrations a database still needs (raises ``sqlite3.Error`` when it is not one
    of ours)."""
    applied = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    return [name for name, _ in MIGRATIONS if name not in applied]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the names applied. On PostgreSQL, the schema
    these migrations make in SQLite (bot.store.postgres)."""
    if postgres.is_postgres(conn):
        return postgres.migrate(conn, [name for name, _ in MIGRATIONS], now_iso())
    return migrate_sqlite(conn)


def migrate_sqlite(conn: sqlite3.Connection, *, only: Sequence[str] | None = None) -> list[str]:
    """Apply pending migrations (or those named in ``only``) to a SQLite database."""
    db = sqlite_utils.Database(conn)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done or (only is not None and name not in only):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, now_iso())
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(name)
    return applied


@migration
def _0002_agents_sessions_tickets_csat(db: sqlite_utils.Database) -> None:
    db.table("agents").create(
        {
            "id": int,
            "email": str,
            "name": str,
            "role": str,  # agent | manager
            "password_hash": str,
            "capacity": int,
            "disabled": int,
            "created_at": str,
        },
        pk="id",
        not_null={"email", "name", "role", "password_hash", "created_at"},
        defaults={"disabled": 0, "capacity": 3},
    )
    db.table("agents").create_index(["email"], unique=True)

    db.table("sessions").create(
        {
            "id_hash": str,  # sha256 of the cookie value
            "agent_id": int,
            "csrf_token": str,
            "created_at": str,
            "expires_at": str,
        },
        pk="id_hash",
        foreign_keys=[("agent_id", "agents", "id")],
        not_null={"agent_id", "csrf_token", "created_at", "expires_at"},
    )
    db.table("sessions").create_index(["expires_at"])

    db.table("canned_replies").create(
        {
            "id": int,
            "shortcut": str,
            "text": str,
            "created_by": int,
            "created_at": str,
        },
        pk="id",
        not_null={"shortcut", "text", "created_at"},
    )
    db.table("canned_replies").create_index(["shortcut"], unique=True)

    db.table("tickets").create(
        {
            "id": int,
            "conversation_id": str,
            "email": str,
            "text": str,
            "status": str,  # open | done
            "created_at": str,
            "done_at": str,
            "done_by": int,
        },
        pk="id",
        not_null={"email", "text", "status", "created_at"},
        defaults={"status": "open"},
    )
    db.table("tickets").create_index(["status", "created_at"])

    db.table("csat").create(
        {
            "conversation_id": str,
            "rating": int,
            "comment": str,
            "nps": int,
            "agent_id": int,  # the agent who last handled the chat, if any
            "bot_only": int,  # 1 when no person took part
            "escalation_reasons": str,  # JSON list
            "language": str,
            "mood": float,
            "asked_at": str,
            "given_at": str,
            "updated_at": str,
        },
        pk="conversation_id",
        foreign_keys=[("conversation_id", "conversations", "id")],
    )
    db.table("csat").create_index(["given_at"])
    db.table("csat").create_index(["asked_at"])


@migration
def _0003_report_indexes(db: sqlite_utils.Database) -> None:
    """Indexes for the reports (bot.reports): each report query reads one index range.

    - chats by the time they ended, covering every column the report reads (closed
      conversations do not change, so this index is written once per chat);
    - "did the shopper write?" answered from a partial index of shopper messages;
    - CSAT ratings by ``given_at`` and surveys by ``asked_at``, covering the report.
    """
    db.execute(
        "CREATE INDEX idx_conversations_closed_report ON conversations (closed_at, "
        "last_agent_id, escalated_at, language, escalation_reasons, first_agent_reply_at, "
        "closed_by, last_activity_at, id) WHERE closed_at IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX idx_messages_shopper ON messages (conversation_id) WHERE author = 'shopper'"
    )
    db.execute(
        "CREATE INDEX idx_csat_given_report ON csat (given_at, rating, conversation_id) "
        "WHERE rating IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX idx_csat_asked_report ON csat (asked_at, rating, nps, conversation_id)"
    )


@migration
def _0004_lifecycle_tickets_outbox(db: sqlite_utils.Database) -> None:
    """The conversation lifecycle (issue: one owner for a conversation's life).

    - ``conversations.status`` may also be ``ticket``: the shopper left a message or
      left the queue, and the team answers in writing (the chat stays open).
    - An agent's chosen status (online / away) is kept with the account, so that
      signing in again restores it.
    - A client's message id is unique per author (and agent), not per conversation:
      a shopper's id can never hit an agent's note.
    - Tickets: the e-mail may be unknown (a shopper who left the queue), a ticket is
      answered before it is done, and answers sent by e-mail wait in ``outbox``
      until the mail server has taken them (retried with back-off).
    """
    db.table("agents").add_column("status", str, not_null_default="away")
    db.execute("DROP INDEX idx_messages_client_id")
    db.execute(
        "CREATE UNIQUE INDEX idx_messages_client_id ON messages "
        "(conversation_id, author, ifnull(agent_id, 0), client_id) WHERE client_id IS NOT NULL"
    )
    tickets = db.table("tickets")
    tickets.transform(not_null={"email": False, "text": False})
    tickets.add_column("source", str, not_null_default="form")  # form | left_queue
    tickets.add_column("updated_at", str)
    tickets.add_column("answered_at", str)
    tickets.add_column("answered_by", int)
    db.execute("UPDATE tickets SET updated_at = coalesce(done_at, created_at)")
    db.execute("CREATE INDEX idx_tickets_conversation ON tickets (conversation_id, status)")
    db.table("outbox").create(
        {
            "id": int,
            "ticket_id": int,
            "conversation_id": str,
            "message_id": int,  # the agent's answer
            "to_email": str,
            "subject": str,
            "body": str,
            "status": str,  # pending | sent | failed
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"to_email", "subject", "body", "status", "created_at"},
        defaults={"status": "pending", "attempts": 0},
    )
    db.execute("CREATE INDEX idx_outbox_due ON outbox (status, next_attempt_at)")
    db.execute("CREATE INDEX idx_outbox_ticket ON outbox (ticket_id, id)")


@migration
def _0005_known_devices(db: sqlite_utils.Database) -> None:
    """Browsers an agent signed in from before (a "device cookie", as OWASP recommends
    against lock-out): their sign-ins pass the limits for strangers and get a password
    check of their own, so a burst of wrong sign-ins cannot keep the team out."""
    db.table("devices").create(
        {
            "id_hash": str,  # sha256 of the cookie value
            "agent_id": int,
            "failures": int,  # wrong passwords sent with it; at the limit it is forgotten
            "created_at": str,
            "last_used_at": str,
        },
        pk="id_hash",
        foreign_keys=[("agent_id", "agents", "id")],
        not_null={"agent_id", "created_at"},
        defaults={"failures": 0},
    )
    db.table("devices").create_index(["agent_id"])


@migration
def _0006_privacy(db: sqlite_utils.Database) -> None:
    """Retention and erasure (bot.privacy).

    - ``anonymised_at``: when the conversation's personal data was removed (retention
      or an erasure request); its row stays for the reports.
    - ``shopper_messages``: how many messages the shopper had written when the
      transcript was deleted, so that the report still tells empty chats apart; it
      joins the reports' covering index of ended chats.
    - a partial index of ended chats whose personal data is still there: the
      retention purge reads its oldest entries, and it shrinks as they are purged.
    """
    db.execute("ALTER TABLE conversations ADD COLUMN anonymised_at TEXT")
    db.execute("ALTER TABLE conversations ADD COLUMN shopper_messages INTEGER")
    db.execute("DROP INDEX idx_conversations_closed_report")
    db.execute(
        "CREATE INDEX idx_conversations_closed_report ON conversations (closed_at, "
        "last_agent_id, escalated_at, language, escalation_reasons, first_agent_reply_at, "
        "closed_by, last_activity_at, shopper_messages, id) WHERE closed_at IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX idx_conversations_retention ON conversations (closed_at) "
        "WHERE closed_at IS NOT NULL AND anonymised_at IS NULL"
    )


@migration
def _0007_attachments_seen_locale(db: sqlite_utils.Database) -> None:
    """Issue: a polished widget, console and dashboard.

    - ``attachments``: images shoppers send (the file itself lives in the uploads
      folder under the attachment's id); each is a message of the transcript, and
      ``shopper_key`` is the shopper's key to fetch it (agents use their session).
    - ``conversations.seen_message_id``: the last shopper message the chat's agent
      has seen in the console (the widget shows "seen" under it).
    - ``agents.locale``: the language of the console and the dashboard (en, it, pl;
      empty: the browser's).
    - the first replies of recent chats by time, for the typical reply time.
    """
    db.table("attachments").create(
        {
            "id": str,
            "conversation_id": str,
            "message_id": int,
            "content_type": str,  # image/png | image/jpeg | image/gif | image/webp, by content
            "size": int,
            "width": int,
            "height": int,
            "sha256": str,
            "name": str,  # as the shopper's device named it; shown, never used as a path
            "shopper_key": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("conversation_id", "conversations", "id")],
        not_null={"conversation_id", "content_type", "size", "sha256", "shopper_key", "created_at"},
    )
    db.table("attachments").create_index(["conversation_id"])
    db.table("conversations").add_column("seen_message_id", int)
    db.table("agents").add_column("locale", str)
    db.execute(
        "CREATE INDEX idx_conversations_first_reply ON conversations "
        "(first_agent_reply_at) WHERE first_agent_reply_at IS NOT NULL"
    )


@migration
def _0008_slimmer_event_indexes(db: sqlite_utils.Database) -> None:
    """A shopper turn writes 2-3 events: each event now updates 2 secondary indexes,
    not 3. The (type, created_at) index, written for every event, served only the
    rare types that are looked up by type; partial indexes of just those rows replace
    it (the queries name the types as literals, so SQLite can use them)."""
    db.execute("DROP INDEX IF EXISTS idx_events_type_created_at")
    db.execute(
        "CREATE INDEX idx_events_no_answer ON events (created_at) WHERE type = 'bot.no_answer'"
    )
    db.execute(
        "CREATE INDEX idx_events_privacy ON events (type) "
        "WHERE type IN ('privacy.erased', 'retention.purged')"
    )
