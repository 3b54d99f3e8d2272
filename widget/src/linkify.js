/**
 * Message text as DOM nodes: text nodes, plus anchors for http(s) URLs.
 * Nothing is ever parsed as HTML.
 */

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}»”’]+$/;

export function linkify(text, doc = document) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    const trailing = url.match(TRAILING);
    if (trailing) url = url.slice(0, -trailing[0].length);
    const href = safeHref(url);
    if (!href) continue;
    if (match.index > last) nodes.push(doc.createTextNode(text.slice(last, match.index)));
    const a = doc.createElement("a");
    a.href = href;
    a.textContent = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    nodes.push(a);
    last = match.index + url.length;
  }
  if (last < text.length) nodes.push(doc.createTextNode(text.slice(last)));
  return nodes;
}

export function safeHref(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}
