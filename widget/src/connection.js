/**
 * The socket.io link to the support host's `/chat` namespace.
 *
 * Loads the vendored socket.io client on first use (an ES module: no global),
 * reconnects with exponential backoff, and reports one of three states:
 * "connecting" (first attempt, or the link is up and the conversation is being
 * started), "online" (started), "offline" (lost; retrying). After every
 * (re)connection it runs `onConnect()` (the session's `start`) before going online.
 */

const CLIENT_URL = new URL("../vendor/socket.io.esm.min.js", import.meta.url).href;

export const BACKOFF = Object.freeze({ first: 500, max: 10_000, jitter: 0.5 });

let client = null;

export function loadClient() {
  client = client || import(CLIENT_URL).catch((error) => {
    client = null; // try again next time
    throw error;
  });
  return client;
}

/** Fetch the client when the browser is idle, so that the first open does not wait for it. */
export function prefetchClient() {
  const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 200));
  idle(() => loadClient().catch(() => {}), { timeout: 2000 });
}

export function createConnection({ base, onConnect, onEvent, onState, load = loadClient }) {
  let socket = null;
  let opening = null;
  let state = "idle";
  let started = false;

  function setState(next) {
    if (next !== state) {
      state = next;
      onState(next);
    }
  }

  async function open() {
    const { io } = await load();
    const url = new URL(base);
    socket = io(url.origin + "/chat", {
      path: url.pathname + "socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      autoConnect: false,
      reconnectionDelay: BACKOFF.first,
      reconnectionDelayMax: BACKOFF.max,
      randomizationFactor: BACKOFF.jitter,
      timeout: 8000,
    });
    socket.on("connect", async () => {
      setState("connecting");
      try {
        if ((await onConnect()) === false) {
          // Nothing to resume and nothing asked for: stay idle until the shopper opens the chat.
          socket.disconnect();
          setState("idle");
          return;
        }
        started = true;
        setState("online");
      } catch (error) {
        // `start` was refused or timed out: drop the link and let backoff retry.
        console.warn("[supportbot] could not start the chat:", error.message || error);
        restart(false);
      }
    });
    socket.on("disconnect", (reason) => {
      started = false;
      if (reason !== "io client disconnect") setState("offline");
      // The server closed the connection on purpose: socket.io does not retry by itself.
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("connect_error", () => setState("offline"));
    socket.onAny((event, data) => onEvent(event, data));
    window.addEventListener("offline", () => {
      // The browser knows the network is gone: do not wait for a ping timeout.
      if (socket.connected) socket.io.engine.close();
      setState("offline");
    });
    window.addEventListener("online", () => {
      if (!socket.connected) restart(true);
    });
    socket.connect();
  }

  /** Drop the current link and connect again now (`immediately`) or after a backoff delay. */
  function restart(immediately) {
    if (!socket) return;
    started = false;
    if (immediately) {
      socket.disconnect();
      setState("connecting");
      socket.connect();
    } else if (socket.connected) {
      socket.io.engine.close(); // counts as a lost link: reconnection with backoff
    }
  }

  return {
    get state() {
      return state;
    },
    /** True once `onConnect` has finished on the current link. */
    get ready() {
      return started && !!socket && socket.connected;
    },
    connect() {
      if (!opening) {
        setState("connecting");
        opening = open().catch((error) => {
          opening = null;
          setState("offline");
          console.warn("[supportbot] could not load the chat client:", error.message || error);
        });
      } else if (socket && !socket.active) {
        setState("connecting");
        socket.connect();
      }
      return opening;
    },
    /** Reconnect now: a new link, and `onConnect` again (used to start a new chat). */
    reconnect() {
      if (socket) restart(true);
      else this.connect();
    },
    disconnect() {
      started = false;
      if (socket) socket.disconnect();
      setState("idle");
    },
    /** An event without an ack (typing): dropped while offline. */
    cast(event, payload) {
      if (socket && socket.connected) socket.volatile.emit(event, payload);
    },
    /** An event with an ack; never rejects: offline and timeouts come back as errors. */
    async call(event, payload, timeout = 10_000) {
      if (!socket || !socket.connected) return refusal("offline");
      try {
        return await socket.timeout(timeout).emitWithAck(event, payload);
      } catch {
        return refusal(socket.connected ? "timeout" : "offline");
      }
    },
  };
}

export function refusal(code) {
  return { ok: false, error: { code, message: code } };
}
