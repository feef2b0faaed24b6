// One conversation in the console: its history (latest page first, older pages on demand), the
// reply box, assignment and status. The protocol side (live messages, pending sends and their
// retries, typing, receipts, resume) is shared/conversation.js, the same as the widget's.

import { h, replace, messageBody, formatTime, formatSize } from '../shared/dom.js';
import { fetchMessages, downloadAttachment } from '../shared/client.js';
import { ConversationClient } from '../shared/conversation.js';
import { utf8Length } from '../shared/limits.js';

const PAGE = 50;

/**
 * `deps`: { request, socket, t, locale, me, origin, token(), team, maxBytes }. `team` answers
 * `name(id)` and `agents` (the assignee picker). The owner sets `onBack` (back to the inbox on a
 * phone).
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
    this.assignSelect = h('select', { id: 'thread-assignee', on: { change: () => this.assign(this.assignSelect.value || null) } });
    this.assignMe = h('button', { type: 'button', on: { click: () => this.assign(this.deps.me) } }, t.assignToMe);
    this.olderBtn = h('button', { type: 'button', class: 'older', hidden: true, on: { click: () => this.loadOlder() } }, t.loadOlder);
    this.list = h('ol', { class: 'messages' });
    this.pendingList = h('ol', { class: 'messages pending' });
    this.pendingRows = new Map(); // client_msg_id -> <li>
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t.messages, tabindex: '0' }, this.olderBtn, this.list, this.pendingList);
    this.typing = h('p', { class: 'typing', 'aria-live': 'polite' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.input = h('textarea', {
      id: 'reply-input',
      rows: '3',
      placeholder: t.typeReply,
      on: {
        keydown: (e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            this.reply();
          }
        },
        input: () => this.onInput(),
      },
    });
    this.form = h(
      'form',
      { class: 'reply', on: { submit: (e) => (e.preventDefault(), this.reply()) } },
      h('label', { for: 'reply-input', class: 'sr-only' }, t.reply),
      this.input,
      h('button', { type: 'submit', class: 'primary' }, t.reply),
    );
    this.controls = h(
      'div',
      { class: 'thread-controls' },
      h('label', { for: 'thread-status' }, t.status),
      this.statusSelect,
      this.assignMe,
      h('label', { for: 'thread-assignee' }, t.assignTo),
      this.assignSelect,
    );
    // Only shown at phone width, where the conversation replaces the inbox (console.css).
    this.back = h('button', { type: 'button', class: 'back', on: { click: () => this.onBack() } }, h('span', { 'aria-hidden': 'true' }, '← '), t.backToInbox);
    this.head = h('header', { class: 'thread-head' }, this.back, this.title, this.controls);
    this.body = h('div', { class: 'thread-body', hidden: true }, this.head, this.log, this.typing, this.error, this.form);
    this.section.setAttribute('aria-labelledby', 'thread-title');
    this.section.append(this.body);
    this.renderAgents();
  }

  /** Opens `c`: fresh state, the latest page of history, then the socket from there on. */
  async open(c) {
    if (this.client) this.client.close();
    const opening = (this.opening = {});
    this.conversation = c;
    this.client = this.newClient(c.id);
    this.list.replaceChildren();
    this.pendingList.replaceChildren();
    this.pendingRows.clear();
    this.typing.textContent = '';
    this.error.textContent = '';
    this.olderBtn.hidden = true;
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
    if (this.opening === opening) this.input.focus();
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
    this.assignSelect.value = c.assignee || '';
    this.assignMe.hidden = c.assignee === this.deps.me;
  }

  /** The assignee picker, from the team directory: options kept, so an open picker survives. */
  renderAgents() {
    const t = this.deps.t;
    const wanted = [['', t.unassigned], ...this.deps.team.agents.map((a) => [a.id, a.name])];
    const options = this.assignSelect.options;
    wanted.forEach(([value, label], i) => {
      const o = options[i];
      if (o && o.value === value) {
        if (o.textContent !== label) o.textContent = label;
      } else {
        this.assignSelect.insertBefore(h('option', { value }, label), o || null);
      }
    });
    while (options.length > wanted.length) options[options.length - 1].remove();
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

  async assign(agentId) {
    await this.change('assign', { agent_id: agentId });
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
      li = this.bubble({ author: { kind: 'agent', id: this.deps.me }, body: p.body, attachments: p.attachments });
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
    return h(
      'li',
      { class: `msg from-${m.author.kind} ${mine ? 'mine' : ''}`, 'data-seq': m.seq || false },
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

  /** Sends the reply box, unless it is over the server's limit in UTF-8 bytes. */
  reply() {
    const body = this.input.value;
    if (!body.trim() || !this.client) return;
    if (utf8Length(body) > this.deps.maxBytes) {
      this.input.setAttribute('aria-invalid', 'true');
      this.error.textContent = this.deps.t.tooLong(this.deps.maxBytes);
      return;
    }
    this.input.value = '';
    this.client.send(body);
  }

  onInput() {
    if (this.input.hasAttribute('aria-invalid') && utf8Length(this.input.value) <= this.deps.maxBytes) {
      this.input.removeAttribute('aria-invalid');
      this.error.textContent = '';
    }
    if (this.client) this.client.input(this.input.value);
  }
}
