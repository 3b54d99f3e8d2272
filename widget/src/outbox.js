/**
 * Messages the shopper has sent that the server has not acknowledged yet.
 *
 * The list lives in storage (so it survives a reload and is shared by tabs) and is
 * re-read before every change. Each item keeps the id it was given when typed: a
 * resend after a lost ack is recognised by the server as a duplicate, never stored
 * twice.
 */

const KEY = "outbox";

/** Errors after which the same message is tried again on this connection. */
const RETRY = new Set(["timeout", "storage_unavailable", "internal_error"]);
/** Errors that mean "wait for the next (re)connection". */
const STALL = new Set(["offline", "no_conversation"]);

export class Outbox {
  constructor(storage) {
    this.storage = storage;
  }

  items() {
    const items = this.storage.get(KEY, []);
    return Array.isArray(items) ? items.filter(valid) : [];
  }

  get size() {
    return this.items().length;
  }

  add(item) {
    const items = this.items().filter((i) => i.id !== item.id);
    items.push(item);
    this.storage.set(KEY, items);
  }

  remove(id) {
    const items = this.items();
    const left = items.filter((i) => i.id !== id);
    if (left.length !== items.length) this.storage.set(KEY, left);
  }

  clear() {
    this.storage.remove(KEY);
  }
}

function valid(item) {
  return item && typeof item.id === "string" && typeof item.text === "string";
}

/**
 * Send queued messages one by one, in order, each after the previous one's ack.
 *
 * `send(item)` resolves to the server's ack (or `{ok: false, error: {code: "offline"}}`).
 * Returns "done" when the outbox is empty, "stalled" when the connection is gone.
 */
export async function drain(outbox, send, hooks = {}) {
  const { onSent = () => {}, onRefused = () => {}, sleep = delay, retryBase = 1000 } = hooks;
  let failures = 0;
  for (;;) {
    const [item] = outbox.items();
    if (!item) return "done";
    const ack = await send(item);
    if (ack && ack.ok) {
      failures = 0;
      outbox.remove(item.id);
      onSent(item, ack);
      continue;
    }
    const error = (ack && ack.error) || { code: "offline" };
    if (STALL.has(error.code)) return "stalled";
    if (error.code === "rate_limited") {
      await sleep(1000 * (Number(error.retry_after) || 1));
    } else if (RETRY.has(error.code)) {
      failures += 1;
      await sleep(Math.min(30_000, retryBase * 2 ** (failures - 1)));
    } else {
      outbox.remove(item.id); // refused for good (closed chat, invalid text): never resent
      onRefused(item, error);
    }
  }
}

/**
 * `drain` run on request, one run at a time: asked again while it runs, it runs
 * once more after it. Returns the function to call ("flush").
 */
export function serialDrain(outbox, send, hooks) {
  let running = null;
  let again = false;
  const flush = () => {
    if (running) {
      again = true;
      return;
    }
    running = drain(outbox, send, hooks).finally(() => {
      running = null;
      if (again) {
        again = false;
        flush();
      }
    });
  };
  return flush;
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
