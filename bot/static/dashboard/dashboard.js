// The manager dashboard: filters (kept in the page's URL), headline numbers,
// charts, breakdowns, unanswered questions and the CSAT log with transcripts, in
// the manager's language; dates and numbers as the browser writes them.

import { getJSON, query } from "./api.js";
import { distributionChart, trendChart } from "./charts.js";
import { DateField } from "./datefield.js";
import { byId, el } from "./dom.js";
import { addDays, todayUtc } from "./format.js";
import { CsatLog } from "./log.js";
import { gapsTable, headline, splitTable } from "./tables.js";
import { t } from "./texts.js";
import { TranscriptDialog } from "./transcript.js";
import { browserLocale, languagePicker, translatePage } from "/static/common/i18n.js";

const FILTERS = ["since", "until", "agent", "rating", "handled", "language"];
const DEFAULT_DAYS = 30;

translatePage(t);
languagePicker(byId("locale"), { csrf: () => byId("logout-csrf").value, label: t("language") });
const dates = { since: new DateField(byId("f-since"), browserLocale()),
  until: new DateField(byId("f-until"), browserLocale()) };
const form = byId("filters");
const errorBox = byId("error");
const transcript = new TranscriptDialog();
const log = new CsatLog((id) => transcript.open(id));
let report = null;
let split = "by_agent";

function defaults() {
  const until = todayUtc();
  return { since: addDays(until, -(DEFAULT_DAYS - 1)), until, period: "day" };
}

/** The filter in the URL, with the last 30 days when no range is given. */
function fromUrl() {
  const params = new URLSearchParams(location.search);
  const state = params.has("since") || params.has("until") ? { period: "day" } : defaults();
  for (const key of [...FILTERS, "period"]) {
    if (params.get(key)) state[key] = params.get(key);
  }
  return state;
}

function toForm(state) {
  for (const key of [...FILTERS, "period"]) {
    if (dates[key]) dates[key].value = state[key] || "";
    else form.elements[key].value = state[key] || "";
  }
}

/** The form's filter, or null (with the error shown) when a date cannot be read. */
function fromForm() {
  const state = {};
  for (const key of [...FILTERS, "period"]) {
    const value = dates[key] ? dates[key].value : form.elements[key].value;
    if (value === null) {
      const label = form.elements[key].closest("label").querySelector("span").textContent;
      showError(t("filters.badDate", { field: label, example: byId(`f-${key}`).placeholder }));
      byId(`f-${key}`).focus();
      return null;
    }
    state[key] = value;
  }
  return state;
}

function filterOnly(state) {
  return Object.fromEntries(FILTERS.map((key) => [key, state[key]]));
}

function showError(message) {
  errorBox.textContent = message || "";
  errorBox.hidden = !message;
}

function fillOptions(select, items, current) {
  const first = select.options[0];
  select.replaceChildren(first, ...items.map(([value, label]) => el("option", { value }, label)));
  select.value = current || "";
}

function renderSplit() {
  for (const tab of document.querySelectorAll(".split-tabs [role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.split === split));
  }
  if (report) byId("split-table").replaceChildren(splitTable(report, split));
}

async function load(state) {
  showError("");
  document.body.classList.add("loading");
  const filter = filterOnly(state);
  byId("report-csv").href = `/api/report.csv${query({ ...filter, period: state.period })}`;
  byId("report-wide-csv").href = `/api/report-wide.csv${query({ ...filter, period: state.period })}`;
  byId("log-csv").href = `/api/csat.csv${query(filter)}`;
  try {
    const data = await getJSON("/api/report", { ...filter, period: state.period });
    report = data.report;
    const { agents, languages, nps_enabled: npsEnabled } = data.options;
    fillOptions(byId("f-agent"), agents.map((a) => [String(a.id), a.name]), state.agent);
    fillOptions(byId("f-language"), languages.map((l) => [l, l]), state.language);
    byId("headline").replaceChildren(...headline(report, npsEnabled));
    byId("trend-unit").textContent = t("chart.by", { period: t(`period.${report.period}`) });
    byId("trend-chart").replaceChildren(trendChart(report.by_period, report.period));
    byId("distribution-chart").replaceChildren(distributionChart(report.totals.distribution));
    byId("gaps").replaceChildren(gapsTable(report.unanswered));
    renderSplit();
    await log.load(filter);
    document.body.dataset.loaded = query(state);
  } catch (error) {
    showError(error.message);
  } finally {
    document.body.classList.remove("loading");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const state = fromForm();
  if (!state) return;
  history.replaceState(null, "", `/dashboard${query(state)}`);
  load(state);
});

byId("f-reset").addEventListener("click", () => {
  const state = defaults();
  toForm(state);
  history.replaceState(null, "", "/dashboard");
  load(state);
});

for (const tab of document.querySelectorAll(".split-tabs [role=tab]")) {
  tab.addEventListener("click", () => { split = tab.dataset.split; renderSplit(); });
}

const initial = fromUrl();
toForm(initial);
load(initial);
