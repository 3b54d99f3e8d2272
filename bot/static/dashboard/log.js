// The CSAT log: newest ratings first, low ratings highlighted, a page at a time.

import { getJSON } from "./api.js";
import { byId, el } from "./dom.js";
import { dash, mood, when } from "./format.js";

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
    this.total.textContent = `${data.total.toLocaleString("en")} ratings`;
    this.firstButton.disabled = cursor === null;
    this.nextButton.disabled = !data.next_cursor;
    this.container.replaceChildren(this.table(data.rows));
  }

  table(rows) {
    if (!rows.length) return el("p", { class: "muted" }, "No ratings match.");
    return el("table", { class: "data log" },
      el("thead", {}, el("tr", {}, ["Time", "Rating", "Comment", "Agent", "Handled", "Language",
        "Mood", ""].map((name) => el("th", { scope: "col" }, name)))),
      el("tbody", {}, rows.map((row) => this.row(row))));
  }

  row(row) {
    const open = el("button", {
      type: "button", class: "link", onclick: () => this.onOpen(row.conversation_id),
      "aria-label": `Transcript of the chat rated ${row.rating} at ${when(row.given_at)}`,
    }, "Transcript");
    return el("tr", { class: row.low ? "low" : null, dataset: { conversation: row.conversation_id } },
      el("td", {}, when(row.given_at)),
      el("td", { class: "rating" }, `${row.rating} ★`, row.low ? el("span", { class: "badge" }, "low") : null),
      el("td", { class: "comment" }, row.comment || dash),
      el("td", {}, row.agent || dash),
      el("td", {}, row.handled === "bot" ? "Bot only" : "Escalated"),
      el("td", {}, row.language),
      el("td", {}, mood(row.mood)),
      el("td", {}, open));
  }
}
