"""The parts of one process of a deployment on Redis, made from the settings.

``bot.app`` builds a :class:`Cluster` when ``redis_url`` is set and asks it for the
Redis implementations of its interfaces; nothing else imports ``redis``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from redis.asyncio import Redis

from bot.cluster.counters import RedisCounters
from bot.cluster.live import RedisLiveState
from bot.cluster.locks import RedisKeyedLocks
from bot.cluster.node import CHANNEL, Node
from bot.cluster.rooms import RedisRooms
from bot.settings import Settings

SCHEMES = ("redis", "rediss", "unix")


def check_url(url: str) -> None:
    """A clear error for a URL Redis cannot be reached at."""
    parsed = urlparse(url)
    if parsed.scheme not in SCHEMES:
        raise ValueError(f"expected redis://HOST:PORT/DB (or rediss://, unix://), got {url!r}")
    if parsed.scheme != "unix" and not parsed.hostname:
        raise ValueError(f"no host in {url!r}")
    path = parsed.path.strip("/")
    if parsed.scheme != "unix" and path and not path.isdigit():
        raise ValueError(f"the database in {url!r} must be a number (redis://HOST:PORT/0)")


def database(url: str) -> int:
    """The database number of a Redis URL (0 when it names none)."""
    parsed = urlparse(url)
    path = parsed.path.strip("/")
    if parsed.scheme != "unix" and path.isdigit():
        return int(path)
    query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    return int(query["db"]) if query.get("db", "").isdigit() else 0


def ping(url: str) -> str | None:
    """None when Redis answers at ``url``, else what went wrong (before serving)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None


@dataclass
class Cluster:
    redis: Redis
    node: Node
    rooms: RedisRooms
    settings: Settings

    @classmethod
    def create(cls, settings: Settings) -> Cluster:
        check_url(settings.redis_url)
        redis = Redis.from_url(settings.redis_url, decode_responses=True)
        # Keys live in the URL's database, but pub/sub channels are shared by every
        # database of a Redis server: they are named after the database.
        suffix = f":{database(settings.redis_url)}"
        node = Node(redis, settings.redis_ttl, channel=CHANNEL + suffix)
        rooms = RedisRooms(settings.redis_url, channel="supportbot" + suffix, host_id=node.id)
        return cls(redis, node, rooms, settings)

    def live(self) -> RedisLiveState:
        return RedisLiveState(self.redis, self.node.id)

    def counters(self) -> RedisCounters:
        return RedisCounters(self.redis, self.node.id)

    def locks(self) -> RedisKeyedLocks:
        return RedisKeyedLocks(self.redis, self.settings.redis_ttl)

    async def close(self) -> None:
        await self.redis.aclose()
