// The side lists: queue, my chats, all active chats (managers), agents, offline tickets.

import { el, replaceKeepFocus } from "./dom.js";
import { dateTime, languageName, preview, visitorName } from "./format.js";
import { moodIndicator, presenceBadge, waitTimer } from "./cardinfo.js";
import { t } from "./texts.js";

function count(node, n) {
  node.textContent = String(n);
}

function cardSummary(card, { showAgent = false, position = null } = {}) {
  const reasons = (card.reasons || []).join(", ");
  const page = card.page && (card.page.title || card.page.url);
  return [
    el("span", { class: "item-top" },
      position ? el("span", { class: "position", title: t("list.position") }, `#${position}`) : null,
      el("span", { class: "item-name" }, visitorName(card)), waitTimer(card)),
    el("span", { class: "item-meta" }, moodIndicator(card.mood, { compact: true, label: card.mood_label }),
      el("span", { class: "lang", title: languageName(card.language) }, card.language ? card.language.toUpperCase() : "?"),
      showAgent && card.agent ? el("span", { class: "item-agent" }, card.agent.name || "") : null),
    page ? el("span", { class: "item-page", title: card.page.url || "" }, page) : null,
    reasons ? el("span", { class: "item-reasons" }, reasons) : null,
    el("span", { class: "item-preview" }, preview(card)),
  ];
}

export function renderQueue(store, actions, list, counter) {
  count(counter, store.queue.length);
  if (!store.queue.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, t("list.nobodyWaiting"))]);
    return;
  }
  const anyway = (card) => Boolean(actions.overrides && actions.overrides.has(`take:${card.id}`));
  replaceKeepFocus(list, store.queue.map((card) => el("li", { class: "item", dataset: { id: card.id } },
    el("button", {
      type: "button", class: "item-open", dataset: { focusKey: `q-${card.id}` },
      "aria-label": t("list.openWaiting", { name: visitorName(card), language: languageName(card.language) }),
      onclick: () => actions.openChat(card.id, { focus: true }),
    }, ...cardSummary(card, { position: card.position })),
    el("button", {
      type: "button", class: "item-take primary", dataset: { focusKey: `t-${card.id}` },
      "aria-label": t(anyway(card) ? "list.takeWithAnyway" : "list.takeWith", { name: visitorName(card) }),
      onclick: () => actions.take(card.id),
    }, t(anyway(card) ? "list.takeAnyway" : "list.take")))));
}

export function renderMine(store, actions, list, counter) {
  count(counter, store.mine.length);
  if (!store.mine.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, t("list.noneMine"))]);
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
        unread ? el("span", { class: "unread", "aria-label": t("list.unread", { n: unread }) }, String(unread)) : null)));
  }));
}

export function renderAll(store, actions, section, list, counter) {
  section.hidden = store.allChats === null;
  if (store.allChats === null) return;
  count(counter, store.allChats.length);
  if (!store.allChats.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, t("list.noneActive"))]);
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
    list.replaceChildren(el("li", { class: "empty" }, t("agents.none")));
    return;
  }
  const me = store.me && store.me.id;
  list.replaceChildren(...agents.map((a) => el("li", { class: `agent agent-${a.status}` },
    el("span", { class: "agent-dot", "aria-hidden": "true" }),
    el("span", { class: "agent-name" }, a.name,
      store.me && a.id === store.me.id ? el("span", { class: "muted" }, t("agents.you")) : null,
      a.role === "manager" ? el("span", { class: "muted" }, t("agents.manager")) : null),
    el("span", { class: "agent-status" }, t(`agents.${a.status}`)),
    // Our own load is known exactly here; the server's list can lag behind it.
    el("span", { class: "agent-load", title: t("agents.load") },
      `${a.id === me ? store.mine.length : a.load}/${a.capacity}`))));
}

const drafts = new Map(); // ticket id -> the answer being typed (kept across re-renders)

function mailLine(ticket) {
  if (!ticket.mail) return ticket.email ? null : el("p", { class: "ticket-mail muted" }, t("ticket.noEmailLine"));
  const { status, attempts, error } = ticket.mail;
  if (status === "sent") return el("p", { class: "ticket-mail ok" }, t("ticket.mailed"));
  if (status === "pending" && !attempts) return el("p", { class: "ticket-mail" }, t("ticket.mailing"));
  const values = { n: attempts, error: error || t("ticket.error") };
  const text = status === "failed" ? t("ticket.mailFailed", values) : t("ticket.mailRetry", values);
  return el("p", { class: "ticket-mail bad", role: "status" }, text);
}

function ticketItem(ticket, actions) {
  const who = ticket.email || t("ticket.noEmail");
  const draft = el("textarea", {
    class: "ticket-answer", rows: 2, maxlength: 2000, dataset: { focusKey: `r-${ticket.id}` },
    "aria-label": t("ticket.answerTo", { who }), placeholder: t("ticket.write"),
    oninput: (event) => drafts.set(ticket.id, event.target.value),
  });
  draft.value = drafts.get(ticket.id) || "";
  const send = async (event) => {
    event.preventDefault();
    const text = draft.value.trim();
    if (!text) return;
    drafts.delete(ticket.id); // the list is redrawn when the answer is acknowledged
    draft.value = "";
    if (!(await actions.ticketReply(ticket.id, text))) {
      drafts.set(ticket.id, text);
      draft.value = text;
    }
  };
  return el("li", { class: `ticket ticket-${ticket.status}`, dataset: { id: String(ticket.id) } },
    el("div", { class: "ticket-head" },
      el("span", { class: "ticket-email" }, who),
      el("span", { class: "ticket-state" }, t(ticket.status === "answered" ? "ticket.answered" : "ticket.open")),
      el("time", { datetime: ticket.created_at }, dateTime(ticket.created_at))),
    el("p", { class: "ticket-source muted" },
      t(ticket.source === "left_queue" ? "ticket.leftQueue" : "ticket.leftMessage")),
    ticket.text ? el("p", { class: "ticket-text" }, ticket.text) : null,
    mailLine(ticket),
    el("form", { class: "ticket-reply", onsubmit: send }, draft,
      el("div", { class: "ticket-actions" },
        el("button", { type: "submit", class: "primary", dataset: { focusKey: `s-${ticket.id}` } }, t("ticket.send")),
        ticket.conversation_id ? el("button", {
          type: "button", dataset: { focusKey: `o-${ticket.id}` }, "aria-label": t("ticket.openChatOf", { who }),
          onclick: () => actions.openChat(ticket.conversation_id, { focus: true }),
        }, t("ticket.openChat")) : null,
        el("button", {
          type: "button", dataset: { focusKey: `k-${ticket.id}` },
          "aria-label": t("ticket.doneFor", { who }), onclick: () => actions.ticketDone(ticket.id),
        }, t("ticket.done")))));
}

export function renderTickets(store, actions, list, counter) {
  count(counter, store.ticketsTotal);
  if (!store.tickets.length) {
    replaceKeepFocus(list, [el("li", { class: "empty" }, t("ticket.none"))]);
    return;
  }
  const items = store.tickets.map((ticket) => ticketItem(ticket, actions));
  if (store.ticketsTotal > store.tickets.length) {
    items.push(el("li", { class: "more" }, el("button", {
      type: "button", dataset: { focusKey: "more-tickets" }, onclick: () => actions.moreTickets(),
    }, t("ticket.more", { n: store.ticketsTotal - store.tickets.length }))));
  }
  replaceKeepFocus(list, items);
}
