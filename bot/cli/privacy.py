"""``supportbot privacy forget|export|purge``: a person's data on request, and retention.

These commands work on the database file, with the server running or not. An
erasure ends the person's open chats in the database first; a running server
notices it from the audit event within ``SUPPORTBOT_SWEEP_INTERVAL`` seconds and
tells the shopper and the agents (``bot.privacy.service``). Every change is one
short transaction, so the server's writer waits for a few milliseconds at most.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from bot.cli.common import add_db_argument, check_db_path, db_label, db_path

if TYPE_CHECKING:
    from bot.privacy.model import Found, Removed, Selector

T = TypeVar("T")
PURGE_PAUSE = 0.02  # seconds between two batches of `purge`: the server's writer goes first
PURGE_BATCH = 500


def _add_selector(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--email",
        metavar="EMAIL",
        help="the person's e-mail (given to the widget or the offline form, or "
        "written in a message); their chats with the same customer id too",
    )
    who.add_argument("--conversation", metavar="ID", help="one conversation, by its id")
    who.add_argument(
        "--visitor",
        metavar="ID",
        help="the shop's customer id (the widget's setUser id); their chats "
        "with the same e-mail too",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "privacy",
        help="erase or export one person's data; purge old chats (GDPR)",
        description="Serve a person's rights of erasure and access, and apply the retention "
        'period by hand. The README ("Privacy") says what is stored and what each command '
        "removes.",
    )
    commands = p.add_subparsers(dest="privacy_command", metavar="COMMAND")
    commands.required = True

    forget = commands.add_parser(
        "forget",
        help="erase one person's personal data everywhere",
        description="Erase one person's personal data: messages, offline tickets, names, "
        "e-mails, customer ids, pages, rating comments and the questions they asked. "
        "Their open chats are ended first. The figures of the reports stay. Prints what "
        "was removed; running it again removes nothing more.",
    )
    _add_selector(forget)
    forget.add_argument("--dry-run", action="store_true", help="only show what would be removed")
    add_db_argument(forget)
    forget.set_defaults(func=run_forget)

    export = commands.add_parser(
        "export",
        help="write one person's data as JSON (right of access)",
        description="Write everything stored about one person as JSON: their conversations "
        "with every message, ratings, offline tickets and engagement events.",
    )
    _add_selector(export)
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )
    add_db_argument(export)
    export.set_defaults(func=run_export)

    purge = commands.add_parser(
        "purge",
        help="remove the personal data of chats that ended more than N days ago",
        description="Apply the retention period once: chats that ended more than DAYS days "
        "ago lose their personal data, as `serve` does in the background when "
        "SUPPORTBOT_RETENTION_DAYS is set. The report's figures stay.",
    )
    purge.add_argument(
        "--days",
        type=int,
        metavar="DAYS",
        help="the retention period (default SUPPORTBOT_RETENTION_DAYS)",
    )
    add_db_argument(purge)
    purge.set_defaults(func=run_purge)


def selector_of(args: argparse.Namespace) -> Selector:
    from bot.cli import CommandError
    from bot.privacy.model import Selector, SelectorError

    for kind in ("email", "conversation", "visitor"):
        value = getattr(args, kind)
        if value is not None:
            try:
                return Selector.parse(kind, value)
            except SelectorError as exc:
                raise CommandError(f"--{exc}") from None
    raise CommandError("give --email, --conversation or --visitor")


def describe(selector: Selector) -> str:
    return {"email": "e-mail", "conversation": "conversation", "visitor": "customer id"}[
        selector.kind
    ] + f" {selector.value}"


def open_database(args: argparse.Namespace) -> sqlite3.Connection:
    """The database for writing, migrated (the server may be running)."""
    from bot.cli import CommandError
    from bot.store.db import check_schema, connect
    from bot.store.migrations import migrate

    path = db_path(args)
    check_db_path(path, must_exist=True)
    try:
        conn = connect(path)
        check_schema(conn)
        migrate(conn)
    except sqlite3.Error as exc:
        raise CommandError(f"{db_label(path)}: not a usable supportbot database ({exc})") from None
    return conn


def _transaction(conn: sqlite3.Connection, job: Callable[..., T], **kwargs: Any) -> T:
    """``job(conn, **kwargs)`` in one write transaction (waits up to 5 s for the server's)."""
    from bot.cli import CommandError
    from bot.store.db import write_transaction

    try:
        with write_transaction(conn):
            result = job(conn, **kwargs)
    except sqlite3.Error as exc:
        raise CommandError(f"the database cannot take the change: {exc}") from None
    return result


def run_forget(args: argparse.Namespace) -> int:
    from bot.privacy import jobs, store

    selector = selector_of(args)
    conn = open_database(args)
    try:
        if args.dry_run:
            found = store.found(conn, selector)
            write_found(selector, found, sys.stdout)
            return 0
        removed = _transaction(conn, jobs.erase, selector=selector, via="cli")
    finally:
        conn.close()
    _remove_pictures(args, removed)
    write_removed(selector, removed, sys.stdout)
    return 0


def _remove_pictures(args: argparse.Namespace, removed: Removed) -> None:
    """The pictures' files, once their rows are committed gone."""
    from bot.chat.uploads import remove_files
    from bot.settings import settings_from_env

    if removed.attachment_ids:
        remove_files(settings_from_env(db=args.db).uploads, removed.attachment_ids)


def write_found(selector: Selector, found: Found, out: TextIO) -> None:
    if found.nothing:
        out.write(f"nothing found for {describe(selector)}\n")
        return
    out.write(
        f"would erase for {describe(selector)} (dry run, nothing changed):\n"
        f"  conversations  {found.conversations}  ({found.open_chats} open, "
        f"{found.anonymised} already without personal data)\n"
        f"  messages       {found.messages}\n"
        f"  tickets        {found.tickets}\n"
        f"  ratings        {found.ratings}  (they stay; comments to clear: "
        f"{found.comments})\n"
    )


def write_removed(selector: Selector, removed: Removed, out: TextIO) -> None:
    if removed.nothing:
        out.write(f"nothing found for {describe(selector)}: no personal data of it is stored\n")
        return
    out.write(
        f"erased the personal data of {describe(selector)}:\n"
        f"  conversations  {removed.conversations}\n"
        f"  messages       {removed.messages} deleted\n"
        f"  tickets        {removed.tickets} deleted\n"
        f"  comments       {removed.comments} cleared (the ratings stay)\n"
        f"  events         {removed.events} cleared of questions and page addresses\n"
        f"  pictures       {len(removed.attachment_ids)} deleted (rows and files)\n"
    )
    if removed.closed_chats:
        out.write(
            f"  ended first    {', '.join(removed.closed_chats)} (a running server tells "
            "the shopper and the agents within seconds)\n"
        )


def run_export(args: argparse.Namespace) -> int:
    from bot import events as ev
    from bot.privacy import store
    from bot.store.clock import now_iso

    selector = selector_of(args)
    conn = open_database(args)
    try:
        document = store.export(conn, selector, now_iso())
        if not document["conversations"] and not document["tickets"]:
            print(f"supportbot: nothing found for {describe(selector)}", file=sys.stderr)
            return 0
        conversations = document["conversations"]
        _transaction(
            conn,
            lambda c: ev.insert_events(
                c,
                ev.PrivacyExported(
                    selector=selector.kind,
                    via="cli",
                    conversations=len(conversations),
                    messages=sum(len(x["messages"]) for x in conversations),
                ),
            ),
        )
    finally:
        conn.close()
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        from bot.cli import CommandError

        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--output {args.output}: {exc.strerror}") from None
        print(
            f"wrote {len(conversations)} conversations of {describe(selector)} to {args.output}",
            file=sys.stderr,
        )
    return 0


def run_purge(args: argparse.Namespace) -> int:
    from bot.cli import CommandError
    from bot.privacy import jobs
    from bot.privacy.model import Removed
    from bot.privacy.retention import cutoff
    from bot.settings import settings_from_env

    days = args.days if args.days is not None else settings_from_env().retention_days
    if days is None or days < 1:
        raise CommandError(
            "--days: give the retention period in days, 1 or more "
            "(or set SUPPORTBOT_RETENTION_DAYS)"
        )
    conn = open_database(args)
    started = time.perf_counter()
    before = cutoff(days)
    total = Removed()
    try:
        while True:
            removed, taken = _transaction(conn, jobs.purge_batch, before=before, limit=PURGE_BATCH)
            _remove_pictures(args, removed)
            total.add(removed)
            if taken < PURGE_BATCH:
                break
            time.sleep(PURGE_PAUSE)
        elapsed = time.perf_counter() - started
        if not total.nothing:
            _transaction(
                conn, jobs.record_purge, days=days, before=before, removed=total, seconds=elapsed
            )
    finally:
        conn.close()
    if total.nothing:
        print(f"nothing found: no chat that ended before {before} holds personal data")
        return 0
    print(
        f"removed the personal data of {total.conversations} chats that ended before {before} "
        f"in {elapsed:.1f} s:\n"
        f"  messages  {total.messages} deleted\n"
        f"  tickets   {total.tickets} deleted\n"
        f"  comments  {total.comments} cleared (the ratings stay)\n"
        f"  events    {total.events} cleared of questions and page addresses"
    )
    return 0
