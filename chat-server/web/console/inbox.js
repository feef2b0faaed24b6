// The inbox: conversations filtered by status and assignee, newest first, kept live by the
// `conversation` frames every agent socket receives.

import { h, formatTime } from '../shared/dom.js';

const PAGE = 50;

export class Inbox {
  constructor(ctx, onSelect) {
    this.ctx = ctx;
    this.onSelect = onSelect;
    this.items = new Map(); // id -> conversation
    this.selected = null;
    this.fresh = new Set(); // ids that arrived live, highlighted until opened
    this.list = document.getElementById('conversation-list');
    this.empty = document.getElementById('inbox-empty');
    this.more = document.getElementById('inbox-more');
    this.filter = { status: 'open', assignee: 'all' };
    for (const input of document.querySelectorAll('#status-filter input, #assignee-filter input')) {
      input.addEventListener('change', () => {
        this.filter[input.name] = input.value;
        this.refresh();
      });
    }
    this.more.addEventListener('click', () => this.loadMore());
    this.refresh();
  }

  query(before) {
    const q = new URLSearchParams({ status: this.filter.status, limit: String(PAGE) });
    if (this.filter.assignee !== 'all') q.set('assignee', this.filter.assignee);
    if (before) q.set('before', before);
    return `/api/v1/conversations?${q}`;
  }

  async refresh() {
    const generation = (this.generation = (this.generation || 0) + 1);
    try {
      const { conversations } = await this.ctx.request('GET', this.query());
      if (generation !== this.generation) return; // a newer filter won
      this.items = new Map(conversations.map((c) => [c.id, c]));
      this.more.hidden = conversations.length < PAGE;
      this.render();
    } catch (e) {
      this.showError(e.message);
    }
  }

  async loadMore() {
    const ids = [...this.items.keys()].sort().reverse();
    const { conversations } = await this.ctx.request('GET', this.query(ids[ids.length - 1]));
    for (const c of conversations) this.items.set(c.id, c);
    this.more.hidden = conversations.length < PAGE;
    this.render();
  }

  matches(c) {
    if (c.status !== this.filter.status) return false;
    if (this.filter.assignee === 'none') return c.assignee === null || c.assignee === undefined;
    if (this.filter.assignee === 'me') return c.assignee === this.ctx.me;
    return true;
  }

  /** A conversation was created or changed somewhere: show, move or drop it. */
  upsert(c) {
    const known = this.items.has(c.id);
    if (this.matches(c)) {
      if (!known && c.last_seq === 0) this.fresh.add(c.id);
      this.items.set(c.id, c);
    } else {
      this.items.delete(c.id);
    }
    this.render();
  }

  select(id) {
    this.selected = id;
    this.fresh.delete(id);
    this.render();
  }

  showError(message) {
    this.list.replaceChildren(h('li', { class: 'form-error', role: 'alert' }, message));
  }

  render() {
    const t = this.ctx.t;
    // ULIDs sort by creation time: newest first.
    const ordered = [...this.items.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
    this.empty.hidden = ordered.length > 0;
    const rows = ordered.map((c) => {
      const visitor = c.visitor.name || `${t.anonymous} ${c.visitor.id.slice(-6)}`;
      const assignee = c.assignee ? this.ctx.agentName(c.assignee) : t.unassigned;
      const current = c.id === this.selected;
      return h(
        'li',
        { class: `conv ${this.fresh.has(c.id) ? 'is-new' : ''}`, 'data-id': c.id },
        h(
          'button',
          {
            type: 'button',
            'aria-current': current ? 'true' : false,
            on: {
              click: () => {
                this.select(c.id);
                this.onSelect(c);
              },
            },
          },
          h('span', { class: 'conv-title' }, visitor),
          this.fresh.has(c.id) ? h('span', { class: 'chip new' }, t.newConversation) : null,
          h(
            'span',
            { class: 'conv-meta' },
            h('span', { class: `chip status-${c.status}` }, t.statuses[c.status]),
            h('span', { class: 'conv-assignee' }, assignee),
            h('time', { datetime: c.updated_at }, formatTime(c.updated_at, this.ctx.locale)),
          ),
        ),
      );
    });
    this.list.replaceChildren(...rows);
  }
}
