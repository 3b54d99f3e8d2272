"""The bot's judgement for one shopper turn: language, mood, FAQ match, escalation.

This is the seam between the chat server and the two judges: the FAQ matcher
(``bot.kb``) and the mood detector with its conversation policy (``bot.mood``).
The work is split in two:

* :meth:`Brain.assess` judges the message on its own: its language, its mood (the
  lexicons, then the tone model on the sentence vector for what they let through),
  whether it is small talk, and the FAQ match (the lexical fast path and, when
  that is unsure, the semantic slow path). This is the CPU-heavy part; it needs no
  conversation state, and its input and output pickle, so it can run in a thread
  or a worker process. :meth:`Brain.assess_async` runs it off the event loop: in
  :class:`bot.judging.JudgeWorkers`' processes when there are some, else in a thread.
* :meth:`Brain.decide` folds that into the conversation (cheap: the policy step,
  the conversation's language, the replies) on the conversation as committed.

:meth:`Brain.respond` is both at once, for the command line and tests.

What the shopper gets: a known answer is never held back (a message that also
escalates gets the answer, then the hand-off); greetings, thanks and goodbyes get a
short friendly line and never count as a bot failure; the conversation keeps its
language unless the shopper clearly switches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.kb.cascade import FastResult
from bot.kb.matcher import MAX_QUERY_CHARS
from bot.kb.model import KnowledgeBase
from bot.kb.service import KnowledgeService
from bot.lang import language_lead
from bot.mood.detector import MoodDetector
from bot.mood.policy import PolicyConfig, step
from bot.mood.tone import ToneModel, load_tone, needs_tone
from bot.smalltalk import small_talk
from bot.texts import say
from bot.types import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    ConversationMood,
    Decision,
    MatchResult,
    MoodResult,
)

if TYPE_CHECKING:
    from bot.judging import JudgeWorkers
    from bot.kb.semantic import Encoder

log = logging.getLogger(__name__)

# A conversation's language changes only for a message that is clearly in another
# one: this much evidence lead (lang.language_lead) and this many words.
SWITCH_LEAD = 2.5
SWITCH_WORDS = 3


@dataclass(frozen=True, slots=True)
class Reply:
    """A bot message to store and send: text plus protocol metadata."""

    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one message says on its own (picklable: it may come from another process)."""

    text: str
    detected_language: str | None
    language_lead: float
    words: int
    mood: MoodResult
    small_talk: str | None = None
    pick: str | None = None
    match: MatchResult | None = None
    path: str | None = None  # "fast" or "slow": which path decided the match
    kb_version: str = ""


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
    small_talk: str | None = None

    @property
    def outcome(self) -> str | None:
        if self.picked is not None:
            return "answer"
        return self.match.action if self.match is not None else None

    @property
    def answered(self) -> bool:
        return self.outcome == "answer"


def handoff_reply(language: str) -> dict[str, str]:
    return {"type": "handoff", "label": say("handoff_label", language)}


class Brain:
    def __init__(
        self,
        knowledge: KnowledgeService,
        mood: MoodDetector,
        policy: PolicyConfig | None = None,
        *,
        executor: Executor | None = None,
        workers: JudgeWorkers | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.mood = mood
        self.policy = policy or PolicyConfig()
        self.executor = executor  # where assess_async judges without workers (None: the loop's)
        self.workers = workers  # worker processes that judge messages, if any
        self._tone_model: ToneModel | None = None
        self._tone_for = ""  # the encoder version the tone model was looked up for

    def greet(self, language: str) -> Reply:
        return Reply(say("greeting", language))

    # -- the message on its own -----------------------------------------------------------------

    def assess(self, text: str, pick: str | None = None) -> Assessment:
        """Language, mood, small talk and FAQ match of one message."""
        return self.assess_many([(text, pick)])[0]

    def assess_many(self, messages: Sequence[tuple[str, str | None]]) -> list[Assessment]:
        """:meth:`assess` for several messages ``(text, pick)`` at once: the questions
        the fast path is unsure of, and the messages the tone model reads, go through
        the sentence encoder together (each message once)."""
        state = self.knowledge.state  # one version for the whole batch (hot reload)
        faq = state.faq
        tone = self._tone(faq.encoder)
        out: list[Assessment] = []
        unsure: list[tuple[int, FastResult]] = []
        toned: list[int] = []  # messages the tone model reads
        for text, pick in messages:
            detected, lead = language_lead(text)
            mood = self.mood.analyse(text)
            words = sum(1 for part in text.split() if any(c.isalpha() for c in part))
            kind = small_talk(text) if pick is None else None
            if pick is not None and state.kb.get(pick) is None:
                pick = None  # a forged or stale suggestion: treat the text as a question
                kind = small_talk(text)
            base = Assessment(
                text, detected, lead, words, mood, kind, pick, kb_version=state.fingerprint
            )
            if pick is None and kind is None:
                fast = faq.fast(text, detected)
                base = replace(base, match=fast.result, path="fast")
                if not fast.sure and faq.has_slow_path:
                    unsure.append((len(out), fast))
                    # The tone model reads the vectors the slow path needs anyway: a
                    # question the fast path is sure of is close to one of the KB's own
                    # questions, which it learnt as calm.
                    if tone is not None and needs_tone(text, mood):
                        toned.append(len(out))
            out.append(base)
        if not unsure:
            return out
        assert faq.encoder is not None  # has_slow_path
        rows = {i: r for r, (i, _) in enumerate(unsure)}
        vectors = faq.encoder.encode([out[i].text[:MAX_QUERY_CHARS] for i, _ in unsure])
        if toned:
            assert tone is not None
            moods = tone.apply(
                [out[i].mood for i in toned],
                vectors[[rows[i] for i in toned]],
                [out[i].detected_language for i in toned],
                self.mood.config.escalate_below,
            )
            for i, mood in zip(toned, moods, strict=True):
                out[i] = replace(out[i], mood=mood)
        matches = faq.slow_many(
            [(out[i].text, out[i].detected_language, fast) for i, fast in unsure], vectors
        )
        for (i, _), match in zip(unsure, matches, strict=True):
            out[i] = replace(out[i], match=match, path="slow")
        return out

    def _tone(self, encoder: Encoder | None) -> ToneModel | None:
        """The tone model for this encoder's vectors, when mood may use it (a warning
        the first time it cannot be had)."""
        if encoder is None or not self.mood.config.tone:
            return None
        if self._tone_for != encoder.version:
            self._tone_for = encoder.version  # looked up once, whatever comes of it
            self._tone_model, warning = load_tone(encoder.version)
            if warning:
                log.warning("%s", warning)
        return self._tone_model

    def prepare(self) -> None:
        """Load now what the first message would load (the tone model), so that a
        broken model file is reported at start-up."""
        self._tone(self.knowledge.state.faq.encoder)

    async def assess_async(self, text: str, pick: str | None = None) -> Assessment:
        """:meth:`assess` off the event loop: in a worker process when there are some
        (with the KB version this process judges with), else, or when no worker can
        answer, in the executor's threads."""
        if self.workers is not None:
            assessment = await self.workers.assess(text, pick, self.knowledge.state.fingerprint)
            if assessment is not None:
                return assessment
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(self.assess, text, pick))

    # -- the conversation ------------------------------------------------------------------------

    def language_for(
        self, assessment: Assessment, current: str, setting: str, messages: int
    ) -> str:
        """The conversation's language after this message: a fixed setting wins; the
        first message sets it; later ones switch it only when clearly in another
        language (enough words, a clear lead, not small talk), so "thanks, bye" after
        Polish questions, or an English product name in Italian, keep it."""
        if setting in LANGUAGES:
            return setting
        detected = assessment.detected_language
        if detected is None or detected == current:
            return current or DEFAULT_LANGUAGE
        if messages == 0 or not current:
            return detected
        if (
            assessment.small_talk is None
            and assessment.words >= SWITCH_WORDS
            and assessment.language_lead >= SWITCH_LEAD
        ):
            return detected
        return current

    def decide(
        self,
        assessment: Assessment,
        *,
        state: ConversationMood,
        language: str,
        lang_setting: str = "auto",
        bot_active: bool = True,
    ) -> Turn:
        """The turn on the conversation: policy step, language, and the bot's replies."""
        language = self.language_for(assessment, language, lang_setting, state.messages)
        kb = self.knowledge.state.kb
        pick = assessment.pick
        if pick is not None and kb.get(pick) is None:
            pick = None  # a forged or stale suggestion: treat the text as a question
        match = assessment.match
        if pick is None and assessment.pick is not None and bot_active:  # the KB changed since
            match = self.knowledge.state.faq.fast(
                assessment.text, assessment.detected_language
            ).result
        if match is not None and match.entry_id is not None and kb.get(match.entry_id) is None:
            match = MatchResult("fallback", None, 0.0, (), match.language)  # KB edited since
        kind = assessment.small_talk if pick is None else None
        if not bot_active:
            match = None
        outcome = "answer" if pick is not None else (match.action if match else None)
        new_state, decision = step(
            state, assessment.mood, outcome if bot_active else None, config=self.policy
        )
        replies: tuple[Reply, ...] = ()
        if bot_active:
            if kind is not None and match is None and pick is None:
                replies = (Reply(say(f"smalltalk_{kind}", language), {"small_talk": kind}),)
            elif outcome == "answer" or not decision.escalate:
                # A known answer is given even when the turn escalates (the hand-off
                # notice follows it); anything else gives way to the escalation.
                replies = (self._reply(kb, match, pick, language, decision),)
        return Turn(
            language=language,
            detected_language=assessment.detected_language,
            mood=assessment.mood,
            state=new_state,
            decision=decision,
            match=match if pick is None else None,
            picked=pick,
            replies=replies,
            small_talk=kind if pick is None and match is None else None,
        )

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
        return self.decide(
            self.assess(text, pick),
            state=state,
            language=language,
            lang_setting=lang_setting,
            bot_active=bot_active,
        )

    def not_helpful(
        self, state: ConversationMood, *, again: bool = False
    ) -> tuple[ConversationMood, Decision]:
        """The shopper said an answer did not help (``again``: after the bot's second try)."""
        return step(
            state, None, "not_helpful_again" if again else "not_helpful", config=self.policy
        )

    def alternatives(
        self, question: str, language: str, exclude: str | None, limit: int = 3
    ) -> list[tuple[str, str]]:
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
                if kb.get(s.entry_id) is not None
            ]
            if decision.offer_person:
                quick.append(handoff_reply(language))
            return Reply(say("suggest", language), {"quick_replies": quick})
        key = "offer_person" if decision.offer_person else "fallback"
        return Reply(say(key, language), {"quick_replies": [handoff_reply(language)]})
