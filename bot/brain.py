"""The bot's judgement for one shopper turn: language, mood, FAQ match, escalation.

This is the seam between the chat server and the two judges: the FAQ matcher
(``bot.kb``) and the mood detector with its conversation policy (``bot.mood``).
:meth:`Brain.respond` is pure CPU work (about a millisecond); it does no I/O and
keeps no state: the conversation's mood state comes in and goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.kb.model import KnowledgeBase
from bot.kb.service import KnowledgeService
from bot.lang import detect_language
from bot.mood.detector import MoodDetector
from bot.mood.policy import PolicyConfig, step
from bot.texts import say
from bot.types import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    ConversationMood,
    Decision,
    MatchResult,
    MoodResult,
)


@dataclass(frozen=True, slots=True)
class Reply:
    """A bot message to store and send: text plus protocol metadata."""

    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Turn:
    language: str
    detected_language: str | None
    mood: MoodResult
    state: ConversationMood
    decision: Decision
    match: MatchResult | None = None
    picked: str | None = None
    replies: tuple[Reply, ...] = ()

    @property
    def outcome(self) -> str | None:
        if self.picked is not None:
            return "answer"
        return self.match.action if self.match is not None else None


def handoff_reply(language: str) -> dict[str, str]:
    return {"type": "handoff", "label": say("handoff_label", language)}


class Brain:
    def __init__(
        self,
        knowledge: KnowledgeService,
        mood: MoodDetector,
        policy: PolicyConfig | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.mood = mood
        self.policy = policy or PolicyConfig()

    def greet(self, language: str) -> Reply:
        return Reply(say("greeting", language))

    def language_for(self, text: str, current: str, setting: str) -> tuple[str, str | None]:
        detected = detect_language(text)
        if setting in LANGUAGES:
            return setting, detected
        return (detected or current or DEFAULT_LANGUAGE), detected

    def respond(
        self,
        text: str,
        *,
        state: ConversationMood,
        language: str,
        lang_setting: str = "auto",
        bot_active: bool = True,
        pick: str | None = None,
    ) -> Turn:
        """Judge one shopper message; when ``bot_active``, also say what the bot replies."""
        language, detected = self.language_for(text, language, lang_setting)
        mood = self.mood.analyse(text)
        knowledge = self.knowledge.state  # one version for the whole turn (hot reload)
        kb = knowledge.kb
        if pick is not None and kb.get(pick) is None:
            pick = None  # a forged or stale suggestion: treat the text as a question
        match: MatchResult | None = None
        replies: tuple[Reply, ...] = ()
        if bot_active and pick is None:
            match = knowledge.matcher.match(text, detected)
        outcome = "answer" if pick is not None else (match.action if match else None)
        new_state, decision = step(state, mood, outcome if bot_active else None, config=self.policy)
        if bot_active and not decision.escalate:
            replies = (self._reply(kb, match, pick, language, decision),)
        return Turn(
            language=language,
            detected_language=detected,
            mood=mood,
            state=new_state,
            decision=decision,
            match=match,
            picked=pick,
            replies=replies,
        )

    def not_helpful(self, state: ConversationMood, *, again: bool = False
                    ) -> tuple[ConversationMood, Decision]:
        """The shopper said an answer did not help (``again``: after the bot's second try)."""
        return step(state, None, "not_helpful_again" if again else "not_helpful",
                    config=self.policy)

    def alternatives(self, question: str, language: str, exclude: str | None,
                     limit: int = 3) -> list[tuple[str, str]]:
        """The next likely entries for a question whose answer did not help:
        ``(entry_id, its question in the shopper's language)``, best first."""
        knowledge = self.knowledge.state
        matcher = knowledge.matcher
        if not question.strip():
            return []
        ranked = matcher.rank(question, None, limit=limit + 1)
        # Weaker candidates than "did you mean" would offer: the best one was wrong.
        floor = matcher.config.suggest_threshold / 2
        out: list[tuple[str, str]] = []
        for index, score in zip(ranked.entries, ranked.scores, strict=True):
            entry_id = matcher.index.entry_ids[int(index)]
            if entry_id == exclude or float(score) < floor:
                continue
            out.append((entry_id, knowledge.kb.question(entry_id, language)))
            if len(out) == limit:
                break
        return out

    def _reply(
        self,
        kb: KnowledgeBase,
        match: MatchResult | None,
        pick: str | None,
        language: str,
        decision: Decision,
    ) -> Reply:
        entry_id = pick if pick is not None else (match.entry_id if match else None)
        action = "answer" if pick is not None else (match.action if match else "fallback")
        if action == "answer" and entry_id is not None:
            return Reply(kb.answer(entry_id, language), {"entry_id": entry_id, "feedback": True})
        if action == "suggest" and match is not None:
            quick = [
                {
                    "type": "suggestion",
                    "entry_id": s.entry_id,
                    "label": kb.question(s.entry_id, language),
                }
                for s in match.suggestions
            ]
            if decision.offer_person:
                quick.append(handoff_reply(language))
            return Reply(say("suggest", language), {"quick_replies": quick})
        key = "offer_person" if decision.offer_person else "fallback"
        return Reply(say(key, language), {"quick_replies": [handoff_reply(language)]})
