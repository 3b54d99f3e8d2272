// The console's and the dashboard's words in English, Italian and Polish.
//
// The page is served with <html lang> set to the agent's choice (or the browser's
// language); `translator(tables)` reads it. A text may be a plural: an object of
// Intl.PluralRules categories ({one, few, many, other}) chosen by `values.count`
// (else `values.n`), so that `n` may be the number as written ("1,000").
// Elements of the page's HTML carry `data-i18n="key"` (their text) or
// `data-i18n-attr="attribute:key ..."`; `translatePage` fills them in.

export const LOCALES = ["en", "it", "pl"];
export const LANGUAGE_NAMES = { en: "English", it: "Italiano", pl: "Polski" };

export function pageLocale() {
  const lang = (document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  return LOCALES.includes(lang) ? lang : "en";
}

/** The browser's own locale, for dates and numbers ("follow the browser"). */
export function browserLocale() {
  return (navigator.languages && navigator.languages[0]) || navigator.language || "en";
}

export function translator(tables, lang = pageLocale()) {
  const table = tables[lang] || tables.en;
  const rules = new Intl.PluralRules(lang);
  const t = (key, values = {}) => {
    let text = table[key] ?? tables.en[key] ?? key;
    if (typeof text === "object") text = text[rules.select(Number(values.count ?? values.n) || 0)] ?? text.other;
    return text.replace(/\{(\w+)\}/g, (slot, name) => (name in values ? String(values[name]) : slot));
  };
  t.lang = lang;
  return t;
}

export function translatePage(t, root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(" ")) {
      const [attr, key] = pair.split(":");
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  document.documentElement.classList.remove("i18n-pending");
}

/**
 * A <select> of the languages; choosing one saves it for the agent (POST
 * /api/preferences, with the session's CSRF token) and reloads the page in it.
 */
export function languagePicker(select, { csrf, label }) {
  select.replaceChildren(...LOCALES.map((code) => {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = LANGUAGE_NAMES[code];
    return option;
  }));
  select.value = pageLocale();
  select.setAttribute("aria-label", label);
  select.addEventListener("change", async () => {
    const response = await fetch("/api/preferences", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ locale: select.value }),
    });
    if (response.ok) location.reload();
  });
}
