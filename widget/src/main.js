/**
 * The widget's entry module, imported by the loader (`/widget.js`) from the
 * support host. Mounts the UI in a shadow root and returns the implementation
 * behind `window.SupportWidget`.
 */

import { pickLanguage, translator } from "./i18n.js";
import { Session } from "./session.js";
import { readSettings } from "./settings.js";
import { createStorage } from "./storage.js";
import { adoptStyles } from "./styles.js";

export const TAG = "supportbot-widget";

/**
 * `base`: the support host's URL (where /widget.js came from); `dataset`: the
 * script tag's data attributes; `overrides`: window.SupportWidgetSettings;
 * `emit(event, value)`: tells the host page's listeners.
 */
export function start({ base, dataset, overrides, emit }) {
  const { settings, warnings } = readSettings(dataset, overrides);
  for (const warning of warnings) console.warn("[supportbot] setting ignored:", warning);
  const storage = createStorage();
  // A chat in progress speaks the language it was left in; a new one, the page's.
  const resumed = storage.get("token") && storage.get("lang");
  const lang = pickLanguage(resumed || settings.lang, document.documentElement.lang, navigator.languages || [navigator.language]);
  const t = translator(lang);

  const host = document.createElement(TAG);
  const shadow = host.attachShadow({ mode: "open" });
  adoptStyles(shadow, settings.accent);
  const session = new Session({ base, settings, storage, t, emit });
  shadow.append(session.view.root);
  // A child of <html>, not <body>: survives pages that swap their body, and is
  // out of reach of transforms on the body that would break fixed positioning.
  document.documentElement.append(host);

  return {
    init: () => session.init(),
    open: () => session.open(),
    close: () => session.close(),
    toggle: () => (session.view.open ? session.close() : session.open()),
    setUser: (user) => session.setUser(user),
    reset: () => session.reset(),
  };
}
