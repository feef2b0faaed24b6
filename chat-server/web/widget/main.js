// The visitor widget's behaviour: a session created lazily on the first message, kept in
// localStorage per API origin so a reload resumes where it was, and a socket that resubscribes
// after the last seq it has shown.

import {
  createApi,
  fetchMessages,
  uploadFile,
  downloadAttachment,
  newClientMsgId,
  socketUrl,
  ChatSocket,
  Timeline,
  ApiError,
} from '../shared/client.js';
import { strings } from '../shared/i18n.js';
import { WidgetView } from './view.js';

const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 4000;
const TYPING_SHOW_MS = 8000;

/** The visitor's session in the host page's localStorage, one entry per chat server. */
class SessionStore {
  constructor(origin) {
    this.key = `atendo:${origin}`;
  }
  load() {
    try {
      return JSON.parse(localStorage.getItem(this.key)) || {};
    } catch {
      return {}; // Storage blocked (sandboxed frame, privacy mode): work without persistence.
    }
  }
  save(s) {
    try {
      localStorage.setItem(this.key, JSON.stringify(s));
    } catch {
      /* same as above */
    }
  }
}

const DEFAULT_BRANDING = { product_name: 'Atendo', primary_color: '#0b5fff', locale: 'en' };

export async function mount({ origin, lang }) {
  const branding = await fetch(`${origin}/api/v1/branding`, { credentials: 'omit' })
    .then((r) => (r.ok ? r.json() : DEFAULT_BRANDING))
    .catch(() => DEFAULT_BRANDING);
  const locale = lang || branding.locale || 'en';
  const host = document.createElement('atendo-chat');
  const root = host.attachShadow({ mode: 'open' });
  await applyStyles(root, origin);
  WidgetView.colours(host, branding.primary_color || DEFAULT_BRANDING.primary_color);
  if (!document.body) {
    // The tag may sit in <head>; the launcher needs a body to live in.
    await new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }));
  }
  document.body.append(host);
  const widget = new Widget(origin, root, branding, locale);
  await widget.start();
  return widget;
}

/** Constructable stylesheets are not inline styles, so the host page's style-src does not block them. */
async function applyStyles(root, origin) {
  const css = await fetch(`${origin}/assets/widget/widget.css`, { credentials: 'omit' })
    .then((r) => (r.ok ? r.text() : ''))
    .catch(() => '');
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet.prototype.replaceSync === 'function') {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = css;
    root.append(style);
  }
}

class Widget {
  constructor(origin, root, branding, locale) {
    this.origin = origin;
    this.t = strings(locale);
    this.store = new SessionStore(origin);
    this.session = this.store.load();
    this.request = createApi(origin, () => this.session.token);
    this.timeline = new Timeline();
    this.pending = new Map(); // client_msg_id -> {frame, li}
    this.subscribed = false;
    this.agentRead = 0;
    this.typingSentAt = 0;
    this.view = new WidgetView(root, this.t, locale, {
      toggle: () => this.setOpen(!this.open),
      close: () => this.setOpen(false, true),
      send: (text) => this.send(text, []),
      typing: (text) => this.onInput(text),
      upload: (file) => this.upload(file),
      download: (a) => downloadAttachment(this.origin, this.session.token, a).catch((e) => this.view.showError(e.message)),
    });
    this.view.brand(branding);
    this.socket = new ChatSocket({
      url: () => socketUrl(origin, this.session.token),
      onFrame: (f) => this.onFrame(f),
      onOpen: () => this.resubscribe(),
      onState: (s) => {
        if (s !== 'online') this.subscribed = false;
        this.view.setConnection(s === 'online' && !this.subscribed ? 'connecting' : s);
      },
      checkAuth: () => this.tokenStillValid(),
      onAuthLost: () => this.forget(),
    });
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  async start() {
    if (this.session.open) this.setOpen(true);
    if (this.session.token && this.session.conversation_id) {
      try {
        await this.loadHistory();
        this.socket.start();
      } catch (e) {
        if (e instanceof ApiError && [401, 403, 404].includes(e.status)) this.forget();
        else this.view.showError(e.message);
      }
    }
  }

  setOpen(open, returnFocus = false) {
    this.open = open;
    this.view.setOpen(open);
    this.session.open = open;
    this.store.save(this.session);
    if (open) this.markRead();
    else if (returnFocus) this.view.launcher.focus();
  }

  /** Full history over REST (paged), before the socket takes over from the last seq. */
  async loadHistory() {
    const messages = await fetchMessages(this.request, this.session.conversation_id, this.timeline.lastSeq);
    for (const m of messages) this.show(m);
  }

  /** Drops a session the server no longer accepts (expired token, data gone) and starts fresh. */
  forget() {
    this.socket.stop();
    this.session = { open: this.open };
    this.store.save(this.session);
  }

  async tokenStillValid() {
    try {
      await this.request('GET', '/api/v1/me');
      return true;
    } catch (e) {
      return !(e instanceof ApiError && e.status === 401);
    }
  }

  resubscribe() {
    this.subscribed = false;
    this.socket.send({ type: 'subscribe', conversation_id: this.session.conversation_id, after_seq: this.timeline.lastSeq });
  }

  onFrame(f) {
    if (f.conversation_id && f.conversation_id !== this.session.conversation_id) return;
    switch (f.type) {
      case 'subscribed':
        this.subscribed = true;
        this.view.setConnection('online');
        // Sends that waited for the connection go out now; the server dedupes by client_msg_id.
        for (const p of this.pending.values()) if (p.frame && !p.failed) this.socket.send(p.frame);
        this.markRead();
        break;
      case 'message':
        this.show(f.message);
        break;
      case 'ack':
        this.acknowledge(f.client_msg_id, f.message);
        break;
      case 'typing':
        if (f.author.kind === 'agent') this.showTyping(f.state ? f.author.name || this.t.agent : null);
        break;
      case 'read':
        if (f.author.kind === 'agent' && f.seq > this.agentRead) {
          this.agentRead = f.seq;
          this.view.showReceipts(this.agentRead);
        }
        break;
      case 'error':
        this.onError(f);
        break;
      default:
        break;
    }
  }

  show(m) {
    const index = this.timeline.insert(m);
    if (index < 0) return;
    if (m.client_msg_id && this.pending.has(m.client_msg_id)) {
      this.pending.get(m.client_msg_id).li.remove();
      this.pending.delete(m.client_msg_id);
    }
    this.view.addMessage(m, index, this.session.visitor_id);
    if (m.author.kind === 'agent') this.showTyping(null);
    this.session.last_seq = this.timeline.lastSeq;
    this.store.save(this.session);
    this.view.showReceipts(this.agentRead);
    this.markRead();
    this.updateUnread();
  }

  acknowledge(clientMsgId, message) {
    this.show(message);
    const p = this.pending.get(clientMsgId);
    if (p) {
      p.li.remove();
      this.pending.delete(clientMsgId);
    }
  }

  onError(f) {
    const p = f.ref && this.pending.get(f.ref);
    if (p) {
      p.failed = true;
      this.view.markFailed(p.li, f.message, () => this.retry(f.ref));
    } else {
      this.view.showError(f.message);
    }
  }

  retry(clientMsgId) {
    const p = this.pending.get(clientMsgId);
    if (!p) return;
    p.failed = false;
    this.view.markRetrying(p.li);
    if (this.subscribed) this.socket.send(p.frame);
  }

  /** Creates the visitor and the conversation the first time the visitor writes. */
  ensureConversation() {
    // Two quick sends must not create two visitors: share the one creation in flight.
    this.ensuring =
      this.ensuring ||
      this.createConversation().finally(() => {
        this.ensuring = null;
      });
    return this.ensuring;
  }

  async createConversation() {
    if (!this.session.token) {
      const v = await this.request('POST', '/api/v1/visitors', {});
      Object.assign(this.session, { token: v.token, visitor_id: v.visitor_id });
      this.store.save(this.session);
    }
    if (!this.session.conversation_id) {
      const c = await this.request('POST', '/api/v1/conversations');
      this.session.conversation_id = c.id;
      this.session.last_seq = 0;
      this.store.save(this.session);
    }
    this.socket.start();
  }

  async send(text, attachments) {
    this.view.showError(null);
    const clientMsgId = newClientMsgId();
    const li = this.view.addPending(clientMsgId, text, attachments.map((a) => a.ref));
    const entry = { li, failed: false, frame: null };
    this.pending.set(clientMsgId, entry);
    try {
      await this.ensureConversation();
    } catch (e) {
      entry.failed = true;
      this.view.markFailed(li, e.message, async () => {
        this.pending.delete(clientMsgId);
        li.remove();
        this.send(text, attachments);
      });
      return;
    }
    entry.frame = {
      type: 'send',
      conversation_id: this.session.conversation_id,
      client_msg_id: clientMsgId,
      body: text,
      attachments: attachments.map((a) => a.id),
    };
    this.stopTyping();
    if (this.subscribed) this.socket.send(entry.frame);
  }

  async upload(file) {
    this.view.showError(null);
    try {
      await this.ensureConversation();
      this.view.showError(this.t.uploading(file.name));
      const id = await uploadFile(this.request, this.session.conversation_id, file);
      this.view.showError(null);
      const ref = { id, filename: file.name, size: file.size, content_type: file.type };
      await this.send('', [{ id, ref }]);
    } catch (e) {
      this.view.showError(e.message || this.t.errorGeneric);
    }
  }

  onInput(text) {
    if (!this.subscribed) return;
    clearTimeout(this.typingIdle);
    if (!text) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_REFRESH_MS) {
      this.typingSentAt = now;
      this.socket.send({ type: 'typing', conversation_id: this.session.conversation_id, state: true });
    }
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (!this.typingSentAt) return;
    this.typingSentAt = 0;
    this.socket.send({ type: 'typing', conversation_id: this.session.conversation_id, state: false });
  }

  showTyping(name) {
    clearTimeout(this.typingHide);
    this.view.setTyping(name);
    // A lost "stopped typing" frame must not leave the indicator up for ever.
    if (name) this.typingHide = setTimeout(() => this.view.setTyping(null), TYPING_SHOW_MS);
  }

  /** Tells the agent what the visitor has seen: only while the panel is open and visible. */
  markRead() {
    const seq = this.timeline.lastSeq;
    if (!this.open || document.visibilityState !== 'visible' || !this.subscribed) return;
    if (seq > (this.session.read_seq || 0) || seq > (this.sentRead || 0)) {
      if (this.socket.send({ type: 'read', conversation_id: this.session.conversation_id, seq })) {
        this.sentRead = seq;
        this.session.read_seq = seq;
        this.store.save(this.session);
      }
    }
    this.updateUnread();
  }

  updateUnread() {
    if (this.open) {
      this.view.setUnread(0);
      return;
    }
    const readSeq = this.session.read_seq || 0;
    let n = 0;
    for (let i = this.timeline.seqs.length - 1; i >= 0 && this.timeline.seqs[i] > readSeq; i--) {
      if (this.timeline.get(this.timeline.seqs[i]).author.kind !== 'visitor') n++;
    }
    this.view.setUnread(n);
  }
}
