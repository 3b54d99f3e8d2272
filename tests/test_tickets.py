"""Offline tickets: the chat stays open, an agent answers it from the console, the answer
reaches the shopper in the widget and by e-mail (a real SMTP server on 127.0.0.1), a
failed send is retried and shown to the agent, and resolving it brings the survey."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from bot.settings import Settings

from conftest import Client, LiveServer, make_settings
from inbox import Inbox


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    """A real SMTP server on a port the system picks (port 0), in the tests' event loop
    (the server sends its e-mail from a worker thread)."""
    handler = Inbox()
    smtp = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="inbox.test"), host="127.0.0.1", port=0
    )
    handler.port = smtp.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    yield handler
    smtp.close()
    await smtp.wait_closed()


@pytest.fixture
def settings(tmp_path: Path, vector_cache: Path, inbox: Inbox) -> Settings:
    return make_settings(
        tmp_path,
        vector_cache,
        smtp_url=f"smtp://127.0.0.1:{inbox.port}",  # type: ignore[attr-defined]
        smtp_from="Casa Lino <support@casalino.example>",
        smtp_retry=0.3,
    )


async def leave_message(
    client: Client,
    text: str = "Is the linen duvet back in stock?",
    address: str = "maria@example.com",
) -> dict[str, Any]:
    assert (await client.call("handoff", {}))["ok"]
    ack = await client.call("leave_message", {"email": address, "text": text})
    assert ack["ok"], ack
    return ack


async def test_an_answered_ticket_is_emailed_and_shown_in_the_chat(
    server: LiveServer, shopper, agent, connect, inbox: Inbox
) -> None:
    ada = await agent("Ada", online=False)
    client = await shopper(lang="it")
    cid = client.start["conversation"]["id"]
    ack = await leave_message(client)
    ticket = await ada.wait_for("ticket", lambda t: t["id"] == ack["ticket_id"])
    assert ticket["status"] == "open" and ticket["mail"] is None
    token = client.start["token"]
    await client.close()  # the shopper left

    answer = await ada.call(
        "ticket_reply",
        {"id": ticket["id"], "client_id": "r-1", "text": "Sì, torna disponibile lunedì."},
    )
    assert answer["ok"], answer
    assert answer["ticket"]["status"] == "answered"
    sent = await ada.wait_for("ticket", lambda t: (t["mail"] or {}).get("status") == "sent")
    assert sent["id"] == ticket["id"]
    [mail] = inbox.received
    assert mail["To"] == "maria@example.com"
    assert mail["From"] == "Casa Lino <support@casalino.example>"
    assert mail["Subject"] == "Il tuo messaggio a Casa Lino"
    body = mail.get_payload(decode=True).decode()
    assert "Sì, torna disponibile lunedì." in body and "Is the linen duvet back in stock?" in body
    # The same answer resent (same client id) is stored and sent once.
    again = await ada.call(
        "ticket_reply",
        {"id": ticket["id"], "client_id": "r-1", "text": "Sì, torna disponibile lunedì."},
    )
    assert again["ok"] and again["duplicate"] is True
    # nothing more to send: the only e-mail of this ticket has gone (the mailer sends
    # what the outbox holds, and the resend was answered after its write)
    outbox = await server.query("SELECT status FROM outbox WHERE ticket_id = ?", ticket["id"])
    assert outbox == [{"status": "sent"}]
    assert len(inbox.received) == 1

    # Back on the site: the answer is in the chat, which is still open.
    back = await connect("/chat")
    resumed = await back.call("start", {"token": token})
    assert resumed["conversation"]["status"] == "ticket"
    assert resumed["status"]["status"] == "ticket"
    agents = [m for m in resumed["messages"] if m["author"] == "agent"]
    assert [m["text"] for m in agents] == ["Sì, torna disponibile lunedì."]
    assert agents[0]["agent"] == {"name": "Ada"}
    # The shopper writes again: the ticket is open again for the team.
    await back.call("message", {"id": "s-9", "text": "Grazie! E in 240x220?"})
    reopened = await ada.wait_for(
        "ticket", lambda t: t["id"] == ticket["id"] and t["status"] == "open" and t["answered_at"]
    )
    assert reopened
    # Resolving the ticket ends the chat and asks the shopper to rate it.
    assert (await ada.call("ticket_done", {"id": ticket["id"]}))["ok"]
    await back.wait_for("ended")
    request = await back.wait_for("csat_request")
    assert request["scale"]["5"]
    rows = await server.query("SELECT status FROM tickets WHERE id = ?", ticket["id"])
    assert rows == [{"status": "done"}]
    types = [e["type"] for e in await server.events(conversation_id=cid)]
    for expected in (
        "ticket.created",
        "ticket.answered",
        "mail.sent",
        "ticket.done",
        "chat.ended",
        "csat.asked",
    ):
        assert expected in types, expected


async def test_a_failed_send_is_retried_and_the_agent_sees_it(
    server: LiveServer, shopper, agent, inbox: Inbox
) -> None:
    inbox.refuse = 1  # the mail server refuses the first try
    ada = await agent("Ada", online=False)
    client = await shopper()
    ack = await leave_message(client)
    answer = await ada.call(
        "ticket_reply", {"id": ack["ticket_id"], "client_id": "r-1", "text": "Yes, from Monday."}
    )
    assert answer["ok"]
    failed = await ada.wait_for(
        "ticket",
        lambda t: (t["mail"] or {}).get("attempts") == 1 and t["mail"]["status"] == "pending",
    )
    assert "451" in failed["mail"]["error"]
    sent = await ada.wait_for(
        "ticket", lambda t: (t["mail"] or {}).get("status") == "sent", timeout=5
    )
    assert sent["mail"]["attempts"] == 2
    assert len(inbox.received) == 1
    events = [e["type"] for e in await server.events()]
    assert events.count("mail.failed") == 1 and events.count("mail.sent") == 1


async def test_ticket_requests_are_checked(server: LiveServer, shopper, agent) -> None:
    ada = await agent("Ada", online=False)
    client = await shopper()
    bad = await ada.call("ticket_reply", {"id": 999, "client_id": "r-1", "text": "hi"})
    assert bad["error"]["code"] == "not_found"
    ack = await leave_message(client)
    for payload, code in (
        ({"id": ack["ticket_id"], "client_id": "r 1", "text": "hi"}, "invalid_id"),
        ({"id": ack["ticket_id"], "client_id": "r-1", "text": "  "}, "empty_text"),
        ({"id": "1", "client_id": "r-1", "text": "hi"}, "invalid_payload"),
    ):
        refused = await ada.call("ticket_reply", payload)
        assert refused["error"]["code"] == code, (payload, refused)
    # a second form on the same chat, or one on a closed chat, is refused
    again = await client.call("leave_message", {"email": "maria@example.com", "text": "again"})
    assert again["error"]["code"] == "conflict"
    assert (await client.call("end", {}))["ok"]
    closed = await client.call("leave_message", {"email": "maria@example.com", "text": "x"})
    assert closed["error"]["code"] == "conversation_closed"
    page = await ada.call("tickets", {})
    assert page["ok"] and page["total"] == 0 and page["items"] == []
