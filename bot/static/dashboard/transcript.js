// The transcript of one chat in a dialog, with agents' notes and the rating.

import { getJSON } from "./api.js";
import { byId, el } from "./dom.js";
import { dash, mood, when } from "./format.js";

export class TranscriptDialog {
  constructor() {
    this.dialog = byId("transcript");
    this.facts = byId("transcript-facts");
    this.messages = byId("transcript-messages");
    this.dialog.querySelector(".dialog-close").addEventListener("click", () => this.dialog.close());
  }

  async open(conversationId) {
    this.facts.replaceChildren();
    this.messages.replaceChildren(el("li", { class: "muted" }, "Loading…"));
    if (!this.dialog.open) this.dialog.showModal();
    let data;
    try {
      data = await getJSON(`/api/conversations/${encodeURIComponent(conversationId)}`);
    } catch (error) {
      this.messages.replaceChildren(el("li", { class: "error" }, error.message));
      return;
    }
    const c = data.conversation;
    const rating = data.csat;
    const facts = [
      ["Chat", c.id],
      ["Started", when(c.created_at)],
      ["Ended", c.closed_at ? `${when(c.closed_at)} (${c.closed_by || dash})` : "still open"],
      ["Handled", c.handled === "bot" ? "Bot only" : `Escalated: ${c.escalation_reasons.join(", ") || dash}`],
      ["Agent", c.agent ? c.agent.name : dash],
      ["Language", c.language],
      ["Mood", mood(c.mood)],
      ["Rating", rating && rating.rating ? `${rating.rating} ★${rating.comment ? ` “${rating.comment}”` : ""}` : "not rated"],
    ];
    if (rating && rating.nps !== null) facts.push(["NPS answer", String(rating.nps)]);
    if (c.personal_data_removed_at) {
      facts.push(["Personal data", `removed ${when(c.personal_data_removed_at)} (messages deleted)`]);
    }
    this.facts.replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
    this.messages.replaceChildren(...data.messages.map((m) => this.message(m)));
  }

  message(m) {
    const who = m.author === "agent" ? (m.agent ? m.agent.name : "Agent") :
      { shopper: "Shopper", bot: "Bot", system: "System" }[m.author] || m.author;
    return el("li", { class: `message ${m.author}${m.kind === "note" ? " note" : ""}` },
      el("div", { class: "meta" },
        el("span", { class: "who" }, who),
        m.kind === "note" ? el("span", { class: "badge" }, "internal note") : null,
        el("time", { datetime: m.created_at }, when(m.created_at)),
        m.author === "shopper" && m.mood !== undefined && m.mood !== null ?
          el("span", { class: "muted" }, `mood ${m.mood.toFixed(2)}`) : null),
      el("p", { class: "text" }, m.text));
  }
}
