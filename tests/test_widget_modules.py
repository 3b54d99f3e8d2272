"""Each of the widget's ES modules, tested in headless Chromium.

The page sits on the chat server's origin and imports the modules straight from
/widget/src/, the way the loader does; every test runs real module code.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page

from conftest import ROOT, LiveServer

WIDGET = ROOT / "widget"
Run = Callable[..., Awaitable[Any]]


@pytest.fixture
async def run(server: LiveServer, page: Page) -> Run:
    """``await run("module.js", "js body using m (the module) and args", *args)``."""
    return await module_runner(server, page)


async def module_runner(server: LiveServer, page: Page) -> Run:
    await page.goto(server.url + "/healthz")

    async def call(module: str, body: str, *args: Any) -> Any:
        source = f"async ([url, args]) => {{ const m = await import(url); {body} }}"
        return await page.evaluate(source, [f"{server.url}/widget/src/{module}", list(args)])

    return call


async def test_storage_is_prefixed_json(run: Run) -> None:
    result = await run(
        "storage.js",
        """
      const s = m.createStorage();
      s.set("token", "abc"); s.set("outbox", [{id: "x", text: "hi"}]);
      const out = {persistent: s.persistent, token: s.get("token"), outbox: s.get("outbox"),
                   missing: s.get("nope", 7), keys: Object.keys(localStorage).sort()};
      s.remove("token");
      out.after = s.get("token");
      localStorage.setItem("supportbot:broken", "{not json");
      out.broken = s.get("broken", "fallback");
      return out;
    """,
    )
    assert result == {
        "persistent": True,
        "token": "abc",
        "outbox": [{"id": "x", "text": "hi"}],
        "missing": 7,
        "keys": ["supportbot:outbox", "supportbot:token"],
        "after": None,
        "broken": "fallback",
    }


async def test_storage_falls_back_to_memory_when_local_storage_throws(run: Run) -> None:
    result = await run(
        "storage.js",
        """
      const blocked = m.createStorage("supportbot:", () => { throw new DOMException("no", "SecurityError"); });
      blocked.set("token", "t1");
      const full = {
        getItem: (k) => (k in this.data ? this.data[k] : null),
        setItem: () => { throw new DOMException("full", "QuotaExceededError"); },
        removeItem: () => {},
      };
      const quota = m.createStorage("supportbot:", () => full);
      quota.set("token", "t2");
      let flaky = 0;
      const later = m.createStorage("supportbot:", () => ({
        getItem: () => { if (++flaky > 1) throw new Error("gone"); return "1"; },
        setItem: () => {}, removeItem: () => {},
      }));
      later.set("open", true);
      return {blocked: [blocked.persistent, blocked.get("token")], quota: [quota.persistent, quota.get("token")],
              later: [later.get("open"), later.persistent], leaked: Object.keys(localStorage)};
    """,
    )
    assert result == {
        "blocked": [False, "t1"],
        "quota": [False, "t2"],
        "later": [True, False],
        "leaked": [],
    }


async def test_texts_exist_in_english_italian_and_polish(run: Run) -> None:
    result = await run(
        "i18n.js",
        """
      const keys = Object.keys(m.TEXTS.en);
      const gaps = {};
      for (const lang of ["it", "pl"]) {
        gaps[lang] = keys.filter((k) => typeof m.TEXTS[lang][k] !== "string" || !m.TEXTS[lang][k].trim());
        gaps[lang + "_extra"] = Object.keys(m.TEXTS[lang]).filter((k) => !keys.includes(k));
      }
      const slots = keys.filter((k) => ["it", "pl"].some((lang) =>
        JSON.stringify(m.TEXTS.en[k].match(/\\{\\w+\\}/g)) !== JSON.stringify(m.TEXTS[lang][k].match(/\\{\\w+\\}/g))));
      return {gaps, slots, count: keys.length};
    """,
    )
    assert result["gaps"] == {"it": [], "it_extra": [], "pl": [], "pl_extra": []}
    assert result["slots"] == []  # the same {placeholders} everywhere
    assert result["count"] >= 45


async def test_the_language_is_the_setting_then_the_page_then_the_browser(run: Run) -> None:
    result = await run(
        "i18n.js",
        """
      const p = m.pickLanguage;
      const t = m.translator("pl");
      return [p("it", "pl", ["en"]), p("auto", "pl-PL", ["it"]), p("auto", "", ["de-DE", "it-IT"]),
              p("auto", "de", ["fr"]), p(undefined, undefined, []), p("PL", "", []),
              t("joined", {name: "<b>Ada</b>"}), t("waitMinutes", {minutes: 3}), t.lang,
              m.translator("xx")("send"), m.translator("it")("csat5")];
    """,
    )
    assert result == [
        "it",
        "pl",
        "it",
        "en",
        "en",
        "pl",
        "<b>Ada</b> dołącza do czatu",
        "Przewidywany czas oczekiwania: około 3 min.",
        "pl",
        "Send",
        "Molto soddisfatto",
    ]


async def test_settings_from_attributes_and_the_object(run: Run) -> None:
    result = await run(
        "settings.js",
        """
      const a = m.readSettings({site: "shop-1", title: " Help ", accent: "#2f5d50", position: "LEFT",
                                lang: "it", open: ""});
      const b = m.readSettings({title: "From attribute", open: "true"}, {title: "From object", open: false});
      const c = m.readSettings({accent: "red;background:url(//evil)", position: "top", lang: "de",
                                open: "maybe", title: 42}, "not an object");
      const d = m.readSettings({accent: "rgb(10 20 30)"});
      return {a: a.settings, aw: a.warnings, b: b.settings, c: c.settings, cw: c.warnings.length,
              d: d.settings.accent, frozen: Object.isFrozen(a.settings)};
    """,
    )
    assert result["a"] == {
        "site": "shop-1",
        "title": "Help",
        "greeting": "",
        "accent": "#2f5d50",
        "position": "left",
        "lang": "it",
        "open": True,
        "privacyUrl": "",
        "privacyText": "",
    }
    assert result["aw"] == []
    assert result["b"]["title"] == "From object" and result["b"]["open"] is False
    assert result["c"] == {
        "site": "",
        "title": "",
        "greeting": "",
        "accent": "",
        "position": "right",
        "lang": "auto",
        "open": False,
        "privacyUrl": "",
        "privacyText": "",
    }
    assert result["cw"] == 6
    assert result["d"] == "rgb(10 20 30)"
    assert result["frozen"] is True


async def test_the_privacy_notice_settings(run: Run, server: LiveServer) -> None:
    result = await run(
        "settings.js",
        """
      const read = (raw) => { const r = m.readSettings(raw); return [r.settings.privacyUrl,
                                                                     r.settings.privacyText, r.warnings]; };
      return [read({privacyUrl: "https://shop.example/privacy#chat", privacyText: " Kept 30 days. "}),
              read({privacyUrl: "/privacy"}), read({privacyUrl: "javascript:alert(1)"}),
              read({privacyUrl: "ftp://shop.example/p"}), read({privacyUrl: "https://x.example/" + "a".repeat(500)}),
              read({privacyText: "x".repeat(300)})[1].length];
    """,
    )
    bad = ["privacyUrl must be an http(s) address"]
    assert result == [
        ["https://shop.example/privacy#chat", "Kept 30 days.", []],
        [f"{server.url}/privacy", "", []],
        ["", "", bad],
        ["", "", bad],
        ["", "", bad],
        200,
    ]
    notice = await run(
        "view.js",
        """
      const t = (key) => ({privacyNotice: "We store this chat.", privacyLink: "Privacy"})[key];
      const none = m.privacyNotice(t, {privacyUrl: "", privacyText: ""});
      const el = m.privacyNotice(t, {privacyUrl: "https://s.example/p", privacyText: "<b>x</b>"});
      return [none, el.outerHTML];
    """,
    )
    assert notice == [
        None,
        '<p class="privacy">&lt;b&gt;x&lt;/b&gt; <a href="https://s.example/p" '
        'target="_blank" rel="noopener noreferrer" data-t="privacyLink">Privacy</a></p>',
    ]


async def test_message_ids_are_random_and_valid(run: Run) -> None:
    result = await run(
        "ids.js",
        """
      const ids = Array.from({length: 2000}, () => m.messageId());
      return {unique: new Set(ids).size, valid: ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id))};
    """,
    )
    assert result == {"unique": 2000, "valid": True}


async def test_linkify_builds_anchors_for_http_links_only(run: Run) -> None:
    result = await run(
        "linkify.js",
        """
      const show = (nodes) => nodes.map((n) => n.nodeType === 3 ? ["text", n.textContent]
        : ["a", n.getAttribute("href"), n.textContent, n.rel, n.target]);
      return [
        show(m.linkify("See https://casalino.example/returns. Or http://x.example/a?b=1, thanks")),
        show(m.linkify("javascript:alert(1) and data:text/html,<script>x</script>")),
        show(m.linkify("<b>bold</b> https://ok.example/<img>")),
        show(m.linkify("(https://a.example/x)")),
      ];
    """,
    )
    assert result[0] == [
        ["text", "See "],
        [
            "a",
            "https://casalino.example/returns",
            "https://casalino.example/returns",
            "noopener noreferrer",
            "_blank",
        ],
        ["text", ". Or "],
        ["a", "http://x.example/a?b=1", "http://x.example/a?b=1", "noopener noreferrer", "_blank"],
        ["text", ", thanks"],
    ]
    assert result[1] == [["text", "javascript:alert(1) and data:text/html,<script>x</script>"]]
    assert result[2] == [
        ["text", "<b>bold</b> "],
        ["a", "https://ok.example/", "https://ok.example/", "noopener noreferrer", "_blank"],
        ["text", "<img>"],
    ]
    assert result[3] == [
        ["text", "("],
        ["a", "https://a.example/x", "https://a.example/x", "noopener noreferrer", "_blank"],
        ["text", ")"],
    ]


async def test_messages_render_as_text_never_html(run: Run) -> None:
    result = await run(
        "transcript.js",
        """
      const t = (k) => ({you: "You", assistant: "Assistant", support: "Support", helpful: "Was this helpful?",
                          yes: "Yes", no: "No", feedbackThanks: "Thanks"}[k] || k);
      const picked = [];
      const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
      const bot = m.renderMessage({id: 5, author: "bot", text: evil + " https://a.example", feedback: true,
        quick_replies: [{type: "suggestion", entry_id: "e1", label: "<i>Q?</i>"}, {type: "handoff", label: "Person"}]},
        {t, onPick: (id, label) => picked.push([id, label]), onHandoff: () => picked.push(["handoff"]),
         onFeedback: () => {}});
      const agent = m.renderMessage({id: 6, author: "agent", text: evil, agent: {name: "<u>Ada</u>"}}, {t});
      const odd = m.renderMessage({id: 7, author: "<svg>", text: "x"}, {t});
      document.body.append(bot, agent);
      bot.querySelector(".chip").click();
      bot.querySelectorAll(".chip")[1].click();
      return {
        elements: [...bot.querySelectorAll("*")].map((e) => e.tagName.toLowerCase()),
        text: bot.querySelector(".text").textContent, who: agent.querySelector(".who").textContent,
        agentElements: agent.querySelector(".text").children.length, picked, pwned: window.__pwned ?? null,
        oddClass: odd.className,
      };
    """,
    )
    assert result["pwned"] is None
    assert "img" not in result["elements"] and "script" not in result["elements"]
    assert result["elements"].count("a") == 1 and result["elements"].count("button") == 4
    assert result["text"].startswith('<img src=x onerror="window.__pwned=1"><script>')
    assert result["who"] == "<u>Ada</u>" and result["agentElements"] == 0
    assert result["picked"] == [["e1", "<i>Q?</i>"], ["handoff"]]
    assert result["oddClass"] == "msg system"


async def test_transcript_orders_by_id_and_shows_each_message_once(run: Run) -> None:
    result = await run(
        "transcript.js",
        """
      const log = m.createTranscript({t: (k) => k, onPick() {}, onHandoff() {}, onFeedback() {}});
      document.body.append(log.el);
      const msg = (id, author, text, client_id = null) => ({id, author, text, client_id, conversation_id: "c"});
      log.replace([msg(1, "bot", "hello")]);
      log.pending({id: "p1", text: "first"}, "sending");
      log.pending({id: "p2", text: "second"}, "queued");
      log.upsert(msg(3, "bot", "answer"));
      const dupe = log.upsert(msg(3, "bot", "answer"));
      log.upsert(msg(2, "shopper", "first", "p1"));   // the ack of p1
      log.upsert(msg(2, "shopper", "first", "p1"));   // the same via another tab's event
      log.fail("p2", "not sent");
      const grouping = ["lead", "tail", "stamped", "seen"];  // stamps.js, tested on its own
      const texts = () => [...log.el.children].map((e) => [
        e.className.split(" ").filter((c) => !grouping.includes(c)).join(" "), e.querySelector(".text").textContent]);
      const before = texts();
      log.replace([msg(1, "bot", "hello"), msg(2, "shopper", "first", "p1"), msg(3, "bot", "answer")]);
      return {before, dupe, after: texts(), role: log.el.getAttribute("role"), live: log.el.getAttribute("aria-live")};
    """,
    )
    assert result["dupe"] is False
    assert result["before"] == [
        ["msg bot", "hello"],
        ["msg shopper", "first"],
        ["msg bot", "answer"],
        ["msg shopper failed", "second"],
    ]
    assert result["after"] == [
        ["msg bot", "hello"],
        ["msg shopper", "first"],
        ["msg bot", "answer"],
    ]
    assert result["role"] == "log" and result["live"] == "polite"


async def test_the_outbox_sends_in_order_one_at_a_time_and_resends_with_the_same_id(
    run: Run,
) -> None:
    result = await run(
        "outbox.js",
        """
      const {createStorage} = await import(new URL("./storage.js", url));
      const storage = createStorage("supportbot-test:");
      const box = new m.Outbox(storage);
      for (const [id, text] of [["a", "one"], ["b", "two"], ["c", "three"], ["d", "four"]]) box.add({id, text});
      const sent = [], slept = [], refused = [], acked = [];
      let inFlight = 0, maxInFlight = 0;
      const script = {a: [{ok: false, error: {code: "timeout"}}, {ok: true, message: {id: 1}}],
                      b: [{ok: false, error: {code: "rate_limited", retry_after: 2.5}}, {ok: true, message: {id: 2}}],
                      c: [{ok: false, error: {code: "conversation_closed"}}],
                      d: [{ok: false, error: {code: "offline"}}]};
      const send = async (item) => {
        inFlight++; maxInFlight = Math.max(maxInFlight, inFlight);
        sent.push(item.id);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return script[item.id].shift();
      };
      const first = await m.drain(box, send, {sleep: async (ms) => slept.push(ms),
        onSent: (item, ack) => acked.push([item.id, ack.message.id]), onRefused: (item, e) => refused.push([item.id, e.code])});
      const left = new m.Outbox(createStorage("supportbot-test:")).items();   // persisted
      script.d.push({ok: true, message: {id: 4}});
      const second = await m.drain(box, send, {sleep: async () => {}, onSent: (item) => acked.push([item.id])});
      return {first, second, sent, slept, refused, acked, left, maxInFlight, size: box.size};
    """,
    )
    assert result["first"] == "stalled" and result["second"] == "done"
    assert result["sent"] == ["a", "a", "b", "b", "c", "d", "d"]  # resends keep the id
    assert result["slept"] == [1000, 2500]
    assert result["refused"] == [["c", "conversation_closed"]]
    assert result["acked"] == [["a", 1], ["b", 2], ["d"]]
    assert result["left"] == [{"id": "d", "text": "four"}]
    assert result["maxInFlight"] == 1 and result["size"] == 0


async def test_the_connection_starts_and_calls_with_acks(run: Run, server: LiveServer) -> None:
    result = await run(
        "connection.js",
        """
      const states = [], seen = [];
      let conn;
      const started = new Promise((resolve) => {
        conn = m.createConnection({
          base: args[0],
          onConnect: async () => { const ack = await conn.call("start", {lang: "en"}); resolve(ack); return true; },
          onEvent: (event) => seen.push(event),
          onState: (s) => states.push(s),
        });
      });
      const offline = await conn.call("start", {});
      conn.connect();
      const ack = await started;
      while (!conn.ready) await new Promise((r) => setTimeout(r, 10));
      const refused = await conn.call("message", {id: "bad id!", text: "x"});
      const sent = await conn.call("message", {id: "m1", text: "hello"});
      conn.disconnect();
      return {offline, ok: ack.ok, token: ack.token.length, states, refused: refused.error.code,
              sent: sent.ok, after: conn.state, io: typeof window.io, backoff: m.BACKOFF};
    """,
        server.url + "/",
    )
    assert result["offline"] == {"ok": False, "error": {"code": "offline", "message": "offline"}}
    assert result["ok"] is True and result["token"] == 43
    assert result["states"] == ["connecting", "online", "idle"]
    assert result["refused"] == "invalid_id" and result["sent"] is True
    assert result["io"] == "undefined"  # the vendored ES module defines no global
    assert result["backoff"] == {"first": 500, "max": 10000, "jitter": 0.5}
    rows = await server.query("SELECT text FROM messages WHERE author = 'shopper'")
    assert rows == [{"text": "hello"}]


async def test_unread_counts_what_arrived_unseen(run: Run) -> None:
    result = await run(
        "unread.js",
        """
      const {createStorage} = await import(new URL("./storage.js", url));
      const storage = createStorage("supportbot-test:");
      const counts = [];
      const unread = new m.Unread(storage, (n) => counts.push(n));
      const msg = (id, author) => ({id, author});
      unread.recount([msg(1, "bot"), msg(2, "shopper"), msg(3, "bot")]);
      unread.add(msg(4, "agent")); unread.add(msg(4, "agent")); unread.add(msg(5, "shopper"));
      const before = unread.count;
      unread.seen(4);
      const again = new m.Unread(storage, () => {});
      again.recount([msg(1, "bot"), msg(3, "bot"), msg(4, "agent"), msg(6, "system")]);
      return {counts, before, stored: storage.get("seen"), again: again.count};
    """,
    )
    assert result == {"counts": [2, 3, 0], "before": 3, "stored": 4, "again": 1}


async def test_one_status_model_drives_header_banner_and_buttons(run: Run) -> None:
    result = await run(
        "status.js",
        """
      const {translator} = await import(new URL("./i18n.js", url));
      const t = translator("en");
      const s = (status, extra = {}) => ({status, agent: null, position: null, expected_wait: null,
                                          agents_online: true, offer_leave_message: false, ...extra});
      const model = (status, conn = "online") => {
        const m2 = m.statusModel(status, conn, t);
        return [m2.header.state, m2.header.text, m2.banner, m2.offerLeave, m2.canHandOff];
      };
      return [model(null, "idle"), model(s("bot")), model(s("bot", {agents_online: false})),
              model(s("queued", {expected_wait: 0})),
              model(s("queued", {expected_wait: 400})),
              // nobody online: no wait, no green light, the form instead
              model(s("queued", {agents_online: false, expected_wait: 480, offer_leave_message: true})),
              model(s("assigned", {agent: {name: "Ada"}})),
              model(s("ticket", {agents_online: false})), model(s("ticket")),
              // connection trouble wins over the team's availability
              model(s("queued", {expected_wait: 0}), "offline")];
    """,
    )
    soon = ["Connecting you to a person…", "Someone will be with you shortly."]
    assert result == [
        ["idle", "", None, False, True],
        ["online", "We're online", None, False, True],
        ["away", "We're away", None, False, True],
        ["online", "We're online", soon, False, False],
        [
            "online",
            "We're online",
            ["Connecting you to a person…", "Expected wait: about 7 min."],
            False,
            False,
        ],
        ["away", "We're away", ["Nobody from our team is online right now."], True, False],
        ["online", "We're online", ["Ada joined the chat"], False, False],
        [
            "away",
            "We're away",
            ["We've got your message.", "We'll answer here and by e-mail."],
            False,
            False,
        ],
        [
            "online",
            "We're online",
            ["We've got your message.", "We'll answer here and by e-mail."],
            False,
            True,
        ],
        ["offline", "Offline, reconnecting…", soon, False, False],
    ]


async def test_the_forms_check_their_input_before_sending(run: Run) -> None:
    result = await run(
        "forms.js",
        """
      const {translator} = await import(new URL("./i18n.js", url));
      const t = translator("en");
      const sent = [];
      const leave = m.leaveMessageForm({t, email: "", onSubmit: async (v) => { sent.push(["leave", v]);
        return {ok: true, ticket_id: 1}; }});
      const csat = m.csatForm({t, commentMax: 20, onSubmit: async (v) => { sent.push(["csat", v]);
        return {ok: false, error: {code: "rating_window_closed"}}; }});
      document.body.append(leave, csat);
      const submit = async (form) => { form.requestSubmit(); await new Promise((r) => setTimeout(r, 20)); };
      leave.querySelector("[name=email]").value = "nope";
      leave.querySelector("[name=text]").value = "Hello";
      await submit(leave);
      const emailError = leave.querySelector(".error").textContent;
      leave.querySelector("[name=email]").value = " maria@example.com ";
      await submit(leave);
      const leaveAfter = leave.textContent;
      const disabled = csat.querySelector("button[type=submit]").disabled;
      csat.querySelector("input[value='2']").click();
      csat.querySelector("[name=comment]").value = "  slow  ";
      await submit(csat);
      return {emailError, leaveAfter, disabled, sent, csatError: csat.querySelector(".error").textContent,
              maxlength: csat.querySelector("[name=comment]").maxLength,
              radios: [...csat.querySelectorAll("input[type=radio]")].map((r) => r.getAttribute("aria-label"))};
    """,
    )
    assert result["emailError"] == "Please enter a valid e-mail address."
    assert result["leaveAfter"] == "Thanks! We've got your message."
    assert result["disabled"] is True
    assert result["sent"] == [
        ["leave", {"email": "maria@example.com", "text": "Hello"}],
        ["csat", {"rating": 2, "comment": "slow"}],
    ]
    assert result["csatError"] == "Something went wrong. Please try again."
    assert result["maxlength"] == 20
    assert result["radios"] == [
        "Very dissatisfied",
        "Dissatisfied",
        "Neutral",
        "Satisfied",
        "Very satisfied",
    ]


async def test_the_accent_colour_gets_readable_text(run: Run) -> None:
    result = await run(
        "styles.js",
        """
      return [m.onAccent("#ffffff"), m.onAccent("#ffd500"), m.onAccent("#2f5d50"), m.onAccent("navy"),
              m.CSS.includes("all: initial !important")];
    """,
    )
    assert result == ["#111111", "#111111", "#ffffff", "#ffffff", True]


async def test_the_element_builder_sets_no_inline_styles(run: Run) -> None:
    result = await run(
        "dom.js",
        """
      const el = m.h("button", {class: "x", type: "button", disabled: true, hidden: false, "aria-label": "<b>"},
                     "a", ["b", null, m.h("span", {}, "c")], 3);
      let refused = false;
      try { m.h("div", {style: "color: red"}); } catch { refused = true; }
      return {html: el.outerHTML, refused, icon: m.icon("M0 0h24v24H0z").getAttribute("aria-hidden")};
    """,
    )
    assert result["html"] == (
        '<button class="x" type="button" disabled="" aria-label="&lt;b&gt;">'
        "ab<span>c</span>3</button>"
    )
    assert result["refused"] is True and result["icon"] == "true"


def test_the_vendored_client_is_the_pinned_release_with_its_licence() -> None:
    vendor = WIDGET / "vendor"
    bundle = (vendor / "socket.io.esm.min.js").read_bytes()
    readme = (vendor / "README.md").read_text()
    assert bundle.startswith(b"/*!\n * Socket.IO v4.8.1\n")
    digest = re.search(r"sha256 of `socket.io.esm.min.js`: `([0-9a-f]{64})`", readme)
    assert digest and hashlib.sha256(bundle).hexdigest() == digest.group(1)
    assert "socket.io-client@4.8.1" in readme
    licence = (vendor / "LICENSE-socket.io-client").read_text()
    assert licence.startswith("The MIT License") and "Guillermo Rauch" in licence
    assert not list(WIDGET.rglob("*.min.js.map")) and b"window.io" not in bundle


def test_our_own_code_stays_under_40_kb_gzipped() -> None:
    own = [WIDGET / "widget.js", *sorted((WIDGET / "src").glob("*.js"))]
    total = sum(len(gzip.compress(path.read_bytes(), 9)) for path in own)
    assert total < 40 * 1024, total
    for path in own[1:]:
        assert len(path.read_text().splitlines()) <= 400, f"{path.name} is asking to be split"
