// Date fields that follow the browser's locale (31/03/2026, 03/31/2026, 31.03.2026),
// whatever the browser's own date input would show. The field is a text input: it
// takes a date typed in the locale's order, or as YYYY-MM-DD; a calendar button
// opens the browser's date picker. `value` is always YYYY-MM-DD (or "").

import { el, svg } from "./dom.js";
import { t } from "./texts.js";

const SAMPLE = new Date(Date.UTC(2026, 11, 31)); // day 31, month 12: tells the parts apart

/** The locale's order of day, month and year, and how it writes them. */
export function datePattern(locale) {
  const format = new Intl.DateTimeFormat(locale, { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "UTC" });
  const parts = format.formatToParts(SAMPLE);
  return {
    format,
    order: parts.filter((p) => ["day", "month", "year"].includes(p.type)).map((p) => p.type),
    hint: parts.map((p) => ({ day: t("date.d"), month: t("date.m"), year: t("date.y") }[p.type] ?? p.value)).join(""),
  };
}

/** "2026-03-31" in the locale's way ("31/03/2026"); "" for "". */
export function showDate(iso, locale) {
  if (!iso) return "";
  const date = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? iso : datePattern(locale).format.format(date);
}

/** What the shopper typed, read in the locale's order (or as ISO): "YYYY-MM-DD", "" or null. */
export function readDate(text, locale) {
  const value = text.trim();
  if (!value) return "";
  const numbers = value.split(/\D+/).filter(Boolean);
  if (numbers.length !== 3) return null;
  let fields;
  if (numbers[0].length === 4) {
    fields = { year: numbers[0], month: numbers[1], day: numbers[2] };
  } else {
    const order = datePattern(locale).order;
    fields = Object.fromEntries(order.map((part, i) => [part, numbers[i]]));
  }
  const year = Number(fields.year.length === 2 ? `20${fields.year}` : fields.year);
  const month = Number(fields.month);
  const day = Number(fields.day);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return date.toISOString().slice(0, 10);
}

function calendarIcon() {
  return svg("svg", { viewBox: "0 0 24 24", width: 16, height: 16, "aria-hidden": "true", class: "calendar-icon" },
    svg("path", { d: "M7 2v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-2V2h-2v2H9V2H7zM5 9h14v11H5V9zm2 2v2h2v-2H7zm4 0v2h2v-2h-2zm4 0v2h2v-2h-2z" }));
}

export class DateField {
  constructor(input, locale) {
    this.input = input;
    this.locale = locale;
    const pattern = datePattern(locale);
    input.placeholder = pattern.hint;
    input.setAttribute("inputmode", "numeric");
    input.autocomplete = "off";
    this.native = el("input", { type: "date", class: "native-date", tabindex: "-1", "aria-hidden": "true" });
    this.native.addEventListener("change", () => {
      this.value = this.native.value;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    const button = el("button", { type: "button", class: "calendar", "aria-label": t("filters.calendar"),
      title: t("filters.calendar"), onclick: () => this.pick() }, calendarIcon());
    input.after(button, this.native);
    input.addEventListener("blur", () => {
      const iso = readDate(input.value, locale);
      if (iso !== null) input.value = showDate(iso, locale);
    });
  }

  /** "YYYY-MM-DD", "" when empty, or null when what was typed is not a date. */
  get value() {
    return readDate(this.input.value, this.locale);
  }

  set value(iso) {
    this.input.value = showDate(iso || "", this.locale);
  }

  pick() {
    this.native.value = this.value || "";
    try {
      this.native.showPicker();
    } catch {
      this.native.focus();
    }
  }
}
