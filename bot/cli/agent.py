"""``supportbot agent add|list|disable|enable``: manage console accounts."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from bot.cli.common import add_db_argument, check_db_path, db_label, db_path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "agent",
        help="manage agent and manager accounts",
        description="Create, list and disable the accounts that sign in to the "
        "agent console and the dashboard.",
    )
    commands = p.add_subparsers(dest="agent_command", metavar="ACTION")
    commands.required = True

    add = commands.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("email")
    add.add_argument("--name", required=True, help="shown to shoppers, e.g. 'Ada'")
    add.add_argument(
        "--role",
        choices=("agent", "manager"),
        default="agent",
        help="managers also see every chat and the dashboard (default agent)",
    )
    add.add_argument(
        "--capacity", type=int, default=3, help="most chats at once for auto-assignment (default 3)"
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of asking",
    )
    add_db_argument(add)
    add.set_defaults(func=run_add)

    listing = commands.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    add_db_argument(listing)
    listing.set_defaults(func=run_list)

    for name, helptext, flag in (
        ("disable", "stop an account from signing in (ends its sessions)", True),
        ("enable", "allow a disabled account to sign in again", False),
    ):
        cmd = commands.add_parser(name, help=helptext)
        cmd.add_argument("email")
        add_db_argument(cmd)
        cmd.set_defaults(func=run_disable, disabled=flag)


def _database(args: argparse.Namespace, *, must_exist: bool = False):  # type: ignore[no-untyped-def]
    from bot.cli import CommandError
    from bot.store.db import connect
    from bot.store.migrations import migrate

    path = db_path(args)
    check_db_path(path, must_exist=must_exist)
    try:
        conn = connect(path)
        migrate(conn)
    except Exception as exc:  # sqlite3.Error, OSError
        raise CommandError(f"{db_label(path)}: {exc}") from None
    return conn


def _password(args: argparse.Namespace) -> str:
    from bot.cli import CommandError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CommandError("no terminal to ask for the password: use --password-stdin")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the passwords do not match")
    return password


def run_add(args: argparse.Namespace) -> int:
    from bot.cli import CommandError
    from bot.store import accounts
    from bot.store.db import write_transaction

    password = _password(args)
    conn = _database(args)
    try:
        with write_transaction(conn):
            agent = accounts.add_agent(
                conn, args.email, args.name, args.role, password, args.capacity
            )
    except accounts.AccountError as exc:
        raise CommandError(str(exc)) from None
    finally:
        conn.close()
    print(f"added {agent.role} {agent.name} <{agent.email}> (id {agent.id})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from bot.store import accounts

    conn = _database(args, must_exist=True)
    try:
        agents = accounts.list_agents(conn)
    finally:
        conn.close()
    for agent in agents:
        if args.json:
            print(
                json.dumps(
                    {**agent.public(), "disabled": agent.disabled, "created_at": agent.created_at}
                )
            )
        else:
            state = "disabled" if agent.disabled else "active"
            print(
                f"{agent.id:>4}  {agent.email:<32} {agent.name:<20} {agent.role:<8} "
                f"capacity {agent.capacity}  {state}"
            )
    if not agents and not args.json:
        print("no accounts yet: supportbot agent add EMAIL --name NAME --role manager")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    from bot.cli import CommandError
    from bot.store import accounts
    from bot.store.db import write_transaction

    conn = _database(args, must_exist=True)
    try:
        with write_transaction(conn):
            agent = accounts.set_disabled(conn, args.email, args.disabled)
    except accounts.AccountError as exc:
        raise CommandError(str(exc)) from None
    finally:
        conn.close()
    print(f"{'disabled' if agent.disabled else 'enabled'} {agent.name} <{agent.email}>")
    return 0
