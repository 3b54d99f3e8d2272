"""The conversation-level escalation policy (a pure function of state and turn)."""

from __future__ import annotations

import pytest

from bot.mood.detector import MoodDetector
from bot.mood.policy import PolicyConfig, step
from bot.types import ConversationMood, Decision, MoodResult

CONFIG = PolicyConfig()
CALM = MoodResult(escalate=False, score=0.1)
NEUTRAL = MoodResult(escalate=False, score=0.0)


def mood(score: float, *reasons: str, escalate: bool = False, person: bool = False) -> MoodResult:
    return MoodResult(escalate=escalate, score=score, reasons=reasons, asks_for_person=person)


def run(
    turns: list[tuple[MoodResult | None, str | None]], config: PolicyConfig = CONFIG
) -> tuple[ConversationMood, list[Decision]]:
    state = ConversationMood()
    decisions = []
    for result, outcome in turns:
        state, decision = step(state, result, outcome, config=config)
        decisions.append(decision)
    return state, decisions


def test_calm_conversation_never_escalates() -> None:
    state, decisions = run(
        [(CALM, "answer"), (NEUTRAL, "answer"), (CALM, "suggest"), (CALM, "answer")]
    )
    assert not any(d.escalate or d.offer_person for d in decisions)
    assert state.messages == 4 and state.failures_in_row == 0
    assert all(d.reasons == () for d in decisions)


def test_mood_is_a_decaying_average() -> None:
    config = PolicyConfig(decay=0.5)
    state, _ = run([(mood(0.4), "answer")], config)
    assert state.mood == pytest.approx(0.4)  # the first message sets it
    state, _ = run([(mood(0.4), "answer"), (mood(-0.2), "answer")], config)
    assert state.mood == pytest.approx(0.1)
    state, _ = run([(mood(0.4), "answer"), (mood(-0.2), "answer"), (mood(-0.2), "answer")], config)
    assert state.mood == pytest.approx(-0.05)
    heavy = PolicyConfig(decay=0.9)
    state, _ = run([(mood(0.4), "answer"), (mood(-0.2), "answer")], heavy)
    assert state.mood == pytest.approx(0.34)


def test_message_that_escalates_on_its_own() -> None:
    result = mood(-0.62, "shouting", "negative sentiment -0.62", escalate=True)
    _, [decision] = run([(result, "answer")])
    assert decision.escalate and not decision.offer_person
    assert decision.reasons == ("unhappy: shouting, negative sentiment -0.62",)


def test_asking_for_a_person() -> None:
    result = mood(0.0, "asks for a person", escalate=True, person=True)
    _, [decision] = run([(result, "fallback")])
    assert decision.escalate
    assert decision.reasons == ("asks for a person",)
    angry = mood(-0.7, "asks for a person", "frustration", escalate=True, person=True)
    _, [decision] = run([(angry, None)])
    assert decision.reasons == ("asks for a person", "unhappy: frustration")


def test_mood_falling_below_the_threshold() -> None:
    mild = mood(-0.21, "negative sentiment -0.21")
    _, decisions = run([(mild, "answer"), (mild, "answer")])
    assert not decisions[0].escalate  # one mildly negative message is not enough
    assert decisions[1].escalate
    assert decisions[1].reasons == ("mood fell to -0.21",)


def test_mood_threshold_and_minimum_come_from_config() -> None:
    mild = mood(-0.21)
    config = PolicyConfig(mood_threshold=-0.5)
    _, decisions = run([(mild, "answer")] * 4, config)
    assert not any(d.escalate for d in decisions)
    config = PolicyConfig(mood_threshold=-0.1, mood_min_messages=1)
    _, [decision] = run([(mild, "answer")], config)
    assert decision.escalate


def test_recovering_mood_stops_the_alarm() -> None:
    mild = mood(-0.3)
    _, decisions = run([(mild, "answer"), (mild, "answer"), (mood(0.8), "answer")])
    assert decisions[1].escalate and not decisions[2].escalate


def test_bot_failures_offer_then_escalate() -> None:
    state, decisions = run([(NEUTRAL, "fallback"), (NEUTRAL, "suggest"), (NEUTRAL, "fallback")])
    assert [d.offer_person for d in decisions] == [False, True, False]
    assert [d.escalate for d in decisions] == [False, False, True]
    assert decisions[1].reasons == ()
    assert decisions[2].reasons == ("bot could not answer 3 times in a row",)
    assert state.failures_in_row == 0  # escalating starts the count again


def test_an_answer_resets_the_failure_count() -> None:
    state, decisions = run(
        [(NEUTRAL, "fallback"), (NEUTRAL, "fallback"), (NEUTRAL, "answer"), (NEUTRAL, "fallback")]
    )
    assert not any(d.escalate for d in decisions)
    assert state.failures_in_row == 1


def test_turns_without_bot_outcome_keep_the_count() -> None:
    state, decisions = run([(NEUTRAL, "fallback"), (NEUTRAL, None), (NEUTRAL, "fallback")])
    assert state.failures_in_row == 2
    assert decisions[2].offer_person and not decisions[2].escalate


def test_failure_thresholds_come_from_config() -> None:
    config = PolicyConfig(offer_after_failures=1, escalate_after_failures=2)
    _, decisions = run([(NEUTRAL, "fallback"), (NEUTRAL, "fallback")], config)
    assert decisions[0].offer_person and not decisions[0].escalate
    assert decisions[1].escalate
    assert decisions[1].reasons == ("bot could not answer 2 times in a row",)


def test_answer_did_not_help() -> None:
    state = ConversationMood(mood=0.2, messages=3, failures_in_row=0)
    # the first "no": a failure, and the bot tries again
    new, decision = step(state, None, "not_helpful", config=CONFIG)
    assert not decision.escalate and new.failures_in_row == 1
    assert new.messages == 3 and new.mood == 0.2  # no message was scored
    # a "no" after the second try brings in a person
    new, decision = step(state, None, "not_helpful_again", config=CONFIG)
    assert decision.escalate
    assert decision.reasons == ("said an answer did not help",)
    off = PolicyConfig(escalate_on_not_helpful=False)
    new, decision = step(state, None, "not_helpful_again", config=off)
    assert not decision.escalate and new.failures_in_row == 1


def test_turn_without_message_or_outcome_changes_nothing() -> None:
    state = ConversationMood(mood=-0.1, messages=2, failures_in_row=1)
    new, decision = step(state, None, None, config=CONFIG)
    assert new == state
    assert decision == Decision()


def test_step_is_pure() -> None:
    state = ConversationMood(mood=0.0, messages=1, failures_in_row=2)
    first = step(state, mood(-0.3), "fallback", config=CONFIG)
    second = step(state, mood(-0.3), "fallback", config=CONFIG)
    assert first == second
    assert state == ConversationMood(mood=0.0, messages=1, failures_in_row=2)


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        step(ConversationMood(), None, "shrug", config=CONFIG)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"decay": 1.0},
        {"decay": -0.1},
        {"mood_threshold": -2.0},
        {"mood_min_messages": 0},
        {"offer_after_failures": 4, "escalate_after_failures": 3},
        {"offer_after_failures": 0},
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PolicyConfig(**kwargs)  # type: ignore[arg-type]


def test_with_the_real_detector() -> None:
    detector = MoodDetector()
    state = ConversationMood()
    script = [
        ("hi, where is my parcel?", "suggest", False),
        ("it was supposed to come on Monday", "fallback", False),
        ("I've been waiting two weeks, this is ridiculous", "fallback", True),
    ]
    for text, outcome, expected in script:
        state, decision = step(state, detector.analyse(text), outcome, config=CONFIG)
        assert decision.escalate is expected, text
    assert any(r.startswith("unhappy: ") for r in decision.reasons)
    assert "bot could not answer 3 times in a row" in decision.reasons
    calm = ConversationMood()
    for text in ("hello", "can I return a lamp?", "thanks, that helps"):
        calm, decision = step(calm, detector.analyse(text), "answer", config=CONFIG)
        assert not decision.escalate
    assert calm.mood > 0
