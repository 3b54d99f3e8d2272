/**
 * The unread count: messages from the bot, an agent or the system that arrived
 * while the panel was closed. The highest message id the shopper has seen is kept
 * in storage, so a reload or another tab does not count them again.
 */

export class Unread {
  constructor(storage, onChange) {
    this.storage = storage;
    this.onChange = onChange;
    this.ids = new Set();
    this.shown = 0;
  }

  get count() {
    return this.ids.size;
  }

  /** Count again from a whole transcript (after `start`). */
  recount(messages) {
    const seen = this.storage.get("seen", 0);
    this.ids = new Set(messages.filter((m) => m.author !== "shopper" && m.id > seen).map((m) => m.id));
    this.changed();
  }

  add(message) {
    if (message.author === "shopper") return;
    this.ids.add(message.id);
    this.changed();
  }

  /** Everything up to `lastId` has been seen. */
  seen(lastId) {
    if (lastId) this.storage.set("seen", lastId);
    this.ids.clear();
    this.changed();
  }

  forget() {
    this.storage.remove("seen");
    this.ids.clear();
    this.changed();
  }

  changed() {
    if (this.ids.size === this.shown) return;
    this.shown = this.ids.size;
    this.onChange(this.shown);
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
