// The widget's DOM inside its shadow root: a launcher button and a chat dialog. It only
// shows things; main.js decides what happens. All text is set as text, never parsed as HTML.

import { h, icon, ICONS, replace, messageBody, formatTime, formatSize, contrastText } from '../shared/dom.js';
import { OfflineView } from './offline.js';

export class WidgetView {
  constructor(root, t, locale, handlers) {
    this.t = t;
    this.locale = locale;
    this.handlers = handlers;
    this.ownRows = []; // [seq, <li>] of the visitor's own messages, ascending
    this.pendingRows = new Map(); // client_msg_id -> <li>

    this.badge = h('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
    this.launcher = h(
      'button',
      {
        type: 'button',
        class: 'launcher',
        'aria-expanded': 'false',
        'aria-controls': 'atendo-panel',
        'aria-label': t.openChat,
        on: { click: () => handlers.toggle() },
      },
      icon(ICONS.chat, 28),
      this.badge,
    );

    this.logo = h('img', { class: 'logo', alt: '', hidden: true });
    this.title = h('h2', { id: 'atendo-title', class: 'title' });
    this.conn = h('span', { class: 'conn', 'data-state': 'idle', role: 'status' }, t.state.idle);
    this.closeBtn = h(
      'button',
      { type: 'button', class: 'icon-btn close', 'aria-label': t.closeChat, on: { click: () => handlers.close() } },
      icon(ICONS.close, 18),
    );
    this.welcome = h('p', { class: 'welcome' });
    this.list = h('ol', { class: 'messages' });
    this.pendingList = h('ol', { class: 'messages pending' });
    this.log = h(
      'div',
      { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t.messages, tabindex: '0' },
      this.welcome,
      this.list,
      this.pendingList,
    );
    this.typing = h('p', { class: 'typing', 'aria-live': 'polite' });
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });

    this.input = h('textarea', {
      id: 'atendo-input',
      rows: '1',
      placeholder: t.typeMessage,
      'aria-label': t.typeMessage,
      on: {
        keydown: (e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            this.submit();
          }
        },
        input: () => handlers.input(this.input.value),
      },
    });
    this.file = h('input', {
      type: 'file',
      hidden: true,
      tabindex: '-1',
      'aria-hidden': 'true',
      on: {
        change: () => {
          const f = this.file.files && this.file.files[0];
          this.file.value = '';
          if (f) handlers.upload(f);
        },
      },
    });
    this.attachBtn = h(
      'button',
      { type: 'button', class: 'icon-btn attach', 'aria-label': t.attach, title: t.attach, on: { click: () => this.file.click() } },
      icon(ICONS.attach, 20),
    );
    this.offline = new OfflineView(t, locale, { emailTranscript: (email) => handlers.emailTranscript(email) });
    this.sendBtn = h('button', { type: 'submit', class: 'icon-btn send', 'aria-label': t.send, title: t.send }, icon(ICONS.send, 20));
    const form = h(
      'form',
      {
        class: 'composer',
        on: {
          submit: (e) => {
            e.preventDefault();
            this.submit();
          },
        },
      },
      this.file,
      this.attachBtn,
      this.input,
      this.sendBtn,
    );

    this.panel = h(
      'section',
      {
        id: 'atendo-panel',
        class: 'panel',
        role: 'dialog',
        'aria-modal': 'false',
        'aria-labelledby': 'atendo-title',
        lang: locale,
        hidden: true,
        on: {
          keydown: (e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              handlers.close();
            }
          },
        },
      },
      h('header', { class: 'head' }, this.logo, h('div', { class: 'head-text' }, this.title, this.conn), this.closeBtn),
      this.offline.box,
      this.log,
      this.typing,
      this.error,
      this.offline.transcript,
      form,
    );
    root.append(this.panel, this.launcher);
  }

  brand(branding) {
    const name = branding.product_name || 'Atendo';
    this.title.textContent = name;
    this.panel.setAttribute('aria-label', this.t.chatWith(name));
    this.launcher.setAttribute('title', this.t.chatWith(name));
    this.welcome.textContent = branding.welcome_message || this.t.welcome;
    if (branding.logo_url) {
      this.logo.src = branding.logo_url;
      this.logo.hidden = false;
      this.logo.addEventListener('error', () => (this.logo.hidden = true), { once: true });
    }
  }

  static colours(host, primary) {
    host.style.setProperty('--atendo-primary', primary);
    host.style.setProperty('--atendo-on-primary', contrastText(primary));
  }

  submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    // The input keeps what was written when main.js refuses it (too long, say).
    if (this.handlers.send(text) !== false) this.input.value = '';
  }

  /** Marks the input as refused (a message over the server's limit) with `text`, or clears it. */
  setInputError(text) {
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
    this.showError(text);
  }

  setOpen(open) {
    this.panel.hidden = !open;
    this.launcher.setAttribute('aria-expanded', String(open));
    this.launcher.setAttribute('aria-label', open ? this.t.closeChat : this.t.openChat);
    if (open) {
      this.input.focus();
      this.scrollToEnd();
    }
  }

  setConnection(state) {
    this.conn.dataset.state = state;
    this.conn.textContent = this.t.state[state] || state;
  }

  setUnread(n) {
    this.badge.hidden = n === 0;
    this.badge.textContent = n > 9 ? '9+' : String(n);
    this.launcher.setAttribute('aria-label', n ? `${this.t.openChat} (${this.t.unread(n)})` : this.t.openChat);
  }

  setTyping(name) {
    this.typing.textContent = name ? this.t.typing(name) : '';
  }

  showError(text) {
    this.error.textContent = text || '';
    this.error.hidden = !text;
  }

  /** Renders a stored message at `index` (its place in seq order). */
  addMessage(m, index, ownVisitorId) {
    const mine = m.author.kind === 'visitor' && m.author.id === ownVisitorId;
    const li = this.bubble(m.author, m.body, m.attachments || [], mine, m.created_at);
    li.dataset.seq = String(m.seq);
    this.list.insertBefore(li, this.list.children[index] || null);
    if (mine) {
      this.ownRows.push([m.seq, li]);
      this.ownRows.sort((a, b) => a[0] - b[0]);
    }
    this.scrollToEnd();
  }

  /** A message on its way (shared/conversation.js `pending`): at the bottom until stored. */
  showPending(p) {
    let li = this.pendingRows.get(p.clientMsgId);
    if (p.state === 'done') {
      if (li) li.remove();
      this.pendingRows.delete(p.clientMsgId);
      return;
    }
    if (!li) {
      li = this.bubble({ kind: 'visitor' }, p.body, p.attachments, true, null);
      li.dataset.pending = p.clientMsgId;
      li.classList.add('is-pending');
      this.pendingRows.set(p.clientMsgId, li);
      this.pendingList.append(li);
      this.scrollToEnd();
    }
    const failed = p.state === 'failed';
    li.classList.toggle('is-failed', failed);
    const receipt = li.querySelector('.receipt');
    if (failed) {
      replace(
        receipt,
        `${this.t.failed}: ${p.error} `,
        h('button', { type: 'button', class: 'link-btn', on: { click: () => this.handlers.retry(p.clientMsgId) } }, this.t.retry),
      );
    } else {
      receipt.textContent = this.t.sending;
    }
  }

  /** Empties the conversation: the visitor's session ended and the next message starts anew. */
  reset() {
    this.list.replaceChildren();
    this.pendingList.replaceChildren();
    this.ownRows = [];
    this.pendingRows.clear();
    this.setTyping(null);
    this.offline.reset();
  }

  /** "Seen" on the newest own message the agent has read, "Sent" on a newer one. */
  showReceipts(readSeq) {
    for (const [, li] of this.ownRows) li.querySelector('.receipt').textContent = '';
    const last = this.ownRows[this.ownRows.length - 1];
    if (!last) return;
    const seen = [...this.ownRows].reverse().find(([seq]) => seq <= readSeq);
    if (seen && seen === last) {
      seen[1].querySelector('.receipt').textContent = this.t.seen;
    } else {
      last[1].querySelector('.receipt').textContent = this.t.sent;
      if (seen) seen[1].querySelector('.receipt').textContent = this.t.seen;
    }
  }

  bubble(author, body, attachments, mine, createdAt) {
    const who = mine ? this.t.you : author.name || this.t[author.kind] || author.kind;
    const files = attachments.map((a) =>
      h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'file', on: { click: () => this.handlers.download(a) } },
          `📎 ${a.filename}`,
          h('span', { class: 'size' }, ` (${formatSize(a.size || 0)})`),
        ),
      ),
    );
    return h(
      'li',
      { class: `msg ${mine ? 'mine' : 'theirs'} from-${author.kind}` },
      h('span', { class: 'who' }, who),
      body ? h('p', { class: 'body' }, messageBody(body)) : null,
      files.length ? h('ul', { class: 'files' }, files) : null,
      h(
        'span',
        { class: 'meta' },
        createdAt ? h('time', { datetime: createdAt }, formatTime(createdAt, this.locale)) : null,
        h('span', { class: 'receipt' }),
      ),
    );
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
