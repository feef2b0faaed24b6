// A desktop notification and a short sound when a new conversation arrives. Off until the agent
// turns it on with the bell in the top bar: the permission prompt only ever follows that click
// (browsers bury sites that prompt on load, and people deny prompts they did not ask for).

import { icon, ICONS } from '../shared/dom.js';

const KEY = 'atendo.console.alerts';

/** A conversation frame announcing a creation: nothing written and nothing changed yet. */
export function isNewConversation(c) {
  return c.last_seq === 0 && c.created_at === c.updated_at;
}

/** `deps`: { t }. The owner sets `onOpen(conversation)`: a click on a notification opens it. */
export class Notifier {
  constructor(deps) {
    this.deps = deps;
    this.onOpen = () => {};
    this.button = document.getElementById('notify-toggle');
    this.status = document.getElementById('notify-status');
    this.announced = new Set();
    this.audio = null;
    this.supported = typeof Notification === 'function';
    this.button.hidden = !this.supported;
    this.button.prepend(icon(ICONS.bell, 18));
    this.button.addEventListener('click', () => this.toggle());
    // Remembered per browser; still needs the permission, which is never asked for here.
    this.enabled = this.supported && localStorage.getItem(KEY) === 'on' && Notification.permission === 'granted';
    this.render();
  }

  async toggle() {
    if (this.enabled) {
      this.setEnabled(false);
      return;
    }
    // Created inside the click: browsers only let a page make sound after a gesture.
    this.audio = this.audio || (typeof AudioContext === 'function' ? new AudioContext() : null);
    // Answers at once, without a prompt, when the permission was granted before.
    const permission = await Notification.requestPermission();
    this.setEnabled(permission === 'granted');
    this.status.textContent = permission === 'denied' ? this.deps.t.alertsBlocked : '';
  }

  setEnabled(on) {
    this.enabled = on;
    localStorage.setItem(KEY, on ? 'on' : 'off');
    this.render();
  }

  render() {
    this.button.setAttribute('aria-pressed', String(this.enabled));
    this.button.title = this.enabled ? this.deps.t.alertsOn : this.deps.t.alertsOff;
  }

  /** A `conversation` frame arrived: tell the agent if it is a new conversation, once. */
  conversation(c) {
    if (!this.enabled || !isNewConversation(c) || this.announced.has(c.id)) return;
    this.announced.add(c.id);
    const t = this.deps.t;
    const who = c.visitor.name || `${t.anonymous} ${c.visitor.id.slice(-6)}`;
    const n = new Notification(t.newConversation, { body: who, tag: c.id });
    n.onclick = () => {
      window.focus();
      this.onOpen(c);
      n.close();
    };
    this.beep();
  }

  /** 150 ms at 880 Hz, faded in and out: audible, not alarming; no audio file to serve. */
  beep() {
    // After a reload the agent has not clicked yet: the context may stay muted until they do.
    this.audio = this.audio || (typeof AudioContext === 'function' ? new AudioContext() : null);
    const ctx = this.audio;
    if (!ctx) return;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    const t0 = ctx.currentTime;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.15);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.16);
  }
}
