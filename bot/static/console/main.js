// The agent console's entry point: finds the page's parts, creates the state, the
// views and the connection, and wires them together. State comes from the `sync`
// ack (again after every reconnect) and from server events (events.js).

import { Connection } from "./conn.js";
import { Store } from "./store.js";
import { Notifier } from "./notify.js";
import { Tabs } from "./tabs.js";
import { ChatPanel } from "./chatview.js";
import { CannedDialog } from "./canned.js";
import { Controller } from "./controller.js";
import { serverEvents } from "./events.js";
import { renderAgents, renderAll, renderMine, renderQueue, renderTickets } from "./lists.js";
import { tickTimers } from "./cardinfo.js";
import { t } from "./texts.js";
import { languagePicker, translatePage } from "/static/common/i18n.js";

translatePage(t);

const byId = (id) => document.getElementById(id);
const nodes = {
  connState: byId("conn-state"), statusButton: byId("status-toggle"), soundButton: byId("sound-toggle"),
  layoutButton: byId("layout-toggle"), cannedButton: byId("canned-open"), toast: byId("toast"),
  queue: byId("queue-list"), queueCount: byId("queue-count"),
  mine: byId("mine-list"), mineCount: byId("mine-count"),
  allSection: byId("all-section"), all: byId("all-list"), allCount: byId("all-count"),
  agents: byId("agents-list"), tickets: byId("tickets-list"), ticketsCount: byId("tickets-count"),
  logoutCsrf: byId("logout-csrf"),
};
languagePicker(byId("locale"), { csrf: () => nodes.logoutCsrf.value, label: t("language") });

let toastTimer = null;
function toast(text) {
  nodes.toast.textContent = text;
  nodes.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { nodes.toast.hidden = true; }, 6000);
}

const store = new Store();
const notifier = new Notifier(document.title);
const ctl = new Controller(store, notifier, { toast, nodes });

ctl.tabs = new Tabs(store, { tablist: byId("tabs"), panels: byId("panels"), empty: byId("empty") },
  (view) => {
    const panel = new ChatPanel(view, store, ctl);
    panel.composer.setCanned(store.canned);
    return panel;
  },
  (id) => { ctl.select(id); notifier.clear(); });
const tabs = ctl.tabs;
const canned = new CannedDialog(byId("canned-dialog"), ctl);

// -- state -> views ---------------------------------------------------------------------

const panels = () => tabs.panels.values();
store.on("status", (status) => {
  const online = status === "online";
  nodes.statusButton.querySelector(".status-word").textContent = t(online ? "status.online" : "status.away");
  nodes.statusButton.className = `status-toggle ${online ? "online" : "away"}`;
  nodes.statusButton.title = t(online ? "status.onlineHint" : "status.awayHint");
});
store.on("queue", () => renderQueue(store, ctl, nodes.queue, nodes.queueCount));
store.on("mine", () => {
  renderMine(store, ctl, nodes.mine, nodes.mineCount);
  renderAgents(store, nodes.agents);
  for (const panel of panels()) panel.renderCard();
  tabs.renderTabs();
});
store.on("all", () => renderAll(store, ctl, nodes.allSection, nodes.all, nodes.allCount));
store.on("agents", () => {
  renderAgents(store, nodes.agents);
  for (const panel of panels()) panel.renderAgents();
});
store.on("canned", (items) => {
  canned.render(items);
  for (const panel of panels()) panel.composer.setCanned(items);
});
store.on("tickets", () => renderTickets(store, ctl, nodes.tickets, nodes.ticketsCount));
store.on("views", () => tabs.sync());
// a card changed (from an `open`, the queue, a presence change): its panel, tab, list entry
store.on("card", (id) => {
  const panel = tabs.panel(id);
  if (panel) panel.renderCard();
  if (store.views.has(id)) tabs.renderTabs();
  if (store.isMine(id)) renderMine(store, ctl, nodes.mine, nodes.mineCount);
});
store.on("view", (id) => {
  const panel = tabs.panel(id);
  if (panel) panel.renderCard();
  tabs.renderTabs();
});
store.on("active", (id) => {
  tabs.renderTabs();
  tabs.showActive();
  renderMine(store, ctl, nodes.mine, nodes.mineCount);
  const panel = id && tabs.panel(id);
  if (panel) panel.scrollDown();
  if (id) ctl.seen(id);
});
// What the agent sees is what counts as seen: back to the page, the open chat is.
document.addEventListener("visibilitychange", () => { if (store.active) ctl.seen(store.active); });

// -- header buttons and keys ---------------------------------------------------------------

nodes.statusButton.addEventListener("click", () => ctl.setStatus(store.status === "online" ? "away" : "online"));

function renderToggles() {
  nodes.soundButton.setAttribute("aria-pressed", String(notifier.soundOn));
  nodes.layoutButton.setAttribute("aria-pressed", String(tabs.layout === "split"));
}
nodes.soundButton.addEventListener("click", () => { notifier.setSound(!notifier.soundOn); renderToggles(); });
nodes.layoutButton.addEventListener("click", () => {
  tabs.setLayout(tabs.layout === "split" ? "tabs" : "split");
  renderToggles();
});
nodes.cannedButton.addEventListener("click", () => canned.open());

// Alt+1..9 selects the n-th open chat; Alt+Q goes to the queue.
document.addEventListener("keydown", (event) => {
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  // event.code: the physical key, whatever Alt makes of it on the keyboard layout
  if (/^Digit[1-9]$/.test(event.code)) {
    const id = [...store.views.keys()][Number(event.code.slice(5)) - 1];
    if (id) {
      event.preventDefault();
      ctl.select(id, { focus: true });
      notifier.clear();
    }
  } else if (event.code === "KeyQ") {
    event.preventDefault();
    (nodes.queue.querySelector("button") || byId("queue-heading")).focus();
  }
});

// -- start ------------------------------------------------------------------------------------

renderToggles();
canned.render([]);
renderQueue(store, ctl, nodes.queue, nodes.queueCount);
renderMine(store, ctl, nodes.mine, nodes.mineCount);
renderTickets(store, ctl, nodes.tickets, nodes.ticketsCount);
renderAgents(store, nodes.agents);
tabs.sync();
setInterval(() => tickTimers(), 1000);

ctl.conn = new Connection({
  events: serverEvents(ctl),
  onConnect: () => ctl.connected(),
  onDisconnect: () => ctl.disconnected(),
  onRefused: (error) => ctl.refused(error),
});
