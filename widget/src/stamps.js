/**
 * Messages in groups, as chat apps show them: consecutive messages of one author
 * within a few minutes form a group; its first message shows the agent's name and
 * initials, its last one the time (with the day when it is not today), and the
 * shopper's last message says "seen" once the agent has read it.
 */

export const GROUP_GAP_MS = 5 * 60 * 1000;

/** "Ada Lovelace" -> "AL", "ada" -> "A", "" -> "?" */
export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0]];
  return letters.map((word) => Array.from(word)[0].toUpperCase()).join("");
}

/** A message's time in `lang`: "14:05" today, "yesterday 14:05", else "Mon 3 Dec 14:05". */
export function stamp(iso, lang, now = new Date()) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(now) - day(date)) / 86_400_000);
  if (days === 0) return time;
  if (days === 1) {
    const yesterday = new Intl.RelativeTimeFormat(lang, { numeric: "auto" }).format(-1, "day");
    return `${yesterday} ${time}`;
  }
  const when = date.toLocaleDateString(lang, { weekday: "short", day: "numeric", month: "short" });
  return `${when} ${time}`;
}

function sameGroup(a, b) {
  if (!a || !b || a.author !== b.author || a.author === "system") return false;
  if (a.author === "agent" && a.agent?.name !== b.agent?.name) return false;
  if (!a.created_at || !b.created_at) return !a.created_at && !b.created_at;
  return Math.abs(new Date(b.created_at) - new Date(a.created_at)) <= GROUP_GAP_MS;
}

/**
 * Mark each message element of `log` as the `lead` (first) and/or `tail` of its group, and
 * fill the tails' time (and "seen" under the shopper's last message, when its id is
 * at most `seenId`). Each element carries its message as `el.message`.
 */
export function regroup(log, { t, seenId = null }) {
  const nodes = [...log.children].filter((el) => el.message);
  const lastShopper = nodes.filter((el) => el.message.author === "shopper").at(-1);
  nodes.forEach((el, i) => {
    const message = el.message;
    const head = !sameGroup(nodes[i - 1]?.message, message);
    const tail = !sameGroup(message, nodes[i + 1]?.message);
    el.classList.toggle("lead", head);
    el.classList.toggle("tail", tail);
    const meta = el.querySelector(":scope > .meta");
    if (!meta) return;
    const seen = el === nodes.at(-1) && el === lastShopper && seenId != null && message.id != null
      && message.id <= seenId;
    const time = tail && message.created_at ? stamp(message.created_at, t.lang) : "";
    meta.textContent = [time, seen ? t("seen") : ""].filter(Boolean).join(" · ");
    meta.hidden = !time && !seen;
    el.classList.toggle("stamped", !meta.hidden);
    el.classList.toggle("seen", seen);
  });
}
