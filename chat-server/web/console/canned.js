// Canned responses in the reply box: "/" + the start of a shortcut offers the matching ones in a
// listbox above the box. The focus stays in the textarea (aria-activedescendant names the
// highlighted option), so typing goes on narrowing the list; arrows move, Enter or Tab inserts
// the body in place of "/word", Escape closes, and a click picks.

import { h, replace } from '../shared/dom.js';
import { allPages } from '../shared/client.js';

/** Admins edit them rarely: the list is fetched again on the next "/" after this long. */
const REFRESH_MS = 30_000;
/** More would not fit above a phone's keyboard; typing narrows the rest down. */
const SHOWN = 8;

/** Every canned response, page by page (`next` until null). */
export function allCanned(request) {
  return allPages(request, '/api/v1/canned-responses', 'canned_responses');
}

/** The "/word" right before the caret, or null: only at the start or after whitespace. */
export function slashToken(value, caret) {
  const m = /(^|\s)\/([^\s/]*)$/.exec(value.slice(0, caret));
  if (!m) return null;
  return { start: caret - m[2].length - 1, end: caret, query: m[2].toLowerCase() };
}

/** `deps`: { request, t, input (the textarea) }. The owner sets `onInsert()` (the text changed). */
export class CannedPicker {
  constructor(deps) {
    this.deps = deps;
    this.input = deps.input;
    this.onInsert = () => {};
    this.items = [];
    this.loadedAt = 0;
    this.loading = null;
    this.matches = [];
    this.active = -1;
    this.element = h('ul', { id: 'canned-list', class: 'canned-list', role: 'listbox', 'aria-label': deps.t.cannedResponses, hidden: true });
    // A press on an option must not move the focus out of the textarea before the click picks.
    this.element.addEventListener('mousedown', (e) => e.preventDefault());
    this.input.setAttribute('aria-autocomplete', 'list');
    this.input.setAttribute('aria-controls', 'canned-list');
    this.input.addEventListener('blur', () => this.close());
  }

  get isOpen() {
    return !this.element.hidden;
  }

  async load() {
    if (Date.now() - this.loadedAt < REFRESH_MS) return;
    this.loading = this.loading || allCanned(this.deps.request).then(
      (items) => {
        this.items = items;
        this.loadedAt = Date.now();
      },
      () => {}, // no list is no suggestion; the reply box itself keeps working
    );
    await this.loading;
    this.loading = null;
  }

  /** After every change of the text: open, narrow or close the list. */
  async update() {
    if (!slashToken(this.input.value, this.input.selectionStart)) return this.close();
    await this.load();
    // The text may have moved on while the list loaded.
    const token = slashToken(this.input.value, this.input.selectionStart);
    if (!token || this.input.selectionStart !== this.input.selectionEnd) return this.close();
    this.matches = this.items.filter((c) => c.shortcut.toLowerCase().startsWith(token.query)).slice(0, SHOWN);
    if (!this.matches.length) return this.close();
    this.active = 0;
    this.render();
  }

  render() {
    replace(
      this.element,
      this.matches.map((c, i) =>
        h(
          'li',
          {
            id: `canned-option-${i}`,
            role: 'option',
            class: 'canned-option',
            'aria-selected': String(i === this.active),
            on: { click: () => this.pick(i) },
          },
          h('span', { class: 'canned-shortcut' }, `/${c.shortcut}`),
          h('span', { class: 'canned-body' }, c.body),
        ),
      ),
    );
    this.element.hidden = false;
    this.input.setAttribute('aria-activedescendant', `canned-option-${this.active}`);
    this.element.children[this.active].scrollIntoView({ block: 'nearest' });
  }

  close() {
    this.element.hidden = true;
    this.matches = [];
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
  }

  /** Called first on every keydown of the textarea; answers whether it took the key. */
  onKeydown(e) {
    if (!this.isOpen || e.isComposing) return false;
    const n = this.matches.length;
    switch (e.key) {
      case 'ArrowDown':
        this.active = (this.active + 1) % n;
        break;
      case 'ArrowUp':
        this.active = (this.active - 1 + n) % n;
        break;
      case 'Enter':
      case 'Tab':
        if (e.shiftKey) return false;
        this.pick(this.active);
        break;
      case 'Escape':
        this.close();
        break;
      default:
        return false;
    }
    e.preventDefault();
    if (this.isOpen) this.render();
    return true;
  }

  /** Puts the body where "/word" was, the caret after it. */
  pick(i) {
    const c = this.matches[i];
    const token = c && slashToken(this.input.value, this.input.selectionStart);
    this.close();
    if (!token) return;
    const v = this.input.value;
    this.input.value = v.slice(0, token.start) + c.body + v.slice(token.end);
    const caret = token.start + c.body.length;
    this.input.setSelectionRange(caret, caret);
    this.input.focus();
    this.onInsert();
  }
}
