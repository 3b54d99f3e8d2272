/**
 * The embedder's settings: `data-*` attributes of the widget's <script> tag and an
 * optional `window.SupportWidgetSettings` object set before it (which wins).
 * Invalid values are ignored with a warning; the result is always complete.
 */

export const DEFAULTS = Object.freeze({
  site: "",
  title: "",
  greeting: "",
  accent: "",
  position: "right",
  lang: "auto",
  open: false,
  privacyUrl: "",
  privacyText: "",
});

const LANGS = ["auto", "en", "it", "pl"];
const LIMITS = { site: 100, title: 60, greeting: 500, privacyText: 200 };

export function readSettings(dataset = {}, overrides = null) {
  const warnings = [];
  const raw = { ...pick(dataset), ...(isObject(overrides) ? pick(overrides) : {}) };
  if (overrides != null && !isObject(overrides)) warnings.push("SupportWidgetSettings must be an object");
  const settings = { ...DEFAULTS };

  for (const key of ["site", "title", "greeting", "privacyText"]) {
    if (raw[key] == null) continue;
    if (typeof raw[key] !== "string") warnings.push(`${key} must be a string`);
    else settings[key] = raw[key].trim().slice(0, LIMITS[key]);
  }
  if (raw.accent != null) {
    if (isColor(raw.accent)) settings.accent = raw.accent.trim();
    else warnings.push(`accent is not a CSS colour: ${String(raw.accent).slice(0, 40)}`);
  }
  if (raw.position != null) {
    const position = String(raw.position).trim().toLowerCase();
    if (position === "left" || position === "right") settings.position = position;
    else warnings.push("position must be left or right");
  }
  if (raw.lang != null) {
    const lang = String(raw.lang).trim().toLowerCase();
    if (LANGS.includes(lang)) settings.lang = lang;
    else warnings.push("lang must be auto, en, it or pl");
  }
  if (raw.privacyUrl != null) {
    const url = webUrl(raw.privacyUrl);
    if (url) settings.privacyUrl = url;
    else warnings.push("privacyUrl must be an http(s) address");
  }
  if (raw.open != null) {
    const open = parseBoolean(raw.open);
    if (open === null) warnings.push("open must be true or false");
    else settings.open = open;
  }
  return { settings: Object.freeze(settings), warnings };
}

function pick(source) {
  const out = {};
  for (const key of Object.keys(DEFAULTS)) {
    if (source[key] !== undefined) out[key] = source[key];
  }
  return out;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseBoolean(value) {
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["", "true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  return null;
}

/** An http(s) address (relative ones are resolved against the page), else "". */
export function webUrl(value) {
  if (typeof value !== "string" || !value.trim() || value.length > 500) return "";
  try {
    const url = new URL(value.trim(), document.baseURI);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
  } catch {
    return "";
  }
}

export function isColor(value) {
  if (typeof value !== "string" || value.length > 60 || /[;{}<>]/.test(value)) return false;
  return typeof CSS !== "undefined" && CSS.supports("color", value.trim());
}
