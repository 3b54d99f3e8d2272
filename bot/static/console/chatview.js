// One chat's panel: header with actions, the card's facts, the transcript with
// mood and notes, the shopper's typing, and the reply box.

import { el } from "./dom.js";
import { clock, dateTime, languageName, visitorName } from "./format.js";
import { moodIndicator, pageLink, presenceBadge, ratingLine, statusWord, waitTimer } from "./cardinfo.js";
import { Composer } from "./composer.js";
import { t } from "./texts.js";

/** "Offered: A · B · C", the one the shopper then clicked marked. */
function offers(message, picked) {
  const items = message.quick_replies.map((q) => {
    const chosen = q.entry_id && q.entry_id === picked;
    return el("span", { class: chosen ? "picked" : null }, chosen ? `${q.label} \u2713 (${t("msg.picked")})` : q.label);
  });
  const parts = items.flatMap((item, i) => (i ? [" \u00b7 ", item] : [item]));
  return el("div", { class: "msg-offers" }, `${t("msg.offered")} `, ...parts);
}

function messageItem(message, { pending = false, failed = null, picked = null } = {}) {
  const note = message.kind === "note";
  let who = t(`author.${message.author}`);
  if (message.author === "agent") who = (message.agent && message.agent.name) || t("author.agent");
  if (note) who = t("msg.note", { name: who });
  const classes = ["msg", `msg-${message.author}`];
  if (note) classes.push("msg-note");
  if (pending) classes.push("msg-pending");
  if (failed) classes.push("msg-failed");
  const extra = [];
  if (message.author === "shopper" && typeof message.mood === "number") {
    const reasons = (message.mood_reasons || []).join(", ");
    extra.push(el("div", { class: "msg-mood" }, moodIndicator(message.mood, { compact: true, label: message.mood_label }),
      reasons ? el("span", { class: "msg-reasons" }, reasons) : null));
  }
  if (message.quick_replies && message.quick_replies.length) extra.push(offers(message, picked));
  if (pending) extra.push(el("div", { class: "msg-state" }, failed ? t("msg.notSent", { reason: failed }) : t("msg.sending")));
  const picture = message.attachment;
  const body = picture && picture.url
    ? el("a", { class: "msg-image", href: picture.url, target: "_blank", rel: "noopener noreferrer" },
      el("img", { src: picture.url, alt: t("picture", { name: picture.name || "" }), width: picture.width,
        height: picture.height, loading: "lazy" }))
    : el("p", { class: "msg-text" }, message.text);
  return el("li", { class: classes.join(" "), dataset: { id: String(message.id || "") } },
    el("div", { class: "msg-head" },
      el("span", { class: "msg-author" }, who),
      el("time", { datetime: message.created_at || "", title: dateTime(message.created_at) },
        clock(message.created_at))),
    body,
    ...extra);
}

/** The entry each bot message's choices led to: the next shopper message's `picked`. */
function pickedAfter(messages, index) {
  const next = messages.slice(index + 1).find((m) => m.author === "shopper");
  return next ? next.picked || null : null;
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
    this.takeButton = el("button", { type: "button", class: "primary", onclick: () => actions.take(id) }, t("chat.take"));
    this.resolveButton = el("button", { type: "button", onclick: () => actions.resolve(id) }, t("chat.resolve"));
    this.transferSelect = el("select", { "aria-label": t("chat.transferTo") });
    this.transferButton = el("button", { type: "button", onclick: () => {
      if (this.transferSelect.value) actions.transfer(id, Number(this.transferSelect.value));
    } }, t("chat.transfer"));
    this.transferSelect.addEventListener("change", () => this.refreshTransfer());
    this.transferBox = el("span", { class: "transfer" }, this.transferSelect, this.transferButton);
    this.closeButton = el("button", { type: "button", class: "quiet", onclick: () => actions.closeTab(id) }, t("chat.closeTab"));
    this.info = el("dl", { class: "card-info" });
    this.notice = el("p", { class: "chat-notice", role: "status" });
    this.transcript = el("ol", { class: "transcript", role: "log", "aria-label": t("chat.transcript") });
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
    if (!this.card) return t("chat.loading");
    if (this.card.status === "closed") return t("chat.ended");
    if (this.card.status === "queued") return t("chat.takeToReply");
    return t("chat.notYours");
  }

  // -- rendering -----------------------------------------------------------------------

  renderCard() {
    const card = this.card;
    const view = this.view;
    this.title.textContent = card ? visitorName(card) : t("chat.loading");
    this.status.textContent = statusWord(card, { mine: this.mine });
    this.status.className = `badge status-${card ? card.status : "loading"}`;
    this.presence.replaceChildren(card && card.status !== "closed" ? presenceBadge(card.shopper_online) : "");
    this.takeButton.hidden = !(card && card.status === "queued" && !view.gone);
    const anyway = this.actions.overrides && this.actions.overrides.has(`take:${view.id}`);
    const me = this.store.me && this.store.agents.find((a) => a.id === this.store.me.id);
    this.takeButton.textContent = anyway
      ? t("chat.takeAnyway", { load: this.store.mine.length + 1, capacity: me ? me.capacity : "?" })
      : t("chat.take");
    const target = Number(this.transferSelect.value);
    this.transferButton.textContent = this.actions.overrides && this.actions.overrides.has(`transfer:${view.id}:${target}`)
      ? t("chat.transferAnyway") : t("chat.transfer");
    const manage = this.open && card.status === "assigned" && (this.mine || this.store.isManager);
    this.resolveButton.hidden = !(this.open && (this.mine || this.store.isManager) && card.status !== "bot");
    this.transferBox.hidden = !manage;
    this.closeButton.hidden = this.open && this.mine;
    this.notice.textContent = view.gone || (card && card.status === "closed" ? t("chat.ended") : "");
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
    const named = visitor.name || visitor.email;
    this.info.replaceChildren(
      ...(card.csat ? row(t("chat.rating"), ratingLine(card.csat)) : []),
      ...row(t(card.status === "queued" ? "info.waiting" : "info.since"), waitTimer(card)),
      ...row(t("info.mood"), moodIndicator(card.mood, { label: card.mood_label })),
      ...row(t("info.reasons"), el("span", { class: "reasons" }, reasons)),
      ...row(t("info.language"), languageName(card.language)),
      ...row(t("info.page"), pageLink(card.page)),
      ...row(t("info.visitor"), visitor.name || visitor.alias || "",
        visitor.email ? el("span", { class: "email" }, ` \u00b7 ${visitor.email}`) : null,
        named ? null : el("span", { class: "muted" }, ` (${t("info.noName")})`)),
      ...(card.agent ? row(t("info.agent"), card.agent.name || "") : []),
    );
  }

  renderAgents() {
    const me = this.store.me && this.store.me.id;
    const owner = this.card && this.card.agent && this.card.agent.id;
    const previous = this.transferSelect.value;
    const options = this.store.agents
      .filter((a) => a.id !== owner && a.status !== "offline" && (a.id !== me || this.store.isManager))
      .map((a) => el("option", { value: String(a.id) },
        t("transfer.option", { name: a.name, status: t(`agents.${a.status}`), load: a.load, capacity: a.capacity })));
    this.transferSelect.replaceChildren(
      el("option", { value: "" }, options.length ? t("transfer.choose") : t("transfer.nobody")), ...options);
    this.transferSelect.value = [...this.transferSelect.options].some((o) => o.value === previous) ? previous : "";
    this.refreshTransfer();
  }

  refreshTransfer() {
    this.transferButton.disabled = !this.transferSelect.value;
    const target = Number(this.transferSelect.value);
    const anyway = this.actions.overrides && this.actions.overrides.has(`transfer:${this.view.id}:${target}`);
    this.transferButton.textContent = t(anyway ? "chat.transferAnyway" : "chat.transfer");
  }

  renderMessages(reset, added = []) {
    const atBottom = this.transcript.scrollHeight - this.transcript.scrollTop - this.transcript.clientHeight < 40;
    if (reset) {
      const messages = this.view.messages;
      this.transcript.replaceChildren(...messages.map((m, i) => messageItem(m, { picked: pickedAfter(messages, i) })));
    } else {
      if (added.some((m) => m.picked)) return this.renderMessages(true); // mark the choice on its offer
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
          onclick: () => this.actions.retry(this.view.id, item.clientId) }, t("msg.retry")));
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
    this.typing.replaceChildren(t("chat.typing"),
      typing.preview ? el("span", { class: "typing-preview" }, ` \u201c${typing.preview}\u201d`) : "");
  }
}
