// A small OpenID Connect issuer for the console's single sign-on test (no cloud): discovery,
// JWKS, /authorize with a login page where the test picks a user, /token for the authorization
// code flow with PKCE (S256 only; a wrong code_verifier is refused), single-use codes, a session
// cookie so that `prompt=none` works, and CORS for the console's origin only.
//
// Keys come from node:crypto (RSA 2048, RS256), so there is nothing to install. It binds
// 127.0.0.1 port 0; `close()` stops it.
//
//   const issuer = await startIssuer({ clientId, redirectUris: [console + '/'], origins: [console],
//     users: [{ id: 'ana', email: 'ana@acme.test', email_verified: true, groups: [] }] });

import crypto from 'node:crypto';
import http from 'node:http';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const random = (n = 24) => b64url(crypto.randomBytes(n));

/** S256 of a PKCE verifier (RFC 7636 section 4.2). */
export function s256(verifier) {
  return b64url(crypto.createHash('sha256').update(verifier, 'ascii').digest());
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function startIssuer({ clientId, redirectUris, origins, users, tokenTtlSeconds = 3600 }) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = random(8);
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map(); // code -> {user, clientId, redirectUri, challenge, nonce}
  const sessions = new Map(); // cookie value -> user id
  const cookieName = `e2e_issuer_${random(4)}`;
  // What the test may assert on: every /authorize and /token request, and each refusal's reason.
  const log = { authorize: [], token: [], refusals: [] };
  let url;

  function sign(claims) {
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
    const payload = b64url(JSON.stringify(claims));
    const signature = crypto.sign('sha256', Buffer.from(`${header}.${payload}`), privateKey);
    return `${header}.${payload}.${b64url(signature)}`;
  }

  function idToken(user, code) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: url,
      sub: `sub-${user.id}`,
      aud: code.clientId,
      iat: now,
      exp: now + (user.ttl || tokenTtlSeconds),
      nonce: code.nonce,
      email: user.email,
      email_verified: user.email_verified,
      name: user.name || user.id,
    };
    if (user.groups) claims.groups = user.groups;
    return sign(claims);
  }

  function cors(req, res) {
    const origin = req.headers.origin;
    if (origin && origins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
    }
  }

  function json(res, status, body) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  function redirect(res, to, params, cookie) {
    const u = new URL(to);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
    const headers = { location: u.href };
    if (cookie) headers['set-cookie'] = `${cookieName}=${cookie}; Path=/; HttpOnly; SameSite=Lax`;
    res.writeHead(302, headers);
    res.end();
  }

  /** The checks an authorization request must pass; answers an error code or null. */
  function invalidAuthorize(q) {
    if (q.get('client_id') !== clientId) return 'unknown client_id';
    if (!redirectUris.includes(q.get('redirect_uri'))) return 'redirect_uri not registered';
    return null;
  }

  function issueCode(res, q, user, cookie) {
    const code = random();
    codes.set(code, {
      user,
      clientId: q.get('client_id'),
      redirectUri: q.get('redirect_uri'),
      challenge: q.get('code_challenge'),
      nonce: q.get('nonce'),
    });
    redirect(res, q.get('redirect_uri'), { code, state: q.get('state') }, cookie);
  }

  function loginPage(res, q) {
    const hidden = [...q].map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    const buttons = users
      .map((u) => `<button name="user" value="${escapeHtml(u.id)}">Sign in as ${escapeHtml(u.id)} (${escapeHtml(u.email)})</button>`)
      .join('\n');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test issuer</title></head><body>
<h1>Test issuer</h1><form method="post" action="/authorize/login">${hidden}
${buttons}
<button name="deny" value="1">Deny</button></form></body></html>`);
  }

  async function readForm(req) {
    let body = '';
    for await (const chunk of req) {
      body += chunk;
      if (body.length > 65536) throw new Error('body too large');
    }
    return new URLSearchParams(body);
  }

  function token(res, form) {
    const refuse = (error, why) => {
      log.refusals.push(why);
      json(res, 400, { error, error_description: why });
    };
    if (form.get('grant_type') !== 'authorization_code') return refuse('unsupported_grant_type', 'only authorization_code');
    const code = codes.get(form.get('code'));
    // Single use: the code is gone after this request, whatever its outcome.
    codes.delete(form.get('code'));
    if (!code) return refuse('invalid_grant', 'unknown or already used code');
    if (form.get('client_id') !== code.clientId) return refuse('invalid_grant', 'code issued to another client');
    if (form.get('redirect_uri') !== code.redirectUri) return refuse('invalid_grant', 'redirect_uri differs');
    const verifier = form.get('code_verifier') || '';
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) || s256(verifier) !== code.challenge) {
      return refuse('invalid_grant', 'PKCE verification failed');
    }
    json(res, 200, { token_type: 'Bearer', access_token: random(), expires_in: 3600, id_token: idToken(code.user, code) });
  }

  async function handle(req, res) {
    const u = new URL(req.url, url);
    cors(req, res);
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST');
      res.setHeader('access-control-allow-headers', 'content-type, accept');
      res.writeHead(204);
      return res.end();
    }
    if (req.method === 'GET' && u.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer: url,
        authorization_endpoint: `${url}/authorize`,
        token_endpoint: `${url}/token`,
        jwks_uri: `${url}/jwks.json`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        prompt_values_supported: ['none', 'login'],
        scopes_supported: ['openid', 'email', 'profile'],
        token_endpoint_auth_methods_supported: ['none'],
      });
    }
    if (req.method === 'GET' && u.pathname === '/jwks.json') return json(res, 200, { keys: [jwk] });
    if (req.method === 'GET' && u.pathname === '/authorize') {
      const q = u.searchParams;
      log.authorize.push(Object.fromEntries(q));
      const bad = invalidAuthorize(q);
      // Never redirect to an unregistered address: say so here instead.
      if (bad) return json(res, 400, { error: 'invalid_request', error_description: bad });
      const back = (error, description) => redirect(res, q.get('redirect_uri'), { error, error_description: description, state: q.get('state') });
      if (q.get('response_type') !== 'code') return back('unsupported_response_type', 'only code');
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return back('invalid_request', 'PKCE with S256 is required');
      if (q.get('prompt') === 'none') {
        const cookie = (req.headers.cookie || '').split(/;\s*/).find((c) => c.startsWith(`${cookieName}=`));
        const user = cookie && users.find((x) => x.id === sessions.get(cookie.slice(cookieName.length + 1)));
        if (!user) return back('login_required', 'no session at the issuer');
        return issueCode(res, q, user);
      }
      return loginPage(res, q);
    }
    if (req.method === 'POST' && u.pathname === '/authorize/login') {
      const q = await readForm(req);
      const bad = invalidAuthorize(q);
      if (bad) return json(res, 400, { error: 'invalid_request', error_description: bad });
      if (q.get('deny')) return redirect(res, q.get('redirect_uri'), { error: 'access_denied', error_description: 'the user declined', state: q.get('state') });
      const user = users.find((x) => x.id === q.get('user'));
      if (!user) return json(res, 400, { error: 'invalid_request', error_description: 'no such user' });
      const session = random();
      sessions.set(session, user.id);
      ['user', 'deny'].forEach((k) => q.delete(k));
      return issueCode(res, q, user, session);
    }
    if (req.method === 'POST' && u.pathname === '/token') {
      const form = await readForm(req);
      log.token.push(Object.fromEntries(form));
      return token(res, form);
    }
    json(res, 404, { error: 'not_found' });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: e.message });
      else res.end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    log,
    /** Codes not yet exchanged (the test reads this to show single use). */
    pendingCodes: () => codes.size,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
