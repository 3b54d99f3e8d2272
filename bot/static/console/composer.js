// The reply box of one chat: reply or internal note, canned replies by "/shortcut"
// (with a suggestion list) or from a picker, typing signals, Enter to send.

import { el } from "./dom.js";
import { t } from "./texts.js";

const MAX_LENGTH = 2000;
const TYPING_REPEAT_MS = 4000;
const TYPING_IDLE_MS = 3000;

export function normalShortcut(shortcut) {
  return String(shortcut || "").replace(/^\/+/, "");
}

/** The "/word" being typed just before the caret, or null. */
export function slashToken(value, caret) {
  const match = /(^|\s)\/([\w-]*)$/.exec(value.slice(0, caret));
  if (!match) return null;
  return { query: match[2], start: caret - match[2].length - 1, end: caret };
}

export class Composer {
  /**
   * hooks: {send(text, note) -> bool, typing(on), canReply() -> bool, canNote() -> bool,
   *         why() -> string shown when nothing may be sent}
   */
  constructor(id, hooks) {
    this.id = id;
    this.hooks = hooks;
    this.canned = [];
    this.matches = [];
    this.selected = -1;
    this.typingSentAt = 0;
    this.idleTimer = null;

    const name = `mode-${id}`;
    this.replyRadio = el("input", { type: "radio", name, value: "reply", checked: true });
    this.noteRadio = el("input", { type: "radio", name, value: "note" });
    const suggestionsId = `suggest-${id}`;
    this.suggestions = el("ul", { class: "suggestions", role: "listbox", id: suggestionsId,
      "aria-label": t("composer.cannedList"), hidden: true });
    this.textarea = el("textarea", {
      rows: 3, class: "composer-text", "aria-label": t("composer.replyLabel"),
      "aria-autocomplete": "list", "aria-controls": suggestionsId, "aria-expanded": "false",
    });
    this.picker = el("select", { class: "canned-picker", "aria-label": t("composer.cannedPick") });
    this.insertButton = el("button", { type: "button", disabled: true }, t("composer.insert"));
    this.counter = el("span", { class: "composer-count", "aria-live": "polite" });
    this.hint = el("span", { class: "composer-hint" });
    this.button = el("button", { type: "submit", class: "primary" }, t("composer.send"));

    this.element = el("form", { class: "composer", "aria-label": t("composer.label") },
      el("fieldset", { class: "composer-mode" },
        el("legend", { class: "sr-only" }, t("composer.mode")),
        el("label", {}, this.replyRadio, t("composer.reply")),
        el("label", { class: "note-label" }, this.noteRadio, t("composer.note"))),
      el("div", { class: "composer-box" }, this.textarea, this.suggestions),
      el("div", { class: "composer-actions" }, this.picker, this.insertButton, this.hint, this.counter,
        this.button));

    this.element.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.chosen = null; // the mode the agent picked; automatic switches do not override it
    for (const radio of [this.replyRadio, this.noteRadio]) {
      radio.addEventListener("change", () => { this.chosen = radio.value; this.refresh(); });
    }
    this.textarea.addEventListener("keydown", (event) => this.onKey(event));
    this.textarea.addEventListener("input", () => this.onInput());
    this.textarea.addEventListener("blur", () => setTimeout(() => this.closeSuggestions(), 150));
    // Inserting takes a button press: arrow keys on a closed <select> fire `change`.
    this.picker.addEventListener("change", () => { this.insertButton.disabled = !this.picker.value; });
    this.insertButton.addEventListener("click", () => {
      const item = this.canned.find((c) => String(c.id) === this.picker.value);
      this.picker.value = "";
      this.insertButton.disabled = true;
      if (item) this.insert(item.text);
    });
    this.setCanned([]);
  }

  get note() {
    return this.noteRadio.checked;
  }

  setCanned(items) {
    this.canned = items;
    const chosen = this.picker.value;
    this.picker.replaceChildren(
      el("option", { value: "" }, t(items.length ? "composer.cannedChoose" : "composer.cannedNone")),
      ...items.map((item) => el("option", { value: String(item.id) },
        `/${normalShortcut(item.shortcut)} \u2013 ${item.text.slice(0, 60)}`)),
    );
    this.picker.value = items.some((item) => String(item.id) === chosen) ? chosen : "";
    this.insertButton.disabled = !this.picker.value || this.textarea.disabled;
    if (!this.suggestions.hidden) this.onInput();
  }

  /** Re-evaluate what may be sent (ownership or status changed). */
  refresh() {
    const reply = this.hooks.canReply();
    const note = this.hooks.canNote();
    this.replyRadio.disabled = !reply;
    this.noteRadio.disabled = !note;
    let mode = this.chosen || "reply";
    if (mode === "reply" && !reply && note) mode = "note";
    if (mode === "note" && !note && reply) mode = "reply";
    (mode === "note" ? this.noteRadio : this.replyRadio).checked = true;
    const allowed = this.note ? note : reply;
    this.textarea.disabled = !allowed;
    this.picker.disabled = !allowed;
    this.insertButton.disabled = !allowed || !this.picker.value;
    this.element.classList.toggle("is-note", this.note);
    this.textarea.setAttribute("aria-label", t(this.note ? "composer.noteLabel" : "composer.replyLabel"));
    this.textarea.placeholder = t(this.note ? "composer.placeholderNote" : "composer.placeholderReply");
    this.hint.textContent = allowed ? (this.note ? t("composer.notesHint") : "") : this.hooks.why();
    this.updateCount();
    if (!allowed) this.stopTyping();
  }

  updateCount() {
    const length = this.textarea.value.length;
    this.counter.textContent = length > MAX_LENGTH - 200 ? `${length}/${MAX_LENGTH}` : "";
    this.counter.classList.toggle("over", length > MAX_LENGTH);
    this.button.disabled = this.textarea.disabled || !this.textarea.value.trim() || length > MAX_LENGTH;
    this.button.textContent = t(this.note ? "composer.addNote" : "composer.send");
  }

  focus() {
    if (!this.textarea.disabled) this.textarea.focus();
  }

  submit() {
    const text = this.textarea.value;
    if (!text.trim() || text.length > MAX_LENGTH || this.textarea.disabled) return;
    const note = this.note;
    if (this.hooks.send(text, note) === false) return;
    this.textarea.value = "";
    this.closeSuggestions();
    this.stopTyping();
    this.updateCount();
  }

  insert(text) {
    const area = this.textarea;
    if (area.disabled) return;
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    area.setRangeText(text, start, end, "end");
    this.afterEdit();
  }

  afterEdit() {
    this.textarea.focus();
    this.closeSuggestions();
    this.updateCount();
    this.signalTyping();
  }

  // -- typing signals ------------------------------------------------------------

  signalTyping() {
    if (this.note || !this.hooks.canReply()) return;
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_REPEAT_MS) {
      this.typingSentAt = now;
      this.hooks.typing(true);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.idleTimer);
    if (this.typingSentAt) {
      this.typingSentAt = 0;
      if (this.hooks.canReply()) this.hooks.typing(false);
    }
  }

  // -- canned suggestions ------------------------------------------------------------

  onInput() {
    this.updateCount();
    if (this.textarea.value) this.signalTyping();
    else this.stopTyping();
    const token = slashToken(this.textarea.value, this.textarea.selectionStart);
    if (!token || !this.canned.length) {
      this.closeSuggestions();
      return;
    }
    const query = token.query.toLowerCase();
    this.token = token;
    this.matches = this.canned
      .filter((item) => normalShortcut(item.shortcut).toLowerCase().startsWith(query))
      .slice(0, 8);
    if (!this.matches.length) {
      this.closeSuggestions();
      return;
    }
    this.selected = 0;
    this.renderSuggestions();
  }

  renderSuggestions() {
    this.suggestions.replaceChildren(...this.matches.map((item, i) => el("li", {
      role: "option", id: `suggest-${this.id}-${i}`, class: i === this.selected ? "selected" : "",
      "aria-selected": i === this.selected ? "true" : "false",
      onmousedown: (event) => { event.preventDefault(); this.pick(i); },
    }, el("strong", {}, `/${normalShortcut(item.shortcut)}`), " ", el("span", {}, item.text))));
    this.suggestions.hidden = false;
    this.textarea.setAttribute("aria-expanded", "true");
    this.textarea.setAttribute("aria-activedescendant", `suggest-${this.id}-${this.selected}`);
  }

  closeSuggestions() {
    this.matches = [];
    this.selected = -1;
    this.suggestions.hidden = true;
    this.textarea.setAttribute("aria-expanded", "false");
    this.textarea.removeAttribute("aria-activedescendant");
  }

  pick(index) {
    const item = this.matches[index];
    const token = this.token;
    if (!item || !token) return;
    this.textarea.setRangeText(item.text, token.start, token.end, "end");
    this.afterEdit();
  }

  onKey(event) {
    if (event.isComposing || event.keyCode === 229) return; // an input method or emoji picker
    const open = !this.suggestions.hidden && this.matches.length;
    if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.selected = (this.selected + step + this.matches.length) % this.matches.length;
      this.renderSuggestions();
    } else if (open && (event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      event.preventDefault();
      this.pick(this.selected);
    } else if (open && event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.closeSuggestions();
    } else if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      this.submit();
    }
  }
}
