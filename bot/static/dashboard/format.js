// How numbers, durations and times are shown. Times are UTC, like the date range.

export const dash = "–";

export function pct(fraction, digits = 1) {
  return fraction === null || fraction === undefined ? dash : `${(fraction * 100).toFixed(digits)}%`;
}

export function num(value, digits = 2) {
  if (value === null || value === undefined) return dash;
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function count(value) {
  return value === null || value === undefined ? dash : value.toLocaleString("en");
}

/** 45.25 -> "45 s", 600 -> "10 min", 5400 -> "1 h 30 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return dash;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "2026-03-03T13:21:00.000Z" -> "2026-03-03 13:21 UTC". */
export function when(iso) {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : dash;
}

export function mood(value) {
  if (value === null || value === undefined) return dash;
  const label = value <= -0.3 ? "unhappy" : value >= 0.3 ? "content" : "neutral";
  return `${value.toFixed(2)} (${label})`;
}

export function todayUtc() {
  return new Date().toISOString().slice(0, 10);
}

export function addDays(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
