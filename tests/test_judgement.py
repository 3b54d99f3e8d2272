"""The bot's judgement on real messages: answers kept when a turn escalates, small talk,
the conversation's language, synonyms and Polish word forms through the slow path."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot.brain import Assessment, Brain
from bot.kb.semantic import EmbeddingCache, load_encoder
from bot.kb.service import KnowledgeService
from bot.mood.detector import MoodDetector
from bot.mood.policy import PolicyConfig
from bot.resources import default_kb_path
from bot.texts import say
from bot.types import ConversationMood


@pytest.fixture(scope="module")
def brain(vector_cache: Path) -> Brain:
    encoder, warning = load_encoder("inline")
    assert encoder is not None, warning
    knowledge = KnowledgeService(
        default_kb_path(), encoder=encoder, cache=EmbeddingCache(vector_cache)
    )
    return Brain(knowledge, MoodDetector(), PolicyConfig())


@pytest.fixture(scope="module")
def lexical_brain() -> Brain:
    return Brain(KnowledgeService(default_kb_path()), MoodDetector(), PolicyConfig())


NEW = ConversationMood()
TALKING = ConversationMood(messages=3)  # the shopper has written before


@pytest.mark.parametrize(
    "text",
    [
        "i was charged twice for my order",
        "I WAS CHARGED TWICE FOR MY ORDER, this is ridiculous!!!",
        "mi avete addebitato due volte lo stesso ordine, che vergogna",
    ],
)
def test_a_known_answer_is_given_even_when_the_turn_escalates(brain: Brain, text: str) -> None:
    turn = brain.respond(text, state=NEW, language="en")
    assert turn.decision.escalate, turn.mood
    assert turn.answered
    (reply,) = turn.replies
    assert reply.meta["entry_id"] == "payment-charged-twice"
    assert reply.text == brain.knowledge.kb.answer("payment-charged-twice", turn.language)


def test_an_unanswered_escalating_turn_leaves_the_word_to_the_hand_off(brain: Brain) -> None:
    turn = brain.respond("I want to talk to a human right now", state=NEW, language="en")
    assert turn.decision.escalate and not turn.answered
    assert turn.replies == ()


@pytest.mark.parametrize(
    ("text", "kind", "language"),
    [
        ("hi!", "greeting", "en"),
        ("Good morning", "greeting", "en"),
        ("thanks a lot :)", "thanks", "en"),
        ("ok thanks, bye", "goodbye", "en"),
        ("buongiorno", "greeting", "it"),
        ("grazie mille!", "thanks", "it"),
        ("arrivederci", "goodbye", "it"),
        ("dzień dobry", "greeting", "pl"),
        ("dzięki!", "thanks", "pl"),
        ("do widzenia", "goodbye", "pl"),
    ],
)
def test_small_talk_gets_a_short_friendly_reply(
    brain: Brain, text: str, kind: str, language: str
) -> None:
    turn = brain.respond(text, state=NEW, language="en")
    assert turn.small_talk == kind
    assert turn.language == language
    assert [r.text for r in turn.replies] == [say(f"smalltalk_{kind}", language)]
    assert not turn.decision.escalate


@pytest.mark.parametrize(
    "text",
    [
        "thanks for nothing",
        "hi, where is my order?",
        "grazie di niente",
        "cześć, gdzie jest moja paczka?",
    ],
)
def test_greeting_words_inside_a_real_message_are_not_small_talk(brain: Brain, text: str) -> None:
    assert brain.respond(text, state=NEW, language="en").small_talk is None


def test_small_talk_never_counts_as_a_bot_failure(brain: Brain) -> None:
    state = ConversationMood()
    for text in ("asdf qwerty", "zxcv bnm"):  # two failures: a person is offered
        turn = brain.respond(text, state=state, language="en")
        state = turn.state
    assert state.failures_in_row == 2
    for text in ("thanks", "hello?", "ok bye"):
        turn = brain.respond(text, state=state, language="en")
        assert not turn.decision.escalate and turn.small_talk is not None
        assert turn.state.failures_in_row == 2
        state = turn.state


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        ("thanks, bye", "pl", "pl"),  # small talk in English after Polish questions
        ("ok thanks", "it", "it"),
        ("il Bluetooth speaker non si accende più", "it", "it"),  # English product name
        ("posso restituire le AirPods se non mi piacciono?", "it", "it"),
        ("ok", "pl", "pl"),
        ("Where is my order? I ordered it two weeks ago", "pl", "en"),  # a clear switch
        ("gdzie jest moja paczka, zamówiłem tydzień temu", "en", "pl"),
    ],
)
def test_the_conversation_keeps_its_language_unless_the_shopper_clearly_switches(
    brain: Brain, text: str, before: str, after: str
) -> None:
    turn = brain.respond(text, state=TALKING, language=before)
    assert turn.language == after
    for reply in turn.replies:
        if reply.meta.get("small_talk"):
            assert reply.text == say(f"smalltalk_{reply.meta['small_talk']}", after)


def test_the_first_message_sets_the_language(brain: Brain) -> None:
    assert brain.respond("grazie", state=NEW, language="en").language == "it"
    assert brain.respond("where is my parcel", state=NEW, language="pl").language == "en"
    assert brain.respond("grazie", state=NEW, language="pl", lang_setting="pl").language == "pl"


@pytest.mark.parametrize(
    ("text", "entry_id"),
    [
        ("i want my money back", "refund-time"),  # no word in common with "refund"
        ("can I split the cost into monthly payments", "payment-instalments"),
        ("ile dni idzie przesyłka", "delivery-time"),  # inflected Polish, no diacritics below
        ("kiedy dostane pieniadze za zwrocony towar", "refund-time"),
        ("quanto ci mette ad arrivare il pacco", "delivery-time"),
    ],
)
def test_paraphrases_and_word_forms_find_the_entry(brain: Brain, text: str, entry_id: str) -> None:
    result = brain.knowledge.state.faq.match(text)
    assert result.entry_id == entry_id, result


def test_assessment_is_message_level_and_pickles(brain: Brain) -> None:
    assessment = brain.assess("how long does delivery take to Poland?")
    assert isinstance(assessment, Assessment)
    again = pickle.loads(pickle.dumps(assessment))
    assert again == assessment
    assert again.kb_version == brain.knowledge.fingerprint
    turn = brain.decide(again, state=NEW, language="en")
    assert turn.answered and turn.replies[0].meta["entry_id"] == turn.match.entry_id


def test_without_a_slow_path_the_fast_path_decides_alone(lexical_brain: Brain) -> None:
    faq = lexical_brain.knowledge.state.faq
    assert not faq.has_slow_path
    assessment = lexical_brain.assess("i want my money back")
    assert assessment.path == "fast"
    assert assessment.match is not None and assessment.match.action in (
        "suggest",
        "fallback",
        "answer",
    )


def test_messages_judged_together_get_the_verdicts_they_get_alone(brain: Brain) -> None:
    """A busy judging worker judges the messages waiting for it together (one call of
    the encoder for the unsure questions): each gets the verdict it gets alone."""
    messages = [
        ("i want my money back", None),
        ("how long does delivery take?", None),
        ("quanto costa la spedizione in Polonia?", None),
        ("czy mogę zwrócić buty po dwóch tygodniach", None),
        ("thanks, bye", None),
        ("", None),
        ("!!!", None),
        ("whatever", "refund-time"),
        ("my parcel never showed up", None),
        ("paczka nie dotarła", None),
        ("where is the stuff I bought", None),
        ("Pioverà sabato?", None),
    ]
    together = brain.assess_many(messages)
    alone = [brain.assess(text, pick) for text, pick in messages]
    assert sum(1 for a in together if a.path == "slow") >= 3
    for a, b in zip(together, alone, strict=True):
        assert (a.text, a.path, a.pick, a.small_talk, a.detected_language, a.mood) == (
            b.text,
            b.path,
            b.pick,
            b.small_talk,
            b.detected_language,
            b.mood,
        )
        if b.match is None:
            assert a.match is None
            continue
        assert a.match is not None
        assert (a.match.action, a.match.entry_id) == (b.match.action, b.match.entry_id)
        assert a.match.score == pytest.approx(b.match.score, abs=1e-3)
        assert [s.entry_id for s in a.match.suggestions] == [
            s.entry_id for s in b.match.suggestions
        ]
