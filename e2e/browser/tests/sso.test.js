// Console single sign-on in Chromium against a small OIDC issuer this test runs (oidc-issuer.js):
// authorization code + PKCE, the ID token as the console's bearer on REST and the websocket,
// email_verified, allowed domains and the admin group enforced by a chat-server of its own,
// the issuer's and the console's refusals shown to the person, and renewal before expiry.
// Everything this file starts it stops in `after`, which node:test runs also when a test fails.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { env, launch, watch, tapSocket } from './harness.js';
import { freePort, startChatServer, stop } from './processes.js';
import { startIssuer } from '../oidc-issuer.js';

const bin = process.env.E2E_CHAT_BIN;
const CLIENT_ID = 'atendo-console';
const ISSUER_NAME = 'ACME Login';
const USERS = [
  { id: 'ana', email: 'ana@acme.test', email_verified: true, name: 'Ana Souza', groups: ['support'] },
  { id: 'bia', email: 'bia@acme.test', email_verified: true, name: 'Bia Admin', groups: ['support', 'atendo-admins'] },
  { id: 'caio', email: 'caio@acme.test', email_verified: false, name: 'Caio Unverified' },
  { id: 'eve', email: 'eve@evil.test', email_verified: true, name: 'Eve Elsewhere' },
  // Its ID tokens live 20 s, so the console renews after 10 s (half the life: renewAt in sso.js).
  { id: 'dora', email: 'dora@acme.test', email_verified: true, name: 'Dora Shortlived', ttl: 20 },
];

let dir;
let chatUrl;
let issuer;
let server;
let browser;
const problems = [];

function startServer(port) {
  return startChatServer(dir, port, {
    CHAT_PUBLIC_URL: chatUrl,
    CHAT_BUS: 'local',
    CHAT_BRAND_LOCALE: 'en',
    CHAT_OIDC_ISSUER: issuer.url,
    CHAT_OIDC_AUDIENCE: CLIENT_ID,
    CHAT_OIDC_JWKS_URL: `${issuer.url}/jwks.json`,
    CHAT_OIDC_ALLOWED_DOMAINS: 'acme.test',
    CHAT_OIDC_ADMIN_GROUP: 'atendo-admins',
    CHAT_OIDC_DISPLAY_NAME: ISSUER_NAME,
  });
}

/** A REST call to this file's chat-server; fails the test on an error status. */
async function api(method, urlPath, token, body) {
  const res = await fetch(chatUrl + urlPath, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = res.status === 204 ? null : await res.json();
  assert.ok(res.ok, `${method} ${urlPath}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A visitor's conversation with one message in it. */
async function visitorConversation(name) {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name });
  const c = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: `Hello from ${name}`, client_msg_id: 'v1' });
  return { ...c, token };
}

async function newPage(label) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  problems.push(watch(page, label));
  return page;
}

/** Opens the console, takes "Sign in with ACME Login", and picks `user` on the issuer's page. */
async function ssoSignIn(page, user, { screenshot } = {}) {
  await page.goto(`${chatUrl}/`);
  await page.getByRole('button', { name: `Sign in with ${ISSUER_NAME}` }).click();
  await page.waitForURL((u) => u.href.startsWith(`${issuer.url}/authorize?`));
  if (screenshot) await page.screenshot({ path: path.join(env.results, screenshot) });
  await page.getByRole('button', { name: new RegExp(`^Sign in as ${user} `) }).click();
  await page.waitForURL((u) => u.href.startsWith(`${chatUrl}/`));
}

const storedSession = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('atendo.console')));
const loginError = (page) => page.locator('#login-error');

before(async () => {
  assert.ok(bin, 'E2E_CHAT_BIN is not set; run the tests through e2e/browser/run.sh');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atendo-sso-'));
  const port = await freePort();
  chatUrl = `http://127.0.0.1:${port}`;
  issuer = await startIssuer({ clientId: CLIENT_ID, redirectUris: [`${chatUrl}/`], origins: [chatUrl], users: USERS });
  server = await startServer(port);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stop(server);
  await issuer?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the server offers the issuer; the console CSP admits its origin and nothing wider', async () => {
  const config = await (await fetch(`${chatUrl}/api/v1/auth/config`)).json();
  assert.deepEqual(config, {
    password: true,
    password_reset: false,
    oidc: { issuer: issuer.url, client_id: CLIENT_ID, display_name: ISSUER_NAME, token_endpoint: null },
  });
  const csp = (await fetch(`${chatUrl}/`)).headers.get('content-security-policy');
  const connect = csp.split('; ').find((d) => d.startsWith('connect-src ')).split(' ').slice(1);
  assert.ok(connect.includes(issuer.url), csp);
  assert.ok(!connect.some((s) => s.includes('*')), csp);
});

test('a verified user signs in through the issuer, sees the inbox and replies over the websocket', async () => {
  const c = await visitorConversation('Vera Visitor');
  const page = await newPage('ana');
  const tap = await tapSocket(page);
  await ssoSignIn(page, 'ana', { screenshot: 'sso-issuer-login.png' });
  await page.locator('#conn[data-state="online"]').waitFor();
  assert.equal(await page.locator('#me-name').textContent(), 'Ana Souza');
  assert.equal(new URL(page.url()).search, '', 'code and state leave the address bar');
  const session = await storedSession(page);
  assert.equal(session.sso, true);
  assert.equal(session.token.split('.').length, 3, 'the ID token is the bearer');
  assert.equal(session.role, 'agent');
  assert.equal(issuer.log.token.length >= 1 && issuer.log.token.at(-1).code_verifier.length, 43, 'PKCE verifier sent');
  assert.equal(issuer.log.authorize.at(-1).code_challenge_method, 'S256');

  const item = page.locator(`#conversation-list li[data-id="${c.id}"]`);
  await item.getByRole('button').click();
  await page.locator('.thread .messages li', { hasText: 'Hello from Vera Visitor' }).waitFor();
  await page.locator('#reply-input').fill('Hi Vera, Ana here');
  await page.keyboard.press('Enter');
  await page.locator('.thread .messages li[data-seq]', { hasText: 'Hi Vera, Ana here' }).waitFor();
  assert.ok(
    tap.sent.some((f) => f.type === 'send' && f.body === 'Hi Vera, Ana here'),
    'the reply went out as a websocket frame',
  );
  assert.ok(tap.urls.every((u) => new URL(u).search === ''), 'the token never travels in the socket URL');
  const { messages } = await api('GET', `/api/v1/conversations/${c.id}/messages`, c.token);
  assert.ok(messages.some((m) => m.body === 'Hi Vera, Ana here' && m.author.kind === 'agent'), JSON.stringify(messages));
  assert.equal(await page.locator('#nav-admin').isVisible(), false, 'a plain member sees no admin area');
  await page.screenshot({ path: path.join(env.results, 'sso-console.png') });

  // The password lives with the issuer: My account says so instead of offering a form.
  await page.getByRole('link', { name: 'My account' }).click();
  await page.locator('#password-managed', { hasText: `You sign in with ${ISSUER_NAME}` }).waitFor();
  assert.equal(await page.locator('#password-form').count(), 0, 'no password form for a single sign-on session');
  await page.getByRole('link', { name: 'Inbox' }).click();

  // Sign-out clears the token; the next visit shows the sign-in choices again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: `Sign in with ${ISSUER_NAME}` }).waitFor();
  assert.equal(await storedSession(page), null);
  await page.context().close();
});

test('an unverified email is refused with "email not verified"', async () => {
  const page = await newPage('caio');
  await ssoSignIn(page, 'caio');
  await loginError(page).filter({ hasText: /^Email not verified: ACME Login has not verified your email address/ }).waitFor();
  assert.equal(await storedSession(page), null);
  assert.ok(await page.locator('#login-view').isVisible());
  await page.screenshot({ path: path.join(env.results, 'sso-email-not-verified.png') });
  await page.context().close();
});

test('a user of a domain that is not allowed is refused with a clear message', async () => {
  const page = await newPage('eve');
  await ssoSignIn(page, 'eve');
  await loginError(page).filter({ hasText: 'Your email domain is not allowed to sign in here.' }).waitFor();
  assert.equal(await storedSession(page), null);
  await page.context().close();
  const { agents } = await api('GET', '/api/v1/agents', (await firstSsoToken('bia')).token);
  assert.ok(!agents.some((a) => a.email === 'eve@evil.test'), 'no account was made for eve');
});

/** Signs `user` in through the browser and answers the stored session (closes the page). */
async function firstSsoToken(user) {
  const page = await newPage(`${user}-token`);
  await ssoSignIn(page, user);
  await page.locator('#conn[data-state="online"]').waitFor();
  const session = await storedSession(page);
  await page.context().close();
  return session;
}

test('a member of the admin group sees the admin area; a plain member does not, not even by its address', async () => {
  const admin = await newPage('bia');
  await ssoSignIn(admin, 'bia');
  await admin.locator('#conn[data-state="online"]').waitFor();
  assert.equal((await storedSession(admin)).role, 'admin');
  await admin.getByRole('link', { name: 'Administration' }).click();
  await admin.locator('.agents-table tr', { hasText: 'ana@acme.test' }).waitFor();
  await admin.screenshot({ path: path.join(env.results, 'sso-admin.png') });
  await admin.context().close();

  const member = await newPage('ana-admin');
  await ssoSignIn(member, 'ana');
  await member.locator('#conn[data-state="online"]').waitFor();
  assert.equal(await member.getByRole('link', { name: 'Administration' }).isVisible(), false);
  await member.goto(`${chatUrl}/#/admin`);
  await member.locator('#conn[data-state="online"]').waitFor();
  assert.equal(await member.locator('#admin-view').isVisible(), false);
  await member.context().close();
});

test('an error from the issuer on the callback is shown, and nobody is signed in', async () => {
  const page = await newPage('deny');
  await page.goto(`${chatUrl}/`);
  await page.getByRole('button', { name: `Sign in with ${ISSUER_NAME}` }).click();
  await page.waitForURL((u) => u.href.startsWith(`${issuer.url}/authorize?`));
  await page.getByRole('button', { name: 'Deny' }).click();
  await loginError(page).filter({ hasText: 'ACME Login refused the sign-in: access_denied (the user declined)' }).waitFor();
  assert.equal(new URL(page.url()).search, '');
  assert.equal(await storedSession(page), null);
  await page.context().close();
});

test('a callback with a state this tab did not start is refused before any code exchange', async () => {
  const page = await newPage('forged');
  const before = issuer.log.token.length;
  // A sign-in started here, then an attacker's callback (their code, their state) arrives.
  await page.goto(`${chatUrl}/`);
  await page.getByRole('button', { name: `Sign in with ${ISSUER_NAME}` }).click();
  await page.waitForURL((u) => u.href.startsWith(`${issuer.url}/authorize?`));
  await page.goto(`${chatUrl}/?code=attackers-code&state=attackers-state`);
  await loginError(page).filter({ hasText: /state mismatch/ }).waitFor();
  assert.equal(issuer.log.token.length, before, 'the token endpoint was never asked');
  assert.equal(await storedSession(page), null);
  await page.context().close();
});

test('a tampered code_verifier is refused by the issuer and the console says so', async () => {
  const page = await newPage('tampered');
  const refusals = issuer.log.refusals.length;
  await page.route(`${issuer.url}/token`, (route) => {
    const form = new URLSearchParams(route.request().postData());
    form.set('code_verifier', 'x'.repeat(43));
    route.continue({ postData: form.toString() });
  });
  await ssoSignIn(page, 'ana');
  await loginError(page).filter({ hasText: 'ACME Login did not complete the sign-in: invalid_grant (PKCE verification failed)' }).waitFor();
  assert.deepEqual(issuer.log.refusals.slice(refusals), ['PKCE verification failed']);
  assert.equal(await storedSession(page), null);
  await page.context().close();
});

test('before the ID token expires the console renews it quietly and keeps the open conversation and draft', async () => {
  const c = await visitorConversation('Rita Renewal');
  const page = await newPage('dora');
  await ssoSignIn(page, 'dora');
  await page.locator('#conn[data-state="online"]').waitFor();
  const first = (await storedSession(page)).token;
  const logins = issuer.log.authorize.filter((q) => q.prompt !== 'none').length;
  await page.locator(`#conversation-list li[data-id="${c.id}"]`).getByRole('button').click();
  await page.locator('.thread .messages li', { hasText: 'Hello from Rita Renewal' }).waitFor();
  await page.locator('#reply-input').fill('half-written answer');

  // Renewal is due 10 s after sign-in: a prompt=none round trip, back with a new token.
  for (let i = 0; ; i++) {
    assert.ok(i < 100, 'no renewal within 20 s');
    // Navigations come and go meanwhile: a failed look is just another try.
    const s = await storedSession(page).catch(() => null);
    if (s && s.token !== first) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.locator('#conn[data-state="online"]').waitFor();
  assert.ok(issuer.log.authorize.some((q) => q.prompt === 'none'), 'a silent authorization request');
  assert.equal(issuer.log.authorize.filter((q) => q.prompt !== 'none').length, logins, 'no login page shown');
  await page.locator('.thread .messages li', { hasText: 'Hello from Rita Renewal' }).waitFor();
  assert.equal(await page.locator('#reply-input').inputValue(), 'half-written answer');
  assert.equal(new URL(page.url()).search, '');
  await page.context().close();
});

test('a tab that comes back with an expired ID token signs in again quietly, in the same place', async () => {
  const page = await newPage('ana-asleep');
  await ssoSignIn(page, 'ana');
  await page.locator('#conn[data-state="online"]').waitFor();
  // The tab slept past `exp`: the stored token now says it has expired.
  const stale = await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('atendo.console'));
    const claims = JSON.parse(atob(s.token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    const expired = btoa(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 })).replace(/=+$/, '');
    s.token = `${s.token.split('.')[0]}.${expired}.x`;
    sessionStorage.setItem('atendo.console', JSON.stringify(s));
    return s.token;
  });
  const silent = issuer.log.authorize.filter((q) => q.prompt === 'none').length;
  await page.evaluate(() => {
    location.hash = '#/account';
  });
  await page.reload();
  for (let i = 0; ; i++) {
    assert.ok(i < 50, 'not signed in again within 10 s');
    const s = await storedSession(page).catch(() => null);
    if (s && s.token !== stale) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.locator('#conn[data-state="online"]').waitFor();
  assert.equal(page.url(), `${chatUrl}/#/account`, 'back where it was');
  assert.ok(await page.locator('#account-view').isVisible());
  assert.equal(issuer.log.authorize.filter((q) => q.prompt === 'none').length, silent + 1);
  await page.context().close();
});

test('no dialogs, page errors or CSP violations on any page', () => {
  assert.deepEqual(problems.flat(), []);
});
