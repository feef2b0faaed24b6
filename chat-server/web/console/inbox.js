// The inbox: conversations filtered by status, assignee and label, newest first, kept live by
// the `conversation` frames every agent socket receives. Rows are keyed by conversation id and
// updated in place, so a live update never takes the keyboard focus or the selection away.
// Arrow keys (or j/k), Home and End move between rows; Enter opens one. Each row shows its
// labels, team and how many messages I have not read.

import { h, replace, formatTime } from '../shared/dom.js';
import { labelChips, rememberLabels } from './labels.js';

const PAGE = 50;
/** Typing in the label filter asks the server once the agent pauses, not on every key. */
const LABEL_DEBOUNCE_MS = 300;

/**
 * Messages after my read seq. Lists and GETs carry it as `unread`; `conversation` frames go to
 * every agent alike, so for them it is worked out from `last_seq` and `read.agents[me]`.
 */
export function unreadOf(c, me) {
  if (typeof c.unread === 'number') return c.unread;
  const read = (c.read && c.read.agents && c.read.agents[me]) || 0;
  return Math.max(0, (c.last_seq || 0) - read);
}

/**
 * `c` from a frame, after `known`: frames of concurrent appends and reads may arrive in any
 * order, so the highest `last_seq` and my highest read seq seen win (the server's advice).
 */
export function mergeFrame(known, c, me) {
  if (!known) return c;
  const last = Math.max(known.last_seq || 0, c.last_seq || 0);
  const mine = Math.max((known.read && known.read.agents && known.read.agents[me]) || 0, (c.read && c.read.agents && c.read.agents[me]) || 0);
  const knownRead = known.read || {};
  const read = c.read || knownRead;
  const agents = { ...(read.agents || {}) };
  if (mine) agents[me] = mine;
  // A list answer's `unread` was for the state it came with; from here on it is worked out.
  const { unread: _stale, ...rest } = c;
  return { ...rest, last_seq: last, read: { ...read, agents } };
}

/**
 * `deps`: { request, t, locale, me, team, reading(id) (whether that conversation is open before
 * the agent's eyes) }. The owner sets `onSelect(conversation)` and `onUnread(total)`.
 */
export class Inbox {
  constructor(deps) {
    this.deps = deps;
    this.onSelect = () => {};
    this.onUnread = () => {};
    this.items = new Map(); // id -> conversation
    this.rows = new Map(); // id -> <li>, kept across renders
    this.selected = null;
    this.fresh = new Set(); // ids that arrived live, highlighted until opened
    this.list = document.getElementById('conversation-list');
    this.empty = document.getElementById('inbox-empty');
    this.more = document.getElementById('inbox-more');
    this.error = document.getElementById('inbox-error');
    this.filter = { status: 'open', assignee: 'all', label: '' };
    for (const input of document.querySelectorAll('#status-filter input, #assignee-filter input')) {
      input.addEventListener('change', () => {
        this.filter[input.name] = input.value;
        this.refresh();
      });
    }
    // Labels are stored lower case and trimmed: the filter asks for them the same way.
    const label = document.getElementById('label-filter');
    let timer = null;
    const apply = () => {
      clearTimeout(timer);
      const value = label.value.trim().toLowerCase();
      if (value === this.filter.label) return;
      this.filter.label = value;
      this.refresh();
    };
    label.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(apply, LABEL_DEBOUNCE_MS);
    });
    label.addEventListener('change', apply);
    this.more.addEventListener('click', () => this.loadMore());
    this.list.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** The list query for the current filters; new filters (labels, teams) add their parameter here. */
  query(before) {
    const q = new URLSearchParams({ status: this.filter.status, limit: String(PAGE) });
    if (this.filter.assignee !== 'all') q.set('assignee', this.filter.assignee);
    if (this.filter.label) q.set('label', this.filter.label);
    if (before) q.set('before', before);
    return `/api/v1/conversations?${q}`;
  }

  async refresh() {
    const generation = (this.generation = (this.generation || 0) + 1);
    // Frames that arrive while the list is on its way may be newer than its answer (the desk
    // opening as this agent signs in turns waiting conversations open): they are applied again
    // on top of it, or such a conversation would vanish until the next refresh.
    const live = (this.liveDuringRefresh = new Map());
    try {
      const { conversations, next } = await this.deps.request('GET', this.query());
      if (generation !== this.generation) return; // a newer filter won
      this.items = new Map(conversations.map((c) => [c.id, this.counted(c)]));
      for (const c of live.values()) this.apply(c);
      this.next = next;
      this.more.hidden = !next;
      this.showError(null);
      this.render();
    } catch (e) {
      if (generation === this.generation) this.showError(e.message);
    } finally {
      if (this.liveDuringRefresh === live) this.liveDuringRefresh = null;
    }
  }

  async loadMore() {
    const generation = this.generation;
    this.more.disabled = true;
    try {
      const { conversations, next } = await this.deps.request('GET', this.query(this.next));
      if (generation !== this.generation) return;
      for (const c of conversations) this.items.set(c.id, this.counted(c));
      this.next = next;
      this.more.hidden = !next;
      this.showError(null);
      this.render();
    } catch (e) {
      this.showError(e.message);
    } finally {
      this.more.disabled = false;
    }
  }

  matches(c) {
    if (c.status !== this.filter.status) return false;
    if (this.filter.label && !(c.labels || []).includes(this.filter.label)) return false;
    if (this.filter.assignee === 'none') return c.assignee === null || c.assignee === undefined;
    if (this.filter.assignee === 'me') return c.assignee === this.deps.me;
    return true;
  }

  /** A conversation was created or changed somewhere: show, move or drop it. */
  upsert(c) {
    if (this.liveDuringRefresh) this.liveDuringRefresh.set(c.id, c);
    this.apply(c);
    this.render();
  }

  apply(c) {
    const known = this.items.has(c.id);
    if (this.matches(c)) {
      if (!known && c.last_seq === 0) this.fresh.add(c.id);
      this.items.set(c.id, this.counted(mergeFrame(this.items.get(c.id), c, this.deps.me)));
    } else {
      this.items.delete(c.id);
    }
  }

  /** `c` with its unread count; what I am reading is read (the thread's `read` frame follows). */
  counted(c) {
    return { ...c, unread: this.deps.reading(c.id) ? 0 : unreadOf(c, this.deps.me) };
  }

  select(id) {
    this.selected = id;
    this.fresh.delete(id);
    this.clearUnread(id);
  }

  /** `id` is being read (opened, or its tab shown again): its badge goes. */
  clearUnread(id) {
    const c = this.items.get(id);
    if (c && c.unread) this.items.set(id, { ...c, unread: 0 });
    this.render();
  }

  showError(message) {
    this.error.textContent = message || '';
    this.error.hidden = !message;
  }

  /** Brings the DOM in line with `items`: rows are reused, moved only when their place changes. */
  render() {
    // ULIDs sort by creation time: newest first.
    const ordered = [...this.items.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
    this.empty.hidden = ordered.length > 0;
    let unread = 0;
    for (const c of ordered) {
      unread += c.unread || 0;
      rememberLabels(c.labels);
    }
    this.onUnread(unread);
    for (const [id, li] of this.rows) {
      if (!this.items.has(id)) {
        li.remove();
        this.rows.delete(id);
      }
    }
    ordered.forEach((c, i) => {
      let li = this.rows.get(c.id);
      if (!li) {
        li = this.row(c);
        this.rows.set(c.id, li);
      }
      this.fill(li, c);
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
    });
  }

  row(c) {
    const button = h('button', {
      type: 'button',
      on: {
        click: () => {
          this.select(c.id);
          this.onSelect(this.items.get(c.id));
        },
      },
    });
    return h('li', { class: 'conv', 'data-id': c.id }, button);
  }

  /** Rewrites a row's content (never the button itself, which may hold the focus). */
  fill(li, c) {
    const t = this.deps.t;
    const fresh = this.fresh.has(c.id);
    const visitor = c.visitor.name || `${t.anonymous} ${c.visitor.id.slice(-6)}`;
    const assignee = c.assignee ? this.deps.team.name(c.assignee) : t.unassigned;
    const team = c.team_id ? this.deps.team.teamName(c.team_id) : null;
    const unread = c.unread || 0;
    const key = JSON.stringify([visitor, assignee, team, c.status, c.updated_at, fresh, c.labels, unread]);
    li.classList.toggle('is-unread', unread > 0);
    li.classList.toggle('is-new', fresh);
    const button = li.firstChild;
    if (c.id === this.selected) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    if (li.dataset.key === key) return;
    li.dataset.key = key;
    replace(
      button,
      h(
        'span',
        { class: 'conv-line' },
        h('span', { class: 'conv-title' }, visitor),
        // The count in words for screen readers; the badge is only its short form.
        unread ? h('span', { class: 'badge unread' }, h('span', { 'aria-hidden': 'true' }, String(unread)), h('span', { class: 'sr-only' }, t.unread(unread))) : null,
      ),
      fresh ? h('span', { class: 'chip new' }, t.newConversation) : null,
      h(
        'span',
        { class: 'conv-meta' },
        h('span', { class: `chip status-${c.status}` }, t.statuses[c.status]),
        h('span', { class: 'conv-assignee' }, assignee),
        team ? h('span', { class: 'chip team-chip' }, t.teamOf(team)) : null,
        h('time', { datetime: c.updated_at }, formatTime(c.updated_at, this.deps.locale)),
      ),
      labelChips(c.labels),
    );
  }

  /** Back from the conversation (phone layout): the keyboard lands where the agent left. */
  focusSelected() {
    const li = this.selected && this.rows.get(this.selected);
    if (li) li.firstChild.focus();
  }

  /** Moves the focus between rows; Enter and Space are the buttons' own. */
  onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const buttons = [...this.list.querySelectorAll('li.conv > button')];
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowDown: at + 1, j: at + 1, ArrowUp: at - 1, k: at - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    buttons[Math.max(0, Math.min(buttons.length - 1, to))].focus();
  }
}
