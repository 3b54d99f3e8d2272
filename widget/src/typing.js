/**
 * "Ada is typing…" and the bot's "Typing…": one line above the composer, showing the
 * agent's over the bot's, each cleared by its next message or after a while.
 */

export const BOT_TYPING_MS = 8000;
const WATCHED = new Set(["queued", "assigned"]); // statuses in which agents may watch
const AGENT_TYPING_MS = 20_000;

export class Typing {
  constructor(view, t) {
    this.view = view;
    this.t = t;
    this.texts = {};
    this.timers = {};
  }

  /** A `typing` event from the server. */
  onEvent(data) {
    const t = this.t;
    if (data.author === "agent") this.show("agent", data.typing ? t("agentTyping", { name: data.name || t("support") }) : null);
    else if (data.author === "bot") this.show("bot", data.typing ? t("typing") : null);
  }

  show(who, text, timeout = AGENT_TYPING_MS) {
    clearTimeout(this.timers[who]);
    this.texts = { ...this.texts, [who]: text };
    if (text) this.timers[who] = setTimeout(() => this.show(who, null), timeout);
    this.view.setTyping(this.texts.agent || this.texts.bot || null);
  }

  clear() {
    this.show("bot", null);
    this.show("agent", null);
  }
}

/** The shopper's own typing for the server: "typing" at most every 3 s, and once "stopped";
 * `null` forgets it without sending (a sent message ends the typing by itself). It goes
 * without an ack, and only while a person may be watching: `status()` is the chat's
 * status while the chat can take it (connected, not ended), else falsy. */
export function typingSignal(send, status, every = 3000) {
  let sentAt = 0;
  return (on) => {
    const now = Date.now();
    if (on === null || !WATCHED.has(status())) {
      sentAt = 0;
    } else if (on && now - sentAt > every) {
      sentAt = now;
      send({ typing: true });
    } else if (!on && sentAt) {
      sentAt = 0;
      send({ typing: false });
    }
  };
}
