// Privacy requests: find a shopper's data by e-mail, conversation id or customer id,
// download it as JSON, or erase it after a confirmation. Every call is a POST with
// the session's CSRF token; the e-mail or id goes in the body, never in a URL.

import { postJSON } from "./api.js";
import { byId } from "./dom.js";

const form = byId("privacy");
const result = byId("p-result");
const dialog = byId("erase-dialog");
const csrf = () => form.elements.csrf_token.value;

function request() {
  return { kind: form.elements.kind.value, value: form.elements.value.value.trim() };
}

function say(text, kind = "") {
  result.textContent = text;
  result.className = `privacy-result ${kind}`;
}

function plural(n, word) {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}

function described(found) {
  const parts = [plural(found.conversations, "conversation")];
  if (found.open_chats) parts[0] += ` (${found.open_chats} still open)`;
  parts.push(plural(found.messages, "message"), plural(found.tickets, "offline ticket"),
    plural(found.ratings, "rating"));
  if (found.anonymised) parts.push(`${found.anonymised} already without personal data`);
  return parts.join(", ");
}

function who({ kind, value }) {
  return `${{ email: "e-mail", conversation: "conversation", visitor: "customer id" }[kind]} ${value}`;
}

/** Validate the form, then run `fn` with the request; errors are shown, not thrown. */
async function withRequest(fn) {
  if (!form.reportValidity()) return;
  const req = request();
  try {
    await fn(req);
  } catch (error) {
    say(error.message, "error");
  }
}

async function lookup(req) {
  const data = await postJSON("/api/privacy/lookup", req, csrf());
  if (data.nothing) say(`Nothing found for ${who(data.request)}.`);
  else say(`Found for ${who(data.request)}: ${described(data.found)}.`);
  return data;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  withRequest(lookup);
});

byId("p-export").addEventListener("click", () => withRequest(async (req) => {
  const data = await postJSON("/api/privacy/export", req, csrf());
  const asked = { kind: data.request.by, value: data.request.value };
  if (!data.conversations.length && !data.tickets.length) {
    say(`Nothing found for ${who(asked)}.`);
    return;
  }
  const blob = new Blob([JSON.stringify(data, null, 1)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `supportbot-data-${req.kind}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  say(`Exported ${plural(data.conversations.length, "conversation")} of ${who(asked)}.`);
}));

let pending = null; // the request the dialog asks about

byId("p-erase").addEventListener("click", () => withRequest(async (req) => {
  const data = await lookup(req);
  if (data.nothing) return;
  pending = data.request;
  byId("erase-summary").textContent = `${who(data.request)}: ${described(data.found)}.`;
  dialog.showModal();
}));

byId("erase-cancel").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => { pending = null; });

byId("erase-confirm").addEventListener("click", async () => {
  const req = pending;
  if (!req) return;
  const confirm = byId("erase-confirm");
  confirm.disabled = true;
  try {
    const data = await postJSON("/api/privacy/forget", req, csrf());
    const r = data.removed;
    say(data.nothing ? `Nothing found for ${who(data.request)}.` :
      `Erased ${who(data.request)}: ${plural(r.conversations, "conversation")}` +
      (r.closed_chats.length ? ` (${r.closed_chats.length} open chat ended first)` : "") +
      `, ${plural(r.messages, "message")} and ${plural(r.tickets, "offline ticket")} deleted, ` +
      `${plural(r.comments, "rating comment")} cleared.`, "done");
    form.elements.value.value = "";
    byId("filters").requestSubmit(); // the figures stay; the questions and log are read again
  } catch (error) {
    say(error.message, "error");
  } finally {
    confirm.disabled = false;
    dialog.close();
  }
});
