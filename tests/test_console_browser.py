"""The agent console in headless Chromium against the real server.

An agent signs in through /login, goes online, gets a chat escalated by a real
socket.io shopper client, replies, reads the shopper's answer, writes an internal
note, manages and uses a canned reply, and resolves the chat. Text from shoppers
(with HTML in it) must show as text and never run.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from bot.app import SIO
from bot.fanout import AGENT_NS, agent_room

from conftest import PASSWORD, Client, LiveServer

pytestmark = pytest.mark.browser

SCRIPT = '<script>window.__pwned = "script"</script>'
IMG = "<img src=x onerror=\"window.__pwned = 'img'; document.body.dataset.pwned = 1\">"


class PageErrors:
    """Uncaught exceptions, console errors and failed requests of a page: a healthy
    console has none. (The browser's own /favicon.ico probe on the login page is not ours.)"""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)
        page.on(
            "response",
            lambda response: (
                self.errors.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(f"console: {message.text} at {message.location.get('url')}")


async def sign_in(page: Page, server: LiveServer, email: str) -> None:
    """Open the console signed out, get sent to /login, sign in, come back connected."""
    await page.goto(f"{server.url}/console")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{server.url}/console")
    await expect(page.locator("#conn-state")).to_have_text("Connected")


def conversation_of(client: Client) -> str:
    """The conversation the ``shopper`` fixture started (its ``start`` ack)."""
    return str(client.start["conversation"]["id"])  # type: ignore[attr-defined]


async def never_receives(server: LiveServer, client: Client, text: str) -> None:
    """Once the server has sent ``client`` all it was going to, nothing said ``text``."""
    await server.settled(client)
    assert not [m for m in client.of("message") if m["text"] == text]


async def test_agent_replies_notes_uses_canned_replies_and_resolves(
    server: LiveServer,
    page: Page,
    shopper: Callable[..., Awaitable[Client]],
    artifacts: Path,
) -> None:
    errors = PageErrors(page)
    await server.add_agent("ada@shop.example", "Ada")
    await sign_in(page, server, "ada@shop.example")
    await expect(page.locator(".who-name")).to_have_text("Ada")

    # go online
    status = page.get_by_role("button", name=re.compile(r"^Status: "))
    await expect(status).to_have_accessible_name("Status: Away")
    await status.click()
    await expect(status).to_have_accessible_name("Status: Online")
    await expect(status).to_have_class(re.compile(r"\bonline\b"))
    await expect(page.locator("#agents-list .agent-online")).to_contain_text("Ada")

    # a shopper asks a question, then asks for a person: the chat is assigned to Ada
    client = await shopper(
        lang="en",
        page={"url": "https://shop.example/cart", "title": "Your cart"},
        user={"name": "Sam Shopper", "email": "sam@example.com"},
    )
    cid = conversation_of(client)
    assert (await client.call("message", {"id": "s-1", "text": "Where is my parcel?"}))["ok"]
    assert (await client.call("handoff", {}))["ok"]

    mine = page.locator("#mine-list .item")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("Sam Shopper")
    await expect(page).to_have_title(re.compile(r"New chat assigned"))
    panel = page.locator(f"#panel-{cid}")
    await expect(panel).to_be_visible()
    await expect(panel.locator(".chat-title")).to_have_text("Sam Shopper")
    await expect(panel.locator(".badge")).to_have_text("yours")
    await expect(panel.locator(".presence")).to_have_text("Shopper online")
    info = panel.locator(".card-info")
    await expect(info).to_contain_text("asks for a person")
    await expect(info).to_contain_text("English (en)")
    await expect(info).to_contain_text("sam@example.com")
    await expect(info.locator("a", has_text="Your cart")).to_have_attribute(
        "href", "https://shop.example/cart"
    )
    await expect(info.locator(".mood .mood-label")).to_have_text(
        re.compile(r"^(Very unhappy|Unhappy|Neutral|Content) \([+\u2212]\d\.\d\d\)$")
    )
    await expect(info.locator(".mood meter")).to_have_count(1)
    await expect(panel.locator(".msg-shopper .msg-text")).to_have_text(["Where is my parcel?"])
    await expect(panel.locator(".msg-shopper .mood-label")).to_have_count(1)
    await client.wait_for("status", lambda s: s["status"] == "assigned")

    # reply: the shopper receives it
    box = panel.locator("textarea.composer-text")
    await box.fill("Hi Sam, I'm Ada. Let me check.")
    typing = await client.wait_for("typing", lambda t: t["author"] == "agent")
    assert typing == {"author": "agent", "name": "Ada", "typing": True}
    await box.press("Enter")
    got = await client.wait_for("message", lambda m: m["author"] == "agent")
    assert got["text"] == "Hi Sam, I'm Ada. Let me check." and got["agent"] == {"name": "Ada"}
    await expect(
        panel.locator(".msg-agent:not(.msg-note):not(.msg-pending) .msg-text")
    ).to_have_text(["Hi Sam, I'm Ada. Let me check."])
    await expect(box).to_have_value("")

    # the shopper types, then answers
    assert (await client.call("typing", {"typing": True, "preview": "order 12"}))["ok"]
    await expect(panel.locator(".typing")).to_contain_text("Shopper is typing")
    await expect(panel.locator(".typing")).to_contain_text("order 12")
    assert (await client.call("message", {"id": "s-2", "text": "Order 1234, thanks!"}))["ok"]
    await expect(panel.locator(".msg-shopper .msg-text").last).to_have_text("Order 1234, thanks!")
    await expect(panel.locator(".typing")).to_have_text("")

    # an internal note: shown to agents, visibly different, never sent to the shopper
    await panel.get_by_role("radio", name="Internal note").check()
    await expect(panel.locator("form.composer")).to_have_class(re.compile(r"\bis-note\b"))
    await box.fill("Parcel 1234 is stuck at the depot.")
    await panel.get_by_role("button", name="Add note").click()
    note = panel.locator(".msg-note:not(.msg-pending)")
    await expect(note.locator(".msg-text")).to_have_text("Parcel 1234 is stuck at the depot.")
    await expect(note.locator(".msg-author")).to_have_text("Internal note \u00b7 Ada")
    await never_receives(server, client, "Parcel 1234 is stuck at the depot.")
    rows = await server.query(
        "SELECT kind FROM messages WHERE conversation_id = ? AND text = ?",
        cid,
        "Parcel 1234 is stuck at the depot.",
    )
    assert rows == [{"kind": "note"}]

    # canned replies: add one in the dialog, then insert it by typing /shortcut
    await page.get_by_role("button", name="Canned replies").click()
    dialog = page.locator("#canned-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Shortcut").fill("eta")
    await dialog.get_by_label("Text").fill("Parcels arrive within 2-3 working days.")
    await dialog.get_by_role("button", name="Add").click()
    await expect(dialog.locator(".canned-item")).to_have_count(1)
    await expect(dialog.locator(".canned-shortcut")).to_have_text("/eta")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()

    await panel.get_by_role("radio", name="Reply to shopper").check()
    await box.fill("")
    await box.press_sequentially("/et")
    suggestions = panel.locator(".suggestions")
    await expect(suggestions).to_be_visible()
    await expect(suggestions.locator("[role=option]")).to_have_count(1)
    await box.press("Tab")
    await expect(box).to_have_value("Parcels arrive within 2-3 working days.")
    await expect(suggestions).to_be_hidden()
    await box.press("Enter")
    canned = await client.wait_for(
        "message",
        lambda m: m["author"] == "agent" and m["text"] == "Parcels arrive within 2-3 working days.",
    )
    assert canned["agent"] == {"name": "Ada"}

    # the picker inserts a canned reply too
    await panel.get_by_label("Canned reply to insert").select_option(
        label="/eta \u2013 Parcels arrive within 2-3 working days."
    )
    await expect(box).to_have_value("")
    await panel.get_by_role("button", name="Insert").click()
    await expect(box).to_have_value("Parcels arrive within 2-3 working days.")
    await box.fill("")

    # a reload rebuilds everything from `sync`: the chat, its transcript and the note
    await page.reload()
    await expect(page.locator("#conn-state")).to_have_text("Connected")
    await expect(status).to_have_accessible_name("Status: Online")
    await expect(panel.locator(".msg-note .msg-text")).to_have_text(
        "Parcel 1234 is stuck at the depot."
    )
    await expect(panel.locator(".msg-shopper .msg-text")).to_have_text(
        ["Where is my parcel?", "Order 1234, thanks!"]
    )
    await page.screenshot(path=str(artifacts / "console-chat.png"), full_page=True)

    # delete the canned reply
    await page.get_by_role("button", name="Canned replies").click()
    await dialog.get_by_role("button", name="Delete canned reply /eta").click()
    await expect(dialog.locator(".canned-list")).to_have_text("No canned replies yet.")
    await dialog.get_by_role("button", name="Close").click()

    # resolve: the shopper gets `ended` and `csat_request`
    await panel.get_by_role("button", name="Resolve").click()
    ended = await client.wait_for("ended")
    assert ended["by"] == "agent"
    await client.wait_for("csat_request")
    await expect(panel.locator(".chat-notice")).to_have_text("This chat has ended.")
    await expect(box).to_be_disabled()
    await expect(page.locator("#mine-count")).to_have_text("0")
    await page.screenshot(path=str(artifacts / "console-resolved.png"))
    await panel.get_by_role("button", name="Close tab").click()
    await expect(panel).to_have_count(0)
    assert errors.errors == []


async def test_shopper_html_is_shown_as_text_and_never_runs(
    server: LiveServer,
    page: Page,
    shopper: Callable[..., Awaitable[Client]],
    artifacts: Path,
) -> None:
    errors = PageErrors(page)
    await server.add_agent("bob@shop.example", "Bob")
    await sign_in(page, server, "bob@shop.example")

    # Bob stays away, so the chat waits in the queue and he takes it by hand.
    client = await shopper(
        page={"url": "javascript:window.__pwned='link'", "title": SCRIPT},
        user={"name": IMG, "email": '"><svg onload=alert(1)>@x.example'},
    )
    cid = conversation_of(client)
    for i, text in enumerate((SCRIPT, IMG)):
        assert (await client.call("message", {"id": f"x-{i}", "text": text}))["ok"]
    assert (await client.call("handoff", {}))["ok"]
    assert (await client.call("typing", {"typing": True, "preview": IMG}))["ok"]

    item = page.locator("#queue-list .item")
    await expect(item).to_have_count(1)
    await expect(item.locator(".item-name")).to_have_text(IMG)
    await expect(page).to_have_title(re.compile(r"New chat waiting"))
    await item.get_by_role("button", name="Take").click()

    panel = page.locator(f"#panel-{cid}")
    await expect(panel.locator(".badge")).to_have_text("yours")
    await expect(panel.locator(".chat-title")).to_have_text(IMG)
    await expect(panel.locator(".msg-shopper .msg-text")).to_have_text([SCRIPT, IMG])
    info = panel.locator(".card-info")
    await expect(info).to_contain_text(SCRIPT)  # the page title, as text
    await expect(info.locator("a")).to_have_count(0)  # a javascript: URL never becomes a link
    await client.wait_for("status", lambda s: s["status"] == "assigned")
    assert (await client.call("typing", {"typing": True, "preview": IMG}))["ok"]
    await expect(panel.locator(".typing-preview")).to_contain_text(IMG)

    # The agent's own text is text as well, on both sides.
    box = panel.locator("textarea.composer-text")
    await box.fill("<b>bold</b> & <i>not</i>")
    await box.press("Enter")
    got = await client.wait_for("message", lambda m: m["author"] == "agent")
    assert got["text"] == "<b>bold</b> & <i>not</i>"
    await expect(panel.locator(".msg-agent .msg-text").last).to_have_text(
        "<b>bold</b> & <i>not</i>"
    )

    # an offline ticket with HTML in it (another shopper's): listed as text, then marked done
    other = await shopper()
    assert (await other.call("leave_message", {"email": "sam@example.com", "text": SCRIPT}))["ok"]
    cid = conversation_of(other)
    tickets = page.locator("#tickets-list")
    await page.locator("summary", has_text="Offline tickets").click()
    await expect(page.locator("#tickets-count")).to_have_text("1")
    await expect(tickets.locator(".ticket-text")).to_have_text(SCRIPT)
    await expect(tickets.locator(".ticket-email")).to_have_text("sam@example.com")

    await page.screenshot(path=str(artifacts / "console-html-as-text.png"))
    await tickets.get_by_role("button", name="Mark the ticket from sam@example.com as done").click()
    await expect(tickets).to_have_text("No open tickets.")
    rows = await server.query("SELECT status FROM tickets WHERE conversation_id = ?", cid)
    assert rows == [{"status": "done"}]
    injected: dict[str, Any] = await page.evaluate("""() => ({
        pwned: window.__pwned === undefined ? null : window.__pwned,
        flag: document.body.dataset.pwned === undefined ? null : document.body.dataset.pwned,
        images: document.querySelectorAll("img").length,
        svgs: document.querySelectorAll("svg").length,
        scripts: [...document.scripts].map((s) => s.getAttribute("src")),
        bold: document.querySelectorAll(".transcript b, .transcript i").length,
    })""")
    assert injected == {
        "pwned": None,
        "flag": None,
        "images": 0,
        "svgs": 0,
        "scripts": ["/static/console/main.js"],
        "bold": 0,
    }
    assert errors.errors == []


async def test_manager_sees_all_active_chats_and_may_only_note_on_others(
    server: LiveServer,
    page: Page,
    shopper: Callable[..., Awaitable[Client]],
    agent: Callable[..., Awaitable[Client]],
) -> None:
    errors = PageErrors(page)
    carol = await agent("Carol")
    client = await shopper(user={"name": "Dana"})
    cid = conversation_of(client)
    assert (await client.call("handoff", {}))["ok"]
    await carol.wait_for("assigned", lambda d: d["conversation_id"] == cid)

    await server.add_agent("max@shop.example", "Max", "manager")
    await sign_in(page, server, "max@shop.example")
    all_chats = page.locator("#all-section")
    await expect(all_chats).to_be_visible()
    item = all_chats.locator(".item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("Dana")
    await expect(item).to_contain_text("Carol")
    await item.get_by_role("button").click()

    panel = page.locator(f"#panel-{cid}")
    await expect(panel.locator(".badge")).to_have_text("with Carol")
    await expect(panel.get_by_role("radio", name="Reply to shopper")).to_be_disabled()
    await expect(panel.get_by_role("radio", name="Internal note")).to_be_checked()
    box = panel.locator("textarea.composer-text")
    await box.fill("Carol, offer a voucher.")
    await box.press("Enter")
    await expect(panel.locator(".msg-note .msg-text")).to_have_text("Carol, offer a voucher.")
    # The console shows a note as it is sent, and as sent once the server acks it,
    # after storing it (and telling whoever was to be told).
    await expect(panel.locator(".msg-note:not(.msg-pending)")).to_have_count(1)
    rows = await server.query("SELECT kind FROM messages WHERE text = ?", "Carol, offer a voucher.")
    assert rows == [{"kind": "note"}]
    await never_receives(server, client, "Carol, offer a voucher.")

    # A chat a manager resolves is gone from the list of active chats.
    await panel.get_by_role("button", name="Resolve").click()
    await client.wait_for("ended")
    await expect(item).to_have_count(0)
    await expect(page.locator("#all-list")).to_contain_text("No active chats.")

    # log out: the session ends, the console asks for a sign-in again
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.goto(f"{server.url}/console")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    assert errors.errors == []


async def test_console_rebuilds_after_reconnect_and_transfers(
    server: LiveServer,
    page: Page,
    shopper: Callable[..., Awaitable[Client]],
    agent: Callable[..., Awaitable[Client]],
    artifacts: Path,
) -> None:
    errors = PageErrors(page)
    ada = await server.add_agent("ada@shop.example", "Ada")
    await sign_in(page, server, "ada@shop.example")
    await page.get_by_role("button", name="Status: Away").click()
    await expect(page.locator("#status-toggle")).to_have_accessible_name("Status: Online")

    first = await shopper(user={"name": "First"})
    second = await shopper(user={"name": "Second"})
    for client in (first, second):
        assert (await client.call("handoff", {}))["ok"]
    await expect(page.locator("#mine-list .item")).to_have_count(2)
    one = page.locator(f"#panel-{conversation_of(first)}")
    two = page.locator(f"#panel-{conversation_of(second)}")

    # tabs: one chat at a time; side by side: both
    await expect(page.get_by_role("tab")).to_have_count(2)
    await page.get_by_role("tab", name="Second").click()
    await expect(two).to_be_visible()
    await expect(one).to_be_hidden()
    await page.get_by_role("tab", name="Second").press("ArrowLeft")
    await expect(one).to_be_visible()
    await expect(two).to_be_hidden()
    layout = page.get_by_role("button", name="Side by side")
    await expect(layout).to_have_attribute("aria-pressed", "false")
    await layout.click()
    await expect(layout).to_have_attribute("aria-pressed", "true")
    await expect(one).to_be_visible()
    await expect(two).to_be_visible()
    await page.screenshot(path=str(artifacts / "console-side-by-side.png"))

    # the server drops the console's connection; meanwhile the shopper writes
    sio = server.app[SIO]
    sids = [sid for sid, _ in sio.manager.get_participants(AGENT_NS, agent_room(ada.id))]
    assert len(sids) == 1
    await sio.disconnect(sids[0], namespace=AGENT_NS)
    assert (await first.call("message", {"id": "f-1", "text": "Are you still there?"}))["ok"]
    # the console reconnects by itself, syncs, and re-reads its open chats
    await expect(one.locator(".msg-shopper .msg-text")).to_have_text(["Are you still there?"])
    await expect(page.locator("#conn-state")).to_have_text("Connected")
    box = one.locator("textarea.composer-text")
    await box.fill("Yes, I'm here.")
    await box.press("Enter")
    await first.wait_for(
        "message", lambda m: m["author"] == "agent" and m["text"] == "Yes, I'm here."
    )

    # presence: the shopper closes the page
    await expect(one.locator(".presence")).to_have_text("Shopper online")
    await first.close()
    await expect(one.locator(".presence")).to_have_text("Shopper offline")

    # transfer the second chat to Bob, who is online
    bob = await agent("Bob")
    select = two.get_by_label("Transfer to agent")
    await expect(select.locator("option", has_text="Bob")).to_have_count(1)
    await select.select_option(label="Bob \u2013 online, 0/3")
    await two.get_by_role("button", name="Transfer").click()
    moved = await bob.wait_for("assigned", lambda d: d["by"] == "transfer")
    assert moved["conversation_id"] == conversation_of(second)
    await expect(two.locator(".chat-notice")).to_have_text(
        "This chat was transferred to another agent."
    )
    await expect(two.locator("textarea.composer-text")).to_be_disabled()
    await expect(page.locator("#mine-list .item")).to_have_count(1)
    assert errors.errors == []


async def test_console_helpers(server: LiveServer, page: Page) -> None:
    """The console's pure helpers, run as the same ES modules the console loads."""
    await page.goto(f"{server.url}/login")
    result = await page.evaluate("""async () => {
        const f = await import("/static/console/format.js");
        const c = await import("/static/console/composer.js");
        const card = await import("/static/console/cardinfo.js");
        return {
            links: ["https://shop.example/a?b=1", "http://x.example", "javascript:alert(1)",
                    "data:text/html,<b>", "/relative", "", null].map(f.safeHttpUrl),
            durations: [0, 59.9, 75, 3725].map(f.duration),
            // the word is the server's label; the page keeps no thresholds of its own
            moods: [[-0.9, "very_unhappy"], [-0.3, "unhappy"], [0, "neutral"], [0.6, "content"],
                    [0.1, null], [null, "content"]]
                .map(([score, label]) => card.moodIndicator(score, {label, compact: true}).textContent),
            signed: [-0.25, 0.5].map(f.signed),
            ids: [f.clientId(), f.clientId("n")].map((id) => /^[A-Za-z0-9_-]{1,64}$/.test(id)),
            unique: f.clientId() !== f.clientId(),
            tokens: [["/th", 3], ["Hi /th", 6], ["Hi/th", 5], ["a /b c", 6], ["/", 1]]
                .map(([text, caret]) => c.slashToken(text, caret)),
            shortcuts: ["/eta", "eta", "//x"].map(c.normalShortcut),
            names: [{id: "c_abcdef123", visitor: {alias: "Amber Otter"}}, {id: "x", visitor: {email: "a@b.example"}},
                    {id: "x", visitor: {name: "Sam", email: "a@b.example"}}].map(f.visitorName),
        };
    }""")
    assert result == {
        "links": ["https://shop.example/a?b=1", "http://x.example/", None, None, None, None, None],
        "durations": ["0:00", "0:59", "1:15", "1:02:05"],
        "moods": ["Very unhappy", "Unhappy", "Neutral", "Content", "Unknown", "Unknown"],
        "signed": ["\u22120.25", "+0.50"],
        "ids": [True, True],
        "unique": True,
        "tokens": [
            {"query": "th", "start": 0, "end": 3},
            {"query": "th", "start": 3, "end": 6},
            None,
            None,
            {"query": "", "start": 0, "end": 1},
        ],
        "shortcuts": ["eta", "eta", "x"],
        "names": ["Amber Otter", "a@b.example", "Sam"],
    }


async def test_a_ticket_is_answered_from_the_console_and_moods_arrive_unasked(
    server: LiveServer,
    page: Page,
    shopper: Callable[..., Awaitable[Client]],
    artifacts: Path,
) -> None:
    errors = PageErrors(page)
    requests: list[str] = []
    page.on(
        "websocket", lambda ws: ws.on("framesent", lambda payload: requests.append(str(payload)))
    )
    await server.add_agent("ada@shop.example", "Ada")
    await sign_in(page, server, "ada@shop.example")

    # A shopper leaves a message while nobody is online: a ticket with an answer box.
    client = await shopper()
    assert (await client.call("handoff", {}))["ok"]
    ack = await client.call(
        "leave_message", {"email": "maria@example.com", "text": "Is the linen duvet back in stock?"}
    )
    assert ack["ok"], ack
    # The lists above the tickets settle first (the chat left the queue, Ada is listed):
    # a card vanishing from the queue while the click is on its way moves the summary
    # from under the pointer.
    await expect(page.locator("#tickets-count")).to_have_text("1")
    await expect(page.locator("#queue-list .item")).to_have_count(0)
    await expect(page.locator("#agents-list")).to_contain_text("Ada")
    await page.locator("summary", has_text="Offline tickets").click()
    tickets = page.locator("#tickets-list")
    await expect(tickets).to_be_visible()
    await expect(tickets.locator(".ticket-text")).to_have_text("Is the linen duvet back in stock?")
    await expect(tickets.locator(".ticket-source")).to_have_text("Left a message.")
    box = tickets.get_by_label("Answer to maria@example.com")
    await box.fill("Yes, from Monday.")
    await tickets.get_by_role("button", name="Send answer").click()
    got = await client.wait_for("message", lambda m: m["author"] == "agent")
    assert got["text"] == "Yes, from Monday." and got["agent"] == {"name": "Ada"}
    await expect(tickets.locator(".ticket-state")).to_have_text("answered")
    await expect(box).to_have_value("")
    # no mail server here: the console says where the answer went
    await expect(tickets.locator(".ticket-mail")).to_have_count(0)
    await page.screenshot(path=str(artifacts / "console-ticket-answered.png"))

    # The chat of a ticket can be opened and read; the shopper writes again.
    await tickets.get_by_role("button", name="Open the chat of maria@example.com").click()
    panel = page.locator(f"#panel-{conversation_of(client)}")
    await expect(panel.locator(".badge")).to_have_text("offline ticket")
    await client.call("message", {"id": "again", "text": "this is ridiculous, I need it today!!"})
    await expect(tickets.locator(".ticket-state")).to_have_text("open")
    # The card's mood follows the shopper's message without the console asking for it.
    await expect(panel.locator(".card-info .mood .mood-label")).to_contain_text("unhappy")
    opens = [r for r in requests if '"open"' in r]
    assert len(opens) == 1, opens  # the one click; no re-open to refresh the mood

    await tickets.get_by_role(
        "button", name="Mark the ticket from maria@example.com as done"
    ).click()
    await expect(tickets).to_have_text("No open tickets.")
    await client.wait_for("csat_request")
    assert errors.errors == []
