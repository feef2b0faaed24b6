// Search in the top bar: every message (notes included) that has all the words, newest first, as
// the server finds them (case and accents ignored). A result names its conversation, shows the
// message with the words marked, says when it is a private note, and opens the conversation
// when picked. Escape closes the results and gives the keyboard back to the field.

import { h, formatTime, icon, ICONS } from '../shared/dom.js';

/** The snippet's length around the first match, in characters. */
const SNIPPET = 160;

/** Lower case without accents, as the server compares ("Café" is "cafe"). */
const fold = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/**
 * `text` as pieces `[text, marked]`, each of `words` marked where the server would find it; a
 * long text is cut to a window around the first match ('…' at the cut ends).
 */
export function snippet(text, words) {
  // Folding may change lengths: map every folded character back to its original index.
  let folded = '';
  const at = [];
  for (let i = 0; i < text.length; ) {
    const ch = String.fromCodePoint(text.codePointAt(i));
    const f = fold(ch);
    folded += f;
    for (let k = 0; k < f.length; k++) at.push(i); // per UTF-16 unit, as indexOf counts
    i += ch.length;
  }
  const ranges = [];
  for (const w of words.map(fold).filter(Boolean)) {
    for (let i = folded.indexOf(w); i >= 0; i = folded.indexOf(w, i + w.length)) {
      const start = at[i];
      const last = at[i + w.length - 1];
      let end = last + String.fromCodePoint(text.codePointAt(last)).length;
      // An accent typed as its own combining character belongs to the letter before it.
      while (end < text.length && /\p{M}/u.test(text[end])) end += 1;
      ranges.push([start, end]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let from = 0;
  let to = text.length;
  if (text.length > SNIPPET) {
    from = Math.max(0, (ranges.length ? ranges[0][0] : 0) - SNIPPET / 4);
    to = Math.min(text.length, from + SNIPPET);
  }
  const pieces = [[from > 0 ? '…' : '', false]];
  let pos = from;
  for (const [s, e] of ranges) {
    if (s < pos || e > to) continue; // overlapping, or outside the window
    pieces.push([text.slice(pos, s), false], [text.slice(s, e), true]);
    pos = e;
  }
  pieces.push([text.slice(pos, to), false], [to < text.length ? '…' : '', false]);
  return pieces.filter(([p]) => p !== '');
}

/** `deps`: { request, t, locale }. The owner sets `onPick(conversation)`. */
export class Search {
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.onPick = () => {};
    this.conversations = new Map(); // id -> Promise of the conversation, for names
    this.form = document.getElementById('search-form');
    this.input = document.getElementById('search-input');
    this.panel = document.getElementById('search-results');
    this.title = document.getElementById('search-results-title');
    this.list = h('ul', { class: 'search-hits' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.empty = h('p', { class: 'muted', role: 'status' });
    this.more = h('button', { type: 'button', hidden: true, on: { click: () => this.run(this.next) } }, t.loadMore);
    const close = h('button', { type: 'button', class: 'close-search', 'aria-label': t.closeSearch, on: { click: () => this.close() } }, '×');
    this.panel.append(close, this.error, this.empty, this.list, this.more);
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.run(null);
    });
    for (const el of [this.form, this.panel]) {
      el.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && !this.panel.hidden) {
          e.preventDefault();
          this.close();
        }
      });
    }
  }

  close() {
    this.panel.hidden = true;
    this.input.focus();
  }

  /** The first page for the field's words (`before` null), or the page after `before`. */
  async run(before) {
    const t = this.deps.t;
    const q = this.input.value.trim();
    if (!q) return;
    const generation = (this.generation = (this.generation || 0) + 1);
    const params = new URLSearchParams({ q, limit: '20' });
    if (before) params.set('before', before);
    this.panel.hidden = false;
    this.title.textContent = t.searchResults(q);
    if (!before) {
      this.list.replaceChildren();
      this.empty.textContent = '';
    }
    try {
      const page = await this.deps.request('GET', `/api/v1/search?${params}`);
      if (generation !== this.generation) return; // a newer search won
      this.error.textContent = '';
      const words = q.split(/\s+/);
      this.list.append(...page.results.map((r) => this.hit(r, words)));
      this.empty.textContent = this.list.children.length ? '' : t.noResults;
      this.next = page.next;
      this.more.hidden = !page.next;
    } catch (e) {
      if (generation === this.generation) this.error.textContent = e.message;
    }
  }

  conversation(id) {
    if (!this.conversations.has(id)) {
      const p = this.deps.request('GET', `/api/v1/conversations/${encodeURIComponent(id)}`);
      p.catch(() => this.conversations.delete(id)); // asked again next time
      this.conversations.set(id, p);
    }
    return this.conversations.get(id);
  }

  hit({ conversation_id: id, message: m }, words) {
    const t = this.deps.t;
    const name = h('span', { class: 'hit-title' }, '…');
    this.conversation(id).then(
      (c) => (name.textContent = t.conversationWith(c.visitor.name || `${t.anonymous} ${c.visitor.id.slice(-6)}`)),
      () => (name.textContent = id),
    );
    const pick = async () => {
      try {
        const c = await this.conversation(id);
        this.panel.hidden = true;
        this.onPick(c);
      } catch (e) {
        this.error.textContent = e.message;
      }
    };
    return h(
      'li',
      { 'data-conversation-id': id, 'data-message-id': m.id },
      h(
        'button',
        { type: 'button', class: `search-hit ${m.private ? 'is-note' : ''}`, on: { click: pick } },
        h(
          'span',
          { class: 'hit-head' },
          name,
          m.private ? h('span', { class: 'chip note' }, icon(ICONS.lock, 12), t.privateNote) : null,
          h('time', { datetime: m.created_at }, formatTime(m.created_at, this.deps.locale)),
        ),
        h('span', { class: 'hit-snippet' }, snippet(m.body, words).map(([text, marked]) => (marked ? h('mark', {}, text) : text))),
      ),
    );
  }
}
