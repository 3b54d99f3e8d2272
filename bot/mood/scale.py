"""One set of words for a mood score, used by the console and the dashboard alike.

The server sends the label (``mood_label``) with every score it shows agents, so
the pages never keep thresholds of their own. "Unhappy" starts where a chat
escalates (``SUPPORTBOT_MOOD_THRESHOLD``): an agent reads "unhappy" exactly when
the bot would hand the chat over for its mood.
"""

from __future__ import annotations

from dataclasses import dataclass

LABELS = ("very_unhappy", "unhappy", "neutral", "content")


@dataclass(frozen=True, slots=True)
class MoodScale:
    unhappy_at: float = -0.2  # at or below: unhappy (the escalation threshold)
    very_unhappy_at: float = -0.6  # at or below: very unhappy
    content_from: float = 0.2  # at or above: content

    @classmethod
    def for_threshold(cls, threshold: float) -> MoodScale:
        """The scale around the server's escalation threshold."""
        return cls(
            unhappy_at=threshold,
            very_unhappy_at=min(-0.6, threshold - 0.3),
            content_from=max(0.2, threshold + 0.2),
        )

    def label(self, score: float | None) -> str | None:
        if score is None:
            return None
        if score <= self.very_unhappy_at:
            return "very_unhappy"
        if score <= self.unhappy_at:
            return "unhappy"
        if score < self.content_from:
            return "neutral"
        return "content"
