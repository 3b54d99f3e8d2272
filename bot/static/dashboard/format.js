// How numbers, durations and times are shown: in the browser's locale (its digits,
// decimal mark and date order), with the page's words. Times are UTC, like the range.

import { browserLocale } from "/static/common/i18n.js";
import { t } from "./texts.js";

export const dash = "–";
const locale = browserLocale();

export function pct(fraction, digits = 1) {
  if (fraction === null || fraction === undefined) return dash;
  return new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: digits,
    maximumFractionDigits: digits }).format(fraction);
}

export function num(value, digits = 2) {
  if (value === null || value === undefined) return dash;
  return new Intl.NumberFormat(locale, Number.isInteger(value) ? {} : {
    minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** Always `digits` decimals: 25 -> "25.0". */
export function fixed(value, digits = 1) {
  if (value === null || value === undefined) return dash;
  return new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

export function count(value) {
  return value === null || value === undefined ? dash : value.toLocaleString(locale);
}

/** 45.25 -> "45 s", 600 -> "10 min", 5400 -> "1 h 30 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return dash;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "2026-03-03T13:21:00.000Z" -> "3 Mar 2026, 13:21 UTC" (in the browser's way). */
export function when(iso) {
  if (!iso) return dash;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return dash;
  return `${date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" })} UTC`;
}

/** A UTC day ("2026-03-03") as the browser writes it, short ("3 Mar") or whole. */
export function day(iso, { short = false } = {}) {
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return iso;
  const options = short ? { day: "numeric", month: "short" } : { dateStyle: "medium" };
  return date.toLocaleDateString(locale, { ...options, timeZone: "UTC" });
}

/** A mood score with the server's word for it: "0.52 (content)". */
export function mood(value, label) {
  if (value === null || value === undefined) return dash;
  const word = label ? t(`mood.${label}`) : "";
  return word ? `${fixed(value, 2)} (${word})` : fixed(value, 2);
}

export function todayUtc() {
  return new Date().toISOString().slice(0, 10);
}

export function addDays(date, days) {
  const moment = new Date(`${date}T00:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() + days);
  return moment.toISOString().slice(0, 10);
}
