"""The Redis implementations of the live state, the counters, the locks and the leader,
against a real redis-server, with two "processes" (two clients and node ids) each."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.cluster.counters import RedisCounters
from bot.cluster.live import RedisLiveState
from bot.cluster.locks import RedisKeyedLocks
from bot.cluster.node import Node
from bot.cluster.setup import Cluster, check_url, database
from bot.ratelimit import Rule
from bot.settings import Settings


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    a = Redis.from_url(redis_url, decode_responses=True)
    b = Redis.from_url(redis_url, decode_responses=True)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_a_chat_claimed_from_two_processes_at_once_has_one_owner(
    clients: tuple[Redis, Redis],
) -> None:
    a, b = RedisLiveState(clients[0], "node-a"), RedisLiveState(clients[1], "node-b")
    for n in range(20):
        cid = f"c{n}"
        await a.enqueue(cid, 1000.0 + n)
        wins = await asyncio.gather(*(s.claim(cid, agent) for s, agent in ((a, 1), (b, 2))))
        assert sorted(wins) == [False, True]
        owner = await b.owner(cid)
        assert owner == (1 if wins[0] else 2)
        assert not await a.queued(cid)
        assert cid in await a.owned_by(owner)
    assert await a.queue_length() == 0


async def test_transfer_and_release_are_compare_and_set(clients: tuple[Redis, Redis]) -> None:
    a, b = RedisLiveState(clients[0], "node-a"), RedisLiveState(clients[1], "node-b")
    assert await a.claim("c", 1)
    assert not await b.transfer("c", 2, 3)  # 2 does not own it
    assert await b.transfer("c", 1, 3)
    assert await a.owner("c") == 3
    assert await a.owned_by(1) == set() and await a.owned_by(3) == {"c"}
    assert not await a.transfer("c", None, 4)  # owned: not "from nobody"
    assert await a.release("c") == 3
    assert await b.release("c") is None
    assert await b.transfer("c", None, 4)
    assert await a.owner("c") == 4


async def test_the_queue_is_ordered_by_waiting_time_with_presence(
    clients: tuple[Redis, Redis],
) -> None:
    a, b = RedisLiveState(clients[0], "node-a"), RedisLiveState(clients[1], "node-b")
    await a.enqueue("late", 2000.0)
    await b.enqueue("early", 1000.0)
    await b.shopper_joined("sid-1", "late")
    assert await a.queue() == [("early", 1000.0), ("late", 2000.0)]
    assert await a.queue_presence() == [("early", 1000.0, False), ("late", 2000.0, True)]
    assert await a.dequeue("early") and not await a.dequeue("early")
    await b.claim("owned", 7)
    assert await a.closed("late") == (None, True)  # released, dequeued, forgotten at once
    assert await b.closed("owned") == (7, False)
    assert await b.queue() == [] and await a.owner("owned") is None
    assert await a.owned_by(7) == set()


async def test_shopper_presence_across_processes(clients: tuple[Redis, Redis]) -> None:
    a, b = RedisLiveState(clients[0], "node-a"), RedisLiveState(clients[1], "node-b")
    await a.shopper_expected("c")
    assert await b.shopper_away_since("c") is not None
    await a.shopper_joined("s1", "c")
    await b.shopper_joined("s2", "c")  # a second tab, on the other process
    assert await b.shopper_online("c") and await a.shopper_away_since("c") is None
    assert await b.shopper_conversation("s1") == "c"
    assert await a.shopper_left("s1") == "c"
    assert await a.shopper_online("c")
    assert await b.shopper_left("s2") == "c"
    assert not await a.shopper_online("c")
    away = await a.shopper_away_since("c")
    assert away is not None and time.monotonic() - away < 1.0
    assert await a.shopper_left("s2") is None


async def test_agent_presence_across_processes(clients: tuple[Redis, Redis]) -> None:
    a, b = RedisLiveState(clients[0], "node-a"), RedisLiveState(clients[1], "node-b")
    p = await a.agent_connected(7, "x1", 2, "online", False)
    assert p.available and p.capacity == 2 and p.sids == {"x1"}
    p = await b.agent_connected(7, "x2", 2, "away", True)  # a second console keeps the status
    assert p.status == "online" and p.sids == {"x1", "x2"} and p.manager
    assert (await b.agent_for_sid("x1")).agent_id == 7  # type: ignore[union-attr]
    await b.set_agent_status(7, "away")
    assert not (await a.agent(7)).available  # type: ignore[union-attr]
    await a.agent_disconnected("x1")
    p2 = await b.agent_disconnected("x2")
    assert p2 is not None and not p2.connected and p2.disconnected_at is not None
    await a.mark_assigned(7)
    [only] = await b.agents()
    assert only.agent_id == 7 and time.monotonic() - only.last_assigned < 1.0
    await a.agent_connected(7, "x3", 2, "online", False)
    assert await b.agent_gone(7) == {"x3"}
    assert await a.agents() == [] and await a.agent_for_sid("x3") is None
    await a.expect_agent(8)  # after a restart: its chats wait for it
    p8 = await b.agent(8)
    assert p8 is not None and not p8.connected and p8.disconnected_at is not None


async def test_a_dead_process_leaves_nobody_online(clients: tuple[Redis, Redis]) -> None:
    """Process A stops beating: the leader (B) closes A's connections after the time-out,
    so A's agent is no longer online and A's shopper is away; B's are untouched."""
    dead, leader = Node(clients[0], ttl=0.5, node_id="a"), Node(clients[1], 0.5, "b")
    await leader.tick()
    await dead.tick()
    a, b = RedisLiveState(clients[0], "a"), RedisLiveState(clients[1], "b")
    await a.agent_connected(1, "agent-on-a", 3, "online", False)
    await b.agent_connected(2, "agent-on-b", 3, "online", False)
    await a.shopper_joined("shopper-on-a", "c1")
    await b.shopper_joined("shopper-on-b", "c2")
    counters = RedisCounters(clients[0], "a")
    gauge = Rule("address_connections", 1)
    assert await counters.acquire(gauge, "1.2.3.4")
    assert not await RedisCounters(clients[1], "b").acquire(gauge, "1.2.3.4")
    reaped: list[tuple[list[str], list[int]]] = []

    async def record(away: list[str], agents: list[int]) -> None:
        reaped.append((away, agents))

    leader.reaped = record
    assert leader.leads() and not dead.leads()
    await leader.tick()
    assert reaped == []  # A is still within its time-out
    await asyncio.sleep(0.6)
    await leader.tick()
    assert reaped == [(["c1"], [1])]
    assert [p.agent_id for p in await b.agents() if p.available] == [2]
    assert not await b.shopper_online("c1") and await b.shopper_online("c2")
    assert await RedisCounters(clients[1], "b").acquire(gauge, "1.2.3.4")  # A's share is back
    # A comes back to life: it finds itself reaped and says so.
    orphaned = asyncio.Event()

    async def on_orphaned() -> None:
        orphaned.set()

    dead.orphaned = on_orphaned
    await dead.tick()
    assert orphaned.is_set()


async def test_another_process_leads_when_the_leader_dies(clients: tuple[Redis, Redis]) -> None:
    first, second = Node(clients[0], 0.5, "first"), Node(clients[1], 0.5, "second")
    elected: list[str] = []
    first.elected = lambda: elected.append("first")
    second.elected = lambda: elected.append("second")
    await first.tick()
    await second.tick()
    assert first.leads() and not second.leads() and elected == ["first"]
    await asyncio.sleep(0.3)
    await first.tick()  # renewed
    await asyncio.sleep(0.3)
    await second.tick()
    assert not second.leads()  # still held: 0.6 s after it was taken, 0.3 s after renewal
    await asyncio.sleep(0.6)  # the first stops renewing (dies)
    await second.tick()
    assert second.leads() and elected == ["first", "second"]
    await first.tick()
    assert not first.leads()


async def test_a_leader_that_stops_hands_over_at_once(clients: tuple[Redis, Redis]) -> None:
    first, second = Node(clients[0], 30, "first"), Node(clients[1], 30, "second")
    await first.start()
    await second.start()
    assert first.leads() and not second.leads()
    await first.stop()
    await second.tick()
    assert second.leads()
    await second.stop()


async def test_requests_are_relayed_to_the_leader(clients: tuple[Redis, Redis]) -> None:
    leader, other = Node(clients[0], 30, "leader"), Node(clients[1], 30, "other")
    ran = asyncio.Event()
    leader.jobs = {"queue": ran.set}
    await leader.start()
    await other.start()
    try:
        for _ in range(50):  # until the leader's subscription is up
            other.relay("queue")
            try:
                await asyncio.wait_for(ran.wait(), 0.1)
                break
            except TimeoutError:
                pass
        assert ran.is_set()
    finally:
        await other.stop()
        await leader.stop()


async def test_rate_limits_are_counted_across_processes(clients: tuple[Redis, Redis]) -> None:
    a, b = RedisCounters(clients[0], "a"), RedisCounters(clients[1], "b")
    rule = Rule("messages", 3, 10.0)
    assert [await c.hit(rule, "k") for c in (a, b, a)] == [0.0, 0.0, 0.0]
    wait = await b.hit(rule, "k")
    assert 0 < wait <= 10.0
    await a.undo(rule, "k")
    assert await b.hit(rule, "k") == 0.0
    assert await a.hit(rule, "other") == 0.0  # keys are separate
    await b.forget(rule, "k")
    assert await a.hit(rule, "k") == 0.0
    # several rules at once: all counted, or none
    tight, loose = Rule("address_tickets", 1, 60.0), Rule("address_messages", 5, 60.0)
    assert await a.hit_all([(loose, "ip"), (tight, "ip")]) is None
    refused = await b.hit_all([(loose, "ip"), (tight, "ip")])
    assert refused is not None and refused[0] == tight and 0 < refused[1] <= 60.0
    for _ in range(4):  # the refused attempt counted nothing on the loose rule
        assert await b.hit(loose, "ip") == 0.0
    assert await b.hit(loose, "ip") > 0


async def test_a_conversation_lock_is_held_by_one_process_at_a_time(
    clients: tuple[Redis, Redis],
) -> None:
    a, b = RedisKeyedLocks(clients[0], 10), RedisKeyedLocks(clients[1], 10)
    inside: list[str] = []
    overlaps = 0

    async def hold(locks: RedisKeyedLocks, who: str) -> None:
        nonlocal overlaps
        for _ in range(10):
            async with locks("c1"):
                inside.append(who)
                if len(inside) > 1:
                    overlaps += 1
                await asyncio.sleep(0.002)
                inside.remove(who)

    await asyncio.gather(hold(a, "a1"), hold(a, "a2"), hold(b, "b1"), hold(b, "b2"))
    assert overlaps == 0
    assert await clients[0].exists("sb:lock:c1") == 0


async def test_relays_stay_within_their_redis_database(redis_url: str) -> None:
    """Pub/sub channels span a Redis server's databases: each deployment (database) has
    its own, so a leader never runs another deployment's jobs."""
    other_url = redis_url.rsplit("/", 1)[0] + "/1"
    assert (database(redis_url), database(other_url)) == (0, 1)
    clusters = [
        Cluster.create(Settings(redis_url=url, redis_ttl=30))
        for url in (redis_url, other_url, redis_url)
    ]
    leader0, leader1, sender = (c.node for c in clusters)
    ran: list[str] = []
    leader0.jobs = {"queue": lambda: ran.append("0")}
    leader1.jobs = {"queue": lambda: ran.append("1")}
    for node in (leader0, leader1, sender):
        await node.start()
    try:
        assert leader0.leads() and leader1.leads() and not sender.leads()
        for _ in range(50):
            sender.relay("queue")
            await asyncio.sleep(0.1)
            if ran:
                break
        await asyncio.sleep(0.2)
        assert set(ran) == {"0"}
    finally:
        for node in (sender, leader1, leader0):
            await node.stop()
        for cluster in clusters:
            await cluster.close()


async def test_a_turns_emits_reach_redis_in_one_round_trip_in_order(redis_url: str) -> None:
    """Emits made one after another are published together (one pipeline), in the
    order made, the fence among them; the other processes receive every one."""
    import json

    import socketio

    from bot.cluster.rooms import RedisRooms

    rooms = RedisRooms(redis_url, channel="test-emits")
    socketio.AsyncServer(async_mode="aiohttp", client_manager=rooms)  # rooms.server
    listener = Redis.from_url(redis_url, decode_responses=True)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("test-emits")
    try:
        await rooms.emit("message", {"n": 1}, namespace="/chat", room="conversation:c1")
        await rooms.emit("message", {"n": 2}, namespace="/chat", room="watch:c1")
        await rooms.fence("c1")
        await rooms.emit("mood", {"n": 3}, namespace="/agent", room="watch:c1")
        await rooms.flush()
        assert rooms.round_trips == 1
        received = []
        deadline = time.monotonic() + 5
        while len(received) < 4 and time.monotonic() < deadline:
            # None for the subscription's own confirmation, which is not shown
            message = await pubsub.get_message(timeout=1)
            if message is not None:
                received.append(json.loads(message["data"]))
        assert [m.get("data", [{}])[0].get("n", m.get("method")) for m in received] == [
            1,
            2,
            "supportbot_fence",
            3,
        ]
        await rooms.emit("message", {"n": 4}, namespace="/chat", room="conversation:c1")
        await rooms.flush()
        assert rooms.round_trips == 2
    finally:
        await pubsub.aclose()
        await listener.aclose()
        await rooms.pubsub.aclose()  # made by python-socketio with its client
        await rooms.redis.aclose()


def test_bad_redis_urls_are_refused_clearly() -> None:
    check_url("redis://127.0.0.1:6379/0")
    for bad, words in (
        ("http://x", "expected redis://"),
        ("redis://", "no host"),
        ("redis://h:1/x", "must be a number"),
    ):
        with pytest.raises(ValueError, match=words):
            check_url(bad)


@dataclass
class RoomsPair:
    """Two processes' room managers on one Redis, and a listener on all their channels."""

    a: Any
    b: Any
    check: Redis
    pubsub: Any
    channel: str

    async def published(self) -> list[tuple[str, object]]:
        """(channel, first datum) of what both have published, in order."""
        await self.a.flush()
        await self.b.flush()
        out = []
        quiet_until = time.monotonic() + 0.3  # None is also the subscription's confirmation
        while time.monotonic() < quiet_until:
            message = await self.pubsub.get_message(timeout=0.1)
            if message is not None:
                out.append((message["channel"], json.loads(message["data"])["data"][0]))
        return out


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[RoomsPair]:
    import socketio

    from bot.cluster.rooms import RedisRooms

    channel = "test-route-" + uuid.uuid4().hex[:8]
    a = RedisRooms(redis_url, channel=channel, host_id="a" + uuid.uuid4().hex)
    b = RedisRooms(redis_url, channel=channel, host_id="b" + uuid.uuid4().hex)
    for rooms in (a, b):
        socketio.AsyncServer(async_mode="aiohttp", client_manager=rooms)  # rooms.server
    check = Redis.from_url(redis_url, decode_responses=True)
    pubsub = check.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(channel + "*")
    yield RoomsPair(a, b, check, pubsub, channel)
    await pubsub.aclose()
    await check.aclose()
    for rooms in (a, b):
        if rooms.redis is not None:
            await rooms.pubsub.aclose()  # made by python-socketio with its client
            await rooms.redis.aclose()


async def test_a_conversation_rooms_emits_reach_only_the_processes_with_members(
    pair: RoomsPair,
) -> None:
    """An emit to a conversation's room goes, through Redis, to the processes that
    have members in it (each on its own channel) and to nobody when only the
    emitter has; a join is recorded before enter_room returns, the last leave takes
    the record out, and reaping a dead process takes out its records."""
    from bot.cluster.live import Scripts

    a, b, check, channel = pair.a, pair.b, pair.check, pair.channel
    a_id, b_id = a.host_id, b.host_id
    published = pair.published
    sid = await a.connect("eio-1", "/chat")  # a shopper's connection on process A
    await a.enter_room(sid, "/chat", "conv:c1")
    assert await check.smembers("sb:room:/chat|conv:c1") == {a_id}
    assert await check.smembers(f"sb:node_rooms:{a_id}") == {"/chat|conv:c1"}

    await b.emit("message", {"n": 1}, namespace="/chat", room="conv:c1")  # reaches A
    await b.emit("message", {"n": 2}, namespace="/chat", room="conv:c2")  # nobody
    await b.emit("message", {"n": 3}, namespace="/agent", room="conv:c1")  # nobody
    await a.emit("message", {"n": 4}, namespace="/chat", room="conv:c1")  # only A
    await b.emit("queue", {"n": 5}, namespace="/agent", room="agents")  # everyone
    assert await published() == [
        (f"{channel}:node:{a_id}", {"n": 1}),
        (channel, {"n": 5}),
    ]

    agent = await b.connect("eio-2", "/agent")  # an agent opens the chat on B
    await b.enter_room(agent, "/agent", "conv:c1")
    await a.emit("card", {"n": 6}, namespace="/agent", room="conv:c1")
    assert await published() == [(f"{channel}:node:{b_id}", {"n": 6})]

    a.basic_disconnect(sid, "/chat")  # the shopper's last tab on A closes
    await b.emit("message", {"n": 7}, namespace="/chat", room="conv:c1")
    assert await published() == []
    assert await check.exists("sb:room:/chat|conv:c1") == 0
    assert await check.smembers(f"sb:node_rooms:{a_id}") == set()

    await Scripts(check).run("REAP", b_id)  # B died: the leader reaps it
    assert await check.exists("sb:room:/agent|conv:c1", f"sb:node_rooms:{b_id}") == 0


async def test_room_records_redis_refuses_are_made_again_and_nothing_is_sent_twice(
    pair: RoomsPair,
) -> None:
    """Redis out of memory refuses the record of a join (SADD) but runs the
    publishes: the join still returns, no message of the same pipeline goes out
    twice, and once Redis takes writes again the record is made after the next
    pipeline, so emits from the other process reach the room again."""
    a, b, check, channel = pair.a, pair.b, pair.check, pair.channel
    a_id, published = a.host_id, pair.published
    await check.config_set("maxmemory-policy", "noeviction")
    await check.config_set("maxmemory", 1)  # every write refused from now on
    sid = await a.connect("eio-1", "/agent")
    await asyncio.wait_for(a.enter_room(sid, "/agent", "conv:c1"), timeout=5)
    await a.emit("queue", {"n": 1}, namespace="/agent", room="agents")  # same pipeline
    assert await published() == [(channel, {"n": 1})]  # once, not again with a retry
    assert await check.smembers("sb:room:/agent|conv:c1") == set()

    await check.config_set("maxmemory", 0)  # Redis takes writes again
    await a.emit("queue", {"n": 2}, namespace="/agent", room="agents")
    await a.flush()
    assert await check.smembers("sb:room:/agent|conv:c1") == {a_id}
    await b.emit("message", {"n": 3}, namespace="/agent", room="conv:c1")
    assert await published() == [(channel, {"n": 2}), (f"{channel}:node:{a_id}", {"n": 3})]
