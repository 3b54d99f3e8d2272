/**
 * One status model for the panel: from the server's `status` (README, "Shopper
 * protocol") and the connection's state it says what the header, the hand-off
 * banner and the actions show, so that they never contradict each other: no wait
 * time when nobody is online, no green "online" while nobody from the team is.
 */

/**
 * @param status the last `status` from the server (or null before there is one)
 * @param connection "idle" | "connecting" | "online" | "offline"
 * @returns {{header: {state: string, text: string}, banner: string[] | null,
 *            offerLeave: boolean, canHandOff: boolean}}
 */
export function statusModel(status, connection, t) {
  return {
    header: headerFor(status, connection, t),
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

/** The banner's parts (first one in bold), or null when there is nothing to say. */
export function bannerFor(status, t) {
  if (!status) return null;
  if (status.status === "queued") {
    if (!status.agents_online) return [t("nobodyOnline")];
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
