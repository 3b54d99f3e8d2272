// What the console does: the agent's actions (take, reply, note, transfer, resolve,
// canned replies, tickets) and keeping open chats current. Server events are in
// events.js; the page wiring is in main.js.

import { announce } from "./dom.js";
import { clientId, visitorName } from "./format.js";
import { renderMine } from "./lists.js";
import { t } from "./texts.js";

export class Controller {
  /** ui: {toast(text), nodes} ; tabs and conn are set by main.js once created. */
  constructor(store, notifier, ui) {
    this.store = store;
    this.notifier = notifier;
    this.ui = ui;
    this.tabs = null;
    this.conn = null;
    this.taking = new Set();     // chats this console is taking (their ack opens them)
    this.overrides = new Set();  // "chat:agent" moves the agent confirmed past a capacity
    this.seenSent = new Map();   // chat -> the last shopper message id reported seen
  }

  fail(error) {
    if (error && error.code === "unauthorized") return; // the connection goes to /login
    const key = `error.${error && error.code}`;
    const text = t(key);
    this.ui.toast(text !== key ? text : (error && error.message) || String(error));
  }

  panel(id) {
    return this.tabs.panel(id);
  }

  select(id, { focus = false } = {}) {
    this.store.activate(id);
    const panel = focus && this.panel(id);
    if (panel) panel.composer.focus();
  }

  // -- the agent's actions --------------------------------------------------------------

  async openChat(id, { focus = false, activate = true } = {}) {
    const known = this.store.view(id);
    const view = this.store.ensureView(id);
    if (activate) this.select(id, { focus });
    if (!known || view.gone) await this.loadView(id); // a chat we lost may be readable again
    if (activate && focus) this.select(id, { focus });
  }

  /**
   * A move refused with `over_capacity` becomes an explicit choice: the refusal says
   * so, and the same button, clicked again, sends it with `override` (the server logs it).
   */
  overCapacity(key, error, message) {
    if (error.code !== "over_capacity") return false;
    this.overrides.add(key);
    this.ui.toast(message);
    this.store.emit("queue", this.store.queue); // the Take buttons say "anyway" now
    return true;
  }

  async take(id) {
    this.taking.add(id);
    const key = `take:${id}`;
    try {
      const payload = { conversation_id: id };
      if (this.overrides.has(key)) payload.override = true;
      const ack = await this.conn.call("take", payload);
      this.overrides.delete(key);
      this.store.addMine(id);
      this.showOpened(id, ack);
      this.select(id, { focus: true });
      announce(t("say.took", { name: visitorName(ack.conversation) }));
    } catch (error) {
      if (!this.overCapacity(key, error, t("chat.overCapacity", error))) this.fail(error);
      if (this.store.view(id)) await this.loadView(id);
      this.refreshView(id);
    } finally {
      this.taking.delete(id);
    }
  }

  async transfer(id, agentId) {
    const target = this.store.agents.find((a) => a.id === agentId);
    const name = target ? target.name : t("say.anotherAgent");
    const key = `transfer:${id}:${agentId}`;
    try {
      const payload = { conversation_id: id, agent_id: agentId };
      if (this.overrides.has(key)) payload.override = true;
      await this.conn.call("transfer", payload);
      this.overrides.delete(key);
      announce(t("say.transferred", { name }));
      this.ui.toast(t("say.transferred", { name }));
    } catch (error) {
      if (!this.overCapacity(key, error, t("chat.targetFull", { ...error, name }))) this.fail(error);
      this.refreshView(id);
    }
  }

  /** Tell the server what the agent has seen of a chat of theirs (the shopper sees "seen"). */
  seen(id) {
    const view = this.store.view(id);
    if (!view || !this.store.isMine(id) || !this.conn || !this.conn.connected) return;
    if (document.visibilityState !== "visible" || this.store.active !== id) return;
    const last = view.messages.filter((m) => m.author === "shopper").at(-1);
    if (!last || last.id <= (this.seenSent.get(id) || 0)) return;
    this.seenSent.set(id, last.id);
    this.conn.call("seen", { conversation_id: id, message_id: last.id }).catch(() => this.seenSent.delete(id));
  }

  async resolve(id) {
    try {
      await this.conn.call("resolve", { conversation_id: id });
      this.markClosed(id);
      announce(t("say.resolved"));
    } catch (error) {
      this.fail(error);
    }
  }

  closeTab(id) {
    if (!this.store.isMine(id) && this.conn.connected) {
      this.conn.call("close_view", { conversation_id: id }).catch(() => {});
    }
    this.store.removeView(id);
  }

  /** Show the message at once as pending, then deliver it (kept and retried if offline). */
  send(id, text, note) {
    const view = this.store.view(id);
    if (!view) return false;
    const item = { clientId: clientId(note ? "n" : "a"), text, note, at: new Date().toISOString(), error: null };
    view.pending.set(item.clientId, item);
    const panel = this.panel(id);
    panel.renderPending();
    panel.scrollDown();
    this.deliver(id, item);
    return true;
  }

  retry(id, client) {
    const view = this.store.view(id);
    const item = view && view.pending.get(client);
    if (item) this.deliver(id, item);
  }

  typing(id, on) {
    if (this.conn.connected) this.conn.cast("typing", { conversation_id: id, typing: on });
  }

  ticketDone(ticketId) {
    this.conn.call("ticket_done", { id: ticketId }).then(() => announce(t("say.ticketResolved")),
      (error) => this.fail(error));
  }

  /** Answer a ticket: in the chat, and by e-mail when the server can send it. */
  async ticketReply(ticketId, text) {
    try {
      const ack = await this.conn.call("ticket_reply", { id: ticketId, client_id: clientId("t"), text });
      this.store.upsertTicket(ack.ticket);
      announce(t("say.answerSent"));
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  async moreTickets() {
    const last = this.store.tickets.at(-1);
    try {
      this.store.addTickets(await this.conn.call("tickets", last ? { after: last.id } : {}));
    } catch (error) {
      this.fail(error);
    }
  }

  addCanned(shortcut, text) {
    return this.conn.call("canned_add", { shortcut, text });
  }

  deleteCanned(cannedId) {
    return this.conn.call("canned_delete", { id: cannedId });
  }

  async setStatus(status) {
    try {
      const ack = await this.conn.call("status", { status });
      this.store.setStatus(ack.status);
      announce(t(ack.status === "online" ? "say.online" : "say.away"));
    } catch (error) {
      this.fail(error);
    }
  }

  // -- delivery and views ---------------------------------------------------------------

  async deliver(id, item) {
    const view = this.store.view(id);
    item.error = null;
    item.offline = false;
    try {
      // The same client id again is harmless: the server stores it once (duplicate: true).
      const ack = await this.conn.call(item.note ? "note" : "send",
        { conversation_id: id, id: item.clientId, text: item.text });
      if (this.store.view(id) !== view) return;
      const added = view.add([ack.message]);
      view.pending.delete(item.clientId);
      this.panel(id).renderMessages(false, added);
    } catch (error) {
      if (this.store.view(id) !== view) return;
      item.offline = error.code === "offline" || error.code === "timeout";
      item.error = item.offline ? t("msg.waitingConnection") : error.message;
      this.panel(id).renderPending();
    }
  }

  showOpened(id, ack) {
    const view = this.store.ensureView(id);
    view.loading = false;
    view.gone = null;
    this.store.rememberCard(ack.conversation);
    view.reset(ack.messages || []);
    const panel = this.panel(id);
    if (panel) {
      panel.renderMessages(true);
      panel.renderCard();
    }
    this.tabs.renderTabs();
    this.seen(id);
  }

  /** `open` a chat: its card and whole transcript, and live updates from now on. */
  async loadView(id) {
    if (!this.store.view(id)) return;
    try {
      this.showOpened(id, await this.conn.call("open", { conversation_id: id }));
    } catch (error) {
      const view = this.store.view(id);
      if (!view) return;
      view.loading = false;
      if (error.code === "forbidden" || error.code === "not_found") {
        view.gone = t("chat.gone");
        this.store.dropMine(id);
      } else {
        this.fail(error);
      }
      this.refreshView(id);
    }
  }

  refreshView(id) {
    const panel = this.panel(id);
    if (panel) panel.renderCard();
    this.tabs.renderTabs();
    renderMine(this.store, this, this.ui.nodes.mine, this.ui.nodes.mineCount);
  }

  markClosed(id) {
    this.store.dropMine(id);
    const view = this.store.view(id);
    if (view && view.card && view.card.status !== "closed") {
      this.store.patchCard(id, { status: "closed" });
      view.typing = null;
      this.panel(id).renderTyping();
    }
    this.refreshView(id);
  }

  // -- connection lifecycle --------------------------------------------------------------

  /** (Re)connected: rebuild everything from `sync`, re-open the chats, resend pending. */
  async connected() {
    const nodes = this.ui.nodes;
    this.store.connected = true;
    nodes.connState.textContent = t("conn.connected");
    nodes.connState.className = "conn ok";
    try {
      this.store.applySync(await this.conn.call("sync", {}));
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.store.csrf) nodes.logoutCsrf.value = this.store.csrf;
    for (const id of this.store.mine) this.store.ensureView(id);
    if (!this.store.active && this.store.views.size) this.select([...this.store.views.keys()][0]);
    await Promise.all([...this.store.views.keys()].map((id) => this.loadView(id)));
    for (const view of this.store.views.values()) {
      for (const item of view.pending.values()) {
        if (item.offline) this.deliver(view.id, item);
      }
    }
  }

  disconnected() {
    this.store.connected = false;
    this.ui.nodes.connState.textContent = t("conn.reconnecting");
    this.ui.nodes.connState.className = "conn bad";
  }

  refused(error) {
    this.ui.nodes.connState.textContent = t("conn.refused", { reason: error.message || error.code });
    this.ui.nodes.connState.className = "conn bad";
  }
}
