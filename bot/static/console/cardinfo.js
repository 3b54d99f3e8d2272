// Small pieces shared by the chat panel and the side lists: mood indicator, wait
// timer, page link, status words.

import { el } from "./dom.js";
import { duration, moodLabel, safeHttpUrl, signed } from "./format.js";

/** Epoch ms when the card's chat started waiting, corrected for clock skew. */
export function waitingSince(card) {
  if (!card || typeof card.wait_seconds !== "number") return null;
  return (card.receivedAt || Date.now()) - card.wait_seconds * 1000;
}

/** A live wait timer (updated by tickTimers). */
export function waitTimer(card) {
  const since = waitingSince(card);
  if (since === null) return el("span", { class: "wait" }, "\u2013");
  return el("span", { class: "wait", dataset: { since: String(since) } },
    duration((Date.now() - since) / 1000));
}

export function tickTimers(root = document) {
  const now = Date.now();
  for (const node of root.querySelectorAll("[data-since]")) {
    node.textContent = duration((now - Number(node.dataset.since)) / 1000);
  }
}

/** Mood as a labelled indicator: a word, a meter and the score (never colour alone). */
export function moodIndicator(score, { compact = false } = {}) {
  const { label, level } = moodLabel(score);
  const known = typeof score === "number";
  const meter = el("meter", {
    min: -1, max: 1, low: -0.15, high: 0.15, optimum: 1, value: known ? score : 0,
    "aria-hidden": "true",
  });
  return el("span", {
    class: `mood mood-${level}${compact ? " compact" : ""}`,
    title: known ? `Mood ${signed(score)} (\u22121 unhappy \u2026 +1 content)` : "Mood unknown",
  }, el("span", { class: "mood-dot", "aria-hidden": "true" }), meter,
  el("span", { class: "mood-label" }, compact ? label : `${label}${known ? ` (${signed(score)})` : ""}`));
}

export function pageLink(page) {
  const url = page && page.url;
  const title = (page && page.title) || url;
  if (!title) return el("span", { class: "muted" }, "unknown");
  const safe = safeHttpUrl(url);
  if (!safe) return el("span", {}, title);
  return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer", title: safe }, title);
}

export function statusWord(card, { mine = false } = {}) {
  if (!card) return "loading";
  switch (card.status) {
    case "queued": return card.position ? `waiting (#${card.position})` : "waiting";
    case "assigned": return mine ? "yours" : `with ${card.agent && card.agent.name || "an agent"}`;
    case "closed": return "closed";
    case "bot": return "with the bot";
    case "ticket": return "offline ticket";
    default: return card.status || "";
  }
}

export function presenceBadge(online) {
  return el("span", { class: `presence ${online ? "online" : "offline"}` },
    online ? "Shopper online" : "Shopper offline");
}
