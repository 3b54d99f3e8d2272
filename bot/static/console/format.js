// Pure formatting helpers: times, durations, language names, safe links, ids.

import { t } from "./texts.js";

export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function signed(score) {
  if (typeof score !== "number") return "";
  const text = Math.abs(score).toFixed(2);
  return score < 0 ? `\u2212${text}` : `+${text}`;
}

export function languageName(code) {
  if (!code) return t("mood.unknown");
  const name = t(`lang.${code}`);
  return name === `lang.${code}` ? code : `${name} (${code})`;
}

/** Only http(s) URLs may become links; anything else is shown as text. */
export function safeHttpUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A client message id: 1-64 characters of A-Z a-z 0-9 _ - (see the protocol). */
export function clientId(prefix = "c") {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** What to call a shopper in lists and tab titles: their name or e-mail, else the
 * friendly name the server made for the chat ("Amber Otter"). */
export function visitorName(card) {
  const visitor = (card && card.visitor) || {};
  return visitor.name || visitor.email || visitor.alias || String(card && card.id || "");
}

/** The last shopper (or any) message of a card, for list previews. */
export function preview(card) {
  const recent = (card && card.recent) || [];
  for (let i = recent.length - 1; i >= 0; i -= 1) {
    if (recent[i].author === "shopper") return recent[i].text;
  }
  return recent.length ? recent[recent.length - 1].text : "";
}
