// The manager dashboard: filters (kept in the page's URL), headline numbers,
// charts, breakdowns, unanswered questions and the CSAT log with transcripts.

import { getJSON, query } from "./api.js";
import { distributionChart, trendChart } from "./charts.js";
import { byId, el } from "./dom.js";
import { addDays, todayUtc } from "./format.js";
import { CsatLog } from "./log.js";
import { gapsTable, headline, splitTable } from "./tables.js";
import { TranscriptDialog } from "./transcript.js";

const FILTERS = ["since", "until", "agent", "rating", "handled", "language"];
const DEFAULT_DAYS = 30;

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
  for (const key of [...FILTERS, "period"]) form.elements[key].value = state[key] || "";
}

function fromForm() {
  const state = {};
  for (const key of [...FILTERS, "period"]) state[key] = form.elements[key].value;
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
  byId("log-csv").href = `/api/csat.csv${query(filter)}`;
  try {
    const data = await getJSON("/api/report", { ...filter, period: state.period });
    report = data.report;
    const { agents, languages, nps_enabled: npsEnabled } = data.options;
    fillOptions(byId("f-agent"), agents.map((a) => [String(a.id), a.name]), state.agent);
    fillOptions(byId("f-language"), languages.map((l) => [l, l]), state.language);
    byId("headline").replaceChildren(...headline(report, npsEnabled));
    byId("trend-unit").textContent = `by ${report.period}`;
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
