"""The bot inside a conversation: answers, suggestions, fallbacks, language, escalation."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal

import pytest

from bot import judging
from bot.app import JUDGING, KNOWLEDGE
from bot.judging import JudgeWorkers
from bot.kb.loader import load_kb
from bot.resources import default_kb_path
from bot.texts import say

from conftest import Client, LiveServer

_LOADED = load_kb(default_kb_path()).kb  # the entries' texts, no matcher built
assert _LOADED is not None
KB = _LOADED


def bot_messages(client: Client) -> list[dict]:
    return [m for m in client.of("message") if m["author"] == "bot"]


async def bot_reply(client: Client, n: int) -> dict:
    """The n-th bot message after the greeting (the greeting came with `start`)."""
    if len(bot_messages(client)) < n:
        await client.wait_for("message", lambda m: len(bot_messages(client)) >= n)
    return bot_messages(client)[n - 1]


async def test_suggestions_can_be_picked(server: LiveServer, shopper) -> None:
    client: Client = await shopper()
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "q1", "text": "return"})
    reply = await bot_reply(client, 1)
    suggestions = [q for q in reply["quick_replies"] if q["type"] == "suggestion"]
    assert 1 <= len(suggestions) <= 3 and all(q["label"] for q in suggestions)
    picked = suggestions[0]
    await client.call("message", {"id": "q2", "text": picked["label"], "pick": picked["entry_id"]})
    answer = await bot_reply(client, 2)
    assert answer["entry_id"] == picked["entry_id"] and answer["feedback"] is True
    assert answer["text"] == KB.answer(picked["entry_id"], "en")
    offered = await server.events("bot.suggested", cid)
    assert json.loads(offered[0]["properties"])["suggestions"][0] == picked["entry_id"]
    assert len(await server.events("suggestion.picked", cid)) == 1


async def test_forged_pick_is_treated_as_a_question(shopper) -> None:
    client = await shopper()
    ack = await client.call(
        "message", {"id": "f1", "text": "how long does delivery take", "pick": "no-such-entry"}
    )
    assert ack["ok"]
    reply = await bot_reply(client, 1)
    assert reply["entry_id"] == "delivery-time"


async def test_unanswerable_questions_offer_then_bring_a_person(
    server: LiveServer, shopper
) -> None:
    client = await shopper()
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "u1", "text": "asdf qwerty"})
    first = await bot_reply(client, 1)
    assert first["quick_replies"] == [{"type": "handoff", "label": "Talk to a person"}]
    await client.call("message", {"id": "u2", "text": "zxcv bnm"})
    second = await bot_reply(client, 2)
    assert "person" in second["text"] and second["quick_replies"][-1]["type"] == "handoff"
    assert len(await server.events("person.offered", cid)) == 1
    await client.call("message", {"id": "u3", "text": "qwop qwop"})
    await client.wait_for("status", lambda s: s["status"] == "queued")
    escalated = await server.events("escalation.requested", cid)
    assert (
        "bot could not answer 3 times in a row" in json.loads(escalated[0]["properties"])["reasons"]
    )
    gaps = await server.events("bot.no_answer", cid)
    assert [json.loads(g["properties"])["query"] for g in gaps] == ["asdf qwerty", "zxcv bnm"]


@pytest.mark.parametrize(
    ("text", "reason", "mood_below"),
    [
        ("THIS IS RIDICULOUS, WHERE IS MY ORDER???", "shouting", -0.5),
        # no word of anger the lexicons know: the tone model's verdict
        ("a voi dei clienti non importa proprio niente", "tone of the message", -0.25),
    ],
)
async def test_an_unhappy_message_escalates_with_reasons(
    server: LiveServer, shopper, agent, text: str, reason: str, mood_below: float
) -> None:
    ada = await agent("Ada", online=False)
    client = await shopper()
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "a1", "text": text})
    await client.wait_for("status", lambda s: s["status"] == "queued")
    queue = await ada.wait_for("queue", lambda q: len(q) == 1)
    assert queue[0]["id"] == cid and queue[0]["mood"] <= mood_below
    assert any(reason in r for r in queue[0]["reasons"])
    received = json.loads((await server.events("message.received", cid))[0]["properties"])
    assert received["mood"] <= mood_below and reason in received["mood_reasons"]


async def test_asking_for_a_person_escalates(server: LiveServer, shopper) -> None:
    client = await shopper()
    await client.call("message", {"id": "h1", "text": "can I talk to a human please"})
    status = await client.wait_for("status", lambda s: s["status"] == "queued")
    assert status["agents_online"] is False and status["offer_leave_message"] is True


async def test_the_bot_replies_in_the_shoppers_language(server: LiveServer, shopper) -> None:
    client = await shopper()
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "it1", "text": "quanto costa la spedizione in Italia?"})
    reply = await bot_reply(client, 1)
    assert reply["entry_id"] == "delivery-cost"
    assert reply["text"] == KB.answer("delivery-cost", "it")
    rows = await server.query("SELECT language FROM conversations WHERE id = ?", cid)
    assert rows == [{"language": "it"}]


async def test_a_fixed_language_setting_wins(shopper) -> None:
    client = await shopper(lang="pl")
    assert client.start["conversation"]["language"] == "pl"
    assert client.start["messages"][0]["text"].startswith("Cześć")
    await client.call("message", {"id": "pl1", "text": "how long does delivery take"})
    reply = await bot_reply(client, 1)
    assert reply["text"] == KB.answer("delivery-time", "pl")


async def test_one_no_gets_a_second_try_and_a_second_no_a_person(
    server: LiveServer, shopper
) -> None:
    client = await shopper()
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "d1", "text": "how long does delivery take"})
    answer = await bot_reply(client, 1)
    assert answer["entry_id"] == "delivery-time"
    assert (await client.call("feedback", {"message_id": answer["id"], "helpful": True}))["ok"]
    forged = await client.call("feedback", {"message_id": answer["id"] + 10_000, "helpful": False})
    assert forged["error"]["code"] == "not_found"

    # The first "no": other likely answers (never the one that did not help) and the
    # offer of a person; the chat stays with the bot.
    ack = await client.call("feedback", {"message_id": answer["id"], "helpful": False})
    assert ack["ok"] and "status" not in ack
    retry = await bot_reply(client, 2)
    kinds = [q["type"] for q in retry["quick_replies"]]
    assert kinds[-1] == "handoff"
    suggested = [q["entry_id"] for q in retry["quick_replies"] if q["type"] == "suggestion"]
    assert "delivery-time" not in suggested
    assert retry["text"] == say("retry_suggest", "en") and suggested
    rows = await server.query("SELECT status FROM conversations WHERE id = ?", cid)
    assert rows == [{"status": "bot"}]
    assert not await server.events("escalation.requested", cid)
    retried = json.loads((await server.events("answer.retried", cid))[0]["properties"])
    assert retried["suggestions"] == suggested

    # The shopper picks another answer; a "no" on that one brings in a person.
    label = next(q["label"] for q in retry["quick_replies"] if q["type"] == "suggestion")
    await client.call("message", {"id": "d2", "text": label, "pick": suggested[0]})
    second = await bot_reply(client, 3)
    ack = await client.call("feedback", {"message_id": second["id"], "helpful": False})
    assert ack["ok"] and ack["status"]["status"] == "queued"
    feedback = [json.loads(e["properties"]) for e in await server.events("answer.feedback", cid)]
    assert [f["helpful"] for f in feedback] == [True, False, False]
    reasons = json.loads((await server.events("escalation.requested", cid))[0]["properties"])[
        "reasons"
    ]
    assert reasons == ["said an answer did not help"]


async def test_a_known_answer_comes_before_the_hand_off(server: LiveServer, shopper) -> None:
    client = await shopper()
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "c1", "text": "i was charged twice for my order!!!"})
    await client.wait_for("status", lambda s: s["status"] == "queued")
    answer = await bot_reply(client, 1)
    assert answer["entry_id"] == "payment-charged-twice"
    assert answer["text"] == KB.answer("payment-charged-twice", "en")
    notice = await bot_reply(client, 2)
    assert notice["entry_id"] is None and notice["text"] != answer["text"]
    replied = await server.events("bot.reply", cid)
    assert json.loads(replied[0]["properties"])["entry_id"] == "payment-charged-twice"
    assert len(await server.events("escalation.requested", cid)) == 1


async def test_small_talk_is_answered_and_is_no_failure(server: LiveServer, shopper) -> None:
    client = await shopper(lang="auto")
    cid = client.start["conversation"]["id"]
    await client.call("message", {"id": "s1", "text": "dzień dobry"})
    greeting = await bot_reply(client, 1)
    assert greeting["text"] == "Dzień dobry! W czym mogę pomóc?"
    assert greeting["quick_replies"] == [] and greeting["entry_id"] is None
    await client.call("message", {"id": "s2", "text": "ile kosztuje wysyłka?"})
    await bot_reply(client, 2)
    await client.call("message", {"id": "s3", "text": "thanks, bye"})
    bye = await bot_reply(client, 3)
    assert bye["text"] == "Do widzenia i dziękujemy za odwiedzenie Casa Lino!"  # still Polish
    rows = await server.query(
        "SELECT language, failures_in_row FROM conversations WHERE id = ?", cid
    )
    assert rows == [{"language": "pl", "failures_in_row": 0}]
    assert await server.events("bot.no_answer", cid) == []


async def test_the_judgement_runs_in_worker_processes(start_server, connect) -> None:
    server = await start_server(faq_semantic="process")
    workers = server.app[JUDGING].workers
    assert workers is not None and workers.available
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    await client.call("message", {"id": "w1", "text": "i want my money back"})
    reply = await bot_reply(client, 1)
    assert reply["entry_id"] == "refund-time"  # no word in common with the entry
    assessment = await workers.assess("i want my money back", None, "not-a-version")
    assert assessment is None  # a worker judges only with the server's KB version
    # Many at once: the worker judges those waiting together; each reply to its asker.
    version = server.app[KNOWLEDGE].fingerprint
    texts = [f"{q} ({n})" for n in range(6) for q in ("my parcel never showed up", "hello")]
    results = await asyncio.gather(*(workers.assess(t, None, version) for t in texts))
    assert [r.text if r is not None else None for r in results] == texts
    assert [r.path for r in results if r is not None][::2] == ["slow"] * 6
    # The worker reads the tone too (the mood lexicons alone let this one through).
    toned = await workers.assess("this is not how you treat people who pay you", None, version)
    assert toned is not None and toned.mood.escalate and "tone of the message" in toned.mood.reasons


async def judged_by_one_worker(start_server, connect) -> tuple[JudgeWorkers, int, Client]:
    """A server judging in one worker process, that worker's pid, and a shopper whose
    chat has started."""
    server = await start_server(faq_semantic="process")
    workers = server.app[JUDGING].workers
    assert workers is not None
    [pid] = workers.pids
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    return workers, pid, client


async def test_a_judging_worker_that_dies_is_replaced_and_no_message_waits(
    start_server, connect, caplog
) -> None:
    workers, pid, client = await judged_by_one_worker(start_server, connect)
    with caplog.at_level(logging.ERROR, logger="bot.judging"):
        os.kill(pid, signal.SIGKILL)
        # Sent at once: judged by the server itself (lexical) or by the new worker.
        ack = await client.call("message", {"id": "k1", "text": "how long does delivery take?"})
        assert ack["message"]["text"] == "how long does delivery take?"
        await bot_reply(client, 1)
        for _ in range(600):  # the new worker loads the model and the KB
            if workers.pids and workers.pids != [pid]:
                break
            await asyncio.sleep(0.05)
    assert workers.pids and workers.pids != [pid]
    assert any("judging worker died" in r.getMessage() for r in caplog.records)
    await client.call("message", {"id": "k2", "text": "i want my money back"})
    reply = await bot_reply(client, 2)
    assert reply["entry_id"] == "refund-time"  # the semantic path is back


async def test_a_stuck_judging_worker_does_not_hold_up_the_shoppers(
    start_server, connect, monkeypatch, caplog
) -> None:
    """A worker that stops answering (stopped here with SIGSTOP) is waited for at most
    JUDGE_TIMEOUT; then the server judges the message itself. Two requests waiting at
    once are each given up on at their own deadline (one timer serves them all)."""
    monkeypatch.setattr(judging, "JUDGE_TIMEOUT", 1.0)
    workers, pid, client = await judged_by_one_worker(start_server, connect)
    os.kill(pid, signal.SIGSTOP)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.judging"):
            loop = asyncio.get_running_loop()
            started = loop.time()
            await client.call("message", {"id": "t1", "text": "how long does delivery take?"})
            reply = await bot_reply(client, 1)
            assert loop.time() - started < 5
            first = asyncio.ensure_future(
                client.call("message", {"id": "t2", "text": "can I pay with PayPal?"})
            )
            await asyncio.sleep(0.5)
            started = loop.time()
            second = await client.call("message", {"id": "t3", "text": "do you ship to Italy?"})
            waited = loop.time() - started
            assert (await first)["message"]["client_id"] == "t2"
            assert second["message"]["client_id"] == "t3"
            # Its own deadline (1 s after it was sent): not the first one's (0.5 s), and
            # not a whole time-out after the first one's (1.5 s).
            assert 0.95 < waited < 1.35
        assert reply["entry_id"] == "delivery-time" or reply["quick_replies"]
        given_up = [r for r in caplog.records if "judging here instead" in r.getMessage()]
        assert len(given_up) == 3
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_a_broken_model_falls_back_to_the_lexical_matcher_with_a_warning(
    start_server, connect, tmp_path, caplog
) -> None:
    (tmp_path / "weights.npz").write_bytes(b"broken")
    (tmp_path / "sp.model").write_bytes(b"broken")
    with caplog.at_level(logging.WARNING, logger="bot.judging"):
        server = await start_server(faq_semantic="process", faq_model_dir=tmp_path)
    assert server.app[JUDGING].workers is None
    assert any(
        "FAQ slow path unavailable" in r.getMessage() and str(tmp_path) in r.getMessage()
        for r in caplog.records
    )
    client = await connect("/chat", url=server.url)
    await client.call("start", {})
    await client.call("message", {"id": "b1", "text": "how long does delivery take"})
    reply = await bot_reply(client, 1)
    assert reply["entry_id"] == "delivery-time" or reply["quick_replies"]
