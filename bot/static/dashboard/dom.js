// DOM helpers. Text from the server is only ever set as text (textContent or
// attribute values), never parsed as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(node, props, children) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** el("td", {class: "low"}, "text", childNode, ...): an HTML element. */
export function el(tag, props = {}, ...children) {
  return fill(document.createElement(tag), props, children);
}

/** svg("rect", {x: 1, y: 2, width: 3, height: 4}): an SVG element. */
export function svg(tag, props = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

export const byId = (id) => document.getElementById(id);
