// Headline numbers, the breakdown tables and the unanswered questions.

import { el } from "./dom.js";
import { count, day, duration, fixed, num, pct } from "./format.js";
import { t } from "./texts.js";

function card(label, value, detail, key) {
  return el("div", { class: "card", dataset: { figure: key } },
    el("div", { class: "card-label" }, label),
    el("div", { class: "card-value" }, value),
    el("div", { class: "card-detail muted" }, detail));
}

/** A count with its noun, by the language's plural rules: "1 rating", "2 ratings". */
export function many(key, n, values = {}) {
  return t(key, { ...values, count: n ?? 0, n: count(n) });
}

function durations(d) {
  return t("card.durations", { p90: duration(d.p90), chats: many("chats", d.count) });
}

export function headline(report, npsEnabled) {
  const s = report.totals;
  const cards = [
    card(t("card.csat"), pct(s.csat_score),
      t("card.csatDetail", { ratings: many("ratings", s.ratings), low: count(s.low_ratings) }), "csat"),
    card(t("card.average"), num(s.average_rating), t("card.of5"), "average"),
    card(t("card.response"), pct(s.response_rate),
      many("card.responseDetail", s.surveys_answered, { asked: count(s.surveys_asked) }), "response"),
    card(t("card.chats"), count(s.chats), many("card.empty", report.empty_chats), "chats"),
    card(t("card.containment"), pct(s.containment_rate), many("card.contained", s.bot_only),
      "containment"),
    card(t("card.escalation"), pct(s.escalation_rate),
      many("card.escalated", s.escalated, { missed: count(s.missed) }), "escalation"),
    card(t("card.first"), duration(s.first_response.median), durations(s.first_response),
      "first-response"),
    card(t("card.resolution"), duration(s.resolution.median), durations(s.resolution),
      "resolution"),
  ];
  if (npsEnabled || report.nps.answers) {
    const n = report.nps;
    cards.push(card(t("card.nps"), fixed(n.score, 1),
      t("card.npsDetail", { answers: many("answers", n.answers), promoters: count(n.promoters),
        detractors: count(n.detractors) }), "nps"));
  }
  return cards;
}

const SPLIT_COLUMNS = [
  ["col.chats", (s) => count(s.chats)],
  ["col.contained", (s) => pct(s.containment_rate)],
  ["col.escalated", (s) => count(s.escalated)],
  ["col.missed", (s) => count(s.missed)],
  ["col.first", (s) => `${duration(s.first_response.median)} / ${duration(s.first_response.p90)}`],
  ["col.resolution", (s) => `${duration(s.resolution.median)} / ${duration(s.resolution.p90)}`],
  ["col.ratings", (s) => count(s.ratings)],
  ["col.csat", (s) => pct(s.csat_score)],
  ["col.average", (s) => num(s.average_rating)],
  ["col.response", (s) => pct(s.response_rate)],
];

/** A slice's name: dates as the browser writes them, "bot"/"escalated" in words. */
function sliceLabel(report, split, s) {
  if (split === "by_period") return report.period === "week" ? t("weekOf", { date: day(s.key) }) : day(s.key);
  if (split === "by_handled") return t(`handled.${s.key}`);
  return s.label;
}

export function splitTable(report, split) {
  const rows = report[split];
  if (!rows.length) return el("p", { class: "muted" }, t("empty.range"));
  const name = split === "by_handled" ? t("split.handled") : t(`split.${split}`);
  return el("table", { class: "data", dataset: { split } },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, name),
      SPLIT_COLUMNS.map(([key]) => el("th", { scope: "col" }, t(key))))),
    el("tbody", {}, rows.map((s) => el("tr", {},
      el("th", { scope: "row" }, sliceLabel(report, split, s)),
      SPLIT_COLUMNS.map(([, value]) => el("td", {}, value(s)))))));
}

export function gapsTable(questions) {
  if (!questions.length) return el("p", { class: "muted" }, t("empty.gaps"));
  return el("table", { class: "data gaps" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("gaps.rank")), el("th", { scope: "col" }, t("gaps.question")),
      el("th", { scope: "col" }, t("gaps.asked")))),
    el("tbody", {}, questions.map((q, i) => el("tr", {},
      el("td", {}, String(i + 1)), el("td", {}, q.text), el("td", {}, count(q.count))))));
}
