"""Greetings, thanks and goodbyes in English, Italian and Polish.

A message is small talk when every word in it is a greeting, thanks or goodbye
word or a friendly filler ("ok", "great", "so much", "mille", "bardzo"):
"hi!", "grazie mille", "dzięki, pa", "ok thanks, bye". A word outside these lists
("thanks for nothing", "hi, where is my order") makes it an ordinary message.
The bot answers small talk with a short friendly line and it never counts as a
failure of the bot.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.text import fold

SmallTalk = Literal["greeting", "thanks", "goodbye"]

_GREETING = """
hi hii hey heya hello helo hallo hiya howdy morning afternoon evening good day yo there
ciao salve buongiorno buonasera buon pomeriggio giorno sera
czesc witam witaj dzien dobry dobry wieczor hej siema elo
"""
_THANKS = """
thanks thank thx ty tks cheers appreciated appreciate
grazie mille tante infinite grazie1000 gentilissimo gentilissima gentile
dzieki dziekuje dziekujemy dzienki dziekowac wielkie serdeczne
"""
_GOODBYE = """
bye byebye goodbye cya later see soon take care have nice
arrivederci arrivederla addio alla prossima buona giornata serata
pa papa narazie nara do widzenia zobaczenia milego dnia
"""
# Words that may come with the above without changing what the message is.
_FILLER = """
ok okay okey k kk great perfect awesome super cool nice lovely brilliant fine good
so much very lot a lot you all guys again for help your the and then now really
everyone folks ok! yes yeah
perfetto ottimo benissimo bene va si allora ok tutto chiaro e a voi molto davvero
grazie tutti ancora
dobrze super swietnie okej spoko jasne tak no to i bardzo za pomoc wam
"""

_WORD = re.compile(r"[a-z0-9']+")


def _words(block: str) -> frozenset[str]:
    return frozenset(fold(block).split())


_KINDS: tuple[tuple[SmallTalk, frozenset[str]], ...] = (
    ("goodbye", _words(_GOODBYE)),
    ("thanks", _words(_THANKS)),
    ("greeting", _words(_GREETING)),
)
_ALLOWED = frozenset().union(*(words for _, words in _KINDS), _words(_FILLER))
_MAX_WORDS = 8


def small_talk(text: str) -> SmallTalk | None:
    """The kind of small talk ``text`` is, or None for an ordinary message."""
    tokens = _WORD.findall(fold(text[:200]))
    if not tokens or len(tokens) > _MAX_WORDS or not all(t in _ALLOWED for t in tokens):
        return None
    for kind, vocabulary in _KINDS:  # "thanks, bye" is a goodbye
        if any(t in vocabulary for t in tokens):
            return kind
    return None
