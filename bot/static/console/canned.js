// Managing canned replies: a dialog listing them, with a form to add one and a
// delete button on each. Changes reach every console through the `canned` event.

import { el, replaceKeepFocus } from "./dom.js";
import { normalShortcut } from "./composer.js";
import { t } from "./texts.js";

export class CannedDialog {
  /** actions: {addCanned(shortcut, text) -> Promise, deleteCanned(id) -> Promise} */
  constructor(dialog, actions) {
    this.dialog = dialog;
    this.actions = actions;
    this.list = dialog.querySelector(".canned-list");
    this.form = dialog.querySelector("form.canned-add");
    this.error = dialog.querySelector(".canned-error");
    this.form.addEventListener("submit", (event) => this.add(event));
    dialog.querySelector(".dialog-close").addEventListener("click", () => dialog.close());
  }

  open() {
    this.error.textContent = "";
    this.dialog.showModal();
    this.form.elements.shortcut.focus();
  }

  async add(event) {
    event.preventDefault();
    const shortcut = normalShortcut(this.form.elements.shortcut.value.trim());
    const text = this.form.elements.text.value;
    if (!shortcut || !text.trim()) {
      this.error.textContent = t("canned.needBoth");
      return;
    }
    try {
      await this.actions.addCanned(shortcut, text);
      this.form.reset();
      this.error.textContent = "";
      this.form.elements.shortcut.focus();
    } catch (error) {
      this.error.textContent = error.message;
    }
  }

  render(items) {
    if (!items.length) {
      replaceKeepFocus(this.list, [el("li", { class: "empty" }, t("canned.none"))]);
      return;
    }
    replaceKeepFocus(this.list, items.map((item) => el("li", { class: "canned-item" },
      el("strong", { class: "canned-shortcut" }, `/${normalShortcut(item.shortcut)}`),
      el("span", { class: "canned-text" }, item.text),
      el("button", {
        type: "button", class: "quiet", dataset: { focusKey: `c-${item.id}` },
        "aria-label": t("canned.deleteLabel", { shortcut: normalShortcut(item.shortcut) }),
        onclick: async () => {
          try {
            await this.actions.deleteCanned(item.id);
          } catch (error) {
            this.error.textContent = error.message;
          }
        },
      }, t("canned.delete")))));
  }
}
