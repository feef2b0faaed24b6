// Labels on a conversation: chips in the inbox rows, and in the thread header chips with a
// remove button each plus a field that adds one (Enter or comma). Every change PUTs the whole
// list; the server normalises it (lower case, no repeats) and answers the conversation, which
// the other agents get as a `conversation` frame.

import { h } from '../shared/dom.js';

/** Read-only chips (inside an inbox row, itself a button, so nothing in them is interactive). */
export function labelChips(labels) {
  if (!labels || !labels.length) return null;
  return h(
    'span',
    { class: 'labels' },
    labels.map((l) => h('span', { class: 'chip label' }, h('span', { 'aria-hidden': 'true' }, '# '), l)),
  );
}

/** Fills the shared <datalist id="known-labels"> so both label fields suggest what exists. */
export function rememberLabels(labels) {
  const list = document.getElementById('known-labels');
  if (!list) return;
  const known = new Set([...list.options].map((o) => o.value));
  for (const l of labels || []) if (!known.has(l)) list.append(h('option', { value: l }));
}

/** `deps`: { request, t }. The owner sets `onChanged(conversation)` with the server's answer. */
export class LabelEditor {
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.onChanged = () => {};
    this.conversation = null;
    this.rows = new Map(); // label -> <li>, kept so a focused remove button survives updates
    this.list = h('ul', { class: 'label-chips', 'aria-label': t.labels });
    this.error = h('span', { id: 'label-error', class: 'form-error', role: 'alert' });
    this.input = h('input', {
      id: 'label-add',
      type: 'text',
      list: 'known-labels',
      autocomplete: 'off',
      placeholder: t.addLabel,
      'aria-describedby': 'label-error',
      on: { keydown: (e) => this.onKey(e) },
    });
    this.element = h(
      'div',
      { class: 'label-editor' },
      this.list,
      h('label', { for: 'label-add', class: 'sr-only' }, t.addLabel),
      this.input,
      this.error,
    );
  }

  show(c) {
    this.conversation = c;
    const labels = c.labels || [];
    rememberLabels(labels);
    for (const [label, li] of this.rows) {
      if (!labels.includes(label)) {
        li.remove();
        this.rows.delete(label);
      }
    }
    labels.forEach((label, i) => {
      let li = this.rows.get(label);
      if (!li) {
        li = h(
          'li',
          { class: 'chip label', 'data-label': label },
          h('span', { 'aria-hidden': 'true' }, '# '),
          label,
          h('button', { type: 'button', class: 'chip-remove', 'aria-label': this.deps.t.removeLabel(label), on: { click: () => this.remove(label) } }, '×'),
        );
        this.rows.set(label, li);
      }
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
    });
  }

  /** A new conversation: no half-typed label or old error carried over. */
  reset() {
    this.input.value = '';
    this.showError('');
  }

  onKey(e) {
    if ((e.key === 'Enter' || e.key === ',') && !e.isComposing) {
      e.preventDefault();
      const label = this.input.value.trim().toLowerCase();
      if (label) this.save([...(this.conversation.labels || []), label], () => (this.input.value = ''));
    }
  }

  remove(label) {
    // The button goes with its chip: the keyboard continues in the field.
    this.input.focus();
    this.save((this.conversation.labels || []).filter((l) => l !== label));
  }

  async save(labels, done = () => {}) {
    const id = this.conversation.id;
    try {
      const c = await this.deps.request('PUT', `/api/v1/conversations/${encodeURIComponent(id)}/labels`, { labels });
      this.showError('');
      done();
      this.onChanged(c);
    } catch (e) {
      this.showError(e.message);
    }
  }

  showError(text) {
    this.error.textContent = text;
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }
}
