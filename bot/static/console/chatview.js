// One chat's panel: header with actions, the card's facts, the transcript with
// mood and notes, the shopper's typing, and the reply box.

import { el } from "./dom.js";
import { clock, dateTime, languageName, visitorName } from "./format.js";
import { moodIndicator, pageLink, presenceBadge, statusWord, waitTimer } from "./cardinfo.js";
import { Composer } from "./composer.js";

const AUTHOR = { shopper: "Shopper", bot: "Bot", system: "System" };

function messageItem(message, { pending = false, failed = null } = {}) {
  const note = message.kind === "note";
  let who = AUTHOR[message.author] || "Agent";
  if (message.author === "agent") who = (message.agent && message.agent.name) || "Agent";
  if (note) who = `Internal note \u00b7 ${who}`;
  const classes = ["msg", `msg-${message.author}`];
  if (note) classes.push("msg-note");
  if (pending) classes.push("msg-pending");
  if (failed) classes.push("msg-failed");
  const extra = [];
  if (message.author === "shopper" && typeof message.mood === "number") {
    const reasons = (message.mood_reasons || []).join(", ");
    extra.push(el("div", { class: "msg-mood" }, moodIndicator(message.mood, { compact: true }),
      reasons ? el("span", { class: "msg-reasons" }, reasons) : null));
  }
  if (message.quick_replies && message.quick_replies.length) {
    extra.push(el("div", { class: "msg-offers" },
      `Offered: ${message.quick_replies.map((q) => q.label).join(" \u00b7 ")}`));
  }
  if (pending) extra.push(el("div", { class: "msg-state" }, failed ? `Not sent: ${failed}` : "Sending\u2026"));
  return el("li", { class: classes.join(" "), dataset: { id: String(message.id || "") } },
    el("div", { class: "msg-head" },
      el("span", { class: "msg-author" }, who),
      el("time", { datetime: message.created_at || "", title: dateTime(message.created_at) },
        clock(message.created_at))),
    el("p", { class: "msg-text" }, message.text),
    ...extra);
}

export class ChatPanel {
  /**
   * actions: {take(id), transfer(id, agentId), resolve(id), closeTab(id), send(id, text, note),
   *           typing(id, on), retry(id, clientId)}
   */
  constructor(view, store, actions) {
    this.view = view;
    this.store = store;
    this.actions = actions;
    const id = view.id;
    this.title = el("h2", { class: "chat-title", id: `title-${id}` });
    this.status = el("span", { class: "badge" });
    this.presence = el("span");
    this.takeButton = el("button", { type: "button", class: "primary", onclick: () => actions.take(id) }, "Take chat");
    this.resolveButton = el("button", { type: "button", onclick: () => actions.resolve(id) }, "Resolve");
    this.transferSelect = el("select", { "aria-label": "Transfer to agent" });
    this.transferButton = el("button", { type: "button", onclick: () => {
      if (this.transferSelect.value) actions.transfer(id, Number(this.transferSelect.value));
    } }, "Transfer");
    this.transferSelect.addEventListener("change", () => this.refreshTransfer());
    this.transferBox = el("span", { class: "transfer" }, this.transferSelect, this.transferButton);
    this.closeButton = el("button", { type: "button", class: "quiet", onclick: () => actions.closeTab(id) }, "Close tab");
    this.info = el("dl", { class: "card-info" });
    this.notice = el("p", { class: "chat-notice", role: "status" });
    this.transcript = el("ol", { class: "transcript", role: "log", "aria-label": "Transcript" });
    this.typing = el("p", { class: "typing" }); // visual only: messages arrive in the log
    this.composer = new Composer(id, {
      send: (text, note) => actions.send(id, text, note),
      typing: (on) => actions.typing(id, on),
      canReply: () => this.canReply(),
      canNote: () => this.canNote(),
      why: () => this.whyNot(),
    });
    this.element = el("section", {
      class: "chat", id: `panel-${id}`, role: "tabpanel", "aria-labelledby": `title-${id}`,
      dataset: { id },
    },
    el("header", { class: "chat-head" },
      el("div", { class: "chat-heading" }, this.title, this.status, this.presence),
      el("div", { class: "chat-actions" }, this.takeButton, this.transferBox, this.resolveButton,
        this.closeButton)),
    this.info, this.notice, this.transcript, this.typing, this.composer.element);
    this.renderCard();
    this.renderMessages(true);
  }

  // -- what this agent may do -----------------------------------------------------

  get card() {
    return this.view.card;
  }

  get mine() {
    return this.store.isMine(this.view.id) && (!this.card || this.card.status === "assigned");
  }

  get open() {
    return Boolean(this.card) && this.card.status !== "closed" && !this.view.gone;
  }

  canReply() {
    return this.open && this.mine;
  }

  canNote() {
    return this.open && (this.mine || this.store.isManager);
  }

  whyNot() {
    if (this.view.gone) return this.view.gone;
    if (!this.card) return "Loading\u2026";
    if (this.card.status === "closed") return "This chat has ended.";
    if (this.card.status === "queued") return "Take this chat to reply.";
    return "This chat belongs to another agent.";
  }

  // -- rendering -----------------------------------------------------------------------

  renderCard() {
    const card = this.card;
    const view = this.view;
    this.title.textContent = card ? visitorName(card) : "Loading\u2026";
    this.status.textContent = statusWord(card, { mine: this.mine });
    this.status.className = `badge status-${card ? card.status : "loading"}`;
    this.presence.replaceChildren(card && card.status !== "closed" ? presenceBadge(card.shopper_online) : "");
    this.takeButton.hidden = !(card && card.status === "queued" && !view.gone);
    const manage = this.open && card.status === "assigned" && (this.mine || this.store.isManager);
    this.resolveButton.hidden = !(this.open && (this.mine || this.store.isManager) && card.status !== "bot");
    this.transferBox.hidden = !manage;
    this.closeButton.hidden = this.open && this.mine;
    this.notice.textContent = view.gone || (card && card.status === "closed" ? "This chat has ended." : "");
    this.notice.hidden = !this.notice.textContent;
    this.element.classList.toggle("is-closed", !this.open);
    this.renderInfo();
    this.renderAgents();
    this.composer.refresh();
  }

  renderInfo() {
    const card = this.card;
    if (!card) {
      this.info.replaceChildren();
      return;
    }
    const visitor = card.visitor || {};
    const row = (term, ...value) => [el("dt", {}, term), el("dd", {}, ...value)];
    const reasons = card.reasons && card.reasons.length ? card.reasons.join(", ") : "\u2013";
    this.info.replaceChildren(
      ...row(card.status === "queued" ? "Waiting" : "Since hand-off", waitTimer(card)),
      ...row("Mood", moodIndicator(card.mood)),
      ...row("Reasons", el("span", { class: "reasons" }, reasons)),
      ...row("Language", languageName(card.language)),
      ...row("Page", pageLink(card.page)),
      ...row("Visitor", visitor.name || el("span", { class: "muted" }, "no name"),
        visitor.email ? el("span", { class: "email" }, ` \u00b7 ${visitor.email}`) : null),
      ...(card.agent ? row("Agent", card.agent.name || "") : []),
    );
  }

  renderAgents() {
    const me = this.store.me && this.store.me.id;
    const owner = this.card && this.card.agent && this.card.agent.id;
    const previous = this.transferSelect.value;
    const options = this.store.agents
      .filter((a) => a.id !== owner && a.status !== "offline" && (a.id !== me || this.store.isManager))
      .map((a) => el("option", { value: String(a.id) },
        `${a.name} \u2013 ${a.status}, ${a.load}/${a.capacity}`));
    this.transferSelect.replaceChildren(
      el("option", { value: "" }, options.length ? "Transfer to\u2026" : "Nobody else online"), ...options);
    this.transferSelect.value = [...this.transferSelect.options].some((o) => o.value === previous) ? previous : "";
    this.refreshTransfer();
  }

  refreshTransfer() {
    this.transferButton.disabled = !this.transferSelect.value;
  }

  renderMessages(reset, added = []) {
    const atBottom = this.transcript.scrollHeight - this.transcript.scrollTop - this.transcript.clientHeight < 40;
    if (reset) {
      this.transcript.replaceChildren(...this.view.messages.map((m) => messageItem(m)));
    } else {
      for (const message of added) {
        const item = messageItem(message);
        const next = [...this.transcript.children].find((node) => node.dataset.id && !node.classList.contains("msg-pending")
          && Number(node.dataset.id) > message.id);
        this.transcript.insertBefore(item, next || this.firstPending());
      }
    }
    this.renderPending();
    if (reset || atBottom || added.some((m) => m.author === "agent")) this.scrollDown();
  }

  firstPending() {
    return this.transcript.querySelector(".msg-pending");
  }

  renderPending() {
    for (const node of this.transcript.querySelectorAll(".msg-pending")) node.remove();
    for (const item of this.view.pending.values()) {
      const node = messageItem({ author: "agent", kind: item.note ? "note" : "text", text: item.text,
        agent: { name: this.store.me ? this.store.me.name : "" }, created_at: item.at },
      { pending: true, failed: item.error });
      if (item.error) {
        node.append(el("button", { type: "button", class: "quiet",
          onclick: () => this.actions.retry(this.view.id, item.clientId) }, "Retry"));
      }
      this.transcript.append(node);
    }
  }

  scrollDown() {
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  renderTyping() {
    const typing = this.view.typing;
    if (!typing) {
      this.typing.textContent = "";
      return;
    }
    this.typing.replaceChildren("Shopper is typing\u2026",
      typing.preview ? el("span", { class: "typing-preview" }, ` \u201c${typing.preview}\u201d`) : "");
  }
}
