// Open chats as tabs, or side by side: the tab strip and the panels area.

import { el } from "./dom.js";
import { visitorName } from "./format.js";
import { getPref, setPref } from "./prefs.js";
import { t } from "./texts.js";

export class Tabs {
  /** makePanel(view) -> ChatPanel; onSelect(id) is called when a tab is chosen. */
  constructor(store, { tablist, panels, empty }, makePanel, onSelect) {
    this.store = store;
    this.tablist = tablist;
    this.panelsNode = panels;
    this.empty = empty;
    this.makePanel = makePanel;
    this.onSelect = onSelect;
    this.panels = new Map();
    this.layout = getPref("layout", "tabs") === "split" ? "split" : "tabs";
    tablist.addEventListener("keydown", (event) => this.onKey(event));
    this.applyLayout();
  }

  panel(id) {
    return this.panels.get(id);
  }

  setLayout(layout) {
    this.layout = layout === "split" ? "split" : "tabs";
    setPref("layout", this.layout);
    this.applyLayout();
  }

  applyLayout() {
    this.panelsNode.classList.toggle("split", this.layout === "split");
    this.panelsNode.classList.toggle("tabbed", this.layout === "tabs");
    this.showActive();
  }

  /** Create and drop panels to match the store's open views. */
  sync() {
    for (const [id, panel] of this.panels) {
      if (!this.store.views.has(id)) {
        panel.element.remove();
        this.panels.delete(id);
      }
    }
    for (const [id, view] of this.store.views) {
      if (!this.panels.has(id)) {
        const panel = this.makePanel(view);
        this.panels.set(id, panel);
        this.panelsNode.append(panel.element);
      }
    }
    this.renderTabs();
    this.showActive();
  }

  renderTabs() {
    const active = this.store.active;
    const focusedId = this.tablist.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    this.tablist.replaceChildren(...[...this.store.views.values()].map((view) => {
      const card = view.card;
      const mine = this.store.isMine(view.id);
      const closed = !card || card.status === "closed" || view.gone;
      return el("button", {
        type: "button", role: "tab", id: `tab-${view.id}`, class: `tab${mine ? " mine" : ""}${closed ? " ended" : ""}`,
        "aria-selected": view.id === active ? "true" : "false", "aria-controls": `panel-${view.id}`,
        tabindex: view.id === active ? "0" : "-1", dataset: { id: view.id },
        onclick: () => this.onSelect(view.id),
      }, el("span", { class: "tab-name" }, card ? visitorName(card) : t("chat.loading")),
      closed ? el("span", { class: "tab-flag" }, t("tab.ended")) : null,
      view.unread ? el("span", { class: "unread", "aria-label": t("list.unread", { n: view.unread }) }, String(view.unread)) : null);
    }));
    if (focusedId) {
      const again = this.tablist.querySelector(`[data-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
    this.empty.hidden = this.store.views.size > 0;
  }

  showActive() {
    const active = this.store.active;
    for (const [id, panel] of this.panels) {
      panel.element.hidden = this.layout === "tabs" && id !== active;
      panel.element.classList.toggle("current", id === active);
    }
  }

  onKey(event) {
    const tabs = [...this.tablist.querySelectorAll('[role="tab"]')];
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
    else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    event.preventDefault();
    this.onSelect(next.dataset.id);
    const again = this.tablist.querySelector(`[data-id="${CSS.escape(next.dataset.id)}"]`);
    if (again) again.focus();
  }
}
