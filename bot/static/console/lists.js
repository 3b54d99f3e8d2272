// The side lists: queue, my chats, all active chats (managers), agents, offline tickets.

import { el, replaceKeepFocus } from "./dom.js";
import { dateTime, languageName, preview, visitorName } from "./format.js";
import { moodIndicator, presenceBadge, waitTimer } from "./cardinfo.js";

function count(node, n) {
  node.textContent = String(n);
}

function cardSummary(card, { showAgent = false, position = null } = {}) {
  const reasons = (card.reasons || []).join(", ");
  return [
    el("span", { class: "item-top" },
      position ? el("span", { class: "position", title: "Place in the queue" }, `#${position}`) : null,
      el("span", { class: "item-name" }, visitorName(card)), waitTimer(card)),
    el("span", { class: "item-meta" }, moodIndicator(card.mood, { compact: true }),
      el("span", { class: "lang" }, card.language ? card.language.toUpperCase() : "?"),
      showAgent && card.agent ? el("span", { class: "item-agent" }, card.agent.name || "") : null),
    reasons ? el("span", { class: "item-reasons" }, reasons) : null,
    el("span", { class: "item-preview" }, preview(card)),
  ];
}

export function renderQueue(store, actions, list, counter) {
  count(counter, store.queue.length);
  if (!store.queue.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, "Nobody is waiting.")]);
    return;
  }
  replaceKeepFocus(list, store.queue.map((card) => el("li", { class: "item", dataset: { id: card.id } },
    el("button", {
      type: "button", class: "item-open", dataset: { focusKey: `q-${card.id}` },
      "aria-label": `Open waiting chat with ${visitorName(card)}, ${languageName(card.language)}`,
      onclick: () => actions.openChat(card.id, { focus: true }),
    }, ...cardSummary(card, { position: card.position })),
    el("button", {
      type: "button", class: "item-take primary", dataset: { focusKey: `t-${card.id}` },
      "aria-label": `Take chat with ${visitorName(card)}`, onclick: () => actions.take(card.id),
    }, "Take"))));
}

export function renderMine(store, actions, list, counter) {
  count(counter, store.mine.length);
  if (!store.mine.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, "No chats assigned to you.")]);
    return;
  }
  replaceKeepFocus(list, store.mine.map((id) => {
    const card = store.cards.get(id) || { id };
    const view = store.view(id);
    const unread = view ? view.unread : 0;
    return el("li", { class: `item${store.active === id ? " current" : ""}`, dataset: { id } },
      el("button", {
        type: "button", class: "item-open", dataset: { focusKey: `m-${id}` },
        "aria-current": store.active === id ? "true" : null,
        onclick: () => actions.openChat(id, { focus: true }),
      }, ...cardSummary(card),
      el("span", { class: "item-bottom" }, presenceBadge(card.shopper_online),
        unread ? el("span", { class: "unread", "aria-label": `${unread} unread` }, String(unread)) : null)));
  }));
}

export function renderAll(store, actions, section, list, counter) {
  section.hidden = store.allChats === null;
  if (store.allChats === null) return;
  count(counter, store.allChats.length);
  if (!store.allChats.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, "No active chats.")]);
    return;
  }
  replaceKeepFocus(list, store.allChats.map((card) => el("li", { class: "item", dataset: { id: card.id } },
    el("button", {
      type: "button", class: "item-open", dataset: { focusKey: `a-${card.id}` },
      onclick: () => actions.openChat(card.id, { focus: true }),
    }, ...cardSummary(card, { showAgent: true })))));
}

export function renderAgents(store, list) {
  const order = { online: 0, away: 1, offline: 2 };
  const agents = [...store.agents].sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
  if (!agents.length) {
    list.replaceChildren(el("li", { class: "empty" }, "No agents connected."));
    return;
  }
  const me = store.me && store.me.id;
  list.replaceChildren(...agents.map((a) => el("li", { class: `agent agent-${a.status}` },
    el("span", { class: "agent-dot", "aria-hidden": "true" }),
    el("span", { class: "agent-name" }, a.name,
      store.me && a.id === store.me.id ? el("span", { class: "muted" }, " (you)") : null,
      a.role === "manager" ? el("span", { class: "muted" }, " \u00b7 manager") : null),
    el("span", { class: "agent-status" }, a.status),
    // Our own load is known exactly here; the server's list can lag behind it.
    el("span", { class: "agent-load", title: "open chats / capacity" },
      `${a.id === me ? store.mine.length : a.load}/${a.capacity}`))));
}

const drafts = new Map(); // ticket id -> the answer being typed (kept across re-renders)

function mailLine(t) {
  if (!t.mail) return t.email ? null : el("p", { class: "ticket-mail muted" }, "No e-mail: the answer shows in the chat when the shopper comes back.");
  const { status, attempts, error } = t.mail;
  if (status === "sent") return el("p", { class: "ticket-mail ok" }, "Answer e-mailed.");
  if (status === "pending" && !attempts) return el("p", { class: "ticket-mail" }, "Sending the e-mail\u2026");
  const text = status === "failed"
    ? `E-mail not sent after ${attempts} attempts: ${error || "error"}.`
    : `E-mail not sent yet (attempt ${attempts}: ${error || "error"}); retrying.`;
  return el("p", { class: "ticket-mail bad", role: "status" }, text);
}

function ticketItem(t, actions) {
  const who = t.email || "no e-mail";
  const draft = el("textarea", {
    class: "ticket-answer", rows: 2, maxlength: 2000, dataset: { focusKey: `r-${t.id}` },
    "aria-label": `Answer to ${who}`, placeholder: "Write the answer\u2026",
    oninput: (event) => drafts.set(t.id, event.target.value),
  });
  draft.value = drafts.get(t.id) || "";
  const send = async (event) => {
    event.preventDefault();
    const text = draft.value.trim();
    if (!text) return;
    drafts.delete(t.id); // the list is redrawn when the answer is acknowledged
    draft.value = "";
    if (!(await actions.ticketReply(t.id, text))) {
      drafts.set(t.id, text);
      draft.value = text;
    }
  };
  return el("li", { class: `ticket ticket-${t.status}`, dataset: { id: String(t.id) } },
    el("div", { class: "ticket-head" },
      el("span", { class: "ticket-email" }, who),
      el("span", { class: "ticket-state" }, t.status === "answered" ? "answered" : "open"),
      el("time", { datetime: t.created_at }, dateTime(t.created_at))),
    el("p", { class: "ticket-source muted" },
      t.source === "left_queue" ? "Left the queue before anyone was free." : "Left a message."),
    t.text ? el("p", { class: "ticket-text" }, t.text) : null,
    mailLine(t),
    el("form", { class: "ticket-reply", onsubmit: send }, draft,
      el("div", { class: "ticket-actions" },
        el("button", { type: "submit", class: "primary", dataset: { focusKey: `s-${t.id}` } }, "Send answer"),
        t.conversation_id ? el("button", {
          type: "button", dataset: { focusKey: `o-${t.id}` }, "aria-label": `Open the chat of ${who}`,
          onclick: () => actions.openChat(t.conversation_id, { focus: true }),
        }, "Open chat") : null,
        el("button", {
          type: "button", dataset: { focusKey: `k-${t.id}` },
          "aria-label": `Mark the ticket from ${who} as done`, onclick: () => actions.ticketDone(t.id),
        }, "Mark done"))));
}

export function renderTickets(store, actions, list, counter) {
  count(counter, store.ticketsTotal);
  if (!store.tickets.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, "No open tickets.")]);
    return;
  }
  const items = store.tickets.map((t) => ticketItem(t, actions));
  if (store.ticketsTotal > store.tickets.length) {
    items.push(el("li", { class: "more" }, el("button", {
      type: "button", dataset: { focusKey: "more-tickets" }, onclick: () => actions.moreTickets(),
    }, `Show more (${store.ticketsTotal - store.tickets.length})`)));
  }
  replaceKeepFocus(list, items);
}
