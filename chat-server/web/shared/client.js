// The chat API's REST side as the widget and the console use it: requests with a bearer token,
// paged history, uploads and downloads. The websocket is socket.js; one conversation's state is
// conversation.js.

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

/**
 * Every item of a paged list (`{[field]: [...], next}`, newest first), following `next` until it
 * is null: for the lists a screen shows whole, such as the desk's agents and teams.
 */
export async function allPages(request, path, field, limit = 200) {
  const all = [];
  let before = null;
  do {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before) q.set('before', before);
    const page = await request('GET', `${path}?${q}`);
    all.push(...page[field]);
    before = page.next;
  } while (before);
  return all;
}

/** Every agent, oldest first (the first admin on top, newcomers below) as the console lists them. */
export async function allAgents(request) {
  return (await allPages(request, '/api/v1/agents', 'agents')).reverse();
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

/**
 * GETs `path` with the bearer token and saves the answer as a file, named as the server's
 * Content-Disposition says (else `fallbackName`): a transcript, the tenant export. Returns the
 * name it was saved under.
 */
export async function downloadFile(origin, token, path, fallbackName) {
  let res;
  try {
    res = await fetch(origin + path, { headers: { authorization: `Bearer ${token}` }, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `cannot reach ${origin}: ${e.message}`);
  }
  if (!res.ok) {
    let err = null;
    try {
      err = (await res.json()).error;
    } catch {
      err = null;
    }
    throw new ApiError(res.status, (err && err.code) || `http_${res.status}`, (err && err.message) || `${path} answered HTTP ${res.status}`);
  }
  const disposition = res.headers.get('content-disposition') || '';
  const named = /filename="([^"]+)"/.exec(disposition);
  const filename = named ? named[1] : fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  return filename;
}

/** A client_msg_id; works outside secure contexts, where crypto.randomUUID is missing. */
export function newClientMsgId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
