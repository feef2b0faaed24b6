// Console single sign-on: the OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256)
// against the tenant's OIDC issuer, as a public client (a browser keeps no secret). The ID token
// it ends with is the console's bearer token on REST and the websocket, as a password token is.
//
// Why each check: PKCE binds the code to this tab (a code read from a log, a referrer or a
// malicious app cannot be exchanged without the verifier that never left sessionStorage); `state`
// refuses callbacks this tab did not start (login CSRF: being signed in as someone else); the ID
// token's `nonce` refuses a token minted for another sign-in and replayed into this one.
//
// The first half is pure (unit-tested in e2e/browser/unit/sso.test.js); `SingleSignOn` does the
// redirects and the token request with what it is handed, so tests can hand in fakes.

import { createApi, ApiError } from '../shared/client.js';
import { h } from '../shared/dom.js';

/** The sign-in this tab started and has not finished: sessionStorage, one entry. */
export const PENDING_KEY = 'atendo.console.sso';
/** Renew this long before the ID token expires (less for short-lived tokens: see renewAt). */
export const RENEW_MARGIN_S = 60;
/** Callback errors a `prompt=none` attempt answers when the issuer needs the person. */
const NEEDS_INTERACTION = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/** A sign-in that failed for a reason the person can be told (`code` picks the words). */
export class SsoError extends Error {
  constructor(code, detail = '') {
    super(detail ? `${code}: ${detail}` : code);
    this.code = code;
    this.detail = detail;
  }
}

export function base64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `bytes` random bytes as base64url: 32 give 43 characters, as RFC 7636 asks of a verifier. */
export function randomString(bytes = 32, cryptoImpl = globalThis.crypto) {
  return base64url(cryptoImpl.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 challenge of `verifier`: base64url(SHA-256(ASCII verifier)). */
export async function challengeOf(verifier, cryptoImpl = globalThis.crypto) {
  const digest = await cryptoImpl.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export async function pkcePair(cryptoImpl = globalThis.crypto) {
  const verifier = randomString(32, cryptoImpl);
  return { verifier, challenge: await challengeOf(verifier, cryptoImpl) };
}

/** OIDC Discovery: `{issuer}/.well-known/openid-configuration` (one slash, whatever the issuer ends with). */
export function discoveryUrl(issuer) {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** The parts of a discovery document the console uses; refuses one for another issuer. */
export function checkDiscovery(doc, issuer) {
  if (!doc || doc.issuer !== issuer) {
    throw new SsoError('discovery', `the discovery document names issuer ${doc && doc.issuer}, not ${issuer}`);
  }
  for (const key of ['authorization_endpoint', 'token_endpoint']) {
    if (typeof doc[key] !== 'string' || !/^https?:\/\//.test(doc[key])) throw new SsoError('discovery', `no ${key}`);
  }
  const methods = doc.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256')) throw new SsoError('discovery', 'the issuer does not offer PKCE with S256');
  return doc;
}

/** Whether a silent (`prompt=none`) attempt is worth it: unless the issuer lists prompts without it. */
export function supportsPromptNone(doc) {
  return !Array.isArray(doc.prompt_values_supported) || doc.prompt_values_supported.includes('none');
}

/** Where to send the browser: the authorization request of the code flow with PKCE. */
export function authorizeUrl(doc, { clientId, redirectUri, state, nonce, challenge, prompt, scope = 'openid email profile' }) {
  const u = new URL(doc.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  if (prompt) params.prompt = prompt;
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

/** The callback's parameters, or null when this page load is no sign-in callback. */
export function parseCallback(search) {
  const q = new URLSearchParams(search);
  if (!q.has('state') || !(q.has('code') || q.has('error'))) return null;
  const state = q.get('state');
  if (q.has('error')) return { state, error: q.get('error'), description: q.get('error_description') || '' };
  return { state, code: q.get('code') };
}

/**
 * The code to exchange, if `callback` answers the sign-in `pending` describes. Throws
 * SsoError 'state_mismatch' (not this tab's sign-in, or no sign-in pending), 'interaction_required'
 * (a silent attempt needs the person), 'issuer_error' (the issuer said no).
 */
export function checkCallback(pending, callback) {
  if (!pending || typeof pending.state !== 'string' || callback.state !== pending.state) {
    throw new SsoError('state_mismatch');
  }
  if (callback.error) {
    if (pending.silent && NEEDS_INTERACTION.has(callback.error)) throw new SsoError('interaction_required', callback.error);
    const detail = callback.description ? `${callback.error} (${callback.description})` : callback.error;
    throw new SsoError('issuer_error', detail);
  }
  if (!callback.code) throw new SsoError('issuer_error', 'no code');
  return callback.code;
}

/** The token request body (form-encoded): a public client proves the flow with the verifier. */
export function tokenRequestBody({ code, verifier, redirectUri, clientId }) {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    code_verifier: verifier,
  }).toString();
}

/** A JWT's claims, unverified: the server verifies the signature; the console only reads. */
export function decodeJwtPayload(jwt) {
  const part = typeof jwt === 'string' ? jwt.split('.')[1] : undefined;
  if (!part) throw new SsoError('bad_token', 'not a JWT');
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    throw new SsoError('bad_token', 'unreadable claims');
  }
}

/** Whether a stored ID token is past its `exp`; an unreadable one counts as expired. */
export function isExpired(token, now = Date.now()) {
  try {
    return !(decodeJwtPayload(token).exp * 1000 > now);
  } catch {
    return true;
  }
}

/** Refuses an ID token that is not the answer to this sign-in (nonce) or not for this console. */
export function checkIdToken(claims, { nonce, issuer, clientId, now = Date.now() }) {
  if (typeof claims.nonce !== 'string' || claims.nonce !== nonce) throw new SsoError('nonce_mismatch');
  if (claims.iss !== issuer) throw new SsoError('bad_token', `issued by ${claims.iss}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(clientId)) throw new SsoError('bad_token', 'issued for another client');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) throw new SsoError('bad_token', 'already expired');
  return claims;
}

/**
 * When to renew (ms since the epoch): RENEW_MARGIN_S before `exp`, but not before half the
 * token's life has passed, so a short-lived token is not renewed in a loop.
 */
export function renewAt(claims, margin = RENEW_MARGIN_S) {
  const iat = typeof claims.iat === 'number' ? claims.iat : claims.exp - 2 * margin;
  return Math.max(claims.exp - margin, iat + (claims.exp - iat) / 2) * 1000;
}

/** What to tell the person for `err` (SsoError, or ApiError from the chat-server). */
export function ssoMessage(err, t, name) {
  switch (err.code) {
    case 'email_not_verified':
      return t.ssoEmailNotVerified(name);
    case 'email_domain_not_allowed':
      return t.ssoDomainNotAllowed;
    case 'oidc_account_conflict':
      return t.ssoAccountConflict;
    case 'oidc_unavailable':
    case 'network':
    case 'discovery':
      return t.ssoUnreachable(name);
    case 'issuer_error':
      return t.ssoIssuerError(name, err.detail);
    case 'token_error':
      return t.ssoTokenError(name, err.detail);
    case 'state_mismatch':
      return t.ssoStateMismatch;
    case 'nonce_mismatch':
      return t.ssoNonceMismatch;
    default:
      return err instanceof ApiError ? err.message : t.ssoTokenError(name, err.detail || err.message);
  }
}

/**
 * The flow itself. `config` is `oidc` of GET /api/v1/auth/config. `place` is whatever the
 * console wants back after the round trip (its route, open conversation, draft), kept with the
 * pending sign-in.
 */
export class SingleSignOn {
  constructor({ config, origin, storage = globalThis.sessionStorage, navigate = (url) => globalThis.location.assign(url), fetchImpl = (...a) => globalThis.fetch(...a), cryptoImpl = globalThis.crypto }) {
    Object.assign(this, { config, origin, storage, navigate, fetchImpl, cryptoImpl });
    this.name = config.display_name || config.issuer;
    // The console is served at `/`; the issuer must list exactly this as a callback URL.
    this.redirectUri = new URL('/', origin).href;
    this.discovery = null;
  }

  async discover() {
    if (this.discovery) return this.discovery;
    let doc;
    try {
      const res = await this.fetchImpl(discoveryUrl(this.config.issuer), { credentials: 'omit', headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = await res.json();
    } catch (e) {
      throw new SsoError('discovery', e.message);
    }
    this.discovery = checkDiscovery(doc, this.config.issuer);
    return this.discovery;
  }

  /** Sends the browser to the issuer; `silent` asks for `prompt=none` when the issuer has it. */
  async begin({ silent = false, place = null } = {}) {
    const doc = await this.discover();
    const quiet = silent && supportsPromptNone(doc);
    const { verifier, challenge } = await pkcePair(this.cryptoImpl);
    const pending = {
      state: randomString(16, this.cryptoImpl),
      nonce: randomString(16, this.cryptoImpl),
      verifier,
      silent: quiet,
      place,
    };
    this.storage.setItem(PENDING_KEY, JSON.stringify(pending));
    this.navigate(
      authorizeUrl(doc, {
        clientId: this.config.client_id,
        redirectUri: this.redirectUri,
        state: pending.state,
        nonce: pending.nonce,
        challenge,
        prompt: quiet ? 'none' : undefined,
      }),
    );
  }

  takePending() {
    let pending = null;
    try {
      pending = JSON.parse(this.storage.getItem(PENDING_KEY));
    } catch {
      pending = null;
    }
    // Single use, whatever happens next: a second callback with the same state finds nothing.
    this.storage.removeItem(PENDING_KEY);
    return pending;
  }

  /**
   * Finishes the sign-in `callback` (parseCallback) answers: checks state, exchanges the code,
   * checks the ID token's nonce, and asks the chat-server who that is. Answers
   * `{token, claims, me, place}`; `{redirected: true}` when a silent attempt went on to the
   * issuer's login page; throws SsoError / ApiError otherwise.
   */
  async finish(callback) {
    const pending = this.takePending();
    let code;
    try {
      code = checkCallback(pending, callback);
    } catch (e) {
      if (e.code !== 'interaction_required') throw e;
      await this.begin({ silent: false, place: pending.place });
      return { redirected: true };
    }
    const doc = await this.discover();
    const endpoint = this.config.token_endpoint || doc.token_endpoint;
    let res;
    try {
      res = await this.fetchImpl(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: tokenRequestBody({ code, verifier: pending.verifier, redirectUri: this.redirectUri, clientId: this.config.client_id }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e) {
      throw new SsoError('network', e.message);
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok || typeof body.id_token !== 'string') {
      throw new SsoError('token_error', body.error ? `${body.error}${body.error_description ? ` (${body.error_description})` : ''}` : `HTTP ${res.status}`);
    }
    const claims = checkIdToken(decodeJwtPayload(body.id_token), {
      nonce: pending.nonce,
      issuer: this.config.issuer,
      clientId: this.config.client_id,
    });
    // The chat-server's verdict: email verified, domain allowed, account not disabled; and the role.
    const me = await createApi(this.origin, () => body.id_token)('GET', '/api/v1/me');
    return { token: body.id_token, claims, me, place: pending.place };
  }

  /** The "Sign in with …" button, beside the password form. */
  offer(form, { label, or }, onError) {
    const button = h(
      'button',
      {
        type: 'button',
        id: 'sso-sign-in',
        class: 'sso',
        on: {
          click: () => {
            button.disabled = true;
            this.begin().catch((e) => {
              button.disabled = false;
              onError(e);
            });
          },
        },
      },
      label,
    );
    form.append(h('p', { class: 'sso-or' }, or), button);
    return button;
  }
}
