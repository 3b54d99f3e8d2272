"""One frozen settings object, read once from defaults, the environment and the CLI.

Every knob of the service can be set here. The knobs of the bot's judgement belong
to the config dataclasses next to the code that reads them (``MatcherConfig``,
``MoodConfig``, ``PolicyConfig``), which hold their defaults: here those fields are
``None`` ("the area's default") unless set, and :func:`matcher_config`,
:func:`mood_config` and :func:`policy_config` pass on only what was set.

Environment variables are named ``SUPPORTBOT_<FIELD>`` (upper case), e.g.
``SUPPORTBOT_PORT=9000`` or ``SUPPORTBOT_ALLOWED_ORIGINS=https://a.shop,https://b.shop``.
Command-line flags win over the environment, which wins over the defaults.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.resources import default_kb_path

if TYPE_CHECKING:
    from bot.kb.matcher import MatcherConfig
    from bot.mood.detector import MoodConfig
    from bot.mood.policy import PolicyConfig

ENV_PREFIX = "SUPPORTBOT_"


class SettingsError(ValueError):
    """A SUPPORTBOT_* variable has a value of the wrong type."""


@dataclass(frozen=True)
class Settings:
    # -- serving
    host: str = "127.0.0.1"
    port: int = 8080
    db: Path = Path("supportbot.db")
    # PostgreSQL instead of the SQLite file (postgresql://USER:PASSWORD@HOST:PORT/DB), for
    # several processes or machines on one store (bot.store.postgres)
    database: str = ""
    kb: Path = field(default_factory=default_kb_path)
    # Shop origins whose pages may open widget connections. Empty means "the
    # server's own origin only" (the demo page); see bot.origins.
    allowed_origins: tuple[str, ...] = ()
    # Public base URL of this server as shoppers' browsers see it, used in the
    # embed snippet; defaults to http://HOST:PORT.
    public_url: str = ""
    log_level: str = "info"
    # The console cookie gets the Secure flag unless this is False. Browsers accept
    # Secure cookies from http://localhost and http://127.0.0.1 too.
    secure_cookies: bool = True
    # Reverse proxies (addresses or networks, e.g. 127.0.0.1 or 10.0.0.0/8) whose
    # X-Forwarded-For / Forwarded and X-Forwarded-Proto headers are believed; from
    # anyone else they are ignored (see bot.remotes).
    trusted_proxies: tuple[str, ...] = ()

    # -- several processes (bot.cluster): live state, limits and emits through this
    # Redis (redis://HOST:PORT/DB); empty: one process, everything in memory
    redis_url: str = ""
    # a process (or the leader) silent for this many seconds is taken for dead; also
    # the longest a conversation's lock is held by a process that died
    redis_ttl: float = 10.0
    workers: int = 1  # server processes started by `serve` (more than 1 needs redis_url)

    # -- conversations
    inactivity_timeout: float = 600.0  # seconds without a shopper message -> chat ends
    max_message_length: int = 2000
    # image attachments: files in this folder (default: beside the database, named
    # after it: supportbot-uploads/ for supportbot.db), at most this big, this many
    # per conversation
    upload_dir: Path = Path("")
    upload_max_bytes: int = 5 * 1024 * 1024
    upload_max_files: int = 10
    rate_limit_messages: int = 10  # shopper messages per conversation ...
    rate_limit_window: float = 10.0  # ... per this many seconds
    rate_limit_handoffs: int = 5  # hand-off requests per conversation per window
    rate_limit_events: int = 60  # any events per connection per window (floods)

    # -- per client address: many shoppers may share one (a mobile carrier's NAT,
    # an office), so these are generous; 0 turns a limit off. See README "Security".
    address_window: float = 60.0  # the window of the per-address rates below
    address_connections: int = 100  # socket.io connections held at once
    address_conversations: int = 30  # new conversations per window
    address_messages: int = 300  # shopper messages per window
    address_handoffs: int = 20  # hand-off requests per window
    address_tickets: int = 5  # offline messages (leave_message) per window
    kb_reload_interval: float = 2.0  # seconds between checks for edited KB files
    ping_interval: float = 25.0  # socket.io heartbeat: a silent connection is dropped after
    ping_timeout: float = 20.0  # ping_interval + ping_timeout seconds (half-open sockets)
    sweep_interval: float = 5.0  # seconds between checks for idle chats and absent agents

    # -- the bot's judgement (defaults are the benchmarked ones; see README)
    # FAQ score needed to answer outright (MatcherConfig.answer_threshold, 0.35) ...
    faq_answer_threshold: float | None = None
    faq_answer_margin: float | None = None  # ... with this lead over the second (0.12)
    faq_suggest_threshold: float | None = None  # below: "I don't know" (fallback; 0.2)
    # The thresholds above are the defaults for a KB too small to calibrate (or with
    # faq_calibrate off); otherwise the KB's own cross-validation sets them.
    faq_calibrate: bool = True
    # Semantic slow path (sentence encoder) for questions the lexical fast path is not
    # sure of: "process" (worker processes), "inline" (the judging thread), "off".
    faq_semantic: str = "process"
    faq_workers: int = 1  # worker processes of the slow path (faq_semantic=process)
    faq_model_dir: Path = Path("")  # sentence-encoder files; empty: the ones installed with it
    faq_cache_dir: Path = Path("")  # phrasing vectors; empty: DB.cache beside the database
    mood_escalate_below: float | None = None  # a message scoring this or lower escalates (-0.25)
    mood_tone: bool = True  # the tone model on the sentence vectors (needs faq_semantic on)
    mood_threshold: float | None = None  # the conversation's mood at or below this escalates (-0.2)
    mood_decay: float | None = None  # weight the conversation's mood keeps per message (0.5)
    offer_person_after: int | None = None  # bot failures in a row before a person is offered (2)
    escalate_after: int | None = None  # bot failures in a row before escalating (3)

    # -- agents
    agent_grace_period: float = 60.0  # seconds an owner may be gone before requeue
    # seconds a waiting shopper may be gone (closed the tab) before the chat leaves the
    # queue and becomes an offline ticket
    shopper_grace_period: float = 60.0
    queue_wait_threshold: float = 180.0  # seconds before "leave a message" is offered
    # what the widget says when nobody is online: the typical reply time (seconds; 0:
    # measured, the median first response of the last 14 days) and office hours
    # ("mon-fri 09:00-18:00, sat 10:00-13:00", see bot.hours) in this time zone
    reply_time: float = 0.0
    office_hours: str = ""
    timezone: str = "UTC"
    session_ttl: float = 12 * 3600.0
    login_attempts: int = 5  # failed sign-ins per e-mail and address ...
    login_address_attempts: int = 50  # ... and per address (any e-mail) ...
    login_window: float = 300.0  # ... in this many seconds
    login_hash_slots: int = 2  # password checks at once (scrypt: 32 MiB, ~80 ms each)

    # -- CSAT
    csat_window: float = 7 * 24 * 3600.0  # seconds a rating may still be changed
    nps_enabled: bool = False

    # -- e-mail (answers to offline tickets); empty: answers are shown in the chat only
    smtp_url: str = ""  # smtp://[user[:password]@]host[:port][?starttls=true] or smtps://...
    smtp_from: str = ""  # the From address; default: noreply@ the mail server's host
    smtp_retry: float = 30.0  # first retry after a failed send; each next one waits 4x longer
    smtp_attempts: int = 8  # attempts before an e-mail is given up (the agent sees it)
    shop_name: str = "Casa Lino"  # signs e-mails to shoppers

    # -- storage
    writer_batch: int = 500  # most jobs the writer thread commits in one transaction

    # -- privacy (bot.privacy)
    retention_days: int = 0  # chats that ended longer ago lose their personal data; 0: never
    retention_interval: float = 3600.0  # seconds between two runs of the retention purge

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def store(self) -> Path | str:
        """Where the data is: the PostgreSQL URL, else the SQLite file."""
        return self.database or self.db

    @property
    def store_name(self) -> str:
        """The store as told in messages (a URL without its password)."""
        from bot.store.postgres import redact

        return redact(self.database) if self.database else str(self.db)

    @property
    def uploads(self) -> Path:
        """The attachments' folder: ``upload_dir``, or beside the database."""
        if str(self.upload_dir) not in ("", "."):
            return self.upload_dir
        return self.db.parent / f"{self.db.stem}-uploads"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


def _coerce(raw: str, current: Any, kind: Any = None) -> Any:
    """``raw`` as the type of the field's default (``kind``: the field's annotation, for
    fields whose default is None)."""
    if current is None:
        annotation = str(kind)
        current = (
            0 if annotation.startswith("int") else 0.0 if annotation.startswith("float") else ""
        )
    if isinstance(current, bool):
        value = raw.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"expected a boolean, got {raw!r}")
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, Path):
        return Path(raw)
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``SUPPORTBOT_*`` variables, then explicit keyword overrides."""
    environ = os.environ if environ is None else environ
    base = Settings()
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        key = ENV_PREFIX + f.name.upper()
        if key in environ:
            try:
                values[f.name] = _coerce(environ[key], getattr(base, f.name), f.type)
            except ValueError as exc:
                raise SettingsError(f"{key}: {exc}") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    return base.replace(**values)


SEMANTIC_MODES = ("off", "inline", "process")


def semantic_mode(settings: Settings) -> str:
    mode = settings.faq_semantic.strip().lower()
    if mode not in SEMANTIC_MODES:
        raise SettingsError(
            f"{ENV_PREFIX}FAQ_SEMANTIC: expected one of {', '.join(SEMANTIC_MODES)}, "
            f"got {settings.faq_semantic!r}"
        )
    return mode


def cache_dir(settings: Settings, *, server: bool) -> Path:
    """Where phrasing vectors are cached: the setting, else beside the database (server)
    or in the user's cache folder (other commands)."""
    if str(settings.faq_cache_dir) not in ("", "."):
        return settings.faq_cache_dir
    if server:
        return settings.db.with_name(settings.db.name + ".cache")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "supportbot"


def model_dir(settings: Settings) -> Path | None:
    return None if str(settings.faq_model_dir) in ("", ".") else settings.faq_model_dir


def matcher_config(settings: Settings) -> MatcherConfig:
    from bot.kb.matcher import MatcherConfig

    return MatcherConfig(
        calibrate=settings.faq_calibrate,
        **_set(
            answer_threshold=settings.faq_answer_threshold,
            answer_margin=settings.faq_answer_margin,
            suggest_threshold=settings.faq_suggest_threshold,
        ),
    )


def _set(**values: Any) -> dict[str, Any]:
    """Only the knobs that were set: the others keep the area config's defaults."""
    return {name: value for name, value in values.items() if value is not None}


def mood_config(settings: Settings) -> MoodConfig:
    from bot.mood.detector import MoodConfig

    return MoodConfig(tone=settings.mood_tone, **_set(escalate_below=settings.mood_escalate_below))


def policy_config(settings: Settings) -> PolicyConfig:
    from bot.mood.policy import PolicyConfig

    return PolicyConfig(
        **_set(
            decay=settings.mood_decay,
            mood_threshold=settings.mood_threshold,
            offer_after_failures=settings.offer_person_after,
            escalate_after_failures=settings.escalate_after,
        )
    )
