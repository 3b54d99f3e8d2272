"""The widget's newer modules on their own, in headless Chromium: grouped time stamps
and initials, switching the language of what is on screen, emoji-safe clipping,
the team's line in the header, typing lines and picture uploads."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page
from test_widget_modules import Run, module_runner

from conftest import LiveServer


@pytest.fixture
async def run(server: LiveServer, page: Page) -> Run:
    return await module_runner(server, page)


async def test_initials_and_stamps(run: Run) -> None:
    result = await run(
        "stamps.js",
        """
      const now = new Date(2026, 11, 6, 15, 0);
      const at = (d, h, min) => new Date(2026, 11, d, h, min).toISOString();
      return {
        initials: ["Ada Lovelace", "ada", "  ", "Łucja van der Berg", "Émile"].map(m.initials),
        today: m.stamp(at(6, 9, 5), "en-GB", now),
        yesterday: [m.stamp(at(5, 9, 5), "en", now), m.stamp(at(5, 9, 5), "it", now),
                    m.stamp(at(5, 9, 5), "pl", now)],
        older: m.stamp(at(1, 9, 5), "en-GB", now),
        bad: m.stamp("nonsense", "en", now),
      };
    """,
    )
    assert result["initials"] == ["AL", "A", "?", "ŁB", "É"]
    assert result["today"] == "09:05"
    assert result["yesterday"][0].startswith("yesterday") and result["yesterday"][1].startswith(
        "ieri"
    )
    assert result["yesterday"][2].startswith("wczoraj")
    assert result["older"] == "Tue 1 Dec 09:05" and result["bad"] == ""


async def test_groups_of_one_author_within_five_minutes(run: Run) -> None:
    result = await run(
        "transcript.js",
        """
      const t = (k) => ({seen: "Seen"}[k] || k);
      t.lang = "en-GB";
      const log = m.createTranscript({t, onPick() {}, onHandoff() {}, onFeedback() {}});
      document.body.append(log.el);
      const at = (min) => new Date(Date.now() - (30 - min) * 60_000).toISOString();
      const ada = {name: "Ada Lovelace"};
      log.replace([
        {id: 1, author: "bot", text: "hi", created_at: at(0)},
        {id: 2, author: "shopper", text: "a", created_at: at(1)},
        {id: 3, author: "shopper", text: "b", created_at: at(2)},
        {id: 4, author: "agent", agent: ada, text: "c", created_at: at(3)},
        {id: 5, author: "agent", agent: ada, text: "d", created_at: at(4)},
        {id: 6, author: "agent", agent: {name: "Bob"}, text: "e", created_at: at(4)},
        {id: 7, author: "shopper", text: "f", created_at: at(20)},
      ]);
      const shape = () => [...log.el.children].map((e) => [
        e.dataset.id, e.classList.contains("lead"), e.classList.contains("tail"),
        e.querySelector(".meta").hidden ? "" : "T" + (e.querySelector(".meta").textContent.endsWith("Seen") ? " · Seen" : ""),
        e.querySelector(".avatar")?.textContent || ""]);
      const before = shape();
      log.setSeen(7);
      const seen = shape().at(-1);
      log.upsert({id: 8, author: "agent", agent: ada, text: "g", created_at: at(21)});
      return {before, seen, after: shape().slice(-2)};
    """,
    )
    assert result["before"] == [
        ["1", True, True, "T", ""],
        ["2", True, False, "", ""],
        ["3", False, True, "T", ""],
        ["4", True, False, "", "AL"],
        ["5", False, True, "T", "AL"],
        ["6", True, True, "T", "B"],
        ["7", True, True, "T", ""],
    ]
    assert result["seen"] == ["7", True, True, "T · Seen", ""]
    # "seen" goes with the shopper's last message only while it is the last one
    assert result["after"] == [["7", True, True, "T", ""], ["8", True, True, "T", "AL"]]


async def test_marked_texts_change_language(run: Run) -> None:
    result = await run(
        "i18n.js",
        """
      const t = m.translator("en");
      const root = document.createElement("div");
      root.innerHTML = '<button data-t="handoff"></button><textarea data-ta="placeholder:placeholder aria-label:inputLabel"></textarea><b data-ta="">x</b>';
      m.relabel(root, t);
      const before = [root.firstChild.textContent, root.children[1].placeholder];
      const changed = [t.use("it"), t.use("it"), t.use("xx")];
      m.relabel(root, t);
      return {before, changed, lang: t.lang, after: [root.firstChild.textContent, root.children[1].placeholder,
              root.children[1].getAttribute("aria-label")]};
    """,
    )
    assert result == {
        "before": ["Talk to a person", "Type your message…"],
        "changed": [True, False, False],
        "lang": "it",
        "after": ["Parla con una persona", "Scrivi un messaggio…", "Il tuo messaggio"],
    }


async def test_clipping_never_splits_an_emoji(run: Run) -> None:
    result = await run(
        "forms.js",
        """
      return [m.clip("abc", 5), m.clip("abcd😀", 5), m.clip("abcd😀", 6), m.clip("😀😀😀", 3)];
    """,
    )
    assert result == ["abc", "abcd", "abcd😀", "😀"]


async def test_the_header_says_when_the_team_is_back_and_how_fast_it_answers(run: Run) -> None:
    result = await run(
        "status.js",
        """
      const {translator} = await import(args[0]);
      const t = translator("en");
      const base = {agents_online: true, reply_time: null, next_open: null};
      const note = (status) => m.statusModel({status: "bot", ...base, ...status}, "online", t).header.note;
      // the next Monday, 09:00, never today (the note names the day unless it is today)
      const next = new Date();
      next.setDate(next.getDate() + ((8 - next.getDay()) % 7 || 7));
      next.setHours(9, 0, 0, 0);
      const monday = next.toISOString();
      return {
        none: note({}),
        soon: note({reply_time: 20}),
        minutes: note({reply_time: 300}),
        hours: note({reply_time: 3 * 3600}),
        away: note({agents_online: false, next_open: monday, reply_time: 300}),
        queued: m.statusModel({status: "queued", ...base, agents_online: false, next_open: monday}, "online", t),
        offline: m.statusModel({status: "bot", ...base, reply_time: 300}, "offline", t).header.note,
        at: m.reopening(monday, "it", new Date(2026, 11, 5, 20, 0)),
      };
    """,
        "/widget/src/i18n.js",
    )
    assert result["none"] == "" and result["soon"] == "Typically replies in under a minute"
    assert result["minutes"] == "Typically replies in 5 min"
    assert result["hours"] == "Typically replies in 3 h"
    assert result["away"] == "Back Monday 09:00 AM · Typically replies in 5 min"
    assert result["queued"]["header"]["note"] == ""
    assert result["queued"]["banner"] == [
        "Nobody from our team is online right now.",
        "Back Monday 09:00 AM.",
    ]
    assert result["offline"] == "" and result["at"] == "lunedì 09:00"


async def test_typing_lines(run: Run) -> None:
    result = await run(
        "typing.js",
        """
      const shown = [];
      const typing = new m.Typing({setTyping: (text) => shown.push(text)}, (k, v) => k + (v ? ":" + v.name : ""));
      typing.onEvent({author: "bot", typing: true});
      typing.onEvent({author: "agent", typing: true, name: "Ada"});
      typing.onEvent({author: "agent", typing: false});
      typing.clear();
      return shown;
    """,
    )
    assert result == ["typing", "agentTyping:Ada", "typing", None, None]


async def test_a_picture_is_checked_shown_and_refused_with_a_reason(run: Run) -> None:
    result: Any = await run(
        "uploads.js",
        """
      const notes = [];
      const transcript = {pending: (item, note) => notes.push(["pending", item.text, note]),
                          fail: (id, note) => notes.push(["fail", note])};
      const t = (k, v) => k + (v && v.size ? ":" + v.size : "");
      const limits = {upload_bytes: 2 * 1048576, upload_types: ["image/png"]};
      const file = (type, size, name = "a.png") => new File([new Uint8Array(size)], name, {type});
      const sent = [];
      const forms = [];
      const send = async (form) => { forms.push([...form.keys()]);
        return {ok: true, message: {id: 9}}; };
      const refused = async () => ({ok: false, error: {code: "unsupported_type"}});
      const results = [
        await m.upload({file: file("text/html", 10, "x.png"), token: "T", limits, t, transcript, send, sent: (x) => sent.push(x)}),
        await m.upload({file: file("image/png", 3 * 1048576), token: "T", limits, t, transcript, send, sent: (x) => sent.push(x)}),
        await m.upload({file: file("image/png", 10), token: "T", limits, t, transcript, send, sent: (x) => sent.push(x)}),
        await m.upload({file: file("", 10, "photo"), token: "T", limits, t, transcript, send: refused, sent: (x) => sent.push(x)}),
      ];
      return {codes: results.map((r) => r.ok || r.error.code), notes, sent, forms};
    """,
    )
    assert result["codes"] == ["unsupported_type", "file_too_large", True, "unsupported_type"]
    assert result["forms"] == [["token", "id", "file"]] and result["sent"] == [{"id": 9}]
    assert ["fail", "uploadTooBig:2"] in result["notes"] and ["fail", "uploadType:2"] in result[
        "notes"
    ]
    assert [n for n in result["notes"] if n[0] == "pending"][0] == ["pending", "x.png", "uploading"]


async def test_the_shoppers_typing_is_told_sparingly(run: Run) -> None:
    """At most every 3 s (50 ms here), once stopped, nothing after a send (null), and
    only while a person may be watching (queued, assigned)."""
    result = await run(
        "typing.js",
        """
      const sent = [];
      let status = "assigned";
      const signal = m.typingSignal((payload) => sent.push(payload.typing), () => status, 50);
      signal(true); signal(true); signal(false); signal(false);
      signal(true);
      await new Promise((r) => setTimeout(r, 80));
      signal(true);
      signal(null);  // the message went: no "stopped" packet
      signal(false);
      status = "bot";  // nobody watches a chat with the bot
      signal(true); signal(false);
      status = "queued";
      signal(true);
      status = undefined;  // offline or ended
      signal(true);
      return sent;
    """,
    )
    assert result == [True, False, True, True, True]
