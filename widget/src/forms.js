/**
 * The panel's forms: leave a message (nobody online), the CSAT question when a chat
 * ends, and the "start a new chat" step. Each `onSubmit` returns the server's ack.
 */

import { h } from "./dom.js";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function leaveMessageForm({ t, onSubmit, email = "" }) {
  const error = h("p", { class: "error", role: "alert" });
  const emailInput = h("input", { class: "field", type: "email", name: "email", autocomplete: "email", required: true, maxlength: "200", value: email });
  const text = h("textarea", { class: "field", name: "text", required: true, maxlength: "2000", rows: "3" });
  const submit = h("button", { class: "primary", type: "submit" }, t("leaveSend"));
  const form = h(
    "form",
    { class: "form leave", novalidate: true },
    h("p", {}, t("leaveIntro")),
    h("label", {}, t("email"), emailInput),
    h("label", {}, t("message"), text),
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
      form.replaceChildren(h("p", { role: "status" }, t("leaveSent")));
    } else {
      error.textContent = ack.error.code === "invalid_email" ? t("invalidEmail") : t("error");
    }
  });
  return form;
}

export function csatForm({ t, onSubmit, commentMax = 1000 }) {
  const error = h("p", { class: "error", role: "alert" });
  const scale = h("div", { class: "scale" });
  for (let rating = 1; rating <= 5; rating += 1) {
    scale.append(
      h(
        "label",
        {},
        h("input", { type: "radio", name: "rating", value: String(rating), required: true, "aria-label": t("csat" + rating) }),
        h("span", {}, h("b", { "aria-hidden": "true" }, String(rating)), t("csat" + rating)),
      ),
    );
  }
  const comment = h("textarea", { class: "field", name: "comment", maxlength: String(commentMax), rows: "2" });
  const submit = h("button", { class: "primary", type: "submit", disabled: true }, t("csatSubmit"));
  const form = h(
    "form",
    { class: "form csat", novalidate: true },
    h("fieldset", {}, h("legend", {}, t("csatQuestion")), scale),
    h("label", {}, t("csatComment"), comment),
    error,
    submit,
  );
  scale.addEventListener("change", () => {
    submit.disabled = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = form.querySelector("input[name=rating]:checked");
    if (!checked) return;
    submit.disabled = true;
    const payload = { rating: Number(checked.value) };
    if (comment.value.trim()) payload.comment = comment.value.trim();
    const ack = await onSubmit(payload);
    submit.disabled = false;
    if (!ack.ok) error.textContent = t("error");
  });
  return form;
}

export function endedBlock({ t, onNewChat, thanks = false }) {
  return h(
    "div",
    { class: "form ended" },
    h("p", { role: "status" }, thanks ? t("csatThanks") : t("ended")),
    h("button", { class: "primary", type: "button", onclick: onNewChat }, t("newChat")),
  );
}
