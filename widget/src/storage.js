/**
 * Key-value storage for the widget: `localStorage` under a `supportbot:` prefix,
 * and plain memory when `localStorage` is missing or throws (blocked cookies,
 * sandboxed frames, full quota). Values are JSON.
 */

export const PREFIX = "supportbot:";

export function createStorage(prefix = PREFIX, backend = defaultBackend) {
  const memory = new Map();
  let store = probe(backend);

  function fallBack() {
    store = null;
  }

  return {
    get persistent() {
      return store !== null;
    },
    get(key, fallback = null) {
      const name = prefix + key;
      let raw = memory.has(name) ? memory.get(name) : null;
      if (store) {
        try {
          raw = store.getItem(name);
        } catch {
          fallBack();
        }
      }
      if (raw == null) return fallback;
      try {
        return JSON.parse(raw);
      } catch {
        return fallback;
      }
    },
    set(key, value) {
      const name = prefix + key;
      const raw = JSON.stringify(value);
      memory.set(name, raw);
      if (store) {
        try {
          store.setItem(name, raw);
        } catch {
          fallBack();
        }
      }
    },
    remove(key) {
      const name = prefix + key;
      memory.delete(name);
      if (store) {
        try {
          store.removeItem(name);
        } catch {
          fallBack();
        }
      }
    },
  };
}

function defaultBackend() {
  return window.localStorage;
}

/** The backend if it can really store and read back a value, else null. */
function probe(backend) {
  try {
    const store = backend();
    if (!store) return null;
    const key = PREFIX + "probe";
    store.setItem(key, "1");
    const ok = store.getItem(key) === "1";
    store.removeItem(key);
    return ok ? store : null;
  } catch {
    return null;
  }
}
