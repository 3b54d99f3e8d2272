/** What the hand-off banner says for a `status` event from the server. */

/** The banner's parts (first one in bold), or null when there is nothing to say. */
export function bannerFor(status, t) {
  if (!status) return null;
  if (status.status === "queued") {
    const wait = status.expected_wait;
    if (wait == null) return [t("waiting")];
    return [t("waiting"), wait < 60 ? t("waitSoon") : t("waitMinutes", { minutes: Math.round(wait / 60) })];
  }
  if (status.status === "assigned") return [t("joined", { name: status.agent?.name || t("support") })];
  return null;
}

/** Whether the shopper may still ask for a person (not while waiting for or talking to one). */
export function canHandOff(status) {
  return !status || status.status === "bot";
}
