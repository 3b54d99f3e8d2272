/**
 * One shopper's chat: the protocol side of the widget (README, "Shopper protocol").
 *
 * On every (re)connection it calls `start` with the stored resume token, shows the
 * transcript it gets back, then sends the queued messages in order. It turns
 * server events into view updates and public events, and keeps the unread count.
 */

import { createConnection, prefetchClient, refusal } from "./connection.js";
import { endedBlock, survey } from "./forms.js";
import { HandoffPanel } from "./handoff.js";
import { messageId } from "./ids.js";
import { Outbox, drain } from "./outbox.js";
import { Unread } from "./unread.js";
import { createView } from "./view.js";

const BOT_TYPING_MS = 8000;
const COMPLAINT_MESSAGES = 3; // the shopper's last messages carried into the leave-a-message form
const AGENT_TYPING_MS = 20_000;
const TYPING_EVERY_MS = 3000;

export class Session {
  constructor({ base, settings, storage, t, emit }) {
    this.settings = settings;
    this.storage = storage;
    this.t = t;
    this.emit = emit;
    this.outbox = new Outbox(storage);
    this.user = null;
    this.conversation = null;
    this.phase = "chat"; // chat | ended | rated
    this.said = []; // the shopper's recent messages (texts), for the leave-a-message form
    this.lastId = 0;
    this.openReported = false;
    this.wantHandoff = false;
    this.draining = null;
    this.drainAgain = false;
    this.typingSentAt = 0;
    this.timers = {};
    this.view = createView({
      t,
      settings,
      answered: (id) => this.answered().includes(id),
      handlers: {
        open: () => this.open(),
        close: () => this.close(),
        send: (text) => this.send(text),
        pick: (entryId, label) => this.send(label, entryId),
        handoff: () => this.handoff(),
        end: () => this.end(),
        feedback: (id, helpful) => this.feedback(id, helpful),
        typing: (on) => this.typing(on),
      },
    });
    this.connection = createConnection({
      base,
      onConnect: () => this.start(),
      onEvent: (event, data) => this.onEvent(event, data),
      onState: (state) => this.onState(state),
    });
    this.unread = new Unread(storage, (count) => {
      this.view.setUnread(count);
      emit("unread", count);
    });
    this.handoffPanel = new HandoffPanel({
      t,
      view: this.view,
      leave: async (values) => {
        const ack = await this.call("leave_message", values);
        if (ack.ok && ack.status) this.later(() => this.applyStatus(ack.status));
        return ack;
      },
    });
    this.handoffPanel.setConnection("idle");
    this.view.setPhase("chat", { handoff: true });
  }

  /** Show what is known locally, and reconnect when there is a chat to resume. */
  init() {
    for (const item of this.outbox.items()) this.view.transcript.pending(item, this.t("queued"));
    if (this.storage.get("token") || this.outbox.size) this.connection.connect();
    else prefetchClient();
    if (this.settings.open || this.storage.get("open")) this.open({ focus: false });
  }

  // -- the protocol ------------------------------------------------------------------

  async start() {
    const payload = {
      lang: this.settings.lang,
      page: { url: location.href.slice(0, 2000), title: document.title.slice(0, 300) },
      page_lang: document.documentElement.lang || this.t.lang,
    };
    if (this.settings.site) payload.site = this.settings.site;
    if (this.user) payload.user = this.user;
    const token = this.storage.get("token");
    let ack = await this.connection.call("start", token ? { ...payload, token } : payload);
    if (!ack.ok && ack.error.code === "invalid_token") {
      this.forget();
      if (!this.view.open && !this.outbox.size) return false;
      ack = await this.connection.call("start", payload);
    }
    if (!ack.ok) throw new Error(ack.error.code);

    const { conversation, messages } = ack;
    const known = this.conversation && this.conversation.id === conversation.id ? this.lastId : null;
    if (!known) this.openReported = false;
    this.storage.set("token", ack.token);
    this.conversation = conversation;
    this.view.transcript.replace(messages);
    this.said = messages.filter((m) => m.author === "shopper").map((m) => m.text).slice(-COMPLAINT_MESSAGES);
    this.lastId = Math.max(0, ...messages.map((m) => m.id));
    if (known === null) this.unread.recount(messages);
    else for (const m of messages) if (m.id > known && m.author !== "shopper") this.notify(m);
    if (this.view.open) this.unread.seen(this.lastId);

    if (conversation.status === "closed") {
      // On a reconnection to a chat already shown as ended, keep the form being filled in.
      if (known === null || this.phase === "chat") this.ended(conversation.csat ? "rated" : "ended");
    } else {
      this.setPhase("chat");
      this.applyStatus(ack.status || null);
    }
    if (this.view.open) this.reportOpen();
    if (this.wantHandoff) {
      this.wantHandoff = false;
      if (this.phase === "chat" && conversation.status === "bot") this.later(() => this.handoff());
    }
    return true;
  }

  onState(state) {
    this.handoffPanel.setConnection(state);
    if (state === "online") this.flush();
    if (state === "offline") {
      for (const item of this.outbox.items()) this.view.transcript.pending(item, this.t("queued"));
    }
  }

  onEvent(event, data) {
    if (!data || typeof data !== "object") return;
    if (event === "message") this.onMessage(data);
    else if (event === "status") this.applyStatus(data);
    else if (event === "typing") this.onTyping(data);
    else if (event === "ended") this.ended("ended");
    else if (event === "csat_request") this.askCsat(data);
    else if (event === "error") console.warn("[supportbot] refused:", data.event, data.code);
  }

  onMessage(message) {
    if (!this.conversation || message.conversation_id !== this.conversation.id) return;
    if (message.author === "shopper" && message.client_id) this.outbox.remove(message.client_id); // sent by another tab
    if (!this.view.transcript.upsert(message)) return;
    if (message.author === "shopper") this.remember(message.text);
    this.lastId = Math.max(this.lastId, message.id);
    if (message.author === "bot") this.setTyping("bot", null);
    if (message.author === "agent") this.setTyping("agent", null);
    if (message.author !== "shopper") this.notify(message);
  }

  applyStatus(status) {
    if (status && this.conversation && this.conversation.status !== "closed") this.conversation.status = status.status;
    this.handoffPanel.apply(status, this.phase, { email: this.user?.email || "", said: this.said });
  }

  remember(text) {
    this.said = [...this.said, text].slice(-COMPLAINT_MESSAGES);
  }

  onTyping(data) {
    if (data.author === "agent") this.setTyping("agent", data.typing ? this.t("agentTyping", { name: data.name || this.t("support") }) : null);
    else if (data.author === "bot") this.setTyping("bot", data.typing ? this.t("typing") : null);
  }

  /** The chat ended ("ended") or ended and was rated ("rated"). */
  ended(phase) {
    const focus = this.view.hasFocus();
    this.phase = phase;
    if (this.conversation) this.conversation.status = "closed";
    this.handoffPanel.drop();
    this.setTyping("bot", null);
    this.setTyping("agent", null);
    this.view.setBanner(null);
    this.view.setPhase(phase);
    this.view.showForm(endedBlock({ t: this.t, thanks: phase === "rated", onNewChat: () => this.newChat() }), { focus });
  }

  askCsat(request) {
    if (this.phase === "rated") return;
    this.phase = "ended";
    this.view.setPhase("ended");
    survey({
      t: this.t,
      request,
      call: (event, payload) => this.call(event, payload),
      show: (form) => this.view.showForm(form, { focus: this.view.hasFocus() }),
      rated: () => {
        this.phase = "rated"; // a csat_request meanwhile does not ask again
      },
      done: () => this.ended("rated"),
    });
  }

  // -- the shopper's actions ------------------------------------------------------------

  send(text, pick) {
    if (this.phase !== "chat") return false;
    const item = { id: messageId(), text: text.slice(0, 2000) };
    if (pick) item.pick = pick;
    this.outbox.add(item);
    this.view.transcript.pending(item, this.connection.ready ? this.t("sending") : this.t("queued"));
    if (this.connection.state === "idle") this.connection.connect();
    this.flush();
    return true;
  }

  /** Send queued messages in order, one at a time, each after the previous one's ack. */
  flush() {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    if (!this.connection.ready || !this.outbox.size) return;
    const t = this.t;
    this.draining = drain(
      this.outbox,
      (item) => {
        if (!this.connection.ready) return refusal("offline");
        this.view.transcript.pending(item, t("sending"));
        return this.connection.call("message", item);
      },
      {
        onSent: (item, ack) => this.sent(ack.message),
        onRefused: (item) => this.view.transcript.fail(item.id, t("failed")),
      },
    ).finally(() => {
      this.draining = null;
      if (this.drainAgain) {
        this.drainAgain = false;
        this.flush();
      }
    });
  }

  sent(message) {
    const answered = this.lastId > message.id; // the reply came before the ack
    if (this.view.transcript.upsert(message)) {
      this.lastId = Math.max(this.lastId, message.id);
      this.remember(message.text);
    }
    if (!answered && this.conversation?.status === "bot") this.setTyping("bot", this.t("typing"), BOT_TYPING_MS);
  }

  async handoff() {
    if (this.phase !== "chat") return;
    if (!this.connection.ready) {
      this.wantHandoff = true;
      if (this.connection.state === "idle") this.connection.connect();
      return;
    }
    const ack = await this.call("handoff", {});
    if (ack.ok && ack.status) this.applyStatus(ack.status);
  }

  end() {
    if (this.phase === "chat" && this.conversation) this.call("end", {});
  }

  feedback(id, helpful) {
    this.storage.set("feedback", [...this.answered(), id].slice(-50));
    this.call("feedback", { message_id: id, helpful });
  }

  answered() {
    const ids = this.storage.get("feedback", []);
    return Array.isArray(ids) ? ids : [];
  }

  typing(on) {
    if (!this.connection.ready || this.phase !== "chat") return;
    const now = Date.now();
    if (on && now - this.typingSentAt > TYPING_EVERY_MS) {
      this.typingSentAt = now;
      this.connection.call("typing", { typing: true });
    } else if (!on && this.typingSentAt) {
      this.typingSentAt = 0;
      this.connection.call("typing", { typing: false });
    }
  }

  newChat() {
    this.forget();
    this.setPhase("chat");
    this.applyStatus(null);
    this.view.showForm(null);
    this.view.focusInput();
    this.connection.reconnect();
  }

  // -- the public API ---------------------------------------------------------------------

  open({ focus = true } = {}) {
    if (this.view.open) return;
    this.view.setOpen(true, { focus });
    this.storage.set("open", true);
    if (this.connection.state === "idle") this.connection.connect();
    else if (this.connection.ready) this.reportOpen();
    this.unread.seen(this.lastId);
    this.emit("opened");
  }

  close({ focus = true } = {}) {
    if (!this.view.open) return;
    this.view.setOpen(false, { focus });
    this.storage.remove("open");
    if (this.openReported && this.connection.ready) this.connection.call("widget", { action: "closed" });
    this.openReported = false;
    this.emit("closed");
  }

  setUser(user) {
    this.user = Object.keys(user).length ? user : null;
    if (this.user && this.connection.ready) this.call("identify", this.user);
  }

  /** Forget the shopper (e.g. on logout): a later open starts a new conversation. */
  reset() {
    this.close({ focus: false });
    this.connection.disconnect();
    for (const key of ["token", "outbox", "open", "feedback"]) this.storage.remove(key);
    this.user = null;
    this.forget();
    this.view.transcript.clear();
    this.setPhase("chat");
    this.applyStatus(null);
    this.view.showForm(null);
  }

  // -- helpers ----------------------------------------------------------------------------

  call(event, payload) {
    return this.connection.ready ? this.connection.call(event, payload) : Promise.resolve(refusal("offline"));
  }

  later(fn) {
    setTimeout(fn, 0);
  }

  setPhase(phase) {
    this.phase = phase;
    this.view.setPhase(phase, { handoff: this.handoffPanel.model().canHandOff });
  }

  /** Drop the conversation (not the queued messages): the next `start` opens a new one. */
  forget() {
    this.storage.remove("token");
    this.unread.forget();
    this.conversation = null;
    this.handoffPanel.status = null;
    this.handoffPanel.drop();
    this.said = [];
    this.lastId = 0;
    this.view.transcript.replace([]);
  }

  reportOpen() {
    if (this.openReported || !this.conversation) return;
    this.openReported = true;
    this.connection.call("widget", { action: "opened" });
  }

  notify(message) {
    this.emit("message", publicMessage(message));
    if (this.view.open) this.unread.seen(this.lastId);
    else this.unread.add(message);
  }

  setTyping(who, text, timeout = AGENT_TYPING_MS) {
    clearTimeout(this.timers[who]);
    this.typingText = { ...this.typingText, [who]: text };
    if (text) this.timers[who] = setTimeout(() => this.setTyping(who, null), timeout);
    this.view.setTyping(this.typingText.agent || this.typingText.bot || null);
  }
}

/** What the host page's `message` listeners get: a frozen copy, text only. */
export function publicMessage(message) {
  return Object.freeze({
    id: message.id,
    author: message.author,
    text: message.text,
    created_at: message.created_at,
    agent: message.agent ? Object.freeze({ name: message.agent.name }) : null,
  });
}
