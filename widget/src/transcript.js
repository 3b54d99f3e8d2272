/**
 * The message list (role="log", so screen readers announce new messages).
 *
 * Messages are keyed by the server's id and, for the shopper's own, by their
 * client id: the same message arriving by ack, by event from another tab and from
 * the resumed transcript is shown once. Messages the server has not acknowledged
 * yet come last, in the order they were typed. After every change the messages are
 * grouped again (stamps.js): names, initials, times and "seen".
 */

import { h } from "./dom.js";
import { linkify } from "./linkify.js";
import { initials, regroup } from "./stamps.js";

export function createTranscript({ t, onPick, onHandoff, onFeedback, answered = () => false, intro = "", resolve = (url) => url, notice = null }) {
  const el = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("transcript"), "data-ta": "aria-label:transcript", tabindex: "0" });
  if (notice) el.append(notice); // the privacy notice: above the first message, from the start
  const shown = new Map(); // key -> element; key is "m<id>" or "c<client id>"
  let hideId = null;
  let seenId = null;
  const options = { t, onPick, onHandoff, onFeedback, answered, resolve };

  function changed() {
    regroup(el, { t, seenId });
  }

  function keyOf(message) {
    return message.client_id ? "c" + message.client_id : "m" + message.id;
  }

  /** Add or update a message from the server. Returns false if it was already shown as is. */
  function upsert(message) {
    if (message.id === hideId) return false;
    const key = keyOf(message);
    const old = shown.get(key);
    if (old && old.dataset.id === String(message.id)) return false;
    const node = renderMessage(message, options);
    shown.set(key, node);
    if (old) old.remove();
    placeConfirmed(node, message.id);
    changed();
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
      changed();
      scroll();
    }
    node.classList.remove("failed");
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
    changed();
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

  /** The agent has seen the shopper's messages up to `id`. */
  function setSeen(id) {
    seenId = id == null ? null : Math.max(seenId || 0, id);
    changed();
  }

  return { el, upsert, pending, fail, replace, clear, scroll, setSeen, regroup: changed };
}

const AUTHOR = { shopper: "you", bot: "assistant", system: "support" };

/** One message as an element; every text goes in as text. */
export function renderMessage(message, { t, onPick, onHandoff, onFeedback, answered = () => false, resolve = (url) => url }) {
  const author = ["shopper", "bot", "agent", "system"].includes(message.author) ? message.author : "system";
  const node = h("div", { class: `msg ${author}` });
  node.message = message;
  if (message.id != null) node.dataset.id = String(message.id);
  if (message.created_at) node.title = new Date(message.created_at).toLocaleString();
  if (author === "agent") {
    const name = message.agent?.name || t("support");
    node.append(h("span", { class: "avatar", "aria-hidden": "true" }, initials(name)), h("span", { class: "who" }, name));
  } else {
    node.append(h("span", { class: "sr-only" }, h("span", { "data-t": AUTHOR[author] }, t(AUTHOR[author])), ": "));
  }
  const attachment = message.attachment;
  if (attachment && attachment.url) {
    node.classList.add("picture");
    const url = resolve(attachment.url);
    node.append(h("a", { class: "image", href: url, target: "_blank", rel: "noopener noreferrer" },
      h("img", { src: url, alt: attachment.name || "", width: attachment.width, height: attachment.height, loading: "lazy" })));
  } else {
    const text = h("span", { class: "text" });
    text.append(...(author === "bot" || author === "agent" ? linkify(message.text || "") : [message.text || ""]));
    node.append(text);
  }

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
    node.append(h("small", { class: "note receipt", "data-t": "personWillRead" }, t("personWillRead")));
  }
  if (message.feedback && author === "bot" && onFeedback && message.id != null) {
    node.append(answered(message.id) ? thanks(t) : helpful(message.id, t, onFeedback));
  }
  if (message.created_at) node.append(h("div", { class: "meta", hidden: true }));
  return node;
}

function thanks(t) {
  return h("div", { class: "helpful" }, h("span", { "data-t": "feedbackThanks" }, t("feedbackThanks")));
}

function helpful(id, t, onFeedback) {
  const row = h("div", { class: "helpful", role: "group", "aria-label": t("helpful"), "data-ta": "aria-label:helpful" },
    h("span", { "data-t": "helpful" }, t("helpful")));
  const answer = (value) => {
    const hadFocus = row.contains(row.getRootNode().activeElement);
    onFeedback(id, value);
    const done = thanks(t);
    row.replaceWith(done);
    if (hadFocus) {
      done.tabIndex = -1; // keep focus in the panel, on the thank-you
      done.focus();
    }
  };
  row.append(
    h("button", { type: "button", class: "chip", "data-t": "yes", onclick: () => answer(true) }, t("yes")),
    h("button", { type: "button", class: "chip", "data-t": "no", onclick: () => answer(false) }, t("no")),
  );
  return row;
}
