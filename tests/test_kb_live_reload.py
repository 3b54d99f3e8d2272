"""Editing the knowledge base while the server runs: no restart, no dropped chat."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.app import KNOWLEDGE

from conftest import ManualClock

ROOT = Path(__file__).resolve().parent
GIFT_CARDS = """
[[entries]]
id = "gift-cards"
tags = ["gifts"]

[entries.en]
question = "Do you sell gift cards?"
alternates = ["can I buy a gift voucher", "gift card for a friend", "present voucher"]
keywords = ["gift card", "voucher"]
answer = "Yes: gift cards from 25 to 300 euro, sent by e-mail."
"""


async def test_edits_take_effect_without_a_restart(start_server, connect, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "data" / "kb_small", kb)
    clock = ManualClock()
    server = await start_server(kb=kb, kb_reload_interval=2.0, clock=clock)
    await clock.wait_sleeping("kb-reload")
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    await client.call("message", {"id": "before", "text": "do you sell gift cards"})
    before = await client.wait_for("message", lambda m: m["author"] == "bot")
    assert before["entry_id"] != "gift-cards"

    with (kb / "delivery.toml").open("a", encoding="utf-8") as f:
        f.write(GIFT_CARDS)
    knowledge = server.app[KNOWLEDGE]
    await clock.advance(1.9)  # not yet time to look
    assert knowledge.kb.get("gift-cards") is None
    await clock.advance(0.1)  # one check of the files, done when this returns
    assert knowledge.kb.get("gift-cards") is not None
    await client.call("message", {"id": "after", "text": "do you sell gift cards"})
    reply = await client.wait_for(
        "message", lambda m: m["author"] == "bot" and m["id"] > before["id"]
    )
    assert reply["entry_id"] == "gift-cards"
    assert reply["text"].startswith("Yes: gift cards")
    assert client.sio.connected  # the chat went on through the reload


async def test_a_broken_edit_keeps_the_last_good_version(
    start_server, connect, tmp_path: Path, caplog
) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "data" / "kb_small", kb)
    clock = ManualClock()
    server = await start_server(kb=kb, kb_reload_interval=0.1, clock=clock)
    await clock.wait_sleeping("kb-reload")
    (kb / "returns.toml").write_text('topic = "Returns"\n[[entries]\nid = broken', encoding="utf-8")
    await clock.advance(0.1)  # one check of the files, done when this returns
    assert any("returns.toml" in r.getMessage() for r in caplog.records)
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    await client.call("message", {"id": "r1", "text": "how do I return an item"})
    reply = await client.wait_for("message", lambda m: m["author"] == "bot")
    assert reply["entry_id"] == "return-policy"


RENTAL = (
    'bike-rental,en,Do you rent out bikes?,"Yes: city and e-bikes from 15 EUR a day, '
    'in both shops.",bike hire|rent a bicycle for a day|rental bikes|borrow a bike for the '
    "weekend,shop\n"
)


async def test_the_slow_path_workers_follow_an_edit(start_server, connect, tmp_path: Path) -> None:
    """With the slow path in worker processes, an edit reaches them too: a request made
    with the new version's fingerprint makes a worker reload before it answers."""
    from bot.app import JUDGING

    kb = tmp_path / "faq.csv"
    shutil.copy(ROOT / "data" / "kb_bikes" / "faq.csv", kb)
    clock = ManualClock()
    server = await start_server(kb=kb, kb_reload_interval=0.1, faq_semantic="process", clock=clock)
    await clock.wait_sleeping("kb-reload")
    workers = server.app[JUDGING].workers
    assert workers is not None
    knowledge = server.app[KNOWLEDGE]
    old = knowledge.fingerprint
    with kb.open("a", encoding="utf-8") as f:
        f.write(RENTAL)
    await clock.advance(0.1)  # one check of the files, done when this returns
    assert knowledge.kb.get("bike-rental") is not None
    assert knowledge.fingerprint != old
    result = await workers.assess(
        "could I take one of your bicycles for a couple of days", None, knowledge.fingerprint
    )
    assert result is not None and result.match is not None
    assert result.match.entry_id == "bike-rental"
    assert await workers.assess("rent a bike", None, "not-a-version") is None
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    await client.call("message", {"id": "r1", "text": "do you do bike hire"})
    reply = await client.wait_for("message", lambda m: m["author"] == "bot")
    assert reply["entry_id"] == "bike-rental"
