// The console's socket.io connection to /agent: acks as promises, refusals as errors.

import { io } from "/widget/vendor/socket.io.esm.min.js";

export class ConsoleError extends Error {
  /** `details`: the refusal's other fields (e.g. `load` and `capacity` of over_capacity). */
  constructor(code, message, retryAfter, details = {}) {
    super(message || code);
    for (const [key, value] of Object.entries(details)) {
      if (!(key in this)) this[key] = value;
    }
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const LOGIN_URL = "/login?error=3&next=%2Fconsole";

export class Connection {
  /**
   * handlers: {event: fn(payload)} for server events, plus
   * onConnect(), onDisconnect(reason), onRefused(error).
   */
  constructor(handlers, { timeout = 10000 } = {}) {
    this.timeout = timeout;
    this.handlers = handlers;
    this.socket = io("/agent", {
      path: "/socket.io",
      withCredentials: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    for (const [event, handler] of Object.entries(handlers.events || {})) {
      this.socket.on(event, (payload) => handler(payload));
    }
    this.socket.on("connect", () => handlers.onConnect && handlers.onConnect());
    this.socket.on("disconnect", (reason) => {
      if (handlers.onDisconnect) handlers.onDisconnect(reason);
      // The server dropped us on purpose (logout elsewhere, expiry): reconnecting
      // shows whether the session is still valid; if not, connect_error follows.
      if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 500);
    });
    this.socket.on("connect_error", (error) => {
      const data = (error && error.data) || {};
      if (data.code === "unauthorized") {
        this.toLogin();
        return;
      }
      if (handlers.onRefused) handlers.onRefused(data.code ? data : { code: "network", message: String(error.message || error) });
      if (data.code) {
        // refused by the server (not a network error): socket.io does not retry those
        setTimeout(() => this.socket.connect(), 5000);
      }
    });
    this.socket.on("error", (payload) => {
      if (payload && payload.code === "unauthorized") this.toLogin();
    });
  }

  get connected() {
    return this.socket.connected;
  }

  toLogin() {
    window.location.assign(LOGIN_URL);
  }

  /** Send one event and resolve with the ack (minus "ok"), or reject with ConsoleError. */
  async call(event, payload = {}, timeout = this.timeout) {
    if (!this.socket.connected) throw new ConsoleError("offline", "Not connected; retrying.");
    let ack;
    try {
      ack = await this.socket.timeout(timeout).emitWithAck(event, payload);
    } catch {
      throw new ConsoleError("timeout", "The server did not answer in time.");
    }
    if (!ack || typeof ack !== "object") throw new ConsoleError("internal_error", "Bad answer.");
    if (!ack.ok) {
      const error = ack.error || {};
      if (error.code === "unauthorized") this.toLogin();
      throw new ConsoleError(error.code || "error", error.message, error.retry_after, error);
    }
    return ack;
  }

  /** Fire-and-forget (typing): no ack requested is fine, a refusal arrives as `error`. */
  cast(event, payload = {}) {
    if (this.socket.connected) this.socket.volatile.emit(event, payload);
  }
}
