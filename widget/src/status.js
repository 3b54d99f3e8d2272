/**
 * One status model for the panel: from the server's `status` (README, "Shopper
 * protocol") and the connection's state it says what the header, the hand-off
 * banner and the actions show, so that they never contradict each other: no wait
 * time when nobody is online, no green "online" while nobody from the team is.
 */

/**
 * @param status the last `status` from the server (or null before there is one)
 * @param connection "idle" | "connecting" | "online" | "offline"
 * @returns {{header: {state: string, text: string, note: string}, banner: string[] | null,
 *            offerLeave: boolean, canHandOff: boolean}}
 */
export function statusModel(status, connection, t) {
  return {
    header: { ...headerFor(status, connection, t), note: connection === "online" ? teamNote(status, t) : "" },
    banner: bannerFor(status, t),
    offerLeave: !!(status && status.status === "queued" && status.offer_leave_message),
    canHandOff: canHandOff(status),
  };
}

/** The header line: the connection when it is not up, else whether the team is there. */
function headerFor(status, connection, t) {
  if (connection === "connecting" || connection === "offline") {
    return { state: connection, text: t(connection) };
  }
  if (connection !== "online" || !status) return { state: "idle", text: "" };
  if (status.status === "assigned") return { state: "online", text: t("teamOnline") };
  return status.agents_online
    ? { state: "online", text: t("teamOnline") }
    : { state: "away", text: t("teamAway") };
}

/** "Typically replies in 5 min" from the server's typical reply time (seconds). */
export function replyTime(seconds, t) {
  if (seconds < 60) return t("replySoon");
  if (seconds < 90 * 60) return t("replyMinutes", { minutes: Math.round(seconds / 60) });
  return t("replyHours", { hours: Math.round(seconds / 3600) });
}

/** When the team is back (the next opening, in the shopper's own time): "Monday 09:00". */
export function reopening(iso, lang, now = new Date()) {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === now.toDateString()) return time;
  return `${date.toLocaleDateString(lang, { weekday: "long" })} ${time}`;
}

/** The line under the header: when the team is back, and how fast it usually answers. */
function teamNote(status, t) {
  // (waiting in the queue, the banner says it all; with an agent, nothing to add)
  if (!status || ["assigned", "queued", "closed"].includes(status.status)) return "";
  const parts = [];
  if (!status.agents_online && status.next_open) parts.push(t("backAt", { when: reopening(status.next_open, t.lang) }));
  if (typeof status.reply_time === "number") parts.push(replyTime(status.reply_time, t));
  return parts.join(" · ");
}

/** The banner's parts (first one in bold), or null when there is nothing to say. */
export function bannerFor(status, t) {
  if (!status) return null;
  if (status.status === "queued") {
    if (!status.agents_online) {
      const back = status.next_open ? t("backAt", { when: reopening(status.next_open, t.lang) }) + "." : null;
      return back ? [t("nobodyOnline"), back] : [t("nobodyOnline")];
    }
    const wait = status.expected_wait;
    if (wait == null) return [t("waiting")];
    return [t("waiting"), wait < 60 ? t("waitSoon") : t("waitMinutes", { minutes: Math.round(wait / 60) })];
  }
  if (status.status === "assigned") return [t("joined", { name: status.agent?.name || t("support") })];
  if (status.status === "ticket") return [t("ticketTitle"), t("ticketText")];
  return null;
}

/**
 * Whether the shopper may ask for a person: with the bot, or back on a ticket while
 * someone is online (not while waiting for, or talking to, a person).
 */
export function canHandOff(status) {
  if (!status || status.status === "bot") return true;
  return status.status === "ticket" && !!status.agents_online;
}
