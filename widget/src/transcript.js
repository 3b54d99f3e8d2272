/**
 * The message list (role="log", so screen readers announce new messages).
 *
 * Messages are keyed by the server's id and, for the shopper's own, by their
 * client id: the same message arriving by ack, by event from another tab and from
 * the resumed transcript is shown once. Messages the server has not acknowledged
 * yet come last, in the order they were typed.
 */

import { h } from "./dom.js";
import { linkify } from "./linkify.js";

export function createTranscript({ t, onPick, onHandoff, onFeedback, answered = () => false, intro = "", notice = null }) {
  const el = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("transcript"), tabindex: "0" });
  if (notice) el.append(notice); // the privacy notice: above the first message, from the start
  const shown = new Map(); // key -> element; key is "m<id>" or "c<client id>"
  let hideId = null;

  function keyOf(message) {
    return message.client_id ? "c" + message.client_id : "m" + message.id;
  }

  /** Add or update a message from the server. Returns false if it was already shown as is. */
  function upsert(message) {
    if (message.id === hideId) return false;
    const key = keyOf(message);
    const old = shown.get(key);
    if (old && old.dataset.id === String(message.id)) return false;
    const node = renderMessage(message, { t, onPick, onHandoff, onFeedback, answered });
    shown.set(key, node);
    if (old) old.remove();
    placeConfirmed(node, message.id);
    scroll();
    return true;
  }

  function placeConfirmed(node, id) {
    for (const other of el.children) {
      const otherId = Number(other.dataset.id);
      if (other.classList.contains("pending") || otherId > id) {
        el.insertBefore(node, other);
        return;
      }
    }
    el.append(node);
  }

  /** Show a message typed by the shopper that is still on its way (`note` says why). */
  function pending(item, note) {
    const key = "c" + item.id;
    let node = shown.get(key);
    if (node && !node.classList.contains("pending")) return; // already acknowledged
    if (!node) {
      node = renderMessage({ author: "shopper", text: item.text }, { t });
      node.classList.add("pending");
      node.dataset.client = item.id;
      node.append(h("small", { class: "note" }));
      shown.set(key, node);
      el.append(node);
      scroll();
    }
    node.querySelector(".note").textContent = note;
  }

  function fail(clientId, note) {
    const node = shown.get("c" + clientId);
    if (!node) return;
    node.classList.remove("pending");
    node.classList.add("failed");
    const small = node.querySelector(".note") || node.appendChild(h("small", { class: "note" }));
    small.textContent = note;
  }

  /**
   * Replace everything (a resumed transcript). With an `intro` (the embedder's own
   * greeting) the server's greeting, the conversation's first message, is not shown.
   */
  function replace(messages) {
    el.setAttribute("aria-busy", "true");
    const keep = [...el.querySelectorAll(".pending")];
    el.replaceChildren(...(notice ? [notice] : []));
    shown.clear();
    const first = messages[0];
    hideId = intro && first && first.author === "bot" && !first.entry_id ? first.id : null;
    if (intro) el.append(renderMessage({ author: "bot", text: intro }, { t }));
    for (const message of messages) upsert(message);
    for (const node of keep) {
      const id = node.dataset.client;
      if (shown.has("c" + id)) continue;
      shown.set("c" + id, node);
      el.append(node);
    }
    el.removeAttribute("aria-busy");
    scroll();
  }

  function clear() {
    replace([]);
    for (const node of el.querySelectorAll(".pending")) node.remove();
    shown.clear();
  }

  function scroll() {
    el.scrollTop = el.scrollHeight;
  }

  return { el, upsert, pending, fail, replace, clear, scroll };
}

const AUTHOR = { shopper: "you", bot: "assistant", system: "support" };

/** One message as an element; every text goes in as text. */
export function renderMessage(message, { t, onPick, onHandoff, onFeedback, answered = () => false }) {
  const author = ["shopper", "bot", "agent", "system"].includes(message.author) ? message.author : "system";
  const node = h("div", { class: `msg ${author}` });
  if (message.id != null) node.dataset.id = String(message.id);
  if (message.created_at) node.title = new Date(message.created_at).toLocaleString();
  const name = author === "agent" ? message.agent?.name || t("support") : t(AUTHOR[author]);
  node.append(h("span", { class: author === "agent" ? "who" : "sr-only" }, name, author === "agent" ? "" : ": "));
  const text = h("span", { class: "text" });
  text.append(...(author === "bot" || author === "agent" ? linkify(message.text || "") : [message.text || ""]));
  node.append(text);

  const replies = Array.isArray(message.quick_replies) ? message.quick_replies : [];
  if (replies.length && onPick) {
    const chips = h("div", { class: "chips" });
    for (const reply of replies) {
      if (reply.type === "suggestion" && reply.entry_id && reply.label) {
        chips.append(h("button", { type: "button", class: "chip", onclick: () => onPick(reply.entry_id, reply.label) }, reply.label));
      } else if (reply.type === "handoff") {
        chips.append(h("button", { type: "button", class: "chip handoff", onclick: () => onHandoff() }, reply.label || t("handoff")));
      }
    }
    if (chips.childElementCount) node.append(chips);
  }
  if (author === "shopper" && message.receipt === "person") {
    node.append(h("small", { class: "note receipt" }, t("personWillRead")));
  }
  if (message.feedback && author === "bot" && onFeedback && message.id != null) {
    node.append(answered(message.id) ? h("div", { class: "helpful" }, t("feedbackThanks")) : helpful(message.id, t, onFeedback));
  }
  return node;
}

function helpful(id, t, onFeedback) {
  const row = h("div", { class: "helpful", role: "group", "aria-label": t("helpful") }, t("helpful"));
  const answer = (value) => {
    const hadFocus = row.contains(row.getRootNode().activeElement);
    onFeedback(id, value);
    row.replaceChildren(t("feedbackThanks"));
    row.removeAttribute("role");
    if (hadFocus) {
      row.tabIndex = -1; // keep focus in the panel, on the thank-you
      row.focus();
    }
  };
  row.append(
    h("button", { type: "button", class: "chip", onclick: () => answer(true) }, t("yes")),
    h("button", { type: "button", class: "chip", onclick: () => answer(false) }, t("no")),
  );
  return row;
}
