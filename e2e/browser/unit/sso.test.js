// The console's single sign-on without a browser or an issuer: PKCE, the URLs, the state and
// nonce checks, and the flow's bookkeeping with fakes for storage, navigation and fetch.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PENDING_KEY,
  SingleSignOn,
  SsoError,
  authorizeUrl,
  challengeOf,
  checkCallback,
  checkDiscovery,
  checkIdToken,
  decodeJwtPayload,
  discoveryUrl,
  isExpired,
  parseCallback,
  pkcePair,
  renewAt,
  ssoMessage,
  supportsPromptNone,
  tokenRequestBody,
} from '../../../chat-server/web/console/sso.js';
import { strings } from '../../../chat-server/web/shared/i18n.js';

const ISSUER = 'https://login.acme.test/realms/acme';
const DOC = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth?kc_idp_hint=acme`,
  token_endpoint: `${ISSUER}/protocol/openid-connect/token`,
  code_challenge_methods_supported: ['plain', 'S256'],
};
const code = (fn) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SsoError, `not an SsoError: ${e}`);
    return e.code;
  }
  assert.fail('did not throw');
};
const jwt = (claims) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

test('the S256 challenge is the one RFC 7636 appendix B gives for its verifier', async () => {
  assert.equal(await challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('a PKCE pair is a fresh 43-character base64url verifier and its S256 challenge', async () => {
  const a = await pkcePair();
  const b = await pkcePair();
  assert.match(a.verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.verifier, b.verifier);
  assert.equal(a.challenge, await challengeOf(a.verifier));
});

test('discovery lives under the issuer, with one slash whatever the issuer ends with', () => {
  assert.equal(discoveryUrl(ISSUER), `${ISSUER}/.well-known/openid-configuration`);
  assert.equal(discoveryUrl(`${ISSUER}/`), `${ISSUER}/.well-known/openid-configuration`);
});

test('a discovery document for another issuer, or without S256, is refused', () => {
  assert.equal(checkDiscovery(DOC, ISSUER), DOC);
  assert.equal(code(() => checkDiscovery({ ...DOC, issuer: 'https://evil.test' }, ISSUER)), 'discovery');
  assert.equal(code(() => checkDiscovery({ ...DOC, code_challenge_methods_supported: ['plain'] }, ISSUER)), 'discovery');
  assert.equal(code(() => checkDiscovery({ ...DOC, token_endpoint: 'javascript:1' }, ISSUER)), 'discovery');
  assert.equal(supportsPromptNone(DOC), true, 'unlisted prompts: try it');
  assert.equal(supportsPromptNone({ ...DOC, prompt_values_supported: ['login'] }), false);
});

test('the authorization request asks for a code with PKCE S256, state and nonce', () => {
  const u = new URL(
    authorizeUrl(DOC, { clientId: 'atendo', redirectUri: 'https://acme.chat.test/', state: 'st', nonce: 'no', challenge: 'ch' }),
  );
  assert.equal(u.origin + u.pathname, `${ISSUER}/protocol/openid-connect/auth`);
  assert.deepEqual(Object.fromEntries(u.searchParams), {
    kc_idp_hint: 'acme',
    response_type: 'code',
    client_id: 'atendo',
    redirect_uri: 'https://acme.chat.test/',
    scope: 'openid email profile',
    state: 'st',
    nonce: 'no',
    code_challenge: 'ch',
    code_challenge_method: 'S256',
  });
  const silent = new URL(authorizeUrl(DOC, { clientId: 'a', redirectUri: 'r', state: 's', nonce: 'n', challenge: 'c', prompt: 'none' }));
  assert.equal(silent.searchParams.get('prompt'), 'none');
});

test('only a page load with state and a code or an error is a callback', () => {
  assert.equal(parseCallback(''), null);
  assert.equal(parseCallback('?code=abc'), null, 'no state: not ours to handle');
  assert.deepEqual(parseCallback('?code=abc&state=s1'), { state: 's1', code: 'abc' });
  assert.deepEqual(parseCallback('?error=access_denied&error_description=no+thanks&state=s1'), {
    state: 's1',
    error: 'access_denied',
    description: 'no thanks',
  });
});

test('a callback is accepted only for the state this tab stored', () => {
  const pending = { state: 's1', nonce: 'n', verifier: 'v' };
  assert.equal(checkCallback(pending, { state: 's1', code: 'abc' }), 'abc');
  assert.equal(code(() => checkCallback(pending, { state: 's2', code: 'abc' })), 'state_mismatch');
  assert.equal(code(() => checkCallback(null, { state: 's1', code: 'abc' })), 'state_mismatch', 'nothing pending');
  assert.equal(code(() => checkCallback({}, { state: undefined, code: 'abc' })), 'state_mismatch');
  assert.equal(code(() => checkCallback(pending, { state: 's1', error: 'access_denied' })), 'issuer_error');
  assert.equal(code(() => checkCallback(pending, { state: 's1', error: 'login_required' })), 'issuer_error', 'not silent');
  assert.equal(code(() => checkCallback({ ...pending, silent: true }, { state: 's1', error: 'login_required' })), 'interaction_required');
  assert.equal(code(() => checkCallback({ ...pending, silent: true }, { state: 's2', error: 'login_required' })), 'state_mismatch');
});

test('the token request proves the flow with the verifier and carries no secret', () => {
  const body = new URLSearchParams(tokenRequestBody({ code: 'c1', verifier: 'v1', redirectUri: 'https://a.test/', clientId: 'atendo' }));
  assert.deepEqual(Object.fromEntries(body), {
    grant_type: 'authorization_code',
    code: 'c1',
    redirect_uri: 'https://a.test/',
    client_id: 'atendo',
    code_verifier: 'v1',
  });
});

test('an ID token is refused unless its nonce, issuer, audience and expiry fit this sign-in', () => {
  const now = Date.UTC(2026, 0, 1);
  const good = { iss: ISSUER, aud: 'atendo', nonce: 'n1', exp: now / 1000 + 300 };
  const check = (claims) => checkIdToken(claims, { nonce: 'n1', issuer: ISSUER, clientId: 'atendo', now });
  assert.equal(check(good), good);
  assert.equal(check({ ...good, aud: ['other', 'atendo'] }).nonce, 'n1');
  assert.equal(code(() => check({ ...good, nonce: 'n2' })), 'nonce_mismatch');
  assert.equal(code(() => check({ ...good, nonce: undefined })), 'nonce_mismatch');
  assert.equal(code(() => check({ ...good, iss: 'https://evil.test' })), 'bad_token');
  assert.equal(code(() => check({ ...good, aud: 'other' })), 'bad_token');
  assert.equal(code(() => check({ ...good, exp: now / 1000 })), 'bad_token');
  assert.deepEqual(decodeJwtPayload(jwt({ sub: 'ü' })), { sub: 'ü' });
  assert.equal(code(() => decodeJwtPayload('nope')), 'bad_token');
});

test('a stored token is expired past its exp, and when unreadable', () => {
  assert.equal(isExpired(jwt({ exp: 2000 }), 1_999_000), false);
  assert.equal(isExpired(jwt({ exp: 2000 }), 2_000_000), true);
  assert.equal(isExpired('not-a-jwt'), true);
  assert.equal(isExpired(jwt({})), true);
});

test('renewal comes a minute before expiry, but not before half the token has lived', () => {
  assert.equal(renewAt({ iat: 1000, exp: 4600 }), 4540 * 1000);
  assert.equal(renewAt({ iat: 1000, exp: 1020 }), 1010 * 1000);
});

test('each failure has its own words, naming the issuer', () => {
  const t = strings('en');
  assert.match(ssoMessage({ code: 'email_not_verified' }, t, 'ACME Login'), /^Email not verified: ACME Login/);
  assert.match(ssoMessage({ code: 'email_domain_not_allowed' }, t, 'X'), /email domain is not allowed/);
  assert.match(ssoMessage(new SsoError('state_mismatch'), t, 'X'), /state mismatch/);
  assert.match(ssoMessage(new SsoError('issuer_error', 'access_denied (no)'), t, 'ACME'), /^ACME refused the sign-in: access_denied \(no\)/);
  assert.match(strings('pt-BR').ssoSignIn('ACME'), /^Entrar com ACME$/);
});

/** A SingleSignOn whose browser is fakes; `fetches` records every request. */
function harness({ tokenAnswer, doc = { ...DOC, token_endpoint: `${ISSUER}/token` } } = {}) {
  const store = new Map();
  const storage = {
    getItem: (k) => (store.has(k) ? store.get(k) : null),
    setItem: (k, v) => store.set(k, String(v)),
    removeItem: (k) => store.delete(k),
  };
  const fetches = [];
  const navigated = [];
  const fetchImpl = async (url, init = {}) => {
    fetches.push({ url: String(url), init });
    if (String(url).endsWith('/.well-known/openid-configuration')) return Response.json(doc);
    if (String(url) === `${ISSUER}/token`) return tokenAnswer(new URLSearchParams(init.body));
    if (String(url).endsWith('/api/v1/me')) return Response.json({ kind: 'agent', id: 'a1', name: 'Ana', role: 'agent' });
    return new Response('', { status: 404 });
  };
  const sso = new SingleSignOn({
    config: { issuer: ISSUER, client_id: 'atendo', display_name: 'ACME', token_endpoint: null },
    origin: 'https://acme.chat.test',
    storage,
    navigate: (u) => navigated.push(new URL(u)),
    fetchImpl,
  });
  return { sso, store, fetches, navigated, fetchImpl };
}

test('begin stores state, nonce and verifier and sends the browser to the issuer with their S256', async () => {
  const { sso, store, navigated } = harness();
  await sso.begin({ place: { hash: '#/admin' } });
  const pending = JSON.parse(store.get(PENDING_KEY));
  const q = navigated[0].searchParams;
  assert.equal(q.get('state'), pending.state);
  assert.equal(q.get('nonce'), pending.nonce);
  assert.equal(q.get('code_challenge'), await challengeOf(pending.verifier));
  assert.equal(q.get('redirect_uri'), 'https://acme.chat.test/');
  assert.equal(q.get('prompt'), null);
  assert.deepEqual(pending.place, { hash: '#/admin' });
  await sso.begin({ silent: true });
  assert.equal(navigated[1].searchParams.get('prompt'), 'none');
  assert.notEqual(navigated[1].searchParams.get('state'), q.get('state'));
});

test('finish exchanges the code with the verifier, checks the nonce, and the pending sign-in is single use', async () => {
  let nonce;
  const { sso, store, navigated, fetches, fetchImpl } = harness({
    tokenAnswer: (form) => Response.json({ id_token: jwt({ iss: ISSUER, aud: 'atendo', nonce, exp: Date.now() / 1000 + 600, email: 'ana@acme.test' }), form: Object.fromEntries(form) }),
  });
  const realFetch = globalThis.fetch;
  globalThis.fetch = fetchImpl; // the chat-server's /me goes through client.js
  try {
    await sso.begin({ place: { hash: '#/', conversation: 'c9' } });
    const pending = JSON.parse(store.get(PENDING_KEY));
    nonce = pending.nonce;
    const state = navigated[0].searchParams.get('state');
    const done = await sso.finish({ state, code: 'the-code' });
    assert.equal(done.me.id, 'a1');
    assert.deepEqual(done.place, { hash: '#/', conversation: 'c9' });
    const tokenCall = fetches.find((f) => f.url === `${ISSUER}/token`);
    assert.equal(new URLSearchParams(tokenCall.init.body).get('code_verifier'), pending.verifier);
    assert.equal(tokenCall.init.credentials, 'omit');
    const me = fetches.find((f) => f.url.endsWith('/api/v1/me'));
    assert.equal(me.init.headers.authorization, `Bearer ${done.token}`);
    assert.equal(store.has(PENDING_KEY), false);
    // The same callback again (a reload, a replayed URL) finds nothing pending.
    await assert.rejects(sso.finish({ state, code: 'the-code' }), (e) => e.code === 'state_mismatch');

    // A token minted for another sign-in: refused, even though the issuer handed it over.
    await sso.begin();
    nonce = 'someone-elses';
    const state2 = navigated[1].searchParams.get('state');
    await assert.rejects(sso.finish({ state: state2, code: 'c2' }), (e) => e.code === 'nonce_mismatch');
  } finally {
    globalThis.fetch = realFetch;
  }
});

test('a refused code exchange is a token_error carrying the issuer’s reason', async () => {
  const { sso, navigated } = harness({
    tokenAnswer: () => Response.json({ error: 'invalid_grant', error_description: 'PKCE verification failed' }, { status: 400 }),
  });
  await sso.begin();
  await assert.rejects(sso.finish({ state: navigated[0].searchParams.get('state'), code: 'x' }), (e) => e.code === 'token_error' && /PKCE verification failed/.test(e.detail));
});

test('a silent renewal the issuer cannot do quietly goes on to the login page, keeping the place', async () => {
  const { sso, navigated } = harness();
  await sso.begin({ silent: true, place: { hash: '#/admin', draft: 'half a reply' } });
  const state = navigated[0].searchParams.get('state');
  assert.deepEqual(await sso.finish({ state, error: 'login_required' }), { redirected: true });
  assert.equal(navigated[1].searchParams.get('prompt'), null);
  const pending = JSON.parse(sso.storage.getItem(PENDING_KEY));
  assert.deepEqual(pending.place, { hash: '#/admin', draft: 'half a reply' });
  assert.equal(pending.silent, false);
});

test('an issuer without prompt=none gets the normal redirect for a renewal', async () => {
  const { sso, navigated } = harness({ doc: { ...DOC, prompt_values_supported: ['login', 'consent'] } });
  await sso.begin({ silent: true });
  assert.equal(navigated[0].searchParams.get('prompt'), null);
});
