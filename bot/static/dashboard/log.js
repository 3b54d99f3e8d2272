// The CSAT log: newest ratings first, low ratings highlighted, a page at a time.

import { getJSON } from "./api.js";
import { byId, el } from "./dom.js";
import { dash, mood, when } from "./format.js";
import { many } from "./tables.js";
import { t } from "./texts.js";

const PAGE = 50;

export class CsatLog {
  constructor(onOpen) {
    this.onOpen = onOpen;
    this.container = byId("log");
    this.total = byId("log-total");
    this.firstButton = byId("log-first");
    this.nextButton = byId("log-next");
    this.filter = {};
    this.next = null;
    this.firstButton.addEventListener("click", () => this.load(this.filter));
    this.nextButton.addEventListener("click", () => this.page(this.next));
  }

  async load(filter) {
    this.filter = filter;
    await this.page(null);
  }

  async page(cursor) {
    const data = await getJSON("/api/csat", { ...this.filter, limit: PAGE, cursor });
    this.next = data.next_cursor;
    this.total.textContent = many("log.total", data.total);
    this.firstButton.disabled = cursor === null;
    this.nextButton.disabled = !data.next_cursor;
    this.container.replaceChildren(this.table(data.rows));
  }

  table(rows) {
    if (!rows.length) return el("p", { class: "muted" }, t("log.none"));
    const heads = ["log.time", "log.rating", "log.comment", "log.agent", "log.handled", "log.language",
      "log.mood"].map((key) => t(key));
    return el("table", { class: "data log" },
      el("thead", {}, el("tr", {}, [...heads, ""].map((name) => el("th", { scope: "col" }, name)))),
      el("tbody", {}, rows.map((row) => this.row(row))));
  }

  row(row) {
    const open = el("button", {
      type: "button", class: "link", onclick: () => this.onOpen(row.conversation_id),
      "aria-label": t("log.transcriptOf", { rating: row.rating, when: when(row.given_at) }),
    }, t("transcript"));
    return el("tr", { class: row.low ? "low" : null, dataset: { conversation: row.conversation_id } },
      el("td", {}, when(row.given_at)),
      el("td", { class: "rating" }, `${row.rating} ★`, row.low ? el("span", { class: "badge" }, t("log.low")) : null),
      el("td", { class: "comment" }, row.comment || dash),
      el("td", {}, row.agent || dash),
      el("td", {}, t(`handled.${row.handled === "bot" ? "bot" : "escalated"}`)),
      el("td", {}, row.language),
      el("td", {}, mood(row.mood, row.mood_label)),
      el("td", {}, open));
  }
}
