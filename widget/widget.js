/*!
 * supportbot chat widget loader. Embed with:
 *   <script src="https://SUPPORT_HOST/widget.js" data-site="SITE_KEY" async></script>
 * Defines one global, window.SupportWidget, and loads the rest of the widget as
 * ES modules from the same host. The README lists the settings and the API.
 */
(function () {
  "use strict";
  if (window.SupportWidget) return;

  var EVENTS = ["ready", "opened", "closed", "message", "unread"];
  var script = document.currentScript || document.querySelector('script[src*="/widget.js"]');
  if (!script || !script.src) {
    console.warn("[supportbot] widget.js must be loaded with <script src>");
    return;
  }
  var base = new URL(".", script.src).href;
  var dataset = Object.assign({}, script.dataset);
  var listeners = {};
  var queue = [];
  var impl = null;
  var isReady = false;

  EVENTS.forEach(function (name) {
    listeners[name] = [];
  });

  function emit(name, value) {
    if (name === "ready") isReady = true;
    listeners[name].slice().forEach(function (fn) {
      try {
        fn(value);
      } catch (error) {
        setTimeout(function () {
          throw error;
        });
      }
    });
  }

  function call(method, args) {
    if (impl) impl[method].apply(null, args);
    else queue.push([method, args]);
  }

  function optionalText(user, key) {
    var value = user[key];
    if (value == null) return undefined;
    if (key === "id" && typeof value === "number" && isFinite(value)) value = String(value);
    if (typeof value !== "string") throw new TypeError("SupportWidget.setUser: " + key + " must be a string");
    value = value.trim();
    if (value.length > 200) throw new TypeError("SupportWidget.setUser: " + key + " is too long");
    if (key === "email" && value && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
      throw new TypeError("SupportWidget.setUser: email is not an e-mail address");
    }
    return value || undefined;
  }

  var api = {
    open: function () {
      call("open", []);
    },
    close: function () {
      call("close", []);
    },
    toggle: function () {
      call("toggle", []);
    },
    /** setUser({name, email, id}): who the shopper is, e.g. after they sign in. */
    setUser: function (user) {
      if (typeof user !== "object" || user === null || Array.isArray(user)) {
        throw new TypeError("SupportWidget.setUser expects an object {name, email, id}");
      }
      var clean = {};
      ["name", "email", "id"].forEach(function (key) {
        var value = optionalText(user, key);
        if (value !== undefined) clean[key] = value;
      });
      call("setUser", [clean]);
    },
    /** reset(): forget the conversation and the user (e.g. on logout). */
    reset: function () {
      call("reset", []);
    },
    /** on(event, fn): listen to ready, opened, closed, message, unread; returns an unsubscribe function. */
    on: function (event, fn) {
      if (EVENTS.indexOf(event) < 0) {
        throw new TypeError("SupportWidget.on: unknown event " + String(event) + " (use " + EVENTS.join(", ") + ")");
      }
      if (typeof fn !== "function") throw new TypeError("SupportWidget.on: the listener must be a function");
      listeners[event].push(fn);
      if (event === "ready" && isReady) {
        setTimeout(function () {
          if (listeners.ready.indexOf(fn) >= 0) fn();
        });
      }
      return function off() {
        var at = listeners[event].indexOf(fn);
        if (at >= 0) listeners[event].splice(at, 1);
      };
    },
  };
  Object.freeze(api);
  Object.defineProperty(window, "SupportWidget", { value: api, writable: false, configurable: false });

  var overrides = window.SupportWidgetSettings;
  // The server fills in the release ("<hash>/"): its modules are cached for good.
  var release = "";
  import(base + "widget/" + release + "src/main.js")
    .then(function (main) {
      impl = main.start({ base: base, dataset: dataset, overrides: overrides, emit: emit });
      emit("ready");
      impl.init();
      queue.splice(0).forEach(function (entry) {
        impl[entry[0]].apply(null, entry[1]);
      });
    })
    .catch(function (error) {
      console.warn("[supportbot] the chat widget could not be loaded from " + base + ":", error);
    });
})();
