// Console preferences in localStorage (prefixed keys), in memory when storage throws.

const PREFIX = "supportbot.console.";
const memory = new Map();

export function getPref(name, fallback) {
  try {
    const raw = window.localStorage.getItem(PREFIX + name);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return memory.has(name) ? memory.get(name) : fallback;
  }
}

export function setPref(name, value) {
  memory.set(name, value);
  try {
    window.localStorage.setItem(PREFIX + name, JSON.stringify(value));
  } catch {
    // private mode or storage disabled: memory only
  }
}
