/**
 * The widget's CSS, applied inside its shadow root as constructable stylesheets
 * (`adoptedStyleSheets`): no <style> element, no inline style, so it works under a
 * host CSP without 'unsafe-inline' and nothing reaches the host page.
 *
 * The host element resets everything with `all: initial !important`: inside a
 * shadow tree, !important declarations beat the host page's, even its own
 * !important ones, so hostile or careless host CSS cannot hide or restyle it.
 */

export const CSS = `
:host {
  all: initial !important;
  display: block !important;
  position: fixed !important;
  inset: auto 0 0 auto !important;
  width: 0 !important;
  height: 0 !important;
  margin: 0 !important;
  padding: 0 !important;
  border: 0 !important;
  overflow: visible !important;
  visibility: visible !important;
  opacity: 1 !important;
  transform: none !important;
  filter: none !important;
  z-index: 2147483000 !important;
  pointer-events: auto !important;
}
* , *::before, *::after { box-sizing: border-box; }
.root {
  --sb-accent: #0b6e4f;
  --sb-on-accent: #ffffff;
  --sb-ink: #1d2327;
  --sb-muted: #58636b;
  --sb-line: #d5dbe0;
  --sb-soft: #f1f3f5;
  --sb-focus: #1a5fd0;
  --sb-gap: 20px;
  font: 400 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--sb-ink);
  text-align: start;
  letter-spacing: normal;
  text-transform: none;
  -webkit-font-smoothing: antialiased;
}
[hidden] { display: none !important; }
button, input, textarea { font: inherit; color: inherit; letter-spacing: inherit; margin: 0; }
/* 16 px at least: phones zoom into smaller fields */
input, textarea { font-size: 16px; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid var(--sb-focus); outline-offset: 2px; }
textarea:focus-visible, input:focus-visible { outline: 2px solid var(--sb-accent); outline-offset: 1px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.sb-icon { width: 24px; height: 24px; fill: currentColor; display: block; }

.launcher {
  position: fixed; bottom: var(--sb-gap); right: var(--sb-gap);
  width: 58px; height: 58px; border-radius: 50%; border: 0; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: var(--sb-accent); color: var(--sb-on-accent);
  box-shadow: 0 6px 20px rgba(0, 0, 0, .22);
}
.launcher .sb-icon { width: 28px; height: 28px; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #c4231b; color: #fff; border: 2px solid #fff;
  font-size: 12px; font-weight: 700; line-height: 18px; text-align: center;
}
.left .launcher, .left .panel { right: auto; left: var(--sb-gap); }

.panel {
  position: fixed; bottom: calc(var(--sb-gap) + 70px); right: var(--sb-gap);
  width: 380px; height: min(620px, calc(100vh - 110px)); max-height: calc(100vh - 110px);
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 16px; border: 1px solid var(--sb-line);
  box-shadow: 0 14px 44px rgba(0, 0, 0, .24);
}
.head {
  display: flex; align-items: center; gap: 10px; padding: 12px 10px 12px 16px;
  background: var(--sb-accent); color: var(--sb-on-accent);
}
.head-text { flex: 1; min-width: 0; }
.title { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.3; }
.conn { display: flex; align-items: center; gap: 6px; font-size: 12.5px; opacity: .92; }
.conn::before {
  content: ""; width: 8px; height: 8px; border-radius: 50%; background: #f5b73b;
  border: 1px solid rgba(255, 255, 255, .8);
}
.conn[data-state="online"]::before { background: #3ddc84; }
.conn[data-state="offline"]::before, .conn[data-state="away"]::before { background: #9aa3aa; }
.conn[data-state="idle"]::before { display: none; }
.team { font-size: 12px; opacity: .85; margin-top: 1px; }
.icon-button {
  width: 40px; height: 40px; border: 0; border-radius: 10px; padding: 8px;
  background: transparent; color: inherit;
}
.icon-button:hover { background: rgba(255, 255, 255, .16); }

.banner {
  padding: 9px 16px; font-size: 13.5px; background: #fff6df; color: #4a3b10;
  border-bottom: 1px solid #f0e0b0;
}
.banner strong { font-weight: 650; }
.log {
  flex: 1 1 0; min-height: 72px; overflow-y: auto; padding: 14px 14px 6px; display: flex;
  flex-direction: column; gap: 4px; overscroll-behavior: contain;
}
.msg {
  max-width: 86%; padding: 8px 12px; border-radius: 16px; white-space: pre-wrap;
  overflow-wrap: anywhere; background: var(--sb-soft); position: relative;
}
.msg.lead { margin-top: 6px; }
.msg.stamped { margin-bottom: 16px; }
.meta {
  position: absolute; top: 100%; left: 4px; margin-top: 2px; white-space: nowrap;
  font-size: 11.5px; color: var(--sb-muted);
}
.msg.shopper .meta { left: auto; right: 4px; }
.msg.system .meta { left: 0; right: 0; text-align: center; }
.msg.agent { margin-left: 36px; }
.avatar {
  position: absolute; left: -36px; top: 0; width: 28px; height: 28px; border-radius: 50%;
  background: var(--sb-accent); color: var(--sb-on-accent); font-size: 11.5px; font-weight: 700;
  display: flex; align-items: center; justify-content: center; white-space: nowrap;
}
.msg.agent:not(.lead) .avatar, .msg.agent:not(.lead) .who { display: none; }
.msg.picture { padding: 4px; }
.msg.picture .who { padding: 2px 8px; }
.image { display: block; }
.image img {
  display: block; max-width: 100%; max-height: 240px; width: auto; height: auto;
  border-radius: 12px; background: var(--sb-line);
}
.msg.shopper {
  align-self: flex-end; background: var(--sb-accent); color: var(--sb-on-accent);
  border-bottom-right-radius: 5px;
}
.msg.bot, .msg.agent { align-self: flex-start; border-bottom-left-radius: 5px; }
.msg.agent { background: #e8f0fe; }
.msg.system {
  align-self: center; background: transparent; color: var(--sb-muted); font-size: 13px;
  text-align: center; padding: 2px 8px;
}
.msg a { color: inherit; text-decoration: underline; }
.privacy { align-self: center; margin: 0 8px 2px; text-align: center; font-size: 12.5px; color: var(--sb-muted); }
.privacy a { color: inherit; text-decoration: underline; }
.who { display: block; font-size: 12px; font-weight: 650; color: var(--sb-muted); margin-bottom: 2px; }
.note { display: block; font-size: 11.5px; margin-top: 3px; opacity: .85; }
.msg.pending { opacity: .75; }
.msg.failed { background: #fbe3e1; color: #7a1a13; }
.msg:not(:last-child) .chips, .msg:not(:last-child) .helpful { display: none; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; white-space: normal; }
.chip {
  border: 1px solid var(--sb-accent); background: #fff; color: var(--sb-ink);
  border-radius: 16px; padding: 5px 11px; font-size: 13.5px; text-align: start;
}
.chip:hover { background: var(--sb-soft); }
.chip.handoff { border-style: dashed; }
.helpful {
  display: flex; align-items: center; flex-wrap: wrap; gap: 6px; margin-top: 6px;
  font-size: 12.5px; color: var(--sb-muted); white-space: normal;
}
.helpful .chip { padding: 2px 10px; font-size: 12.5px; min-width: 44px; }
.typing { padding: 0 16px 6px; font-size: 12.5px; color: var(--sb-muted); min-height: 0; }
.typing::before { content: "• • •"; margin-right: 6px; letter-spacing: 1px; }

.slot { flex: 0 1 auto; min-height: 0; overflow-y: auto; overscroll-behavior: contain; }
.form { border-top: 1px solid var(--sb-line); padding: 12px 16px; display: grid; gap: 8px; }
.form p { margin: 0; font-size: 13.5px; }
.form label { display: grid; gap: 3px; font-size: 13px; font-weight: 600; }
.field {
  width: 100%; border: 1px solid #aab4bc; border-radius: 10px; padding: 8px 10px;
  background: #fff; font-weight: 400;
}
textarea.field { resize: vertical; min-height: 56px; max-height: 160px; }
.primary {
  border: 0; border-radius: 10px; padding: 9px 14px; font-weight: 650;
  background: var(--sb-accent); color: var(--sb-on-accent);
}
.primary:disabled { opacity: .5; cursor: default; }
.error { color: #a4160e; font-size: 13px; margin: 0; }
.error:empty { display: none; }
fieldset { border: 0; padding: 0; margin: 0; min-width: 0; }
legend { padding: 0; margin: 0 0 8px; font-weight: 650; font-size: 14.5px; }
.scale { display: grid; grid-template-columns: repeat(5, 1fr); gap: 5px; }
.scale label { display: block; position: relative; font-weight: 400; }
.scale input { position: absolute; opacity: 0; inset: 0; width: 100%; height: 100%; margin: 0; cursor: pointer; }
.scale span {
  display: flex; flex-direction: column; align-items: center; gap: 2px; height: 100%;
  border: 1px solid var(--sb-line); border-radius: 10px; padding: 6px 2px;
  font-size: 10.5px; line-height: 1.2; text-align: center; color: var(--sb-muted);
}
.scale b { font-size: 17px; color: var(--sb-ink); }
.scale input:checked + span { border-color: var(--sb-accent); background: var(--sb-soft); box-shadow: inset 0 0 0 1px var(--sb-accent); }
.scale input:focus-visible + span { outline: 3px solid var(--sb-focus); outline-offset: 2px; }
.scale.nps { grid-template-columns: repeat(11, 1fr); gap: 3px; }
.scale.nps span { padding: 7px 0; }
.scale.nps b { font-size: 15px; }
.ends { display: flex; justify-content: space-between; margin: 4px 0 0; font-size: 11px; color: var(--sb-muted); }

.composer { display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px; border-top: 1px solid var(--sb-line); }
.composer .attach { flex: none; color: var(--sb-muted); padding: 9px; width: 42px; height: 42px; }
.composer .attach:hover { background: var(--sb-soft); }
.composer textarea {
  flex: 1; resize: none; border: 1px solid #aab4bc; border-radius: 12px; padding: 9px 12px;
  height: 42px; max-height: 120px; background: #fff; line-height: 1.35;
}
.send {
  flex: none; width: 42px; height: 42px; border: 0; border-radius: 50%; padding: 9px;
  background: var(--sb-accent); color: var(--sb-on-accent);
}
.actions { display: flex; justify-content: center; gap: 14px; padding: 0 12px 10px; }
.link {
  border: 0; background: none; padding: 2px 4px; font-size: 12.5px; color: var(--sb-muted);
  text-decoration: underline;
}

@media (max-width: 520px) {
  .panel, .left .panel {
    inset: 0; width: auto; height: auto; max-height: none; border-radius: 0; border: 0;
  }
  .open .launcher { display: none; }
}
/* Fingers: every tap target at least 44 x 44 px */
@media (max-width: 520px), (pointer: coarse) {
  .chip, .helpful .chip, .link, .primary { min-height: 44px; min-width: 44px; }
  .icon-button, .send, .composer .attach, .composer textarea { min-width: 44px; height: 44px; }
  .scale span { min-height: 44px; justify-content: center; }
  .scale.nps { grid-template-columns: repeat(6, 1fr); }
  .actions { gap: 4px; padding-bottom: 4px; }
}
@media (prefers-reduced-motion: no-preference) {
  .panel { animation: sb-rise .16s ease-out; }
  @keyframes sb-rise { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
}
`;

/** Adopt the widget's sheets in `shadow`; `accent` (already validated) themes it. */
export function adoptStyles(shadow, accent) {
  const base = new CSSStyleSheet();
  base.replaceSync(CSS);
  const sheets = [base];
  if (accent) {
    const theme = new CSSStyleSheet();
    theme.replaceSync(`.root { --sb-accent: ${accent}; --sb-on-accent: ${onAccent(accent)}; }`);
    sheets.push(theme);
  }
  shadow.adoptedStyleSheets = sheets;
}

/** Black or white text, whichever reads better on the accent colour. */
export function onAccent(color) {
  const rgb = toRgb(color);
  if (!rgb) return "#ffffff";
  const [r, g, b] = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast with white is (1.05) / (L + .05); with black (L + .05) / .05.
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#111111";
}

function toRgb(color) {
  const canvas = document.createElement("canvas").getContext("2d");
  if (!canvas) return null;
  canvas.fillStyle = "#000";
  canvas.fillStyle = color;
  const value = canvas.fillStyle; // normalised: "#rrggbb" or "rgba(r, g, b, a)"
  if (value.startsWith("#")) return [1, 3, 5].map((i) => parseInt(value.slice(i, i + 2), 16));
  const parts = value.match(/[\d.]+/g);
  return parts ? parts.slice(0, 3).map(Number) : null;
}
