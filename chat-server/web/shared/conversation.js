// One conversation as both screens see it, without any DOM: the seq-ordered timeline, sends
// that wait for the socket and are retried, typing both ways, read receipts, and resuming
// after a reconnect with `after_seq`. The widget's view and the console's thread render what
// it reports through `on`; they never speak the protocol themselves.

import { Timeline } from './timeline.js';
import { newClientMsgId } from './client.js';

/** Send "typing" again at most this often while keys keep coming. */
export const TYPING_REFRESH_MS = 3000;
/** No keystroke for this long counts as "stopped typing". */
export const TYPING_IDLE_MS = 4000;
/** A peer's "typing" without a follow-up expires: a lost "stopped" frame must not stick. */
export const TYPING_SHOW_MS = 8000;

const noop = () => {};

/**
 * `socket`: anything with `send(frame) -> bool` (a ChatSocket). `self`: 'visitor' | 'agent',
 * the side this screen writes as; the other side's typing and read frames are the ones shown.
 * `canMarkRead()`: whether the person is looking (tab visible, panel open).
 * `on`: { message(m, index, live), pending(p), typing(author|null), read(seq), subscribed(), error(text) };
 * a pending `p` is { clientMsgId, body, attachments, private, state: 'sending'|'failed'|'done', error }.
 */
export class ConversationClient {
  constructor({ socket, self, canMarkRead = () => true, on = {} }) {
    this.socket = socket;
    this.self = self;
    this.peer = self === 'agent' ? 'visitor' : 'agent';
    this.canMarkRead = canMarkRead;
    this.on = { message: noop, pending: noop, typing: noop, read: noop, subscribed: noop, error: noop, ...on };
    this.id = null;
    this.timeline = new Timeline();
    this.pending = new Map(); // client_msg_id -> pending entry, in the order written
    this.subscribed = false;
    this.peerRead = 0;
    this.sentRead = 0;
    this.typingSentAt = 0;
    this.typingIdle = null;
    this.typingHide = null;
  }

  /** The conversation now exists (the widget creates it on the first message). */
  bind(id) {
    this.id = id;
    for (const p of this.pending.values()) p.frame = p.frame || this.frameFor(p);
  }

  /** After every (re)connect: replay from the last seq shown, so nothing is missed or doubled. */
  resubscribe() {
    this.subscribed = false;
    if (!this.id) return;
    this.socket.send({ type: 'subscribe', conversation_id: this.id, after_seq: this.timeline.lastSeq });
  }

  /** Stops listening: before opening another conversation, or when the screen goes. */
  close() {
    this.stopTyping();
    clearTimeout(this.typingHide);
    // Also when the replay is still running: the server holds a subscription slot from `subscribe` on.
    if (this.id) this.socket.send({ type: 'unsubscribe', conversation_id: this.id });
    this.subscribed = false;
  }

  /** Messages fetched over REST (history, older pages): shown in place, not as live. */
  addHistory(messages) {
    for (const m of messages) this.accept(m, false);
  }

  /** The stored read state of the other side, when a conversation object carries it. */
  notePeerRead(seq) {
    if (seq > this.peerRead) {
      this.peerRead = seq;
      this.on.read(seq);
    }
  }

  /** Handles a frame if it belongs to this conversation; returns whether it did. */
  receive(f) {
    const conversationId = f.conversation_id || (f.message && f.message.conversation_id);
    if (!this.id || (conversationId && conversationId !== this.id)) return false;
    switch (f.type) {
      case 'subscribed':
        this.subscribed = true;
        // Sends that waited (or were in flight when the socket dropped) go out now; the server
        // dedupes by client_msg_id, so one that did arrive is not stored twice.
        for (const p of this.pending.values()) if (p.state === 'sending' && p.frame) this.socket.send(p.frame);
        this.markRead();
        this.on.subscribed();
        return true;
      case 'message':
      case 'ack':
        this.accept(f.message, true);
        return true;
      case 'typing':
        if (f.author && f.author.kind === this.peer) this.showPeerTyping(f.state ? f.author : null);
        return true;
      case 'read':
        if (f.author && f.author.kind === this.peer) this.notePeerRead(f.seq);
        return true;
      case 'error':
        if (f.ref && this.pending.has(f.ref)) this.setPending(this.pending.get(f.ref), 'failed', f.message);
        else this.on.error(f.message);
        return true;
      default:
        return false;
    }
  }

  accept(m, live) {
    const p = m.client_msg_id && this.pending.get(m.client_msg_id);
    if (p) {
      this.pending.delete(m.client_msg_id);
      this.setPending(p, 'done');
    }
    const index = this.timeline.insert(m);
    if (index < 0) return;
    if (m.author.kind === this.peer) this.showPeerTyping(null);
    this.on.message(m, index, live);
    if (live) this.markRead();
  }

  /**
   * Queues a message; it goes out now if subscribed, else as soon as the socket is back.
   * `private`: an agent's note, which the server delivers to agents only.
   */
  send(body, { attachments = [], private: note = false } = {}) {
    this.stopTyping();
    const p = { clientMsgId: newClientMsgId(), body, attachments, private: note, state: 'sending', error: null, frame: null };
    if (this.id) p.frame = this.frameFor(p);
    this.pending.set(p.clientMsgId, p);
    this.on.pending(p);
    if (this.subscribed && p.frame) this.socket.send(p.frame);
    return p;
  }

  /** A failed send, again, with the same client_msg_id (so a late success is not doubled). */
  retry(clientMsgId) {
    const p = this.pending.get(clientMsgId);
    if (!p || p.state !== 'failed') return;
    this.setPending(p, 'sending');
    if (this.subscribed && p.frame) this.socket.send(p.frame);
  }

  /** Sends still waiting for a conversation that could not be created fail with `message`. */
  failUnbound(message) {
    for (const p of this.pending.values()) if (!p.frame) this.setPending(p, 'failed', message);
  }

  frameFor(p) {
    const frame = {
      type: 'send',
      conversation_id: this.id,
      client_msg_id: p.clientMsgId,
      body: p.body,
      attachments: p.attachments.map((a) => a.id),
    };
    // Only when set: the field is the v1.1 contract's, and a reply's frame stays as v1 knew it.
    if (p.private) frame.private = true;
    return frame;
  }

  setPending(p, state, error = null) {
    p.state = state;
    p.error = error;
    this.on.pending(p);
  }

  /** The reply box changed: "typing" at most every TYPING_REFRESH_MS, "stopped" when idle or empty. */
  input(text) {
    if (!this.subscribed) return;
    clearTimeout(this.typingIdle);
    if (!text) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (!this.typingSentAt || now - this.typingSentAt >= TYPING_REFRESH_MS) {
      this.typingSentAt = now;
      this.socket.send({ type: 'typing', conversation_id: this.id, state: true });
    }
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (!this.typingSentAt) return;
    this.typingSentAt = 0;
    this.socket.send({ type: 'typing', conversation_id: this.id, state: false });
  }

  /** `author` while the peer types, null when it stops, writes, or the frame expires. */
  showPeerTyping(author) {
    clearTimeout(this.typingHide);
    this.on.typing(author);
    if (author) this.typingHide = setTimeout(() => this.on.typing(null), TYPING_SHOW_MS);
  }

  /** Tells the other side what has been seen, when the person is looking; returns the seq sent or 0. */
  markRead() {
    const seq = this.timeline.lastSeq;
    if (!this.subscribed || seq <= this.sentRead || !this.canMarkRead()) return 0;
    if (!this.socket.send({ type: 'read', conversation_id: this.id, seq })) return 0;
    this.sentRead = seq;
    return seq;
  }

  /**
   * The newest message from this side that the peer has read (0 if none): where "Seen" goes.
   * Never a private note: the visitor cannot have seen one.
   */
  seenSeq() {
    for (const m of this.timeline.latest()) {
      if (m.seq <= this.peerRead && m.author.kind === this.self && !m.private) return m.seq;
    }
    return 0;
  }
}
