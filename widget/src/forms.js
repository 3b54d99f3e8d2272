/**
 * The panel's forms: leave a message (nobody online), the CSAT question when a chat
 * ends (then the Net Promoter question, when the server asks it), and the "start a
 * new chat" step. Each `onSubmit` returns the server's ack.
 */

import { h } from "./dom.js";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A text of `t` marked for `relabel` (see i18n.js). */
function say(t, key) {
  return h("span", { "data-t": key }, t(key));
}

/**
 * At most `max` UTF-16 units of `text`, never cutting an emoji (or any character
 * outside the BMP) in half: the server refuses text with a lone surrogate.
 */
export function clip(text, max) {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** The offline form; `text` is what the shopper already wrote (they can edit it). */
export function leaveMessageForm({ t, onSubmit, email = "", text: typed = "", maxLength = 2000 }) {
  const error = h("p", { class: "error", role: "alert" });
  const emailInput = h("input", { class: "field", type: "email", name: "email", autocomplete: "email", required: true, maxlength: "200", value: email });
  const text = h("textarea", { class: "field", name: "text", required: true, maxlength: String(maxLength), rows: "3" });
  text.value = clip(typed, maxLength);
  const submit = h("button", { class: "primary", type: "submit", "data-t": "leaveSend" }, t("leaveSend"));
  const form = h(
    "form",
    { class: "form leave", novalidate: true },
    h("p", { "data-t": "leaveIntro" }, t("leaveIntro")),
    h("label", {}, say(t, "email"), emailInput),
    h("label", {}, say(t, "message"), text),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!EMAIL.test(emailInput.value.trim())) {
      error.textContent = t("invalidEmail");
      emailInput.focus();
      return;
    }
    if (!text.value.trim()) {
      error.textContent = t("emptyText");
      text.focus();
      return;
    }
    submit.disabled = true;
    const ack = await onSubmit({ email: emailInput.value.trim(), text: text.value });
    submit.disabled = false;
    if (ack.ok) {
      form.replaceChildren(h("p", { role: "status", "data-t": "leaveSent" }, t("leaveSent")));
    } else {
      error.textContent = ack.error.code === "invalid_email" ? t("invalidEmail") : t("error");
    }
  });
  return form;
}

/**
 * Radio buttons styled as a row of boxes: `values` in order, each named `label(value)`;
 * with `captions`, that name is also written under the number.
 */
function scaleOf(name, values, label, { captions = true, className = "scale" } = {}) {
  const scale = h("div", { class: className });
  for (const value of values) {
    const text = label(value);
    scale.append(
      h(
        "label",
        {},
        h("input", { type: "radio", name, value: String(value), required: true, "aria-label": text }),
        h("span", {}, h("b", { "aria-hidden": "true" }, String(value)), captions ? text : ""),
      ),
    );
  }
  return scale;
}

/** A form around a scale: Submit is enabled once a value is picked; `payload(value)` is sent. */
function scaleForm({ t, className, scale, fields = [], extra = [], payload, onSubmit }) {
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { class: "primary", type: "submit", disabled: true, "data-t": "csatSubmit" }, t("csatSubmit"));
  const form = h("form", { class: "form " + className, novalidate: true }, ...fields, error, submit, ...extra);
  scale.addEventListener("change", () => {
    submit.disabled = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = scale.querySelector("input:checked");
    if (!checked) return;
    submit.disabled = true;
    const ack = await onSubmit(payload(Number(checked.value)));
    submit.disabled = false;
    if (!ack.ok) error.textContent = t("error");
  });
  return form;
}

/** The CSAT question; `labels` are the server's words for 1-5 (in the chat's language). */
export function csatForm({ t, onSubmit, commentMax = 1000, labels = {} }) {
  const scale = scaleOf("rating", [1, 2, 3, 4, 5], (rating) => labels[rating] || t("csat" + rating));
  const comment = h("textarea", { class: "field", name: "comment", maxlength: String(commentMax), rows: "2" });
  return scaleForm({
    t,
    className: "csat",
    scale,
    fields: [h("fieldset", {}, h("legend", { "data-t": "csatQuestion" }, t("csatQuestion")), scale), h("label", {}, say(t, "csatComment"), comment)],
    payload: (rating) => (comment.value.trim() ? { rating, comment: comment.value.trim() } : { rating }),
    onSubmit,
  });
}

/** The Net Promoter question (0-10), after the CSAT; it may be skipped. */
export function npsForm({ t, onSubmit, onSkip, ends = [] }) {
  const low = ends[0] || t("npsLow");
  const high = ends[1] || t("npsHigh");
  const name = (score) => (score === 0 ? `0 (${low})` : score === 10 ? `10 (${high})` : String(score));
  const scores = Array.from({ length: 11 }, (_, score) => score);
  const scale = scaleOf("score", scores, name, { captions: false, className: "scale nps" });
  const row = h("p", { class: "ends", "aria-hidden": "true" }, h("span", {}, low), h("span", {}, high));
  return scaleForm({
    t,
    className: "nps",
    scale,
    fields: [h("fieldset", {}, h("legend", { "data-t": "npsQuestion" }, t("npsQuestion")), scale, row)],
    extra: [h("button", { class: "link", type: "button", onclick: onSkip, "data-t": "npsSkip" }, t("npsSkip"))],
    payload: (score) => ({ score }),
    onSubmit,
  });
}

/**
 * The survey when a chat ends: the CSAT question, then the Net Promoter question when
 * the server asks it (`request.nps`). `show(form)` puts a form in the panel, `rated()`
 * follows a stored rating, `done()` the end of the survey.
 */
export function survey({ t, request, call, show, rated, done }) {
  const answered = (event, next) => async (payload) => {
    const ack = await call(event, payload);
    if (ack.ok) next();
    return ack;
  };
  const ends = Array.isArray(request.nps_labels) ? request.nps_labels : [];
  const askNps = () => show(npsForm({ t, onSubmit: answered("nps", done), onSkip: done, ends }));
  const commentMax = Number(request.comment_max) || 1000;
  const labels = request.scale && typeof request.scale === "object" ? request.scale : {};
  show(csatForm({ t, commentMax, labels, onSubmit: answered("csat", () => {
    rated();
    if (request.nps) askNps();
    else done();
  }) }));
}

export function endedBlock({ t, onNewChat, thanks = false }) {
  return h(
    "div",
    { class: "form ended" },
    h("p", { role: "status", "data-t": thanks ? "csatThanks" : "ended" }, thanks ? t("csatThanks") : t("ended")),
    h("button", { class: "primary", type: "button", onclick: onNewChat, "data-t": "newChat" }, t("newChat")),
  );
}
