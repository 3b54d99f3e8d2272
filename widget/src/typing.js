/**
 * "Ada is typing…" and the bot's "Typing…": one line above the composer, showing the
 * agent's over the bot's, each cleared by its next message or after a while.
 */

export const BOT_TYPING_MS = 8000;
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
