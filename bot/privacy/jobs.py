"""Write jobs of bot.privacy: an erasure, and one batch of the retention purge.

Each runs in one transaction (a savepoint of the writer's batch, or the command
line's own transaction) and records its audit event in it, so the record and the
change are committed together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bot import events as ev
from bot.chat import moves
from bot.privacy import store
from bot.privacy.model import Removed, Selector
from bot.store.clock import now_iso
from bot.types import Status

ERASED_REASON = "personal data erased"
ERASED_NOTICE: moves.Notice = ("erased", {})  # bot.texts


def erase(
    conn: sqlite3.Connection,
    selector: Selector,
    *,
    via: str,
    agent_id: int | None = None,
    ended_first: Sequence[str] = (),
) -> Removed:
    """Erase the person's personal data everywhere, and record it (without it).

    A chat of theirs that is still open is ended here first, in the database (by
    ``system``, without a rating question). The server ends open chats through the
    chat service before calling this (``ended_first``), so that everyone is told;
    the command line cannot, and the server catches up from the audit event
    (``bot.privacy.service``).
    """
    at = now_iso()
    removed = Removed(closed_chats=list(ended_first))
    conversations = store.find(conn, selector)
    for conversation_id, status in conversations:
        if status == Status.CLOSED:
            continue
        moves.close(
            conn,
            conversation_id,
            by="system",
            reason=ERASED_REASON,
            agent_id=None,
            notice=ERASED_NOTICE,
            ask_csat=False,
        )
        removed.closed_chats.append(conversation_id)
    with store.overwriting(conn):
        removed.add(store.anonymise(conn, [cid for cid, _ in conversations], at))
        loose = store.loose_tickets(conn, selector)
        removed.tickets += store.delete_tickets(conn, loose)
        removed.ticket_ids += loose
    ev.insert_events(
        conn,
        ev.PrivacyErased(
            actor="manager" if agent_id is not None else "system",
            agent_id=agent_id,
            created_at=at,
            selector=selector.kind,
            via=via,
            conversations=removed.conversations,
            messages=removed.messages,
            tickets=removed.tickets,
            comments=removed.comments,
            events=removed.events,
            closed_chats=removed.closed_chats,
            ticket_ids=removed.ticket_ids,
        ),
    )
    return removed


def purge_batch(conn: sqlite3.Connection, before: str, limit: int) -> tuple[Removed, int]:
    """Anonymise up to ``limit`` of the oldest chats that ended before ``before``.

    Returns what was removed and how many chats were taken (fewer than ``limit``:
    this was the last batch).
    """
    ids = store.purge_candidates(conn, before, limit)
    with store.overwriting(conn):
        removed = store.anonymise(conn, ids, now_iso())
        if len(ids) < limit:
            loose = store.old_loose_tickets(conn, before)
            removed.tickets += store.delete_tickets(conn, loose)
            removed.ticket_ids += loose
    return removed, len(ids)


def record_purge(
    conn: sqlite3.Connection, days: int, before: str, removed: Removed, seconds: float
) -> None:
    ev.insert_events(
        conn,
        ev.RetentionPurged(
            actor="system",
            days=days,
            before=before,
            conversations=removed.conversations,
            messages=removed.messages,
            tickets=removed.tickets,
            comments=removed.comments,
            events=removed.events,
            seconds=round(seconds, 3),
        ),
    )
