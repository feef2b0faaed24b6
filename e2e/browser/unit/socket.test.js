// ChatSocket driven by a fake WebSocket and mocked timers: what it does on each close code.

import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ChatSocket, socketTarget } from '../../../chat-server/web/shared/socket.js';

/** Stands in for the browser's WebSocket: the test opens and closes it by hand. */
class FakeWs {
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
  }
  open() {
    this.readyState = 1;
    this.onopen();
  }
  serverClose(code) {
    this.readyState = 3;
    this.onclose({ code });
  }
  close(code) {
    this.readyState = 3;
    this.closedWith = code;
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
}

let sockets;
let events;

function makeSocket(extra = {}) {
  return new ChatSocket({
    target: () => socketTarget('http://chat.test', 'tok.en'),
    createSocket: (url, protocols) => {
      const ws = new FakeWs(url, protocols);
      sockets.push(ws);
      return ws;
    },
    random: () => 0, // the low end of every jitter window
    onFrame: (f) => events.push(['frame', f.type]),
    onOpen: () => events.push(['open']),
    onState: (s) => events.push(['state', s]),
    onSignedOut: (reason) => events.push(['signed_out', reason]),
    ...extra,
  });
}

/** Lets the awaited `url()` of a connect attempt run. */
const settle = () => new Promise((r) => setImmediate(r));

beforeEach(() => {
  sockets = [];
  events = [];
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
});

afterEach(() => mock.timers.reset());

async function connected(s) {
  s.start();
  await settle();
  sockets.at(-1).open();
  return sockets.at(-1);
}

test('4001 signs out and never dials again', async () => {
  const s = makeSocket();
  const ws = await connected(s);
  ws.serverClose(4001);
  assert.deepEqual(events.at(-1), ['signed_out', 'revoked']);
  mock.timers.tick(10 * 60_000);
  await settle();
  assert.equal(sockets.length, 1);
  assert.equal(s.stopped, true);
});

test('4008 after a healthy connection reconnects at once, and the owner resubscribes', async () => {
  const s = makeSocket();
  const ws = await connected(s);
  mock.timers.tick(30_000);
  ws.serverClose(4008);
  assert.deepEqual(s.lastDelay, { action: 'resume', delay: 0 });
  mock.timers.tick(0);
  await settle();
  assert.equal(sockets.length, 2);
  sockets[1].open();
  assert.equal(events.filter(([e]) => e === 'open').length, 2, 'onOpen runs again so the owner subscribes with after_seq');
});

test('4008 right after connecting, again and again, backs off instead of looping', async () => {
  const s = makeSocket();
  let ws = await connected(s);
  const delays = [];
  for (let i = 0; i < 4; i++) {
    ws.serverClose(4008);
    delays.push(s.lastDelay.delay);
    mock.timers.tick(s.lastDelay.delay);
    await settle();
    ws = sockets.at(-1);
    ws.open();
  }
  assert.equal(delays[0], 0);
  assert.ok(delays[1] > 0 && delays[2] > delays[1] && delays[3] > delays[2], `delays ${delays}`);
});

test('1012 reconnects after a backoff, not at once', async () => {
  const s = makeSocket();
  const ws = await connected(s);
  mock.timers.tick(30_000);
  ws.serverClose(1012);
  assert.equal(s.lastDelay.action, 'restart');
  assert.ok(s.lastDelay.delay >= 500);
  mock.timers.tick(s.lastDelay.delay - 1);
  await settle();
  assert.equal(sockets.length, 1, 'not yet');
  mock.timers.tick(1);
  await settle();
  assert.equal(sockets.length, 2);
  assert.ok(events.some(([e, st]) => e === 'state' && st === 'reconnecting'));
});

test('4029 waits at least 30 s before the next attempt', async () => {
  const s = makeSocket();
  const ws = await connected(s);
  ws.serverClose(4029);
  assert.equal(s.lastDelay.action, 'misbehaving');
  mock.timers.tick(29_999);
  await settle();
  assert.equal(sockets.length, 1, 'no reconnect inside 30 s');
  mock.timers.tick(s.lastDelay.delay);
  await settle();
  assert.equal(sockets.length, 2);
});

test('failed attempts ask whether the token still works, and a dead one signs out', async () => {
  let asked = 0;
  const s = makeSocket({ checkAuth: async () => (asked++, false) });
  await connected(s);
  for (let i = 0; i < 3 && !s.stopped; i++) {
    sockets.at(-1).serverClose(1006);
    await settle();
    if (s.lastDelay && !s.stopped) {
      mock.timers.tick(s.lastDelay.delay);
      await settle();
    }
  }
  assert.equal(asked, 1);
  assert.deepEqual(events.at(-1), ['signed_out', 'expired']);
});

test('the token travels as a subprotocol, never in the URL', async () => {
  const s = makeSocket();
  const ws = await connected(s);
  assert.equal(ws.url, 'ws://chat.test/api/v1/ws');
  assert.deepEqual(ws.protocols, ['atendo.v1', 'atendo.bearer.tok.en']);
  assert.equal(socketTarget('https://chat.example', 't').url, 'wss://chat.example/api/v1/ws');
});

test('frames reach the owner, pongs do not; send only works while open', async () => {
  const s = makeSocket();
  assert.equal(s.send({ type: 'ping' }), false);
  const ws = await connected(s);
  ws.onmessage({ data: '{"type":"pong"}' });
  ws.onmessage({ data: '{"type":"message"}' });
  ws.onmessage({ data: 'not json' });
  assert.deepEqual(events.filter(([e]) => e === 'frame'), [['frame', 'message']]);
  assert.equal(s.send({ type: 'ping' }), true);
  assert.deepEqual(ws.sent, [{ type: 'ping' }]);
});
