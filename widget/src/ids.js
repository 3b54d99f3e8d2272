/** Client message ids: random, made once per message and reused on every resend. */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** 22 characters of `A-Za-z0-9_-` (132 random bits), as the server's `message.id` expects. */
export function messageId() {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let id = "";
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}
