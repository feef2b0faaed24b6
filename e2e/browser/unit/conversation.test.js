// ConversationClient driven by a fake socket: sends, retries, resume, typing and receipts.

import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ConversationClient, TYPING_REFRESH_MS, TYPING_IDLE_MS, TYPING_SHOW_MS } from '../../../chat-server/web/shared/conversation.js';

/** Records frames; `open` decides whether send() succeeds, like ChatSocket.send. */
function fakeSocket() {
  return {
    open: true,
    frames: [],
    send(f) {
      if (!this.open) return false;
      this.frames.push(f);
      return true;
    },
    take(type) {
      const picked = this.frames.filter((f) => f.type === type);
      this.frames = this.frames.filter((f) => f.type !== type);
      return picked;
    },
  };
}

const C = 'conv-1';
const visitor = { kind: 'visitor', id: 'v1', name: 'Ana' };
const agent = { kind: 'agent', id: 'a1', name: 'Bia' };
const stored = (seq, author, extra = {}) => ({ id: `m${seq}`, conversation_id: C, seq, author, body: `b${seq}`, attachments: [], ...extra });

let socket;
let seen;
let looking;

function client(self = 'agent') {
  seen = { messages: [], pending: [], typing: [], read: [], errors: [] };
  const c = new ConversationClient({
    socket,
    self,
    canMarkRead: () => looking,
    on: {
      message: (m, index, live) => seen.messages.push([m.seq, index, live]),
      pending: (p) => seen.pending.push([p.clientMsgId, p.state, p.error]),
      typing: (a) => seen.typing.push(a && a.name),
      read: (seq) => seen.read.push(seq),
      error: (text) => seen.errors.push(text),
    },
  });
  c.bind(C);
  return c;
}

beforeEach(() => {
  socket = fakeSocket();
  looking = true;
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
});

afterEach(() => mock.timers.reset());

test('a send made before the subscription completes goes out once it does', () => {
  const c = client();
  c.resubscribe();
  assert.deepEqual(socket.take('subscribe'), [{ type: 'subscribe', conversation_id: C, after_seq: 0 }]);
  const p = c.send('olá');
  assert.deepEqual(socket.take('send'), [], 'not while the replay runs');
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 0 });
  assert.deepEqual(socket.take('send'), [{ type: 'send', conversation_id: C, client_msg_id: p.clientMsgId, body: 'olá', attachments: [] }]);
  c.receive({ type: 'ack', client_msg_id: p.clientMsgId, message: stored(1, agent, { client_msg_id: p.clientMsgId }) });
  assert.deepEqual(seen.pending.map(([, s]) => s), ['sending', 'done']);
  assert.deepEqual(seen.messages, [[1, 0, true]]);
  assert.equal(c.pending.size, 0);
});

test('a private note goes out marked private, also when resent after a reconnect; a reply never is', () => {
  const c = client();
  c.resubscribe();
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 0 });
  const note = c.send('só para a equipe', { private: true });
  const reply = c.send('olá');
  assert.deepEqual(
    socket.take('send').map((f) => [f.client_msg_id, f.private]),
    [[note.clientMsgId, true], [reply.clientMsgId, undefined]],
  );
  c.resubscribe();
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 0 });
  assert.deepEqual(socket.take('send').map((f) => f.private), [true, undefined]);
  assert.equal(note.private, true, 'the pending entry says so, for the screen to show it as a note');
});

test('after a reconnect it resumes from the last seq and resends what was in flight, with the same id', () => {
  const c = client();
  c.resubscribe();
  c.addHistory([stored(1, visitor), stored(2, visitor)]);
  socket.take('subscribe');
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 2 });
  const p = c.send('em trânsito');
  assert.equal(socket.take('send').length, 1);
  // The socket drops before the ack; the owner resubscribes on reconnect.
  c.resubscribe();
  assert.deepEqual(socket.take('subscribe'), [{ type: 'subscribe', conversation_id: C, after_seq: 2 }]);
  c.receive({ type: 'message', message: stored(3, visitor) }); // replayed
  c.receive({ type: 'message', message: stored(2, visitor) }); // a duplicate, dropped
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 3 });
  const resent = socket.take('send');
  assert.deepEqual(resent.map((f) => f.client_msg_id), [p.clientMsgId], 'the server dedupes by client_msg_id');
  assert.deepEqual(seen.messages.map(([s]) => s), [1, 2, 3]);
});

test('a refused send fails with the reason and is retried on demand, in the console as in the widget', () => {
  for (const self of ['agent', 'visitor']) {
    socket = fakeSocket();
    const c = client(self);
    c.resubscribe();
    c.receive({ type: 'subscribed', conversation_id: C, last_seq: 0 });
    const p = c.send('x');
    socket.take('send');
    c.receive({ type: 'error', code: 'rate_limited', message: 'slow down', ref: p.clientMsgId });
    assert.deepEqual(seen.pending.at(-1), [p.clientMsgId, 'failed', 'slow down']);
    c.retry(p.clientMsgId);
    assert.deepEqual(seen.pending.at(-1), [p.clientMsgId, 'sending', null]);
    assert.deepEqual(socket.take('send').map((f) => f.client_msg_id), [p.clientMsgId]);
  }
});

test('sends written before the conversation exists wait for bind(), or fail together', () => {
  const c = new ConversationClient({ socket, self: 'visitor' });
  const states = [];
  c.on.pending = (p) => states.push(p.state);
  const a = c.send('primeira');
  c.failUnbound('network down');
  assert.equal(a.state, 'failed');
  c.retry(a.clientMsgId);
  c.bind(C);
  c.resubscribe();
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 0 });
  assert.deepEqual(socket.take('send').map((f) => f.body), ['primeira']);
  assert.deepEqual(states, ['sending', 'failed', 'sending']);
});

test('frames of other conversations are left alone', () => {
  const c = client();
  assert.equal(c.receive({ type: 'message', message: { ...stored(1, visitor), conversation_id: 'other' } }), false);
  assert.equal(c.receive({ type: 'typing', conversation_id: 'other', author: visitor, state: true }), false);
  assert.equal(c.receive({ type: 'conversation', conversation: {} }), false);
  assert.deepEqual(seen.messages, []);
});

test('typing goes out at most every 3 s, and "stopped" after 4 s idle', () => {
  const c = client();
  c.resubscribe();
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 0 });
  socket.take('read');
  c.input('o');
  mock.timers.tick(1000);
  c.input('ol');
  mock.timers.tick(1000);
  c.input('olá');
  assert.deepEqual(socket.take('typing').map((f) => f.state), [true]);
  mock.timers.tick(TYPING_REFRESH_MS);
  c.input('olá!');
  assert.deepEqual(socket.take('typing').map((f) => f.state), [true], 'refreshed while typing goes on');
  mock.timers.tick(TYPING_IDLE_MS);
  assert.deepEqual(socket.take('typing').map((f) => f.state), [false]);
  c.input('de novo');
  c.send('de novo');
  assert.deepEqual(socket.take('typing').map((f) => f.state), [true, false], 'sending ends typing');
});

test("the peer's typing shows, expires after 8 s, and ends with their message", () => {
  const c = client('agent');
  c.receive({ type: 'typing', conversation_id: C, author: visitor, state: true });
  c.receive({ type: 'typing', conversation_id: C, author: agent, state: true }); // my own side: not shown
  assert.deepEqual(seen.typing, ['Ana']);
  mock.timers.tick(TYPING_SHOW_MS);
  assert.deepEqual(seen.typing, ['Ana', null]);
  c.receive({ type: 'typing', conversation_id: C, author: visitor, state: true });
  c.receive({ type: 'message', message: stored(1, visitor) });
  assert.deepEqual(seen.typing, ['Ana', null, 'Ana', null]);
});

test('read receipts: sent only while looking, once per seq; "Seen" is the newest own message the peer read', () => {
  const c = client('agent');
  c.resubscribe();
  looking = false;
  c.receive({ type: 'message', message: stored(1, visitor) });
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 1 });
  assert.deepEqual(socket.take('read'), [], 'not while the tab is hidden');
  looking = true;
  assert.equal(c.markRead(), 1);
  assert.equal(c.markRead(), 0, 'not twice');
  assert.deepEqual(socket.take('read'), [{ type: 'read', conversation_id: C, seq: 1 }]);

  c.receive({ type: 'message', message: stored(2, agent) });
  c.receive({ type: 'message', message: stored(3, agent) });
  assert.equal(c.seenSeq(), 0);
  c.receive({ type: 'read', conversation_id: C, author: visitor, seq: 2 });
  c.receive({ type: 'read', conversation_id: C, author: agent, seq: 3 }); // another agent: not the peer
  assert.deepEqual(seen.read, [2]);
  assert.equal(c.seenSeq(), 2);
  c.notePeerRead(1); // older stored state never moves it back
  assert.equal(c.seenSeq(), 2);
  // A note the visitor never got is not "Seen", even below the visitor's read seq.
  c.receive({ type: 'message', message: stored(4, agent, { private: true }) });
  c.receive({ type: 'message', message: stored(5, visitor) });
  c.receive({ type: 'read', conversation_id: C, author: visitor, seq: 5 });
  assert.equal(c.seenSeq(), 3);
});

test('closing unsubscribes and ends my typing', () => {
  const c = client();
  c.resubscribe();
  c.receive({ type: 'subscribed', conversation_id: C, last_seq: 0 });
  c.input('a');
  socket.frames = [];
  c.close();
  assert.deepEqual(socket.frames.map((f) => [f.type, f.state]), [['typing', false], ['unsubscribe', undefined]]);
});
