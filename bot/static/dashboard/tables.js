// Headline numbers, the breakdown tables and the unanswered questions.

import { el } from "./dom.js";
import { count, duration, num, pct } from "./format.js";

function card(label, value, detail, key) {
  return el("div", { class: "card", dataset: { figure: key } },
    el("div", { class: "card-label" }, label),
    el("div", { class: "card-value" }, value),
    el("div", { class: "card-detail muted" }, detail));
}

export function headline(report, npsEnabled) {
  const t = report.totals;
  const cards = [
    card("CSAT score", pct(t.csat_score), `${count(t.ratings)} ratings, ${count(t.low_ratings)} low`, "csat"),
    card("Average rating", num(t.average_rating), "of 5", "average"),
    card("Response rate", pct(t.response_rate),
      `${count(t.surveys_answered)} of ${count(t.surveys_asked)} surveys answered`, "response"),
    card("Chats", count(t.chats), `${count(report.empty_chats)} empty not counted`, "chats"),
    card("Bot containment", pct(t.containment_rate), `${count(t.bot_only)} ended without a person`,
      "containment"),
    card("Escalation rate", pct(t.escalation_rate),
      `${count(t.escalated)} escalated, ${count(t.missed)} never answered`, "escalation"),
    card("First response", duration(t.first_response.median),
      `median; p90 ${duration(t.first_response.p90)} (${count(t.first_response.count)} chats)`,
      "first-response"),
    card("Resolution time", duration(t.resolution.median),
      `median; p90 ${duration(t.resolution.p90)} (${count(t.resolution.count)} chats)`,
      "resolution"),
  ];
  if (npsEnabled || report.nps.answers) {
    const n = report.nps;
    cards.push(card("NPS", n.score === null ? "–" : n.score.toFixed(1),
      `${count(n.answers)} answers: promoters ${n.promoters}, detractors ${n.detractors}`, "nps"));
  }
  return cards;
}

const SPLIT_COLUMNS = [
  ["Chats", (s) => count(s.chats)],
  ["Contained", (s) => pct(s.containment_rate)],
  ["Escalated", (s) => count(s.escalated)],
  ["Missed", (s) => count(s.missed)],
  ["First response (median / p90)",
    (s) => `${duration(s.first_response.median)} / ${duration(s.first_response.p90)}`],
  ["Resolution (median / p90)",
    (s) => `${duration(s.resolution.median)} / ${duration(s.resolution.p90)}`],
  ["Ratings", (s) => count(s.ratings)],
  ["CSAT", (s) => pct(s.csat_score)],
  ["Average", (s) => num(s.average_rating)],
  ["Response rate", (s) => pct(s.response_rate)],
];

const SPLIT_NAMES = {
  by_agent: "Agent", by_handled: "Handled", by_language: "Language",
  by_reason: "Escalation reason", by_period: "Period",
};

export function splitTable(report, split) {
  const rows = report[split];
  if (!rows.length) return el("p", { class: "muted" }, "Nothing in this range.");
  return el("table", { class: "data", dataset: { split } },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, SPLIT_NAMES[split]),
      SPLIT_COLUMNS.map(([name]) => el("th", { scope: "col" }, name)))),
    el("tbody", {}, rows.map((s) => el("tr", {},
      el("th", { scope: "row" }, s.label),
      SPLIT_COLUMNS.map(([, value]) => el("td", {}, value(s)))))));
}

export function gapsTable(questions) {
  if (!questions.length) return el("p", { class: "muted" }, "The bot answered every question.");
  return el("table", { class: "data gaps" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, "#"), el("th", { scope: "col" }, "Question"),
      el("th", { scope: "col" }, "Times asked"))),
    el("tbody", {}, questions.map((q, i) => el("tr", {},
      el("td", {}, String(i + 1)), el("td", {}, q.text), el("td", {}, count(q.count))))));
}
