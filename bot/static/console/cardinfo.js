// Small pieces shared by the chat panel and the side lists: mood indicator, wait
// timer, page link, status words, the shopper's rating.

import { el } from "./dom.js";
import { duration, safeHttpUrl, signed } from "./format.js";
import { t } from "./texts.js";

const MOOD_LABELS = ["very_unhappy", "unhappy", "neutral", "content"];

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

/**
 * Mood as a labelled indicator: a word, a meter and the score (never colour alone).
 * The word is the server's (`label`: one scale for every page, README "Agent protocol").
 */
export function moodIndicator(score, { compact = false, label = null } = {}) {
  const known = typeof score === "number";
  const level = known && MOOD_LABELS.includes(label) ? label : "unknown";
  const word = t(`mood.${level}`);
  const meter = el("meter", {
    min: -1, max: 1, low: -0.2, high: 0.2, optimum: 1, value: known ? score : 0,
    "aria-hidden": "true",
  });
  return el("span", {
    class: `mood mood-${level.replace("_", "-")}${compact ? " compact" : ""}`,
    title: known ? t("mood.title", { score: signed(score) }) : t("mood.titleUnknown"),
  }, el("span", { class: "mood-dot", "aria-hidden": "true" }), meter,
  el("span", { class: "mood-label" }, compact ? word : `${word}${known ? ` (${signed(score)})` : ""}`));
}

/** The shopper's rating: stars, the number and the comment. */
export function ratingLine(csat) {
  const stars = "\u2605".repeat(csat.rating) + "\u2606".repeat(5 - csat.rating);
  return el("span", { class: `rating${csat.rating <= 2 ? " low" : ""}`, title: `${csat.rating}/5` },
    `${stars} ${csat.rating}/5`, csat.comment ? el("span", { class: "rating-comment" }, ` \u201c${csat.comment}\u201d`) : null);
}

export function pageLink(page) {
  const url = page && page.url;
  const title = (page && page.title) || url;
  if (!title) return el("span", { class: "muted" }, t("info.unknown"));
  const safe = safeHttpUrl(url);
  if (!safe) return el("span", {}, title);
  return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer", title: safe }, title);
}

export function statusWord(card, { mine = false } = {}) {
  if (!card) return t("state.loading");
  switch (card.status) {
    case "queued": return card.position ? t("state.waitingAt", { position: card.position }) : t("state.waiting");
    case "assigned": return mine ? t("state.yours") : t("state.with", { name: card.agent && card.agent.name || t("state.anAgent") });
    case "closed": return t("state.closed");
    case "bot": return t("state.bot");
    case "ticket": return t("state.ticket");
    default: return card.status || "";
  }
}

export function presenceBadge(online) {
  return el("span", { class: `presence ${online ? "online" : "offline"}` },
    t(online ? "presence.online" : "presence.offline"));
}
