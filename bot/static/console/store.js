// The console's state, rebuilt from the `sync` ack and kept current by server events.
// Views subscribe to change events; nothing here touches the DOM.

export class ChatView {
  constructor(id) {
    this.id = id;
    this.card = null;
    this.messages = [];         // stored messages, by server id
    this.ids = new Set();
    this.pending = new Map();   // client id -> {clientId, text, note, error}
    this.typing = null;         // {preview, until} while the shopper types
    this.unread = 0;
    this.loading = true;
    this.gone = null;           // why the chat can no longer be read
  }

  /** Add stored messages (from `open` or live events); returns the ones that are new. */
  add(messages) {
    const added = [];
    for (const message of messages) {
      if (!message || this.ids.has(message.id)) continue;
      this.ids.add(message.id);
      if (message.client_id) this.pending.delete(message.client_id);
      added.push(message);
    }
    if (added.length) {
      this.messages.push(...added);
      this.messages.sort((a, b) => a.id - b.id);
    }
    return added;
  }

  reset(messages) {
    this.messages = [];
    this.ids = new Set();
    return this.add(messages);
  }
}

export class Store extends EventTarget {
  constructor() {
    super();
    this.me = null;
    this.status = "away";
    this.csrf = "";
    this.queue = [];
    this.mine = [];             // ids of the chats this agent owns, oldest first
    this.cards = new Map();     // id -> the latest card seen for it
    this.allChats = null;       // managers: every active chat (cards)
    this.agents = [];
    this.canned = [];
    this.tickets = [];
    this.ticketsTotal = 0;       // open tickets in all (the list holds the first pages)
    this.views = new Map();     // open chat tabs, in tab order
    this.active = null;         // id of the selected tab
    this.connected = false;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  on(type, fn) {
    this.addEventListener(type, (event) => fn(event.detail));
  }

  get isManager() {
    return Boolean(this.me && this.me.role === "manager");
  }

  rememberCard(card) {
    if (!card || !card.id) return;
    card.receivedAt = Date.now();
    this.cards.set(card.id, card);
    const view = this.views.get(card.id);
    if (view) view.card = card;
    this.emit("card", card.id);
  }

  /** Change some fields of a known card (keeps its wait-time reference). */
  patchCard(id, changes) {
    const old = this.cards.get(id);
    if (!old) return;
    const card = { ...old, ...changes };
    this.cards.set(id, card);
    const view = this.views.get(id);
    if (view) view.card = card;
    this.emit("card", id);
  }

  applySync(ack) {
    this.me = ack.agent;
    this.csrf = ack.csrf_token || this.csrf;
    this.setStatus(ack.status);
    this.setQueue(ack.queue || []);
    for (const card of ack.chats || []) this.rememberCard(card);
    this.setMine((ack.chats || []).map((card) => card.id));
    this.setAgents(ack.agents || []);
    this.setCanned(ack.canned || []);
    this.setTickets(ack.tickets || [], ack.tickets_total);
    if ("all_chats" in ack) this.setAllChats(ack.all_chats || []);
  }

  setStatus(status) {
    this.status = status === "online" ? "online" : "away";
    this.emit("status", this.status);
  }

  /** Returns the ids that were not waiting before (for notifications). */
  setQueue(cards) {
    const before = new Set(this.queue.map((card) => card.id));
    this.queue = cards;
    for (const card of cards) this.rememberCard(card);
    this.emit("queue", cards);
    return cards.filter((card) => !before.has(card.id)).map((card) => card.id);
  }

  setMine(ids) {
    this.mine = [...new Set(ids)];
    this.emit("mine", this.mine);
  }

  addMine(id) {
    if (!this.mine.includes(id)) this.setMine([...this.mine, id]);
  }

  dropMine(id) {
    if (this.mine.includes(id)) this.setMine(this.mine.filter((other) => other !== id));
  }

  isMine(id) {
    return this.mine.includes(id);
  }

  setAllChats(cards) {
    this.allChats = cards;
    for (const card of cards) this.rememberCard(card);
    this.emit("all", cards);
  }

  /** Managers: the server's changes to the list of chats with an agent. */
  changeAllChats({ upsert = [], remove = [] }) {
    if (this.allChats === null) return;
    const gone = new Set([...remove, ...upsert.map((card) => card.id)]);
    this.setAllChats([...this.allChats.filter((card) => !gone.has(card.id)), ...upsert]);
  }

  setAgents(agents) {
    this.agents = agents;
    this.emit("agents", agents);
  }

  setCanned(items) {
    this.canned = [...items].sort((a, b) => a.shortcut.localeCompare(b.shortcut));
    this.emit("canned", this.canned);
  }

  setTickets(items, total = items.length) {
    this.tickets = items;
    this.ticketsTotal = Math.max(Number(total) || 0, items.length);
    this.emit("tickets", items);
  }

  /** One ticket changed (new, answered, its e-mail sent or failed, done). */
  upsertTicket(ticket) {
    const known = this.tickets.some((t) => t.id === ticket.id);
    const rest = this.tickets.filter((t) => t.id !== ticket.id);
    if (ticket.status === "done") {
      this.setTickets(rest, this.ticketsTotal - (known ? 1 : 0));
    } else {
      const items = [...rest, ticket].sort((a, b) => a.id - b.id);
      this.setTickets(items, this.ticketsTotal + (known ? 0 : 1));
    }
  }

  /** The next page of tickets from the server (after the last one shown). */
  addTickets(page) {
    const ids = new Set(this.tickets.map((t) => t.id));
    const items = [...this.tickets, ...page.items.filter((t) => !ids.has(t.id))];
    this.setTickets(items, page.total);
  }

  view(id) {
    return this.views.get(id);
  }

  ensureView(id) {
    let view = this.views.get(id);
    if (!view) {
      view = new ChatView(id);
      view.card = this.cards.get(id) || null;
      this.views.set(id, view);
      this.emit("views", [...this.views.keys()]);
    }
    return view;
  }

  removeView(id) {
    if (!this.views.delete(id)) return;
    if (this.active === id) this.active = this.views.size ? [...this.views.keys()].at(-1) : null;
    this.emit("views", [...this.views.keys()]);
    this.emit("active", this.active);
  }

  activate(id) {
    if (id !== null && !this.views.has(id)) return;
    this.active = id;
    const view = id && this.views.get(id);
    if (view && view.unread) {
      view.unread = 0;
      this.emit("view", id);
    }
    this.emit("active", id);
  }
}
