"""``supportbot serve``: run the service."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import socket
from pathlib import Path

from bot.cli.common import add_db_argument, check_database_url, check_db_path
from bot.resources import default_kb_path
from bot.settings import Settings

LOG_LEVELS = ("debug", "info", "warning", "error")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="run the chat service (widget, bot, agent console, dashboard)",
        description="Run the chat service on HOST:PORT with an embedded SQLite database. "
        "Every option can also be set as SUPPORTBOT_<OPTION> in the environment.",
    )
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        help="TCP port (default 8080; 0: any free port, printed as 'listening on HOST:PORT')",
    )
    add_db_argument(p)
    p.add_argument(
        "--kb",
        type=Path,
        help=f"knowledge base: a folder of .toml files, one .toml or a .csv "
        f"(default: the bundled {default_kb_path().name}/)",
    )
    p.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        metavar="ORIGIN",
        help="a shop origin whose pages may embed the widget, e.g. "
        "https://shop.example (repeatable; the server's own origin is always allowed)",
    )
    p.add_argument("--public-url", help="the URL shoppers' browsers use to reach this server")
    p.add_argument(
        "--trusted-proxy",
        dest="trusted_proxies",
        action="append",
        metavar="ADDRESS",
        help="a reverse proxy (address or network, e.g. 127.0.0.1 or 10.0.0.0/8) "
        "whose X-Forwarded-For/Forwarded and X-Forwarded-Proto headers give the "
        "client's address and scheme (repeatable; from anyone else they are ignored)",
    )
    p.add_argument(
        "--inactivity-timeout",
        type=float,
        metavar="SECONDS",
        help="end a chat after this long without messages (default 600)",
    )
    p.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="send the console's session cookie without the Secure flag "
        "(only for plain-http set-ups other than localhost)",
    )
    p.add_argument("--log-level", choices=LOG_LEVELS, help="default info")
    p.add_argument(
        "--smtp-url",
        metavar="URL",
        help="mail server for answers to offline tickets: "
        "smtp://[user[:password]@]host[:port][?starttls=true] or smtps://... "
        "(default: none, answers show in the chat only)",
    )
    p.add_argument(
        "--smtp-from",
        metavar="ADDRESS",
        help="the From address of those e-mails (default noreply@ the mail host)",
    )
    p.add_argument(
        "--retention-days",
        type=int,
        metavar="DAYS",
        help="remove the personal data of chats that ended more than DAYS days "
        "ago, in the background (default 0: keep everything)",
    )
    p.add_argument(
        "--redis",
        dest="redis_url",
        metavar="URL",
        help="run as one of several processes sharing live state, limits and emits "
        "through this Redis: redis://HOST:PORT/DB (needs the 'redis' extra: "
        "pip install 'supportbot[redis]'; default: none, one process)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="start N server processes on ports PORT..PORT+N-1 (N > 1 needs --redis; default 1)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app
    from bot.cli import CommandError
    from bot.hours import OfficeHours
    from bot.origins import normalise_origin
    from bot.remotes import parse_networks
    from bot.settings import settings_from_env

    try:
        origins = tuple(normalise_origin(o) for o in args.allowed_origins or ())
    except ValueError as exc:
        raise CommandError(f"--allowed-origin: {exc}") from None
    try:
        proxies = tuple(str(n) for n in parse_networks(args.trusted_proxies or ()))
    except ValueError as exc:
        raise CommandError(f"--trusted-proxy: {exc}") from None
    try:
        settings = settings_from_env(
            host=args.host,
            port=args.port,
            db=args.db,
            database=args.database,
            kb=args.kb,
            allowed_origins=origins or None,
            trusted_proxies=proxies or None,
            public_url=args.public_url,
            inactivity_timeout=args.inactivity_timeout,
            log_level=args.log_level,
            secure_cookies=False if args.insecure_cookies else None,
            smtp_url=args.smtp_url,
            smtp_from=args.smtp_from,
            retention_days=args.retention_days,
            redis_url=args.redis_url,
            workers=args.workers,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _check_cluster(settings)
    if settings.smtp_url:
        from bot.mail import MailConfigError, SmtpServer

        try:
            SmtpServer.parse(settings.smtp_url)
        except MailConfigError as exc:
            raise CommandError(f"--smtp-url: {exc}") from None
    if not 0 <= settings.port < 65536:
        raise CommandError(f"--port must be 0-65535, not {settings.port}")
    if settings.inactivity_timeout <= 0:
        raise CommandError("--inactivity-timeout must be positive")
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise CommandError(f"SUPPORTBOT_TRUSTED_PROXIES: {exc}") from None
    if settings.retention_days < 0:
        raise CommandError(
            "--retention-days (SUPPORTBOT_RETENTION_DAYS) must be 0 (keep everything) or more"
        )
    if settings.retention_interval <= 0:
        raise CommandError("SUPPORTBOT_RETENTION_INTERVAL must be positive")
    try:
        OfficeHours.parse(settings.office_hours, settings.timezone)
    except ValueError as exc:
        raise CommandError(f"SUPPORTBOT_OFFICE_HOURS / SUPPORTBOT_TIMEZONE: {exc}") from None
    if not settings.kb.exists():
        raise CommandError(f"knowledge base not found: {settings.kb}")
    check_database_url(settings.database)
    check_db_path(settings.store, readonly_ok=True)
    if settings.workers > 1:
        from bot.cli.workers import Workers

        if settings.port == 0:
            raise CommandError("--workers N takes a fixed --port (its processes use PORT+i)")
        for i in range(settings.workers):
            _check_port(settings.host, settings.port + i)
        return Workers(settings, args).run()
    listener = None
    if settings.port == 0:
        # The system picks a free port, bound here and handed to the server, so the
        # address printed below is the one it listens on.
        listener = _bind_any_port(settings.host)
        settings = settings.replace(port=listener.getsockname()[1])
    else:
        _check_port(settings.host, settings.port)

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    app = create_app(settings)
    _tune_collector()
    app.on_startup.append(_freeze_startup_objects)  # after every part has started
    if listener is not None:  # --port 0: say which port the system gave us
        print(f"listening on {settings.host}:{settings.port}", flush=True)
    print(
        f"supportbot on {settings.base_url}  (database {settings.store_name}, knowledge base "
        f"{settings.kb})",
        flush=True,
    )
    print(
        f"  demo shop: {settings.base_url}/   agent console: {settings.base_url}/console   "
        f"dashboard: {settings.base_url}/dashboard",
        flush=True,
    )
    try:
        if listener is None:
            web.run_app(
                app,
                host=settings.host,
                port=settings.port,
                print=None,
                handle_signals=True,
                shutdown_timeout=5,
            )
        else:
            web.run_app(app, sock=listener, print=None, handle_signals=True, shutdown_timeout=5)
    except Exception as exc:  # the knowledge base or the database failed at start-up
        from bot.kb.loader import KnowledgeBaseError
        from bot.store import StorageUnavailable

        if isinstance(exc, (KnowledgeBaseError, StorageUnavailable)):
            raise CommandError(str(exc)) from None
        raise
    return 0


def _check_cluster(settings: Settings) -> None:
    """--workers and --redis: clear errors for what cannot work."""
    from bot.cli import CommandError

    if settings.workers < 1:
        raise CommandError(f"--workers must be 1 or more, not {settings.workers}")
    if settings.workers > 1 and not settings.redis_url:
        raise CommandError(
            "--workers above 1 needs --redis (SUPPORTBOT_REDIS_URL): the processes share "
            "their live state through Redis"
        )
    if settings.workers > 1 and settings.port + settings.workers - 1 > 65535:
        raise CommandError(f"--workers {settings.workers} from port {settings.port} passes 65535")
    if settings.redis_ttl <= 0:
        raise CommandError("SUPPORTBOT_REDIS_TTL must be positive")
    if not settings.redis_url:
        return
    try:
        from bot.cluster.setup import check_url, ping
    except ImportError:
        raise CommandError(
            "--redis needs the redis package: pip install 'supportbot[redis]'"
        ) from None
    try:
        check_url(settings.redis_url)
    except ValueError as exc:
        raise CommandError(f"--redis: {exc}") from None
    problem = ping(settings.redis_url)
    if problem:
        raise CommandError(f"--redis: cannot reach {settings.redis_url}: {problem}")


# Full passes of the cycle collector, at most once per this many gen-1 passes
# instead of Python's 10. With 1,000 shoppers connected a full pass walks about
# 250,000 objects and holds the event loop for about 200 ms; by default that came
# every 20-30 s at 100 messages/s, delaying every message in flight. Little cyclic
# garbage outlives the young passes (a few thousand objects a minute; connections
# are freed by reference counting), so rarer full passes cost a few MB at most.
FULL_COLLECTION_EVERY = 200


async def _freeze_startup_objects(app: object) -> None:
    """What start-up built (modules, the knowledge base, lexicons) lives as long as
    the process: moved out of the cycle collector's sight, so that its rare full
    passes walk only what came since (connections, chats)."""
    gc.collect()
    gc.freeze()


def _tune_collector() -> None:
    """Only the serving process does this; tests and other commands keep the defaults."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def _bind_any_port(host: str) -> socket.socket:
    """A socket bound to a port of the system's choice on ``host``."""
    from bot.cli import CommandError

    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(f"--host {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    listener = socket.socket(family, kind, proto)
    if os.name != "nt":
        # As aiohttp does for the ports it binds: without it, the connections of a
        # server killed with its clients on (kill -9) keep the port from the next
        # server for a minute (TIME_WAIT).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as exc:
        listener.close()
        raise CommandError(f"cannot listen on {host}: {exc.strerror}") from None
    return listener


def _check_port(host: str, port: int) -> None:
    from bot.cli import CommandError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(f"--host {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"port {port} on {host} is already in use (another server running? try --port)"
                ) from None
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
