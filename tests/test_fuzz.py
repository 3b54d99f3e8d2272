"""1,500 random and malformed (event, payload) cases for both namespaces: about 1,100
of them name a real event, whose handler checks the payload; a fresh ``start``
(about one case in thirty) is skipped.

Hypothesis generates the payloads; every one is sent to the real server while a
well-behaved conversation goes on in parallel. The server must answer each with
a well-formed ack (an error code from the documented list when refused), never
crash, keep the parallel conversation intact, and leave a sound database.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.agents.namespace import AgentNamespace
from bot.chat.namespace import ShopperNamespace
from bot.errors import MESSAGES

from conftest import Client

FIELDS = [
    "id",
    "text",
    "pick",
    "token",
    "lang",
    "page",
    "user",
    "message_id",
    "helpful",
    "typing",
    "rating",
    "comment",
    "score",
    "email",
    "action",
    "name",
    "conversation_id",
    "status",
    "agent_id",
    "shortcut",
    "site",
    "page_lang",
    "preview",
    "url",
    "title",
]

# Text with lone UTF-16 surrogates (JSON "\ud800"), which Python decodes into a str
# that is not valid Unicode; they must be refused, never stored.
surrogate_text = st.text(
    st.characters(categories=["Cs"]) | st.characters(), min_size=1, max_size=40
).filter(lambda t: any("\ud800" <= c <= "\udfff" for c in t))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    surrogate_text,
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "<script>alert(1)</script>",
            "x" * 2001,
            "c_0000000000000000",
            "A" * 43,
            "online",
            "opened",
            "en",
            "../../etc/passwd",
            "🙂" * 50,
            "\ud83d",
            "ok \udc00 ok",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), children, max_size=6
        ),
    ),
    max_leaves=8,
)
payloads = st.one_of(
    values,
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=8),
    st.dictionaries(st.sampled_from(FIELDS), surrogate_text, min_size=1, max_size=4),
)
# Event names: the real ones, any text (surrogates too), and JSON that is not a name at all.
odd_names = st.one_of(
    st.text(max_size=20),
    surrogate_text,
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def event_names(events: list[str]) -> st.SearchStrategy[Any]:
    """Three cases in four name a real event, whose handler checks the payload; the
    rest are names no handler has (one refusal path, however odd the name)."""
    real = st.sampled_from(events)
    return st.integers(0, 3).flatmap(lambda n: real if n else odd_names)


def collect(events: list[str], count: int) -> list[tuple[Any, Any]]:
    """Use hypothesis as the generator of (event, payload) pairs."""
    found: list[tuple[Any, Any]] = []

    @settings(
        max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(event_names(events), payloads)
    def gather(event: Any, payload: Any) -> None:
        found.append((event, payload))

    gather()
    return found


def check_ack(event: Any, payload: Any, ack: Any) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (event, payload, ack)
    if not ack["ok"]:
        error = ack["error"]
        assert error["code"] in MESSAGES, (event, payload, ack)
        assert error["code"] != "internal_error", (event, payload, ack)
        assert isinstance(error["message"], str) and error["message"]


@pytest.mark.slow
async def test_fuzz_every_event_of_both_namespaces(start_server, connect, agent) -> None:
    # Generate first: hypothesis blocks the event loop while it works.
    shopper_cases = collect(sorted(ShopperNamespace.events), 800)
    agent_cases = collect(sorted(AgentNamespace.events), 700)
    # Limits off: the payloads, not the floods, are under test here (tests/test_security_*).
    server = await start_server(
        rate_limit_messages=100_000,
        rate_limit_events=100_000,
        rate_limit_handoffs=0,
        address_messages=0,
        address_handoffs=0,
        address_tickets=0,
        address_conversations=0,
    )
    fuzz_shopper: Client = await connect("/chat", url=server.url)
    assert (await fuzz_shopper.call("start", {}))["ok"]
    from conftest import login

    await server.add_agent("fuzz@shop.example", "Fuzz")
    cookie = await login(server.url, "fuzz@shop.example")
    fuzz_agent = await connect(
        "/agent", url=server.url, headers={"Cookie": f"supportbot_session={cookie}"}
    )

    # a well-behaved conversation going on at the same time
    calm = await connect("/chat", url=server.url)
    calm_start = await calm.call("start", {})
    calm_sent: list[str] = []

    async def calm_chat() -> None:
        for n in range(40):
            client_id = f"calm-{n}"
            ack = await calm.call(
                "message", {"id": client_id, "text": "how long does delivery take?"}
            )
            assert ack["ok"], ack
            calm_sent.append(client_id)
            await asyncio.sleep(0.02)

    calm_task = asyncio.create_task(calm_chat())
    for event, payload in shopper_cases:
        if event == "start" and isinstance(payload, dict) and payload.get("token") is None:
            continue  # a fresh start would just move this client to a new conversation
        check_ack(event, payload, await fuzz_shopper.call(event, payload))
    for event, payload in agent_cases:
        check_ack(event, payload, await fuzz_agent.call(event, payload))
    await calm_task

    # both fuzzed connections are still usable, the calm chat is intact
    assert (await fuzz_agent.call("sync", {}))["ok"]
    fresh = await fuzz_shopper.call("start", {})
    assert fresh["ok"]
    rows = await server.query(
        "SELECT client_id FROM messages WHERE conversation_id = ? AND author = 'shopper' ORDER BY id",
        calm_start["conversation"]["id"],
    )
    assert [r["client_id"] for r in rows] == calm_sent
    assert (await server.query("PRAGMA integrity_check"))[0]["integrity_check"] == "ok"
