// The visitor widget's behaviour: a session created lazily on the first message, kept in
// localStorage per API origin so a reload resumes where it was, and a socket that resubscribes
// after the last seq it has shown.

import { createApi, fetchMessages, uploadFile, downloadAttachment, ApiError } from '../shared/client.js';
import { ChatSocket, socketTarget } from '../shared/socket.js';
import { ConversationClient } from '../shared/conversation.js';
import { maxMessageBytes, utf8Length } from '../shared/limits.js';
import { strings } from '../shared/i18n.js';
import { WidgetView } from './view.js';
import { RatingPrompt } from './rating.js';
import { followKeyboard } from './viewport.js';

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
    this.maxBytes = maxMessageBytes(branding);
    this.store = new SessionStore(origin);
    this.session = this.store.load();
    this.request = createApi(origin, () => this.session.token);
    this.connection = 'idle';
    this.view = new WidgetView(root, this.t, locale, {
      toggle: () => this.setOpen(!this.open),
      close: () => this.setOpen(false, true),
      send: (text) => this.write(text),
      input: (text) => this.onInput(text),
      retry: (clientMsgId) => this.retry(clientMsgId),
      upload: (file) => this.upload(file),
      download: (a) => downloadAttachment(this.origin, this.session.token, a).catch((e) => this.view.showError(e.message)),
      emailTranscript: (email) => this.emailTranscript(email),
    });
    this.view.brand(branding);
    followKeyboard(this.view.panel);
    this.socket = new ChatSocket({
      target: () => socketTarget(origin, this.session.token),
      onFrame: (f) => (f.type === 'status' ? this.statusChanged(f) : this.conversation.receive(f)),
      onOpen: () => this.conversation.resubscribe(),
      onState: (s) => {
        this.connection = s;
        this.showConnection();
      },
      checkAuth: () => this.tokenStillValid(),
      // 4001 (the visitor's tokens were revoked, e.g. its data erased) or an expired token:
      // the old conversation is gone for this browser; the next message starts a new session.
      onSignedOut: () => this.forget(),
    });
    this.conversation = this.newConversation();
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  newConversation() {
    const c = new ConversationClient({
      socket: this.socket,
      self: 'visitor',
      canMarkRead: () => this.open && document.visibilityState === 'visible',
      on: {
        message: (m, index) => {
          this.view.addMessage(m, index, this.session.visitor_id);
          this.view.showReceipts(c.peerRead);
          this.updateUnread();
        },
        pending: (p) => this.view.showPending(p),
        typing: (author) => this.view.setTyping(author ? author.name || this.t.agent : null),
        read: (seq) => this.view.showReceipts(seq),
        subscribed: () => {
          this.showConnection();
          this.updateUnread();
        },
        error: (text) => this.view.showError(text),
      },
    });
    if (this.session.conversation_id) c.bind(this.session.conversation_id);
    return c;
  }

  /** Online only once the subscription's replay is done: until then history may still arrive. */
  showConnection() {
    const s = this.connection;
    this.view.setConnection(s === 'online' && !this.conversation.subscribed ? 'connecting' : s);
  }

  async start() {
    if (this.session.conversation_id) this.view.offline.offerTranscript(this.session.email);
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
    if (open) {
      this.markRead();
      this.checkAvailability();
    } else if (returnFocus) this.view.launcher.focus();
  }

  /**
   * Whether anyone is there: when not, the widget says so (with the next opening) and, before
   * the conversation starts, asks for a name and an email beside the message. The server decides
   * on its own whether the conversation waits as pending; this only shapes the form.
   */
  async checkAvailability() {
    try {
      const a = await this.request('GET', '/api/v1/availability');
      this.view.offline.show(a.open, a.next_open_at, !this.session.conversation_id);
    } catch {
      /* Unknown: leave the form as it is; sending works either way. */
    }
  }

  /** Full history over REST (paged), before the socket takes over from the last seq. */
  async loadHistory() {
    const c = this.conversation;
    c.addHistory(await fetchMessages(this.request, c.id, c.timeline.lastSeq));
    // Resolved while the page was away, and not rated yet: ask now.
    const now = await this.request('GET', `/api/v1/conversations/${encodeURIComponent(c.id)}`);
    if (now.status === 'resolved' && !now.rating) this.askRating();
  }

  /** An agent set the conversation's status: resolved asks for a rating; reopened, not yet. */
  statusChanged(f) {
    if (f.conversation_id !== this.conversation.id) return;
    if (f.status === 'resolved') this.askRating();
    else this.dropRating();
  }

  askRating() {
    if (this.rating) return;
    const id = this.conversation.id;
    this.rating = new RatingPrompt(this.t, (score, comment) =>
      this.request('POST', `/api/v1/conversations/${encodeURIComponent(id)}/rating`, { score, comment }),
    );
    this.view.log.append(this.rating.element);
    this.view.scrollToEnd();
  }

  dropRating() {
    if (this.rating) this.rating.element.remove();
    this.rating = null;
  }

  /** Drops a session the server no longer accepts (revoked, expired, data gone) and starts fresh. */
  forget() {
    this.socket.stop();
    this.conversation.close();
    this.session = { open: this.open };
    this.store.save(this.session);
    this.view.reset();
    this.dropRating();
    this.conversation = this.newConversation();
    this.updateUnread();
    this.showConnection();
  }

  async tokenStillValid() {
    try {
      await this.request('GET', '/api/v1/me');
      return true;
    } catch (e) {
      return !(e instanceof ApiError && e.status === 401);
    }
  }

  /** Creates the visitor and the conversation the first time the visitor writes. */
  ensureConversation() {
    if (this.conversation.id) return Promise.resolve();
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
      const offline = this.view.offline.visible ? this.view.offline.details() : null;
      if (offline && Object.keys(offline).length) {
        await this.request('PATCH', '/api/v1/visitors/me', offline);
        Object.assign(this.session, offline);
      }
      const c = await this.request('POST', '/api/v1/conversations');
      this.session.conversation_id = c.id;
      this.store.save(this.session);
      if (offline) this.view.offline.sent(offline.email);
      this.view.offline.offerTranscript(this.session.email);
    }
    if (!this.conversation.id) this.conversation.bind(this.session.conversation_id);
    if (this.socket.isOpen) this.conversation.resubscribe();
    else this.socket.start();
  }

  /** The composer's text: refused (and kept in the box) when over the server's byte limit. */
  write(text) {
    if (utf8Length(text) > this.maxBytes) {
      this.view.setInputError(this.t.tooLong(this.maxBytes));
      return false;
    }
    if (this.view.offline.visible && !this.view.offline.details()) {
      this.view.setInputError(this.t.invalidEmail);
      this.view.offline.email.focus();
      return false;
    }
    this.view.setInputError(null);
    this.send(text, []);
    return true;
  }

  async send(text, attachments) {
    this.view.showError(null);
    const c = this.conversation;
    c.send(text, { attachments });
    try {
      await this.ensureConversation();
    } catch (e) {
      c.failUnbound(e.message);
    }
  }

  retry(clientMsgId) {
    const c = this.conversation;
    c.retry(clientMsgId);
    // A send that failed before the conversation existed needs the conversation first.
    if (!c.id) this.ensureConversation().catch((e) => c.failUnbound(e.message));
  }

  async upload(file) {
    this.view.showError(null);
    try {
      await this.ensureConversation();
      this.view.showError(this.t.uploading(file.name));
      const id = await uploadFile(this.request, this.session.conversation_id, file);
      this.view.showError(null);
      await this.send('', [{ id, filename: file.name, size: file.size, content_type: file.type }]);
    } catch (e) {
      this.view.showError(e.message || this.t.errorGeneric);
    }
  }

  /** Gives the visitor's email, then asks for the transcript when the conversation is resolved. */
  async emailTranscript(email) {
    const id = this.session.conversation_id;
    if (!id) return;
    try {
      await this.request('PATCH', '/api/v1/visitors/me', { email });
      this.session.email = email;
      this.store.save(this.session);
      const r = await this.request('POST', `/api/v1/conversations/${encodeURIComponent(id)}/transcript/email`);
      this.view.offline.transcriptAnswer(r.sends === 'now' ? this.t.transcriptNow(r.email) : this.t.transcriptLater(r.email));
    } catch (e) {
      this.view.offline.transcriptAnswer(e.message || this.t.errorGeneric);
    }
  }

  onInput(text) {
    if (utf8Length(text) <= this.maxBytes) this.view.setInputError(null);
    this.conversation.input(text);
  }

  /** Tells the agent what the visitor has seen: only while the panel is open and visible. */
  markRead() {
    this.conversation.markRead();
    this.updateUnread();
  }

  /** The launcher's badge: replies after what the visitor has read, remembered across reloads. */
  updateUnread() {
    const readSeq = Math.max(this.session.read_seq || 0, this.conversation.sentRead);
    if (readSeq !== (this.session.read_seq || 0)) {
      this.session.read_seq = readSeq;
      this.store.save(this.session);
    }
    if (this.open) {
      this.view.setUnread(0);
      return;
    }
    let n = 0;
    for (const m of this.conversation.timeline.since(readSeq)) if (m.author.kind !== 'visitor') n++;
    this.view.setUnread(n);
  }
}
