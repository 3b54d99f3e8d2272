// New-chat alerts: a counter and a blinking marker in the page title, and a short
// chime generated with WebAudio (no sound file). Cleared when the agent comes back
// to the page, clicks in it, or opens a chat tab (the console calls clear()).

import { getPref, setPref } from "./prefs.js";

export class Notifier {
  constructor(baseTitle = document.title) {
    this.baseTitle = baseTitle;
    this.keys = new Set();
    this.text = "";
    this.lastChime = 0;
    this.blink = null;
    this.audio = null;
    this.soundOn = getPref("sound", true);
    const clear = () => this.clear();
    // Any sign that the agent is looking at the console clears the alert.
    window.addEventListener("focus", clear);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) clear(); });
    document.addEventListener("pointerdown", clear, true);
    // Browsers only start audio after a user gesture: prepare it on the first one.
    const unlock = () => this.unlockAudio();
    document.addEventListener("pointerdown", unlock, { capture: true, once: true });
    document.addEventListener("keydown", unlock, { capture: true, once: true });
  }

  setSound(on) {
    this.soundOn = Boolean(on);
    setPref("sound", this.soundOn);
    if (this.soundOn) this.unlockAudio();
  }

  unlockAudio() {
    if (!this.soundOn) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      if (!this.audio) this.audio = new Context();
      if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
    } catch {
      this.audio = null;
    }
  }

  get count() {
    return this.keys.size;
  }

  /**
   * Alert about something new (a chat assigned or queued, a message while away).
   * Alerts with the same key (a conversation id) count once.
   */
  alert(key, text, { sound = true } = {}) {
    this.keys.add(key);
    this.text = text;
    this.render(true);
    if (!this.blink) {
      let on = true;
      this.blink = setInterval(() => { on = !on; this.render(on); }, 1000);
    }
    if (sound) this.chime();
  }

  render(marker) {
    document.title = `${marker ? "\u25cf " : ""}(${this.count}) ${this.text} \u2013 ${this.baseTitle}`;
  }

  clear() {
    if (!this.count) return;
    this.keys.clear();
    clearInterval(this.blink);
    this.blink = null;
    document.title = this.baseTitle;
  }

  chime() {
    if (!this.soundOn || !this.audio || this.audio.state !== "running") return;
    if (Date.now() - this.lastChime < 1500) return; // one chime for a burst of alerts
    this.lastChime = Date.now();
    const ctx = this.audio;
    const start = ctx.currentTime + 0.01;
    [880, 1318.5].forEach((frequency, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      const t = start + i * 0.16;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.32);
    });
  }
}
