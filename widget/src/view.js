/**
 * The widget's DOM: launcher bubble with unread badge, and the panel (header with
 * the team's availability or the connection's trouble, hand-off banner, transcript,
 * forms, composer with a picture button). It knows nothing of the protocol; the
 * session drives it and gets the shopper's actions through `handlers`. Texts from
 * `t` are marked (`data-t`, `data-ta`) so that `relabel` can change their language.
 */

import { h, icon } from "./dom.js";
import { relabel } from "./i18n.js";
import { createTranscript } from "./transcript.js";

const ICONS = {
  chat: "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zm-3 11H7v-2h10v2zm0-4H7V7h10v2z",
  minimise: "M16.59 8.59 12 13.17 7.41 8.59 6 10l6 6 6-6z",
  send: "M2.01 21 23 12 2.01 3 2 10l15 2-15 2z",
  attach: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z",
};

/** The privacy notice (when the embedder gives `privacyUrl`): a short text and the link. */
export function privacyNotice(t, { privacyUrl, privacyText }) {
  if (!privacyUrl) return null;
  return h(
    "p",
    { class: "privacy" },
    privacyText ? privacyText + " " : h("span", { "data-t": "privacyNotice" }, t("privacyNotice")),
    privacyText ? "" : " ",
    h("a", { href: privacyUrl, target: "_blank", rel: "noopener noreferrer", "data-t": "privacyLink" }, t("privacyLink")),
  );
}

/** Enter sends, except while an input method (or the OS emoji picker) composes text. */
export function isSendKey(event) {
  return event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229;
}

export function createView({ t, settings, handlers, answered, resolve }) {
  const transcript = createTranscript({
    t,
    intro: settings.greeting,
    notice: privacyNotice(t, settings),
    answered,
    resolve,
    // The clicked button goes away with the chips: focus goes to the input.
    onPick: (entryId, label) => {
      handlers.pick(entryId, label);
      input.focus();
    },
    onHandoff: () => {
      handlers.handoff();
      input.focus();
    },
    onFeedback: handlers.feedback,
  });

  const badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
  const launcher = h(
    "button",
    { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "sb-panel", "aria-label": t("launcher"), "data-ta": "aria-label:launcher" },
    icon(ICONS.chat),
    badge,
  );
  const conn = h("div", { class: "conn", role: "status", "data-state": "idle" });
  const note = h("div", { class: "team", hidden: true });
  const title = h("h2", { class: "title", id: "sb-title", "data-t": settings.title ? null : "title" }, settings.title || t("title"));
  const closeButton = h("button", { class: "icon-button close", type: "button", "aria-label": t("close"), "data-ta": "aria-label:close" }, icon(ICONS.minimise));
  const banner = h("div", { class: "banner", role: "status", hidden: true });
  const typing = h("div", { class: "typing", hidden: true });
  const slot = h("div", { class: "slot" });
  const input = h("textarea", {
    class: "input",
    rows: "1",
    maxlength: "2000", // the server's limit replaces it (setLimits)
    placeholder: t("placeholder"),
    "aria-label": t("inputLabel"),
    "data-ta": "placeholder:placeholder aria-label:inputLabel",
    autocomplete: "off",
  });
  const picker = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", hidden: true, tabindex: "-1" });
  const attachButton = h("button", { class: "icon-button attach", type: "button", hidden: true, "aria-label": t("attach"), title: t("attach"), "data-ta": "aria-label:attach title:attach", onclick: () => picker.click() }, icon(ICONS.attach));
  const sendButton = h("button", { class: "send", type: "submit", "aria-label": t("send"), "data-ta": "aria-label:send" }, icon(ICONS.send));
  const composer = h("form", { class: "composer" }, attachButton, picker, input, sendButton);
  const handoffButton = h("button", { class: "link handoff", type: "button", "data-t": "handoff", onclick: () => handlers.handoff() }, t("handoff"));
  const endButton = h("button", { class: "link end", type: "button", "data-t": "endChat", onclick: () => handlers.end() }, t("endChat"));
  const actions = h("div", { class: "actions" }, handoffButton, endButton);
  const panel = h(
    "section",
    { class: "panel", id: "sb-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "sb-title", hidden: true },
    h("header", { class: "head" }, h("div", { class: "head-text" }, title, conn, note), closeButton),
    banner,
    transcript.el,
    typing,
    slot,
    composer,
    actions,
  );
  const root = h("div", { class: `root ${settings.position}`, lang: t.lang }, launcher, panel);

  let open = false;
  launcher.addEventListener("click", () => (open ? handlers.close() : handlers.open()));
  closeButton.addEventListener("click", () => handlers.close());
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      handlers.close();
    }
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (isSendKey(event)) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => handlers.typing(input.value.trim() !== ""));
  picker.addEventListener("change", () => {
    for (const file of picker.files) handlers.attach(file);
    picker.value = "";
  });
  input.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])].filter((file) => file.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    for (const file of files) handlers.attach(file);
  });

  function submit() {
    const text = input.value;
    if (!text.trim()) return;
    if (handlers.send(text) !== false) {
      input.value = "";
      handlers.typing(null);
    }
  }

  return {
    root,
    transcript,
    get open() {
      return open;
    },
    /** Show or hide the panel; focus goes to the input, or back to the launcher. */
    setOpen(next, { focus = true } = {}) {
      open = next;
      panel.hidden = !next;
      root.classList.toggle("open", next);
      launcher.setAttribute("aria-expanded", String(next));
      if (next) {
        transcript.scroll();
        if (focus) (composer.hidden ? panel.querySelector(".slot button, .slot input") || closeButton : input).focus();
      } else if (focus && this.hasFocus()) {
        launcher.focus();
      }
    },
    /** The header lines under the title: `{state, text, note}` from the status model. */
    setHeader({ state, text, note: extra = "" }) {
      conn.dataset.state = state;
      conn.textContent = text;
      note.hidden = !extra;
      note.textContent = extra;
    },
    /** The server's limits (the `start` ack): the longest message. */
    setLimits(limits) {
      if (limits.text > 0) input.maxLength = limits.text;
      attachButton.hidden = !(limits.upload_files > 0);
    },
    /** Another language: every marked text, then what the session re-applies. */
    relabel() {
      root.lang = t.lang;
      relabel(root, t);
    },
    /** The connection's own state, kept on the header for styles and scripts. */
    setConnection(state) {
      conn.dataset.connection = state;
    },
    setUnread(count) {
      badge.hidden = count === 0;
      badge.textContent = count > 99 ? "99+" : String(count);
      launcher.setAttribute("aria-label", count ? t("launcherUnread", { count }) : t("launcher"));
      launcher.dataset.ta = count ? "" : "aria-label:launcher";
    },
    /** The hand-off banner: `null` hides it. */
    setBanner(parts) {
      banner.hidden = !parts;
      banner.replaceChildren(...(parts || []).map((part, i) => (i === 0 ? h("strong", {}, part) : " " + part)));
    },
    setTyping(text) {
      typing.hidden = !text;
      typing.textContent = text || "";
    },
    /** The chat's phase: "chat" shows the composer; "ended" hides it. */
    setPhase(phase, { handoff = true } = {}) {
      const chatting = phase === "chat";
      const hidingFocus = !handoff && root.getRootNode().activeElement === handoffButton;
      composer.hidden = !chatting;
      actions.hidden = !chatting;
      handoffButton.hidden = !handoff;
      if (chatting && hidingFocus) input.focus();
      if (!chatting) this.setTyping(null);
    },
    /** Whether the keyboard focus is inside the widget (it is never taken from the host page). */
    hasFocus() {
      const shadow = root.getRootNode();
      return shadow !== root && !!shadow.activeElement;
    },
    /** Put a form (or nothing) above the composer; `focus` moves the focus into it. */
    showForm(el, { focus = false } = {}) {
      slot.replaceChildren(...(el ? [el] : []));
      transcript.scroll();
      if (el && focus && open) (el.querySelector("input, textarea, button") || el).focus();
    },
    focusInput() {
      input.focus();
    },
  };
}
