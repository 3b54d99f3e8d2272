"""A friendly name for a shopper who has not said who they are ("Amber Otter"), the
same for one conversation wherever agents see it, instead of a truncated id."""

from __future__ import annotations

import hashlib

COLOURS = (
    "Amber",
    "Azure",
    "Coral",
    "Crimson",
    "Golden",
    "Hazel",
    "Indigo",
    "Ivory",
    "Jade",
    "Lilac",
    "Mint",
    "Olive",
    "Plum",
    "Ruby",
    "Sage",
    "Silver",
)
ANIMALS = (
    "Badger",
    "Bear",
    "Beaver",
    "Crane",
    "Deer",
    "Dolphin",
    "Eagle",
    "Falcon",
    "Fox",
    "Gecko",
    "Hare",
    "Heron",
    "Ibis",
    "Koala",
    "Lark",
    "Lynx",
    "Marten",
    "Moose",
    "Newt",
    "Otter",
    "Owl",
    "Panda",
    "Puffin",
    "Quail",
    "Raven",
    "Robin",
    "Seal",
    "Swan",
    "Tiger",
    "Wolf",
    "Wren",
    "Zebra",
)


def alias(conversation_id: str) -> str:
    digest = hashlib.sha256(conversation_id.encode()).digest()
    return f"{COLOURS[digest[0] % len(COLOURS)]} {ANIMALS[digest[1] % len(ANIMALS)]}"
