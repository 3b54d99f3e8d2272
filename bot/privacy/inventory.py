"""What each table holds about a shopper, and what retention and erasure do with it.

Both remove a conversation's personal data the same way (``bot.privacy.store``):
the conversation row stays with the columns the reports count on, everything
that says who the shopper was or what they wrote goes. ``RULES`` names every
column of every table; ``tests/test_privacy_store.py`` fails when a table or a
column is missing here, so a new column cannot escape the purge unnoticed.
"""

from __future__ import annotations

from typing import Literal

Rule = Literal[
    "keep",  # kept: not personal once the rest is gone (times, counts, states, ids)
    "clear",  # set to NULL
    "replace",  # replaced by a value that means nothing (the resume token's hash)
    "delete",  # the row is deleted
    "scrub",  # JSON: the personal properties are set to null (PERSONAL_EVENT_PROPERTIES)
    "staff",  # data about the shop's own staff or set-up, not about shoppers
]

_CONVERSATION_KEPT = (
    "id",
    "site",
    "status",
    "language",
    "lang_setting",
    "created_at",
    "updated_at",
    "last_activity_at",
    "closed_at",
    "closed_by",
    "close_reason",
    "escalated_at",
    "escalation_reasons",
    "queued_at",
    "agent_id",
    "last_agent_id",
    "first_agent_reply_at",
    "mood",
    "mood_messages",
    "failures_in_row",
    "anonymised_at",
    "shopper_messages",
    "seen_message_id",
)
CONVERSATION_CLEARED = ("page_url", "page_title", "visitor_name", "visitor_email", "visitor_id")

RULES: dict[str, dict[str, Rule]] = {
    "conversations": {
        **{column: "keep" for column in _CONVERSATION_KEPT},
        **{column: "clear" for column in CONVERSATION_CLEARED},
        "token_hash": "replace",
    },
    "messages": {
        column: "delete"
        for column in (
            "id",
            "conversation_id",
            "client_id",
            "author",
            "agent_id",
            "kind",
            "text",
            "created_at",
            "meta",
        )
    },
    "tickets": {
        column: "delete"
        for column in (
            "id",
            "conversation_id",
            "email",
            "text",
            "status",
            "created_at",
            "done_at",
            "done_by",
            "source",
            "updated_at",
            "answered_at",
            "answered_by",
        )
    },
    "attachments": {
        column: "delete"
        for column in (
            "id",
            "conversation_id",
            "message_id",
            "content_type",
            "size",
            "width",
            "height",
            "sha256",
            "name",
            "shopper_key",
            "created_at",
        )
    },
    "outbox": {
        column: "delete"
        for column in (
            "id",
            "ticket_id",
            "conversation_id",
            "message_id",
            "to_email",
            "subject",
            "body",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "sent_at",
        )
    },
    "csat": {
        **{
            column: "keep"
            for column in (
                "conversation_id",
                "rating",
                "nps",
                "agent_id",
                "bot_only",
                "escalation_reasons",
                "language",
                "mood",
                "asked_at",
                "given_at",
                "updated_at",
            )
        },
        "comment": "clear",
    },
    "events": {
        **{
            column: "keep"
            for column in ("id", "conversation_id", "actor", "agent_id", "type", "created_at")
        },
        "properties": "scrub",
    },
    "agents": {
        column: "staff"
        for column in (
            "id",
            "email",
            "name",
            "role",
            "password_hash",
            "capacity",
            "disabled",
            "created_at",
            "status",
            "locale",
        )
    },
    "devices": {
        column: "staff"
        for column in ("id_hash", "agent_id", "failures", "created_at", "last_used_at")
    },
    "sessions": {
        column: "staff"
        for column in ("id_hash", "agent_id", "csrf_token", "created_at", "expires_at")
    },
    "canned_replies": {
        column: "staff" for column in ("id", "shortcut", "text", "created_by", "created_at")
    },
    "_migrations": {"name": "staff", "applied_at": "staff"},
}

# Event properties that say who the shopper is or what they wrote. Every other
# property of every event type is in NON_PERSONAL_EVENT_PROPERTIES (a test checks
# that each field of bot.events is in exactly one of the two).
PERSONAL_EVENT_PROPERTIES = (
    "query",  # bot.no_answer: the shopper's question, word for word
    "page_url",  # chat.started: the page the chat began on (may carry order numbers)
    "error",  # mail.failed: the mail server's answer, which may quote the address
)
NON_PERSONAL_EVENT_PROPERTIES = frozenset(
    {
        "language",
        "lang_setting",
        "site",
        "status",
        "by",
        "reason",
        "has_email",
        "has_id",
        "message_id",
        "length",
        "mood",
        "mood_reasons",
        "conversation_mood",
        "entry_id",
        "score",
        "picked",
        "suggestions",
        "helpful",
        "reasons",
        "trigger",
        "agents_online",
        "wait_seconds",
        "from_agent",
        "to_agent",
        "ticket_id",
        "rating",
        "has_comment",
        "previous",
        "selector",
        "via",
        "conversations",
        "messages",
        "tickets",
        "comments",
        "events",
        "closed_chats",
        "days",
        "before",
        "seconds",
        "source",
        "emailed",
        "attempts",
        "final",
        "ticket_ids",
        "action",
        "capacity",
        "load",
        "target",
        "attachment_id",
        "content_type",
        "size",
    }
)
