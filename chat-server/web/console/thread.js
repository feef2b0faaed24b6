// One conversation: its history (latest page first, older pages on demand), live messages over
// the shared socket, the reply box, typing, read receipts, assignment and status.

import { h, replace, messageBody, formatTime, formatSize } from '../shared/dom.js';
import { Timeline, fetchMessages, newClientMsgId, downloadAttachment } from '../shared/client.js';

const PAGE = 50;
const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 4000;
const TYPING_SHOW_MS = 8000;

export class Thread {
  constructor(ctx) {
    this.ctx = ctx;
    this.section = document.getElementById('thread');
    this.conversation = null;
    document.addEventListener('visibilitychange', () => this.conversation && this.markRead());
  }

  /** Opens `c`: fresh state, the latest page of history, then the socket from there on. */
  async open(c) {
    const t = this.ctx.t;
    if (this.conversation) {
      this.stopTyping();
      this.ctx.socket.send({ type: 'unsubscribe', conversation_id: this.conversation.id });
    }
    const opening = (this.opening = {});
    this.conversation = c;
    this.timeline = new Timeline();
    this.pending = new Map();
    this.subscribed = false;
    this.visitorRead = 0;
    this.sentRead = 0;
    this.build();
    try {
      const fresh = await this.ctx.request('GET', `/api/v1/conversations/${encodeURIComponent(c.id)}`);
      const from = Math.max(0, fresh.last_seq - PAGE);
      const messages = await fetchMessages(this.ctx.request, c.id, from);
      if (this.opening !== opening) return; // another conversation was opened meanwhile
      this.conversation = fresh;
      for (const m of messages) this.show(m);
      this.olderBtn.hidden = this.timeline.firstSeq <= 1 && from === 0;
      this.renderHeader();
      this.resubscribe();
    } catch (e) {
      if (this.opening === opening) this.error.textContent = e.message;
    }
    if (this.opening === opening) this.input.focus();
  }

  build() {
    const t = this.ctx.t;
    this.title = h('h2', { id: 'thread-title' });
    this.statusSelect = h(
      'select',
      { id: 'thread-status', on: { change: () => this.setStatus(this.statusSelect.value) } },
      ['open', 'pending', 'resolved'].map((s) => h('option', { value: s }, t.statuses[s])),
    );
    this.assignSelect = h('select', { id: 'thread-assignee', on: { change: () => this.assign(this.assignSelect.value || null) } });
    this.assignMe = h('button', { type: 'button', on: { click: () => this.assign(this.ctx.me) } }, t.assignToMe);
    this.olderBtn = h('button', { type: 'button', class: 'older', hidden: true, on: { click: () => this.loadOlder() } }, t.loadOlder);
    this.list = h('ol', { class: 'messages' });
    this.pendingList = h('ol', { class: 'messages pending' });
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t.messages, tabindex: '0' }, this.olderBtn, this.list, this.pendingList);
    this.typing = h('p', { class: 'typing', 'aria-live': 'polite' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.input = h('textarea', {
      id: 'reply-input',
      rows: '3',
      maxlength: '4096',
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
    const form = h(
      'form',
      { class: 'reply', on: { submit: (e) => (e.preventDefault(), this.reply()) } },
      h('label', { for: 'reply-input', class: 'sr-only' }, t.reply),
      this.input,
      h('button', { type: 'submit', class: 'primary' }, t.reply),
    );
    const controls = h(
      'div',
      { class: 'thread-controls' },
      h('label', { for: 'thread-status' }, t.status),
      this.statusSelect,
      this.assignMe,
      h('label', { for: 'thread-assignee' }, t.assignTo),
      this.assignSelect,
    );
    this.section.setAttribute('aria-labelledby', 'thread-title');
    replace(this.section, h('header', { class: 'thread-head' }, this.title, controls), this.log, this.typing, this.error, form);
    this.renderHeader();
    this.renderAgents();
  }

  renderHeader() {
    const c = this.conversation;
    if (!c || !this.title) return;
    const t = this.ctx.t;
    this.title.textContent = t.conversationWith(c.visitor.name || `${t.anonymous} ${c.visitor.id.slice(-6)}`);
    this.statusSelect.value = c.status;
    this.assignSelect.value = c.assignee || '';
    this.assignMe.hidden = c.assignee === this.ctx.me;
  }

  /** The assignee picker, from the team directory. */
  renderAgents() {
    if (!this.assignSelect) return;
    const t = this.ctx.t;
    const options = [h('option', { value: '' }, t.unassigned)];
    for (const a of this.ctx.agents || []) options.push(h('option', { value: a.id }, a.name));
    this.assignSelect.replaceChildren(...options);
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
      const c = await this.ctx.request('POST', `/api/v1/conversations/${encodeURIComponent(this.conversation.id)}/${what}`, body);
      this.conversationChanged(c);
    } catch (e) {
      this.error.textContent = e.message;
      this.renderHeader();
    }
  }

  resubscribe() {
    if (!this.conversation || !this.timeline) return;
    this.subscribed = false;
    this.ctx.socket.send({ type: 'subscribe', conversation_id: this.conversation.id, after_seq: this.timeline.lastSeq });
  }

  async loadOlder() {
    const first = this.timeline.firstSeq;
    const from = Math.max(0, first - 1 - PAGE);
    const path = `/api/v1/conversations/${encodeURIComponent(this.conversation.id)}/messages?after_seq=${from}&limit=${first - 1 - from}`;
    const height = this.log.scrollHeight;
    const { messages } = await this.ctx.request('GET', path);
    for (const m of messages) this.show(m, false);
    // Keep what the agent was looking at in place while older messages appear above it.
    this.log.scrollTop += this.log.scrollHeight - height;
    this.olderBtn.hidden = from === 0;
  }

  onFrame(f) {
    if (!this.conversation || (f.conversation_id && f.conversation_id !== this.conversation.id)) return;
    const t = this.ctx.t;
    switch (f.type) {
      case 'subscribed':
        this.subscribed = true;
        for (const p of this.pending.values()) this.ctx.socket.send(p.frame);
        this.markRead();
        break;
      case 'message':
        if (f.message.conversation_id === this.conversation.id) this.show(f.message);
        break;
      case 'ack':
        if (f.message.conversation_id === this.conversation.id) this.show(f.message);
        break;
      case 'typing':
        if (f.author.kind === 'visitor') this.showTyping(f.state ? f.author.name || t.visitor : null);
        break;
      case 'read':
        if (f.author.kind === 'visitor' && f.seq > this.visitorRead) {
          this.visitorRead = f.seq;
          this.showReceipts();
        }
        break;
      case 'error':
        this.onError(f);
        break;
      default:
        break;
    }
  }

  onError(f) {
    const p = f.ref && this.pending.get(f.ref);
    if (p) {
      p.li.classList.add('is-failed');
      p.li.querySelector('.receipt').textContent = `${this.ctx.t.failed}: ${f.message}`;
      this.pending.delete(f.ref);
    } else {
      this.error.textContent = f.message;
    }
  }

  show(m, scroll = true) {
    const index = this.timeline.insert(m);
    if (index < 0) return;
    const p = m.client_msg_id && this.pending.get(m.client_msg_id);
    if (p) {
      p.li.remove();
      this.pending.delete(m.client_msg_id);
    }
    if (m.author.kind === 'visitor') this.showTyping(null);
    const li = this.bubble(m);
    this.list.insertBefore(li, this.list.children[index] || null);
    if (scroll) this.log.scrollTop = this.log.scrollHeight;
    this.showReceipts();
    this.markRead();
  }

  bubble(m) {
    const t = this.ctx.t;
    const mine = m.author.kind === 'agent' && m.author.id === this.ctx.me;
    const who = mine ? t.you : m.author.name || (m.author.kind === 'agent' ? this.ctx.agentName(m.author.id) : t[m.author.kind]);
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
        m.created_at ? h('time', { datetime: m.created_at }, formatTime(m.created_at, this.ctx.locale)) : null,
        h('span', { class: 'receipt' }),
      ),
    );
  }

  download(a) {
    downloadAttachment(this.ctx.origin, this.ctx.session.token, a).catch((e) => (this.error.textContent = e.message));
  }

  /** "Seen" on the newest agent message the visitor has read. */
  showReceipts() {
    for (const el of this.list.querySelectorAll('.receipt.seen')) {
      el.classList.remove('seen');
      el.textContent = '';
    }
    const seqs = this.timeline.seqs;
    for (let i = seqs.length - 1; i >= 0; i--) {
      const m = this.timeline.get(seqs[i]);
      if (m.seq <= this.visitorRead && m.author.kind === 'agent') {
        const el = this.list.querySelector(`li[data-seq="${m.seq}"] .receipt`);
        if (el) {
          el.classList.add('seen');
          el.textContent = this.ctx.t.seen;
        }
        return;
      }
    }
  }

  reply() {
    const body = this.input.value;
    if (!body.trim() || !this.conversation) return;
    this.input.value = '';
    this.stopTyping();
    const clientMsgId = newClientMsgId();
    const frame = { type: 'send', conversation_id: this.conversation.id, client_msg_id: clientMsgId, body };
    const li = this.bubble({ author: { kind: 'agent', id: this.ctx.me }, body, attachments: [] });
    li.classList.add('is-pending');
    li.querySelector('.receipt').textContent = this.ctx.t.sending;
    this.pendingList.append(li);
    this.log.scrollTop = this.log.scrollHeight;
    this.pending.set(clientMsgId, { frame, li });
    if (this.subscribed) this.ctx.socket.send(frame);
  }

  onInput() {
    if (!this.subscribed) return;
    clearTimeout(this.typingIdle);
    if (!this.input.value) return this.stopTyping();
    const now = Date.now();
    if (now - (this.typingSentAt || 0) > TYPING_REFRESH_MS) {
      this.typingSentAt = now;
      this.ctx.socket.send({ type: 'typing', conversation_id: this.conversation.id, state: true });
    }
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (!this.typingSentAt || !this.conversation) return;
    this.typingSentAt = 0;
    this.ctx.socket.send({ type: 'typing', conversation_id: this.conversation.id, state: false });
  }

  showTyping(name) {
    clearTimeout(this.typingHide);
    this.typing.textContent = name ? this.ctx.t.typing(name) : '';
    if (name) this.typingHide = setTimeout(() => (this.typing.textContent = ''), TYPING_SHOW_MS);
  }

  markRead() {
    const seq = this.timeline.lastSeq;
    if (!this.subscribed || document.visibilityState !== 'visible' || seq <= this.sentRead) return;
    if (this.ctx.socket.send({ type: 'read', conversation_id: this.conversation.id, seq })) this.sentRead = seq;
  }
}
