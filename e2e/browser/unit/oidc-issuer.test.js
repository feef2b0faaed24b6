// The browser test's OIDC issuer keeps the promises the console relies on: a code is bound to
// its PKCE challenge (a wrong code_verifier is refused) and can be exchanged once; the ID token
// is signed by a key its JWKS publishes and carries the nonce of the request.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startIssuer, s256 } from '../oidc-issuer.js';

const CONSOLE = 'http://127.0.0.1:1';
const issuer = await startIssuer({
  clientId: 'atendo-console',
  redirectUris: [`${CONSOLE}/`],
  origins: [CONSOLE],
  users: [{ id: 'ana', email: 'ana@acme.test', email_verified: true, groups: ['atendo-admins'] }],
});
after(() => issuer.close());

const verifier = () => crypto.randomBytes(32).toString('base64url');

/** Runs /authorize and the login page's form for ana; answers the code the redirect carries. */
async function codeFor(challenge, extra = {}) {
  const params = {
    response_type: 'code',
    client_id: 'atendo-console',
    redirect_uri: `${CONSOLE}/`,
    scope: 'openid email',
    state: 'st',
    nonce: 'nonce-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  const page = await fetch(`${issuer.url}/authorize?${new URLSearchParams(params)}`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Sign in as ana/);
  const res = await fetch(`${issuer.url}/authorize/login`, {
    method: 'POST',
    body: new URLSearchParams({ ...params, user: 'ana' }),
    redirect: 'manual',
  });
  assert.equal(res.status, 302);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.origin + back.pathname, `${CONSOLE}/`);
  assert.equal(back.searchParams.get('state'), 'st');
  return back.searchParams.get('code');
}

const exchange = (code, codeVerifier) =>
  fetch(`${issuer.url}/token`, {
    method: 'POST',
    headers: { origin: CONSOLE },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${CONSOLE}/`,
      client_id: 'atendo-console',
      code_verifier: codeVerifier,
    }),
  });

test('a tampered code_verifier is refused, and the code is spent by the attempt', async () => {
  const v = verifier();
  const code = await codeFor(s256(v));
  const tampered = await exchange(code, v.slice(0, -1) + (v.endsWith('A') ? 'B' : 'A'));
  assert.equal(tampered.status, 400);
  assert.deepEqual(await tampered.json(), { error: 'invalid_grant', error_description: 'PKCE verification failed' });
  const late = await exchange(code, v);
  assert.equal(late.status, 400, 'the right verifier after a wrong one: the code is gone');
  assert.equal((await late.json()).error, 'invalid_grant');
});

test('the right verifier gets a signed ID token with the nonce, once', async () => {
  const v = verifier();
  const code = await codeFor(s256(v));
  const res = await exchange(code, v);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), CONSOLE);
  const { id_token: idToken } = await res.json();
  const [h, p, sig] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const { keys } = await (await fetch(`${issuer.url}/jwks.json`)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  assert.ok(crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(sig, 'base64url')), 'signature verifies with the JWKS key');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  assert.equal(claims.iss, issuer.url);
  assert.equal(claims.aud, 'atendo-console');
  assert.equal(claims.nonce, 'nonce-1');
  assert.equal(claims.email_verified, true);
  assert.deepEqual(claims.groups, ['atendo-admins']);
  assert.equal((await exchange(code, v)).status, 400, 'a used code is refused');
});

test('without PKCE S256 or from an unregistered redirect_uri there is no code', async () => {
  const plain = await fetch(
    `${issuer.url}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'atendo-console', redirect_uri: `${CONSOLE}/`, state: 's', code_challenge: 'x', code_challenge_method: 'plain' })}`,
    { redirect: 'manual' },
  );
  assert.equal(plain.status, 302);
  assert.equal(new URL(plain.headers.get('location')).searchParams.get('error'), 'invalid_request');
  const elsewhere = await fetch(
    `${issuer.url}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'atendo-console', redirect_uri: 'https://evil.test/', state: 's', code_challenge: 'x', code_challenge_method: 'S256' })}`,
    { redirect: 'manual' },
  );
  assert.equal(elsewhere.status, 400, 'never redirects to an unregistered address');
  const silent = await fetch(
    `${issuer.url}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'atendo-console', redirect_uri: `${CONSOLE}/`, state: 's', code_challenge: 'x', code_challenge_method: 'S256', prompt: 'none' })}`,
    { redirect: 'manual' },
  );
  assert.equal(new URL(silent.headers.get('location')).searchParams.get('error'), 'login_required', 'no issuer session yet');
});
