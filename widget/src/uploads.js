/**
 * Pictures the shopper sends (README, "Image attachments"): checked against the
 * server's limits first, shown at once as "uploading", sent over HTTP with the
 * conversation's resume token, then shown as the message the server stored. A
 * refused picture stays in the transcript with the reason; nothing is sent twice
 * (the same client id is a duplicate for the server).
 */

import { messageId } from "./ids.js";

const REASONS = { file_too_large: "uploadTooBig", unsupported_type: "uploadType", too_many_files: "uploadTooMany" };

/** `send(form)` posts the form and resolves to the server's answer (an ack). */
export function postUpload(base) {
  return async (form) => {
    try {
      const response = await fetch(new URL("api/uploads", base).href, { method: "POST", body: form, credentials: "omit" });
      return await response.json();
    } catch {
      return { ok: false, error: { code: "offline" } };
    }
  };
}

/**
 * Send `file` in the conversation of `token`. `transcript` shows it while it goes;
 * `sent(message)` gets the stored message. Resolves to the server's answer.
 */
export async function upload({ file, token, limits, t, transcript, send, sent }) {
  const item = { id: messageId(), text: file.name || "image" };
  transcript.pending(item, t("uploading"));
  const refuse = (code) => {
    const mb = Math.round((limits.upload_bytes / 1048576) * 10) / 10;
    transcript.fail(item.id, REASONS[code] ? t(REASONS[code], { size: mb }) : t("failed"));
    return { ok: false, error: { code } };
  };
  // A first check, to spare the shopper a long wait; the server judges by content.
  if (file.type && Array.isArray(limits.upload_types) && !limits.upload_types.includes(file.type)) return refuse("unsupported_type");
  if (limits.upload_bytes && file.size > limits.upload_bytes) return refuse("file_too_large");
  const form = new FormData();
  form.append("token", token);
  form.append("id", item.id);
  form.append("file", file, file.name || "image");
  const ack = await send(form);
  if (!ack || !ack.ok) return refuse(ack?.error?.code || "offline");
  sent(ack.message);
  return ack;
}
