// Inline SVG charts built here: the CSAT trend and the rating distribution.

import { el, svg } from "./dom.js";
import { count, day, pct } from "./format.js";
import { many } from "./tables.js";
import { t } from "./texts.js";

const W = 640;
const H = 220;
const PAD = { top: 22, right: 12, bottom: 30, left: 44 };
const LABELLED = 16; // up to this many periods, every point and bar carries its value
const BAR_MAX = 56; // px: one day of data is a bar, not a sliver across the chart

function empty(text) {
  return el("p", { class: "chart-empty muted" }, text);
}

/**
 * CSAT score per period as a line (gaps where a period has no ratings), over bars
 * for the number of ratings (scaled to the busiest period). Readable at any range:
 * bars are never wider than BAR_MAX, few periods carry their values, one period is
 * one labelled bar and point, and the dates are the browser's.
 */
export function trendChart(segments, period) {
  if (!segments.some((s) => s.ratings > 0)) return empty(t("chart.none"));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = innerW / segments.length;
  const x = (i) => PAD.left + step * (i + 0.5);
  const y = (fraction) => PAD.top + innerH * (1 - fraction);
  const most = Math.max(...segments.map((s) => s.ratings));
  const few = segments.length <= LABELLED;
  const label = (s) => (period === "week" ? t("weekOf", { date: day(s.key || s.label, { short: true }) })
    : day(s.key || s.label, { short: true }));
  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "trend", role: "img",
    "aria-label": t("chart.trendLabel", { period: t(`period.${period}`) }),
  });
  for (const level of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(
      svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(level), y2: y(level), class: "grid" }),
      svg("text", { x: PAD.left - 6, y: y(level) + 4, class: "axis", "text-anchor": "end" }, pct(level, 0)),
    );
  }
  const barW = Math.min(BAR_MAX, Math.max(1, step * 0.6));
  segments.forEach((s, i) => {
    if (!s.ratings) return;
    const h = Math.max(2, (innerH * s.ratings) / most);
    chart.append(svg("rect", {
      x: x(i) - barW / 2, y: PAD.top + innerH - h, width: barW, height: h, class: "volume",
    }, svg("title", {}, t("chart.bar", { label: label(s), ratings: many("ratings", s.ratings) }))));
    if (few) {
      chart.append(svg("text", { x: x(i), y: PAD.top + innerH - 4, class: "count", "text-anchor": "middle" },
        count(s.ratings)));
    }
  });
  let path = "";
  let open = false;
  segments.forEach((s, i) => {
    if (s.csat_score === null) { open = false; return; }
    path += `${open ? "L" : "M"}${x(i).toFixed(1)},${y(s.csat_score).toFixed(1)}`;
    open = true;
  });
  chart.append(svg("path", { d: path, class: "line" }));
  segments.forEach((s, i) => {
    if (s.csat_score === null) return;
    chart.append(svg("circle", { cx: x(i), cy: y(s.csat_score), r: few ? 5 : 3.5, class: "point" },
      svg("title", {}, t("chart.point", { label: label(s), score: pct(s.csat_score), ratings: many("ratings", s.ratings) }))));
    if (few) {
      chart.append(svg("text", { x: x(i), y: y(s.csat_score) - 9, class: "value", "text-anchor": "middle" },
        pct(s.csat_score, 0)));
    }
  });
  // About eight dates: every n-th, and always the last one (not crowding the one before).
  const every = Math.max(1, Math.ceil(segments.length / 8));
  const last = segments.length - 1;
  segments.forEach((s, i) => {
    if (i !== last && (i % every !== 0 || last - i < every)) return;
    chart.append(svg("text", { x: x(i), y: H - 10, class: "axis", "text-anchor": "middle" }, label(s)));
  });
  return chart;
}

/** Horizontal bars for ratings 5 down to 1, with counts and shares. */
export function distributionChart(distribution) {
  const total = Object.values(distribution).reduce((a, b) => a + b, 0);
  if (!total) return empty(t("chart.none"));
  const rowH = 34;
  const labelW = 36;
  const valueW = 110;
  const width = 420;
  const barMax = width - labelW - valueW;
  const most = Math.max(...Object.values(distribution));
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${rowH * 5 + 4}`, class: "distribution", role: "img",
    "aria-label": t("chart.distributionLabel"),
  });
  [5, 4, 3, 2, 1].forEach((rating, row) => {
    const n = distribution[String(rating)] || 0;
    const top = row * rowH + 4;
    const w = most ? (barMax * n) / most : 0;
    const tone = rating <= 2 ? "low" : rating === 3 ? "mid" : "high";
    chart.append(
      svg("text", { x: 0, y: top + 19, class: "axis" }, `${rating} ★`),
      svg("rect", { x: labelW, y: top + 4, width: Math.max(w, n ? 2 : 0), height: rowH - 12,
        class: `bar ${tone}` }, svg("title", {}, t("chart.ofRating", { count: n, n: count(n), rating }))),
      svg("text", { x: labelW + w + 6, y: top + 19, class: "value" },
        `${count(n)} (${pct(n / total, 0)})`),
    );
  });
  return chart;
}
