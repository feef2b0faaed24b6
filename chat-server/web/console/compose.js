// The reply box: a reply to the visitor or a private note for the team. The switch is a pair of
// radio buttons, and note mode changes the words (label, placeholder, button), the box's frame
// and its tint, so it never rests on colour alone. Typing is announced to the visitor only for
// replies: a note being written is nobody's business outside the team. "/" offers canned
// responses (canned.js).

import { h } from '../shared/dom.js';
import { utf8Length } from '../shared/limits.js';
import { CannedPicker } from './canned.js';

/**
 * `deps`: { request, t, maxBytes }. The owner sets `onSend(body, { private })`,
 * `onTyping(text)` (the reply's text as it changes) and `onError(text)` ('' clears).
 */
export class Composer {
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.onSend = () => {};
    this.onTyping = () => {};
    this.onError = () => {};
    this.input = h('textarea', {
      id: 'reply-input',
      rows: '3',
      placeholder: t.typeReply,
      on: { keydown: (e) => this.onKeydown(e), input: () => this.changed() },
    });
    this.canned = new CannedPicker({ request: deps.request, t, input: this.input });
    this.canned.onInsert = () => this.changed();
    const mode = (value, label) =>
      h(
        'label',
        { class: 'mode' },
        h('input', { type: 'radio', name: 'compose-mode', value, checked: value === 'reply', on: { change: () => this.setMode(value) } }),
        h('span', {}, label),
      );
    this.modes = h('fieldset', { class: 'compose-mode' }, h('legend', { class: 'sr-only' }, t.composeAs), mode('reply', t.replyMode), mode('note', t.privateNote));
    this.label = h('label', { for: 'reply-input', class: 'sr-only' }, t.reply);
    this.submit = h('button', { type: 'submit', class: 'primary' }, t.reply);
    this.element = h(
      'form',
      { class: 'reply', on: { submit: (e) => (e.preventDefault(), this.send()) } },
      this.modes,
      h('div', { class: 'compose-row' }, this.canned.element, this.label, this.input, this.submit),
    );
  }

  get isNote() {
    return this.element.classList.contains('is-note');
  }

  setMode(mode) {
    const t = this.deps.t;
    const note = mode === 'note';
    this.element.classList.toggle('is-note', note);
    this.label.textContent = note ? t.privateNote : t.reply;
    this.input.placeholder = note ? t.typeNote : t.typeReply;
    this.submit.textContent = note ? t.addNote : t.reply;
    for (const r of this.modes.querySelectorAll('input')) r.checked = r.value === mode;
    // Switching to a note mid-sentence: the visitor must stop seeing "typing…".
    this.onTyping(note ? '' : this.input.value);
  }

  /** A new conversation starts as a reply: a note must be chosen each time, never inherited. */
  reset() {
    this.input.value = '';
    this.canned.close();
    this.input.removeAttribute('aria-invalid');
    if (this.isNote) this.setMode('reply');
  }

  focus() {
    this.input.focus();
  }

  onKeydown(e) {
    if (this.canned.onKeydown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.send();
    }
  }

  changed() {
    if (this.input.hasAttribute('aria-invalid') && utf8Length(this.input.value) <= this.deps.maxBytes) {
      this.input.removeAttribute('aria-invalid');
      this.onError('');
    }
    this.onTyping(this.isNote ? '' : this.input.value);
    this.canned.update();
  }

  /** Sends the box, unless it is over the server's limit in UTF-8 bytes. */
  send() {
    const body = this.input.value;
    if (!body.trim()) return;
    if (utf8Length(body) > this.deps.maxBytes) {
      this.input.setAttribute('aria-invalid', 'true');
      this.onError(this.deps.t.tooLong(this.deps.maxBytes));
      return;
    }
    if (this.onSend(body, { private: this.isNote }) === false) return;
    this.input.value = '';
    this.canned.close();
  }
}
