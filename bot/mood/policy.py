"""Conversation-level escalation policy: a pure function from one turn to a decision.

The conversation's mood is a decaying average of its shoppers' message scores
(the newest message weighs ``1 - decay``). After every turn the policy says
whether to hand the conversation to a person now (``escalate``) or to offer one
(``offer_person``):

* a message escalates on its own (unhappy, or asks for a person);
* the mood falls to ``mood_threshold`` or below, once there are at least
  ``mood_min_messages`` messages (mild unhappiness that builds up);
* the bot failed to answer confidently ``offer_after_failures`` times in a row
  (offer a person) or ``escalate_after_failures`` times (escalate);
* the shopper said an answer did not help a second time ("not_helpful_again"):
  the first time ("not_helpful") counts as a failure, and the bot tries again.

Decisions are per turn: a caller whose conversation is already with a person
simply ignores a repeated ``escalate``. An escalation for bot failures starts the
failure count again, so a conversation handed back to the bot gets a fresh start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bot.types import ConversationMood, Decision, MoodResult

Outcome = Literal["answer", "suggest", "fallback", "not_helpful", "not_helpful_again"]
OUTCOMES: tuple[str, ...] = ("answer", "suggest", "fallback", "not_helpful", "not_helpful_again")
PERSON_REASON = "asks for a person"


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds of the escalation policy."""

    decay: float = 0.5  # weight the previous mood keeps when a message is scored
    mood_threshold: float = -0.2  # escalate when the mood falls to this or below ...
    mood_min_messages: int = 2  # ... once this many messages have been scored
    offer_after_failures: int = 2  # bot outcomes in a row that were not an answer
    escalate_after_failures: int = 3
    escalate_on_message: bool = True  # a message that escalates on its own
    escalate_on_not_helpful: bool = True  # "that did not help", after the bot's second try

    def __post_init__(self) -> None:
        if not 0.0 <= self.decay < 1.0:
            raise ValueError("decay must be in [0, 1)")
        if not -1.0 <= self.mood_threshold <= 1.0:
            raise ValueError("mood_threshold must be in [-1, 1]")
        if self.mood_min_messages < 1:
            raise ValueError("mood_min_messages must be at least 1")
        if not 1 <= self.offer_after_failures <= self.escalate_after_failures:
            raise ValueError("need 1 <= offer_after_failures <= escalate_after_failures")


def step(
    state: ConversationMood,
    mood: MoodResult | None,
    outcome: str | None,
    *,
    config: PolicyConfig,
) -> tuple[ConversationMood, Decision]:
    """Fold one turn into the conversation state and decide what to do.

    ``mood`` is the detector's verdict on the shopper's message (None for a turn
    without one, e.g. a click on "this did not help"); ``outcome`` is what the bot
    did ("answer", "suggest", "fallback"), "not_helpful" when the shopper said an
    answer did not help (the bot then tries again), "not_helpful_again" when it
    happens after that second try, or None when the bot did not take part.
    """
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
    reasons: list[str] = []
    average, messages, failures = state.mood, state.messages, state.failures_in_row
    if mood is not None:
        score = max(-1.0, min(1.0, mood.score))
        average = round(
            score if messages == 0 else (config.decay * average + (1.0 - config.decay) * score),
            4,
        )
        messages += 1
        if config.escalate_on_message and mood.escalate:
            reasons.extend(_message_reasons(mood))
    if outcome == "answer":
        failures = 0
    elif outcome is not None:
        failures += 1
    state = ConversationMood(mood=average, messages=messages, failures_in_row=failures)
    if outcome == "not_helpful_again" and config.escalate_on_not_helpful:
        reasons.append("said an answer did not help")
    if (
        mood is not None
        and state.messages >= config.mood_min_messages
        and state.mood <= config.mood_threshold
    ):
        reasons.append(f"mood fell to {state.mood:.2f}")
    failures = state.failures_in_row
    if failures >= config.escalate_after_failures:
        reasons.append(f"bot could not answer {failures} times in a row")
    escalate = bool(reasons)
    offer = not escalate and failures >= config.offer_after_failures
    if escalate and (failures >= config.escalate_after_failures or outcome == "not_helpful_again"):
        state = replace(state, failures_in_row=0)
    return state, Decision(escalate=escalate, offer_person=offer, reasons=tuple(reasons))


def _message_reasons(mood: MoodResult) -> list[str]:
    """'asks for a person' and/or 'unhappy: <the detector's reasons>'."""
    out: list[str] = []
    if mood.asks_for_person:
        out.append(PERSON_REASON)
    rest = [r for r in mood.reasons if r != PERSON_REASON]
    if rest or not mood.asks_for_person:
        out.append("unhappy: " + (", ".join(rest) if rest else f"mood {mood.score:.2f}"))
    return out
