/**
 * One shopper's chat: the protocol side of the widget (README, "Shopper protocol").
 *
 * On every (re)connection it calls `start` with the stored resume token, shows the
 * transcript it gets back, then sends the queued messages in order. It turns
 * server events into view updates and public events, keeps the unread count, and
 * follows the conversation's language and the server's limits.
 */

import { createConnection, prefetchClient, refusal } from "./connection.js";
import { clip, endedBlock, survey } from "./forms.js";
import { HandoffPanel } from "./handoff.js";
import { messageId } from "./ids.js";
import { Outbox, serialDrain } from "./outbox.js";
import { BOT_TYPING_MS, Typing, typingSignal } from "./typing.js";
import { Unread, publicMessage } from "./unread.js";
import { postUpload, upload } from "./uploads.js";
import { createView } from "./view.js";

const COMPLAINT_MESSAGES = 3; // the shopper's last messages carried into the leave-a-message form
// Until the server says otherwise (the `start` ack's `limits`).
const LIMITS = { text: 2000, upload_bytes: 0, upload_files: 0, upload_types: [] };

export class Session {
  constructor({ base, settings, storage, t, emit }) {
    this.base = base;
    this.limits = LIMITS;
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
    this.statusTold = 0; // status events so far (an ack's status is older than a new one)
    this.typingSignal = typingSignal(
      (payload) => this.connection.cast("typing", payload),
      () => this.connection.ready && this.phase === "chat" && this.conversation?.status,
    );
    this.view = createView({
      t,
      settings,
      answered: (id) => this.answered().includes(id),
      resolve: (url) => new URL(url, base).href,
      handlers: {
        attach: (file) => this.attach(file),
        open: () => this.open(),
        close: () => this.close(),
        send: (text) => this.send(text),
        pick: (entryId, label) => this.send(label, entryId),
        handoff: () => this.handoff(),
        end: () => this.end(),
        feedback: (id, helpful) => this.feedback(id, helpful),
        typing: (on) => this.typingSignal(on),
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
    this.typingLine = new Typing(this.view, t);
    this.drainOutbox = serialDrain(this.outbox, (item) => {
      if (!this.connection.ready) return refusal("offline");
      this.view.transcript.pending(item, t("sending"));
      return this.connection.call("message", item);
    }, {
      onSent: (item, ack) => this.sent(ack.message, ack.replies),
      onRefused: (item) => this.view.transcript.fail(item.id, t("failed")),
    });
    this.handoffPanel = new HandoffPanel({
      t,
      view: this.view,
      maxLength: () => this.limits.text,
      leave: async (values) => {
        const ack = await this.callForStatus("leave_message", values);
        if (ack.status) setTimeout(() => this.applyStatus(ack.status), 0); // after the form's own update
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
      replies_in_ack: true, // protocol 2: the bot's replies come in the message's ack
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
    if (ack.limits) {
      this.limits = { ...LIMITS, ...ack.limits };
      this.view.setLimits(this.limits);
    }
    this.setLanguage(conversation.language);
    this.view.transcript.replace(messages);
    this.view.transcript.setSeen(ack.seen ?? null);
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
      if (this.phase === "chat" && conversation.status === "bot") setTimeout(() => this.handoff(), 0);
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
    else if (event === "status") { this.statusTold += 1; this.applyStatus(data); }
    else if (event === "typing") this.typingLine.onEvent(data);
    else if (event === "seen") this.view.transcript.setSeen(data.message_id);
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
    if (message.author === "bot" || message.author === "agent") this.typingLine.show(message.author, null);
    if (message.author !== "shopper") this.notify(message);
  }

  applyStatus(status) {
    if (status && this.conversation && this.conversation.status !== "closed") this.conversation.status = status.status;
    if (status && status.language && this.t.use(status.language)) this.relabel();
    this.showStatus(status);
  }

  showStatus(status) {
    this.handoffPanel.apply(status, this.phase, { email: this.user?.email || "", said: this.said });
  }

  remember(text) {
    this.said = [...this.said, text].slice(-COMPLAINT_MESSAGES);
  }

  /** The conversation's language (the server's word): the interface follows it. */
  setLanguage(lang) {
    if (lang && this.t.use(lang)) {
      this.relabel();
      this.showStatus(this.handoffPanel.status); // the header and banner in the new language
    }
  }

  relabel() {
    this.storage.set("lang", this.t.lang);
    this.view.relabel();
    this.view.setUnread(this.unread.count);
    this.view.transcript.regroup();
  }

  /** The chat ended ("ended") or ended and was rated ("rated"). */
  ended(phase) {
    const focus = this.view.hasFocus();
    this.phase = phase;
    if (this.conversation) this.conversation.status = "closed";
    this.handoffPanel.drop();
    this.typingLine.clear();
    this.view.setBanner(null);
    this.view.setPhase(phase);
    this.view.showForm(endedBlock({ t: this.t, thanks: phase === "rated", onNewChat: () => this.newChat() }), { focus });
  }

  askCsat(request) {
    if (this.phase === "rated") return;
    this.setLanguage(request.language);
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
    const item = { id: messageId(), text: clip(text, this.limits.text) };
    if (pick) item.pick = pick;
    this.outbox.add(item);
    this.view.transcript.pending(item, this.connection.ready ? this.t("sending") : this.t("queued"));
    if (this.connection.state === "idle") this.connection.connect();
    this.flush();
    return true;
  }

  /** Send queued messages in order, one at a time, each after the previous one's ack. */
  flush() {
    if (this.connection.ready && this.outbox.size) this.drainOutbox();
  }

  sent(message, replies) {
    if (this.view.transcript.upsert(message)) {
      this.lastId = Math.max(this.lastId, message.id);
      this.remember(message.text);
    }
    if (Array.isArray(replies)) for (const reply of replies) this.onMessage(reply || {});
    // An older server sends the replies as events (maybe before the ack): until then, "Typing…"
    else if (this.lastId <= message.id && this.conversation?.status === "bot") this.typingLine.show("bot", this.t("typing"), BOT_TYPING_MS);
  }

  /** A picture the shopper chose or pasted (only once the chat has started). */
  attach(file) {
    const token = this.storage.get("token");
    if (this.phase !== "chat" || !token) return;
    upload({
      file, token, limits: this.limits, t: this.t, transcript: this.view.transcript,
      send: postUpload(this.base),
      sent: (message) => {
        if (this.view.transcript.upsert(message)) this.lastId = Math.max(this.lastId, message.id);
      },
    });
  }

  async handoff() {
    if (this.phase !== "chat") return;
    if (!this.connection.ready) {
      this.wantHandoff = true;
      if (this.connection.state === "idle") this.connection.connect();
      return;
    }
    const ack = await this.callForStatus("handoff", {});
    if (ack.status) this.applyStatus(ack.status);
  }

  /** A call whose ack has the chat's status, dropped when a status event came meanwhile. */
  async callForStatus(event, payload) {
    const told = this.statusTold;
    const ack = await this.call(event, payload);
    return { ...ack, status: ack.ok && this.statusTold === told ? ack.status : null };
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
    for (const key of ["token", "outbox", "open", "feedback", "lang"]) this.storage.remove(key);
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
}
