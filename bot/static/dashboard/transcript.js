// The transcript of one chat in a dialog, with agents' notes, the rating, pictures,
// and the "did you mean" choices the bot offered with the one the shopper picked.

import { getJSON } from "./api.js";
import { byId, el } from "./dom.js";
import { dash, mood, when } from "./format.js";
import { t } from "./texts.js";

/** The entry the shopper clicked after the bot message at `index` (or null). */
export function pickedAfter(messages, index) {
  const next = messages.slice(index + 1).find((m) => m.author === "shopper");
  if (!next) return null;
  if (next.picked) return next.picked;
  // Chats stored before picks were kept: the shopper's next message is the choice's text.
  const offer = (messages[index].quick_replies || []).find((q) => q.type === "suggestion" && q.label === next.text);
  return offer ? offer.entry_id : null;
}

export class TranscriptDialog {
  constructor() {
    this.dialog = byId("transcript");
    this.facts = byId("transcript-facts");
    this.messages = byId("transcript-messages");
    this.dialog.querySelector(".dialog-close").addEventListener("click", () => this.dialog.close());
  }

  async open(conversationId) {
    this.facts.replaceChildren();
    this.messages.replaceChildren(el("li", { class: "muted" }, t("transcript.loading")));
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
    const visitor = c.visitor || {};
    const facts = [
      [t("fact.chat"), c.id],
      [t("fact.started"), when(c.created_at)],
      [t("fact.ended"), c.closed_at ? `${when(c.closed_at)} (${c.closed_by || dash})` : t("fact.open")],
      [t("fact.handled"), c.handled === "bot" ? t("handled.bot")
        : t("fact.escalatedFor", { reasons: c.escalation_reasons.join(", ") || dash })],
      [t("fact.agent"), c.agent ? c.agent.name : dash],
      [t("fact.language"), c.language],
      [t("fact.mood"), mood(c.mood, c.mood_label)],
      [t("fact.rating"), rating && rating.rating ? `${rating.rating} ★${rating.comment ? ` “${rating.comment}”` : ""}` : t("fact.notRated")],
    ];
    if (visitor.name || visitor.email) facts.push([t("fact.visitor"), [visitor.name, visitor.email].filter(Boolean).join(" · ")]);
    if (rating && rating.nps !== null) facts.push([t("fact.nps"), String(rating.nps)]);
    if (c.personal_data_removed_at) {
      facts.push([t("fact.personalData"), t("fact.personalDataRemoved", { when: when(c.personal_data_removed_at) })]);
    }
    this.facts.replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
    this.messages.replaceChildren(...data.messages.map((m, i) => this.message(m, pickedAfter(data.messages, i))));
  }

  message(m, picked) {
    const who = m.author === "agent" ? (m.agent ? m.agent.name : t("author.agent")) : t(`author.${m.author}`);
    const offers = (m.quick_replies || []).filter((q) => q.type === "suggestion");
    const picture = m.attachment && m.attachment.url;
    return el("li", { class: `message ${m.author}${m.kind === "note" ? " note" : ""}` },
      el("div", { class: "meta" },
        el("span", { class: "who" }, who),
        m.kind === "note" ? el("span", { class: "badge" }, t("note")) : null,
        el("time", { datetime: m.created_at }, when(m.created_at)),
        m.author === "shopper" && m.mood !== undefined && m.mood !== null
          ? el("span", { class: "muted" }, t("moodOf", { score: mood(m.mood, m.mood_label) })) : null),
      picture
        ? el("a", { class: "picture", href: picture, target: "_blank", rel: "noopener noreferrer" },
          el("img", { src: picture, alt: t("picture", { name: m.attachment.name || "" }), loading: "lazy" }))
        : el("p", { class: "text" }, m.text),
      offers.length ? el("p", { class: "offers" }, `${t("offered")} `,
        ...offers.flatMap((q, i) => [i ? " · " : "",
          q.entry_id === picked ? el("span", { class: "picked" }, `${q.label} ✓ ${t("picked")}`) : q.label]),
        picked ? null : ` (${t("notPicked")})`) : null);
  }
}
