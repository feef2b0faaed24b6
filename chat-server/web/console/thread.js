// One conversation in the console: its history (latest page first, older pages on demand), the
// reply box (compose.js), assignment (assign.js), labels (labels.js) and status. The protocol
// side (live messages, pending sends and their retries, typing, receipts, resume) is
// shared/conversation.js, the same as the widget's.

import { h, replace, messageBody, formatTime, formatSize, icon, ICONS } from '../shared/dom.js';
import { fetchMessages, downloadAttachment, downloadFile } from '../shared/client.js';
import { ConversationClient } from '../shared/conversation.js';
import { Composer } from './compose.js';
import { AssignPicker } from './assign.js';
import { LabelEditor } from './labels.js';

const PAGE = 50;

/**
 * `deps`: { request, socket, t, locale, me, origin, token(), team, maxBytes }. `team` answers
 * `name(id)`, `teamName(id)`, `agents` and `teams` (the assign picker). The owner sets `onBack`
 * (back to the inbox on a phone).
 */
export class Thread {
  constructor(deps) {
    this.deps = deps;
    this.section = document.getElementById('thread');
    this.emptyNote = document.getElementById('thread-empty');
    this.conversation = null; // the conversation object (REST shape)
    this.client = null; // its ConversationClient
    this.onBack = () => {};
    this.build();
    document.addEventListener('visibilitychange', () => this.client && this.client.markRead());
  }

  /** Every element, once; `open()` only refills them. */
  build() {
    const t = this.deps.t;
    this.title = h('h2', { id: 'thread-title' });
    this.statusSelect = h(
      'select',
      { id: 'thread-status', on: { change: () => this.setStatus(this.statusSelect.value) } },
      ['open', 'pending', 'resolved'].map((s) => h('option', { value: s }, t.statuses[s])),
    );
    this.assignPicker = new AssignPicker({ t, team: this.deps.team });
    this.assignPicker.onAssign = (body) => this.change('assign', body);
    this.assignMe = h('button', { type: 'button', on: { click: () => this.change('assign', { agent_id: this.deps.me }) } }, t.assignToMe);
    this.teamChip = h('span', { class: 'chip team-chip', hidden: true });
    // The whole conversation, notes marked, as a page the agent keeps (GET …/transcript).
    this.transcriptBtn = h('button', { type: 'button', class: 'transcript', on: { click: () => this.downloadTranscript() } }, t.downloadTranscript);
    this.labels = new LabelEditor({ request: this.deps.request, t });
    this.labels.onChanged = (c) => this.conversationChanged(c);
    this.olderBtn = h('button', { type: 'button', class: 'older', hidden: true, on: { click: () => this.loadOlder() } }, t.loadOlder);
    this.list = h('ol', { class: 'messages' });
    this.pendingList = h('ol', { class: 'messages pending' });
    this.pendingRows = new Map(); // client_msg_id -> <li>
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t.messages, tabindex: '0' }, this.olderBtn, this.list, this.pendingList);
    this.typing = h('p', { class: 'typing', 'aria-live': 'polite' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.composer = new Composer({ request: this.deps.request, t, maxBytes: this.deps.maxBytes });
    this.composer.onSend = (body, opts) => {
      if (!this.client) return false;
      this.client.send(body, opts);
    };
    this.composer.onTyping = (text) => this.client && this.client.input(text);
    this.composer.onError = (text) => (this.error.textContent = text);
    this.controls = h(
      'div',
      { class: 'thread-controls' },
      h('label', { for: 'thread-status' }, t.status),
      this.statusSelect,
      this.assignMe,
      h('label', { for: 'thread-assignee' }, t.assignTo),
      this.assignPicker.element,
      this.teamChip,
      this.transcriptBtn,
    );
    // Only shown at phone width, where the conversation replaces the inbox (console.css).
    this.back = h('button', { type: 'button', class: 'back', on: { click: () => this.onBack() } }, h('span', { 'aria-hidden': 'true' }, '← '), t.backToInbox);
    this.head = h('header', { class: 'thread-head' }, this.back, this.title, this.controls, this.labels.element);
    this.body = h('div', { class: 'thread-body', hidden: true }, this.head, this.log, this.typing, this.error, this.composer.element);
    this.section.setAttribute('aria-labelledby', 'thread-title');
    this.section.append(this.body);
    this.renderAgents();
  }

  /** Opens `c`: fresh state, the latest page of history, then the socket from there on. */
  async open(c) {
    if (this.client) this.client.close();
    const opening = (this.opening = {});
    const focusAtOpen = document.activeElement;
    this.conversation = c;
    this.client = this.newClient(c.id);
    this.list.replaceChildren();
    this.pendingList.replaceChildren();
    this.pendingRows.clear();
    this.typing.textContent = '';
    this.error.textContent = '';
    this.olderBtn.hidden = true;
    this.composer.reset();
    this.labels.reset();
    this.emptyNote.hidden = true;
    this.body.hidden = false;
    this.renderHeader();
    try {
      const fresh = await this.deps.request('GET', `/api/v1/conversations/${encodeURIComponent(c.id)}`);
      const from = Math.max(0, fresh.last_seq - PAGE);
      const messages = await fetchMessages(this.deps.request, c.id, from);
      if (this.opening !== opening) return; // another conversation was opened meanwhile
      this.conversation = fresh;
      this.client.addHistory(messages);
      // v1.1 servers store read state: "Seen" survives a reload.
      if (fresh.read && fresh.read.visitor) this.client.notePeerRead(fresh.read.visitor);
      this.olderBtn.hidden = this.client.timeline.firstSeq <= 1 && from === 0;
      this.log.scrollTop = this.log.scrollHeight;
      this.renderHeader();
      this.client.resubscribe();
    } catch (e) {
      if (this.opening === opening) this.error.textContent = e.message;
    }
    // To the reply box, unless the agent moved on while the history loaded (say, down the
    // inbox with the arrows): their focus is theirs.
    const focus = document.activeElement;
    if (this.opening === opening && (focus === focusAtOpen || focus === document.body)) this.composer.focus();
  }

  newClient(id) {
    const client = new ConversationClient({
      socket: this.deps.socket,
      self: 'agent',
      canMarkRead: () => document.visibilityState === 'visible',
      on: {
        message: (m, index, live) => this.showMessage(m, index, live),
        pending: (p) => this.showPending(p),
        typing: (author) => (this.typing.textContent = author ? this.deps.t.typing(author.name || this.deps.t.visitor) : ''),
        read: () => this.showReceipts(),
        error: (text) => (this.error.textContent = text),
      },
    });
    client.bind(id);
    return client;
  }

  /** After every reconnect: resume from the last seq shown. */
  resubscribe() {
    if (this.client) this.client.resubscribe();
  }

  /** A frame the inbox and team did not take. */
  onFrame(f) {
    if (this.client) this.client.receive(f);
  }

  renderHeader() {
    const c = this.conversation;
    if (!c) return;
    const t = this.deps.t;
    this.title.textContent = t.conversationWith(c.visitor.name || `${t.anonymous} ${c.visitor.id.slice(-6)}`);
    this.statusSelect.value = c.status;
    this.assignPicker.show(c);
    this.assignMe.hidden = c.assignee === this.deps.me;
    this.teamChip.hidden = !c.team_id;
    if (c.team_id) this.teamChip.textContent = t.teamOf(this.deps.team.teamName(c.team_id));
    this.labels.show(c);
  }

  /** The team directory changed (agents or teams): the picker's options and the team's name. */
  renderAgents() {
    this.assignPicker.renderOptions();
    this.renderHeader();
  }

  conversationChanged(c) {
    if (this.conversation && c.id === this.conversation.id) {
      this.conversation = c;
      this.renderHeader();
    }
  }

  async setStatus(status) {
    await this.change('status', { status });
  }

  async change(what, body) {
    this.error.textContent = '';
    try {
      const c = await this.deps.request('POST', `/api/v1/conversations/${encodeURIComponent(this.conversation.id)}/${what}`, body);
      this.conversationChanged(c);
    } catch (e) {
      this.error.textContent = e.message;
      this.renderHeader();
    }
  }

  async loadOlder() {
    const client = this.client;
    const first = client.timeline.firstSeq;
    const from = Math.max(0, first - 1 - PAGE);
    const path = `/api/v1/conversations/${encodeURIComponent(this.conversation.id)}/messages?after_seq=${from}&limit=${first - 1 - from}`;
    const height = this.log.scrollHeight;
    this.error.textContent = '';
    this.olderBtn.disabled = true;
    try {
      const { messages } = await this.deps.request('GET', path);
      if (client !== this.client) return;
      client.addHistory(messages);
      // Keep what the agent was looking at in place while older messages appear above it.
      this.log.scrollTop += this.log.scrollHeight - height;
      this.olderBtn.hidden = from === 0;
    } catch (e) {
      if (client === this.client) this.error.textContent = e.message;
    } finally {
      this.olderBtn.disabled = false;
    }
  }

  showMessage(m, index, live) {
    this.list.insertBefore(this.bubble(m), this.list.children[index] || null);
    if (live) this.log.scrollTop = this.log.scrollHeight;
    this.showReceipts();
  }

  /** A reply on its way: at the bottom until stored; a failed one offers Retry. */
  showPending(p) {
    let li = this.pendingRows.get(p.clientMsgId);
    if (p.state === 'done') {
      if (li) li.remove();
      this.pendingRows.delete(p.clientMsgId);
      return;
    }
    if (!li) {
      li = this.bubble({ author: { kind: 'agent', id: this.deps.me }, body: p.body, attachments: p.attachments, private: p.private });
      li.classList.add('is-pending');
      this.pendingRows.set(p.clientMsgId, li);
      this.pendingList.append(li);
      this.log.scrollTop = this.log.scrollHeight;
    }
    const failed = p.state === 'failed';
    li.classList.toggle('is-failed', failed);
    const receipt = li.querySelector('.receipt');
    if (failed) {
      replace(
        receipt,
        `${this.deps.t.failed}: ${p.error} `,
        h('button', { type: 'button', class: 'link-btn', on: { click: () => this.client.retry(p.clientMsgId) } }, this.deps.t.retry),
      );
    } else {
      receipt.textContent = this.deps.t.sending;
    }
  }

  bubble(m) {
    const t = this.deps.t;
    const mine = m.author.kind === 'agent' && m.author.id === this.deps.me;
    const who = mine ? t.you : m.author.name || (m.author.kind === 'agent' ? this.deps.team.name(m.author.id) : t[m.author.kind]);
    const files = (m.attachments || []).map((a) =>
      h(
        'li',
        {},
        h('button', { type: 'button', class: 'file', on: { click: () => this.download(a) } }, `📎 ${a.filename}`, ` (${formatSize(a.size || 0)})`),
      ),
    );
    // A note says so in words (and a lock) besides its tint and dashed frame: never colour alone.
    return h(
      'li',
      { class: `msg from-${m.author.kind} ${mine ? 'mine' : ''} ${m.private ? 'is-note' : ''}`, 'data-seq': m.seq || false },
      m.private ? h('span', { class: 'note-label' }, icon(ICONS.lock, 12), t.privateNote) : null,
      h('span', { class: 'who' }, who),
      m.body ? h('p', { class: 'body' }, messageBody(m.body)) : null,
      files.length ? h('ul', { class: 'files' }, files) : null,
      h(
        'span',
        { class: 'meta' },
        m.created_at ? h('time', { datetime: m.created_at }, formatTime(m.created_at, this.deps.locale)) : null,
        h('span', { class: 'receipt' }),
      ),
    );
  }

  downloadTranscript() {
    if (!this.conversation) return;
    const id = this.conversation.id;
    const path = `/api/v1/conversations/${encodeURIComponent(id)}/transcript?format=html`;
    downloadFile(this.deps.origin, this.deps.token(), path, `transcript-${id}.html`).catch((e) => (this.error.textContent = e.message));
  }

  download(a) {
    downloadAttachment(this.deps.origin, this.deps.token(), a).catch((e) => (this.error.textContent = e.message));
  }

  /** "Seen" on the newest agent message the visitor has read. */
  showReceipts() {
    for (const el of this.list.querySelectorAll('.receipt.seen')) {
      el.classList.remove('seen');
      el.textContent = '';
    }
    const seq = this.client.seenSeq();
    const el = seq && this.list.querySelector(`li[data-seq="${seq}"] .receipt`);
    if (el) {
      el.classList.add('seen');
      el.textContent = this.deps.t.seen;
    }
  }
}
