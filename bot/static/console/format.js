// Pure formatting helpers: times, durations, mood labels, safe links, ids.

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

/** The mood score (-1 unhappy .. 1 content) as a word and a CSS level. */
export function moodLabel(score) {
  if (typeof score !== "number" || Number.isNaN(score)) return { label: "Unknown", level: "unknown" };
  if (score <= -0.5) return { label: "Very unhappy", level: "very-unhappy" };
  if (score < -0.15) return { label: "Unhappy", level: "unhappy" };
  if (score <= 0.15) return { label: "Neutral", level: "neutral" };
  return { label: "Content", level: "content" };
}

export function signed(score) {
  if (typeof score !== "number") return "";
  const text = Math.abs(score).toFixed(2);
  return score < 0 ? `\u2212${text}` : `+${text}`;
}

const LANGUAGES = { en: "English", it: "Italian", pl: "Polish" };

export function languageName(code) {
  if (!code) return "Unknown";
  return LANGUAGES[code] ? `${LANGUAGES[code]} (${code})` : code;
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

/** What to call a shopper in lists and tab titles. */
export function visitorName(card) {
  const visitor = (card && card.visitor) || {};
  if (visitor.name) return visitor.name;
  if (visitor.email) return visitor.email;
  return `Visitor ${String(card && card.id || "").slice(0, 6)}`;
}

/** The last shopper (or any) message of a card, for list previews. */
export function preview(card) {
  const recent = (card && card.recent) || [];
  for (let i = recent.length - 1; i >= 0; i -= 1) {
    if (recent[i].author === "shopper") return recent[i].text;
  }
  return recent.length ? recent[recent.length - 1].text : "";
}
