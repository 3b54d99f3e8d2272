// Server events on /agent, applied to the console's state and views.

import { announce } from "./dom.js";
import { renderMine } from "./lists.js";
import { t } from "./texts.js";

const TYPING_SHOWN_MS = 8000; // a typing indicator without news expires

export function serverEvents(ctl) {
  const { store, notifier } = ctl;
  const typingTimers = new Map();
  const mineList = () => renderMine(store, ctl, ctl.ui.nodes.mine, ctl.ui.nodes.mineCount);

  return {
    queue(cards) {
      const fresh = store.setQueue(Array.isArray(cards) ? cards : []);
      for (const id of fresh) {
        notifier.alert(id, t("alert.waiting"), { sound: store.status === "online" });
        announce(t("say.waiting"));
      }
      // An open waiting chat that left the queue without becoming ours: see where it went.
      const waiting = new Set(store.queue.map((card) => card.id));
      for (const view of store.views.values()) {
        if (view.card && view.card.status === "queued" && !waiting.has(view.id) && !ctl.taking.has(view.id)) {
          ctl.loadView(view.id);
        }
      }
    },

    assigned({ conversation_id: id, by }) {
      store.addMine(id);
      if (ctl.taking.has(id)) return; // our own take: its ack opens the chat
      if (store.view(id)) ctl.loadView(id);
      else ctl.openChat(id, { activate: !store.active });
      const text = t(by === "transfer" ? "alert.transferred" : "alert.assigned");
      notifier.alert(id, text);
      announce(`${text}.`);
    },

    unassigned({ conversation_id: id, reason }) {
      store.dropMine(id);
      const view = store.view(id);
      if (view) {
        if (store.isManager) {
          ctl.loadView(id);
        } else {
          view.gone = t(reason === "transferred" ? "chat.transferredAway" : "chat.requeued");
          ctl.conn.call("close_view", { conversation_id: id }).catch(() => {});
          ctl.refreshView(id);
        }
      }
    },

    closed({ conversation_id: id }) {
      ctl.markClosed(id);
    },

    /** A chat we have open changed: its mood and reasons with each message, its status,
     * its rating when the shopper gives it. */
    card(patch) {
      if (!patch || !patch.id || !store.cards.has(patch.id)) return;
      const rated = patch.csat && (store.cards.get(patch.id).csat || {}).rating !== patch.csat.rating;
      store.patchCard(patch.id, patch);
      ctl.refreshView(patch.id);
      if (rated) announce(t("say.rating", { rating: patch.csat.rating }));
    },

    /** Managers: chats with an agent, as they change. */
    all_chats(change) {
      if (change && typeof change === "object") store.changeAllChats(change);
    },

    message(message) {
      const view = message && store.view(message.conversation_id);
      if (!view) return;
      const added = view.add([message]);
      if (!added.length) return;
      const panel = ctl.panel(view.id);
      panel.renderMessages(false, added);
      if (message.author !== "shopper") return;
      view.typing = null;
      panel.renderTyping();
      ctl.seen(view.id);
      if (store.active !== view.id || document.hidden) {
        view.unread += 1;
        ctl.tabs.renderTabs();
        mineList();
      }
      if (document.hidden && store.isMine(view.id)) {
        notifier.alert(`m:${view.id}`, t("alert.message"), { sound: false });
      }
    },

    typing(data) {
      const view = data && store.view(data.conversation_id);
      if (!view || data.author !== "shopper") return;
      clearTimeout(typingTimers.get(view.id));
      view.typing = data.typing ? { preview: data.preview || "" } : null;
      if (data.typing) {
        typingTimers.set(view.id, setTimeout(() => {
          view.typing = null;
          const panel = ctl.panel(view.id);
          if (panel) panel.renderTyping();
        }, TYPING_SHOWN_MS));
      }
      ctl.panel(view.id).renderTyping();
    },

    presence({ conversation_id: id, shopper_online: online }) {
      store.patchCard(id, { shopper_online: Boolean(online) });
      ctl.refreshView(id);
    },

    agents(list) {
      store.setAgents(Array.isArray(list) ? list : []);
      // another console tab of the same agent may have changed the status
      const me = store.me && store.agents.find((a) => a.id === store.me.id);
      if (me && me.status !== "offline" && me.status !== store.status) store.setStatus(me.status);
    },

    canned(items) {
      store.setCanned(Array.isArray(items) ? items : []);
    },

    ticket(item) {
      if (!item || typeof item.id !== "number") return;
      const fresh = !store.tickets.some((t) => t.id === item.id);
      store.upsertTicket(item);
      if (fresh && item.status === "open") announce(t("say.ticket"));
    },
  };
}
