// The websocket both screens share: reconnects by itself, and acts on the server's close codes
// (see reconnect.js for the policy). It knows nothing about conversations.

import { closeAction, reconnectDelay } from './reconnect.js';

const OPEN = 1; // WebSocket.OPEN, spelled out so tests can hand in a fake socket
const PING_EVERY_MS = 25_000;
const SILENCE_LIMIT_MS = 60_000;
/** A connection that stayed up this long was healthy: the next close starts backoff afresh. */
const HEALTHY_MS = 10_000;
/** Ask whether the token still works after this many failed attempts in a row. */
const AUTH_CHECK_EVERY = 3;

/** The subprotocol both sides speak (the server selects it, and never echoes the token). */
export const PROTOCOL = 'atendo.v1';

/**
 * Where and how to open the socket for `token`: the token travels as the offered subprotocol
 * `atendo.bearer.<token>` in Sec-WebSocket-Protocol, never in the URL, which ingress access
 * logs record. The one place the socket's address is built.
 */
export function socketTarget(origin, token) {
  const u = new URL('/api/v1/ws', origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return { url: u.href, protocols: [PROTOCOL, `atendo.bearer.${token}`] };
}

/**
 * A websocket that stays connected: backoff with jitter between attempts, a ping to keep
 * proxies from dropping an idle socket, a forced reconnect when the server goes silent, and
 * the server's close codes honoured (4001 signs out, 4008 resumes at once, 1012 spreads out,
 * 4029 waits long). `onOpen` runs after every (re)connect so the owner can subscribe again with
 * the last seq it saw; `onState` gets 'connecting' | 'online' | 'reconnecting' | 'offline'.
 * `onSignedOut(reason)` ('revoked' on 4001, 'expired' when `checkAuth()` says the token is
 * dead after failed attempts) ends the loop for good. `target()` answers `{url, protocols}`
 * (socketTarget), read anew for every attempt so a refreshed token is used; it may return a
 * Promise (a single-use ticket from REST would fit there).
 */
export class ChatSocket {
  constructor({ target, onFrame, onOpen, onState, checkAuth, onSignedOut, createSocket, random }) {
    Object.assign(this, { target, onFrame, onOpen, onState, checkAuth, onSignedOut });
    this.createSocket = createSocket || ((url, protocols) => new WebSocket(url, protocols));
    this.random = random || Math.random;
    this.ws = null;
    this.failures = 0; // connections in a row that failed or ended badly
    this.stopped = true;
    this.timer = null;
    this.pinger = null;
    this.lastHeard = 0;
    this.openedAt = 0;
    this.lastDelay = null; // what the last scheduleRetry chose; tests and logs read it
    this.online = () => this.retryNow();
    this.offline = () => this.setState('offline');
  }

  /** Binds `onFrame`/`onOpen` after construction, for owners whose parts need the socket first. */
  listen({ onFrame, onOpen }) {
    Object.assign(this, { onFrame, onOpen });
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    globalThis.addEventListener?.('online', this.online);
    globalThis.addEventListener?.('offline', this.offline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    globalThis.removeEventListener?.('online', this.online);
    globalThis.removeEventListener?.('offline', this.offline);
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'bye');
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === OPEN;
  }

  /** Sends a frame if the socket is open; returns whether it went out. */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    if (this.onState) this.onState(state);
  }

  retryNow() {
    if (this.stopped || this.ws || this.dialing) return;
    clearTimeout(this.timer);
    this.connect();
  }

  async connect() {
    this.setState(this.failures === 0 ? 'connecting' : 'reconnecting');
    let ws;
    this.dialing = true; // `target()` may be a REST round trip; an 'online' event must not dial twice
    try {
      const { url, protocols } = await this.target();
      if (this.stopped) return;
      ws = this.createSocket(url, protocols);
    } catch {
      this.scheduleRetry('retry');
      return;
    } finally {
      this.dialing = false;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.openedAt = Date.now();
      this.lastHeard = this.openedAt;
      this.setState('online');
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.heartbeat(), PING_EVERY_MS);
      if (this.onOpen) this.onOpen();
    };
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame.type !== 'pong') this.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      clearInterval(this.pinger);
      this.ws = null;
      if (this.openedAt && Date.now() - this.openedAt >= HEALTHY_MS) this.failures = 0;
      this.openedAt = 0;
      if (!this.stopped) this.scheduleRetry(closeAction(ev.code));
    };
  }

  heartbeat() {
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      // Half-open connection: nothing came back, not even pongs. Start over.
      if (this.ws) this.ws.close(4000, 'silent');
      return;
    }
    this.send({ type: 'ping' });
  }

  async scheduleRetry(action) {
    if (action === 'signed_out') return this.signOut('revoked');
    this.failures += 1;
    this.setState(globalThis.navigator?.onLine === false ? 'offline' : 'reconnecting');
    if (action === 'retry' && this.failures % AUTH_CHECK_EVERY === 0 && this.checkAuth) {
      let ok = true;
      try {
        ok = await this.checkAuth();
      } catch {
        ok = true; // The server is unreachable; that is not a verdict on the token.
      }
      if (!ok) return this.signOut('expired');
    }
    if (this.stopped) return;
    const delay = reconnectDelay(action, this.failures, this.random);
    this.lastDelay = { action, delay };
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  signOut(reason) {
    this.stop();
    if (this.onSignedOut) this.onSignedOut(reason);
  }
}
