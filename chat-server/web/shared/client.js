// The chat API as the widget and the console use it: REST with a bearer token, a websocket
// that reconnects by itself, and a seq-ordered timeline that drops duplicates.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `request(method, path, body?)` against `origin`, with `getToken()` as the bearer. */
export function createApi(origin, getToken) {
  return async function request(method, path, body) {
    const headers = { accept: 'application/json' };
    const token = getToken();
    if (token) headers.authorization = `Bearer ${token}`;
    // No cookies ever: the token is the only credential, so other sites gain nothing.
    const init = { method, headers, mode: 'cors', credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(origin + path, init);
    } catch (e) {
      throw new ApiError(0, 'network', `cannot reach ${origin}: ${e.message}`);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const err = data && data.error;
      throw new ApiError(
        res.status,
        (err && err.code) || `http_${res.status}`,
        (err && err.message) || `${method} ${path} answered HTTP ${res.status}`,
      );
    }
    return data;
  };
}

/** Every message after `afterSeq`, page by page, ascending. */
export async function fetchMessages(request, conversationId, afterSeq = 0, pageSize = 100) {
  const all = [];
  let cursor = afterSeq;
  for (;;) {
    const path = `/api/v1/conversations/${encodeURIComponent(conversationId)}/messages?after_seq=${cursor}&limit=${pageSize}`;
    const { messages } = await request('GET', path);
    all.push(...messages);
    if (messages.length < pageSize) return all;
    cursor = messages[messages.length - 1].seq;
  }
}

/** Uploads `file` through `POST /api/v1/uploads` and the URL it hands out; returns the attachment id. */
export async function uploadFile(request, conversationId, file) {
  const grant = await request('POST', '/api/v1/uploads', {
    conversation_id: conversationId,
    filename: file.name || 'file',
    content_type: file.type || 'application/octet-stream',
    size: file.size,
  });
  let res;
  try {
    res = await fetch(grant.upload_url, {
      method: grant.method || 'PUT',
      headers: grant.headers || {},
      body: file,
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network', `upload of ${file.name} failed: ${e.message}`);
  }
  if (!res.ok) {
    throw new ApiError(res.status, 'upload_failed', `upload of ${file.name} answered HTTP ${res.status}`);
  }
  return grant.attachment_id;
}

/**
 * Fetches an attachment and saves it as a file. The API hands out a short-lived URL, fetched
 * from this page's origin: following the API's redirect instead would reach the bucket with
 * `Origin: null`, which its CORS rule rightly refuses.
 */
export async function downloadAttachment(origin, token, attachment) {
  const grant = await fetch(`${origin}/api/v1/attachments/${encodeURIComponent(attachment.id)}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    credentials: 'omit',
  });
  if (!grant.ok) throw new ApiError(grant.status, 'download_failed', `download answered HTTP ${grant.status}`);
  const { url: fileUrl } = await grant.json();
  // Relative when the server has no public URL: relative to the API, as a redirect would be.
  const res = await fetch(new URL(fileUrl, origin).href, { credentials: 'omit' });
  if (!res.ok) throw new ApiError(res.status, 'download_failed', `download answered HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = attachment.filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** A client_msg_id; works outside secure contexts, where crypto.randomUUID is missing. */
export function newClientMsgId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `ws(s)://host/api/v1/ws?token=…` for an http(s) origin. */
export function socketUrl(origin, token) {
  const u = new URL('/api/v1/ws', origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('token', token);
  return u.href;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const PING_EVERY_MS = 25_000;
const SILENCE_LIMIT_MS = 60_000;

/**
 * A websocket that stays connected: exponential backoff with jitter between attempts, a ping
 * to keep proxies from dropping an idle socket, and a forced reconnect when the server goes
 * silent. `onOpen` runs after every (re)connect so the owner can subscribe again with the
 * last seq it saw; `onState` gets 'connecting' | 'online' | 'reconnecting' | 'offline'.
 * `checkAuth()` (async, true when the token is still good) is asked after failed attempts,
 * so a dead token ends the loop through `onAuthLost` instead of retrying forever.
 */
export class ChatSocket {
  constructor({ url, onFrame, onOpen, onState, checkAuth, onAuthLost }) {
    Object.assign(this, { url, onFrame, onOpen, onState, checkAuth, onAuthLost });
    this.ws = null;
    this.failures = 0;
    this.stopped = true;
    this.timer = null;
    this.pinger = null;
    this.lastHeard = 0;
    this.online = () => this.retryNow();
    this.offline = () => this.setState('offline');
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.online);
    window.addEventListener('offline', this.offline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.online);
    window.removeEventListener('offline', this.offline);
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000, 'bye');
    this.ws = null;
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
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
    if (this.stopped || this.isOpen) return;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    this.setState(this.failures === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.failures = 0;
      this.lastHeard = Date.now();
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
    ws.onclose = () => {
      if (this.ws !== ws) return;
      clearInterval(this.pinger);
      this.ws = null;
      if (!this.stopped) this.scheduleRetry();
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

  async scheduleRetry() {
    this.failures += 1;
    this.setState(navigator.onLine === false ? 'offline' : 'reconnecting');
    if (this.failures % 3 === 0 && this.checkAuth) {
      let ok = true;
      try {
        ok = await this.checkAuth();
      } catch {
        ok = true; // The server is unreachable; that is not a verdict on the token.
      }
      if (!ok) {
        this.stop();
        if (this.onAuthLost) this.onAuthLost();
        return;
      }
    }
    if (this.stopped) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.failures - 1, 10));
    // "Equal jitter": at least half the ceiling, so retries spread out without hammering.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

/** Messages of one conversation by seq: each seq once, in order. */
export class Timeline {
  constructor() {
    this.seqs = [];
    this.bySeq = new Map();
  }

  get lastSeq() {
    return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
  }

  get firstSeq() {
    return this.seqs.length ? this.seqs[0] : 0;
  }

  get size() {
    return this.seqs.length;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  get(seq) {
    return this.bySeq.get(seq);
  }

  /** Adds a message; returns its index in seq order, or -1 if that seq is already here. */
  insert(message) {
    if (this.bySeq.has(message.seq)) return -1;
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid] < message.seq) lo = mid + 1;
      else hi = mid;
    }
    this.seqs.splice(lo, 0, message.seq);
    this.bySeq.set(message.seq, message);
    return lo;
  }
}
