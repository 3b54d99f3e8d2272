"""Write a knowledge base as CSV: the format help desks import and export.

One row per (entry, language): ``id,question,answer,alternates,tags,lang,keywords,
topic``, with ``alternates``, ``tags`` and ``keywords`` joined by ``|``. The
loader reads the file back into the same knowledge base.
"""

from __future__ import annotations

import csv
from typing import TextIO

from bot.kb.model import KnowledgeBase

COLUMNS = ("id", "question", "answer", "alternates", "tags", "lang", "keywords", "topic")


def _join(items: tuple[str, ...]) -> str:
    # "|" separates items, so one inside an item would split it on the way back.
    return "|".join(item.replace("|", "/") for item in items)


def write_csv(kb: KnowledgeBase, out: TextIO) -> int:
    """Write ``kb`` to ``out``; returns the number of rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for entry in kb:
        for lang, text in entry.texts.items():
            writer.writerow(
                (
                    entry.id,
                    text.question,
                    text.answer,
                    _join(text.alternates),
                    _join(entry.tags),
                    lang,
                    _join(text.keywords),
                    entry.topic,
                )
            )
            rows += 1
    return rows
