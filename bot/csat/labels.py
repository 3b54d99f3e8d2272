"""The survey's words in the conversation's language (sent with ``csat_request``)."""

from __future__ import annotations

from bot.types import DEFAULT_LANGUAGE

SCALE: dict[str, dict[int, str]] = {
    "en": {
        1: "Very dissatisfied",
        2: "Dissatisfied",
        3: "Neutral",
        4: "Satisfied",
        5: "Very satisfied",
    },
    "it": {
        1: "Molto insoddisfatto",
        2: "Insoddisfatto",
        3: "Neutrale",
        4: "Soddisfatto",
        5: "Molto soddisfatto",
    },
    "pl": {
        1: "Bardzo niezadowolony",
        2: "Niezadowolony",
        3: "Neutralnie",
        4: "Zadowolony",
        5: "Bardzo zadowolony",
    },
}

# The Net Promoter question's ends (0 and 10).
NPS_ENDS: dict[str, tuple[str, str]] = {
    "en": ("Not likely", "Very likely"),
    "it": ("Per niente", "Molto probabile"),
    "pl": ("Mało prawdopodobne", "Bardzo prawdopodobne"),
}


def scale(language: str) -> dict[str, str]:
    labels = SCALE.get(language) or SCALE[DEFAULT_LANGUAGE]
    return {str(value): label for value, label in labels.items()}


def nps_ends(language: str) -> list[str]:
    return list(NPS_ENDS.get(language) or NPS_ENDS[DEFAULT_LANGUAGE])
