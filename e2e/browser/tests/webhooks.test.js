// Webhooks in the admin area, in Chromium. On the shared chat-server (pt-BR, private addresses
// refused as by default) a loopback URL is refused on the URL field and an empty event list on
// the events. On a chat-server of this file's own (English, CHAT_WEBHOOK_ALLOW_PRIVATE so it can
// reach receivers on 127.0.0.1, fast retries through the hidden CHAT_WEBHOOK_RETRY_BASE_MS and a
// 3 s CHAT_WEBHOOK_RETRY_FOR_SECS so a failing receiver is given up on quickly): the admin
// creates an endpoint and sees its secret once (it signs what the receiver gets, and is gone
// after a reload), a bad scheme is refused on the URL field, a visitor's conversation and
// messages show in the delivery log as delivered (newest first, older attempts a click away), a
// receiver that answers 500 shows as retrying then given up with its status, and endpoints are
// deleted after a confirmation. Everything this file starts it stops in `after`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { env, launch, watch, adminSession, openConsole } from './harness.js';
import { freePort, startChatServer, stop } from './processes.js';

const bin = process.env.E2E_CHAT_BIN;
const ADMIN = { email: 'owner@hooks.test', password: 'the-webhooks-admin-password-1' };

let dir;
let chatUrl;
let server;
let browser;
/** Receivers on 127.0.0.1: `ok` answers 204 and keeps every request, `broken` answers 500. */
const receivers = {};
const problems = [];

/** A receiver answering `status` to every POST, keeping each request's headers and raw body. */
function receiver(status) {
  const got = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () => resolve({ srv, got, url: `http://127.0.0.1:${srv.address().port}/hooks` })),
  );
}

/** Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the secret's bytes. */
function verify(secret, { headers, body }) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = crypto.createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return headers['webhook-signature'].split(' ').includes(`v1,${mac}`);
}

async function until(what, check, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A REST call to this file's own chat-server. */
async function call(method, p, token, body) {
  const res = await fetch(chatUrl + p, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = res.status === 204 ? null : await res.json();
  assert.ok(res.ok, `${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A visitor's conversation with `n` messages, over REST as the widget would make it. */
async function visitorWrites(name, n) {
  const { token } = await call('POST', '/api/v1/visitors', undefined, { name });
  const c = await call('POST', '/api/v1/conversations', token);
  for (let i = 1; i <= n; i++) {
    await call('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: `${name} ${i}`, client_msg_id: `m${i}` });
  }
  return c;
}

before(async () => {
  assert.ok(bin, 'E2E_CHAT_BIN is not set; run the tests through e2e/browser/run.sh');
  receivers.ok = await receiver(204);
  receivers.broken = await receiver(500);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atendo-webhooks-'));
  const port = await freePort();
  chatUrl = `http://127.0.0.1:${port}`;
  server = await startChatServer(dir, port, {
    CHAT_PUBLIC_URL: chatUrl,
    CHAT_BUS: 'local',
    CHAT_BRAND_LOCALE: 'en',
    CHAT_ADMIN_EMAIL: ADMIN.email,
    CHAT_ADMIN_PASSWORD: ADMIN.password,
    CHAT_WEBHOOK_ALLOW_PRIVATE: 'true',
    CHAT_WEBHOOK_RETRY_BASE_MS: '300',
    CHAT_WEBHOOK_RETRY_FOR_SECS: '3',
    // Twenty-odd messages in a row from one visitor.
    CHAT_WS_RATE: '1000',
    CHAT_WS_BURST: '1000',
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stop(server);
  for (const r of Object.values(receivers)) r.srv.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the default server refuses a loopback URL on the URL field and no events on the events (pt-BR)', async () => {
  const page = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 900 } })).newPage();
  problems.push(watch(page, 'shared server'));
  await openConsole(page, await adminSession());
  await page.getByRole('link', { name: 'Administração' }).click();
  const section = page.getByRole('region', { name: 'Webhooks' });
  const form = section.getByRole('form', { name: 'Novo endpoint de webhook' });
  await form.getByLabel('URL').fill('http://127.0.0.1:9/hooks');
  await form.getByRole('checkbox', { name: /message\.created/ }).check();
  await form.getByRole('button', { name: 'Criar' }).click();
  await page.locator('#webhook-url-error', { hasText: 'webhooks só vão para a internet pública' }).waitFor();
  assert.equal(await form.getByLabel('URL').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#webhook-events-error').textContent(), '');

  await form.getByLabel('URL').fill('https://example.com/hooks');
  await form.getByRole('checkbox', { name: /message\.created/ }).uncheck();
  await form.getByRole('button', { name: 'Criar' }).click();
  await page.locator('#webhook-events-error', { hasText: 'Escolha ao menos um dos eventos da lista.' }).waitFor();
  assert.equal(await form.getByLabel('URL').getAttribute('aria-invalid'), null, 'the URL is no longer marked');
  assert.equal(await page.locator('#webhook-url-error').textContent(), '');
  await page.screenshot({ path: path.join(env.results, 'webhooks-refused.png'), fullPage: true });
});

let page;
let secret;
let section;

async function openAdmin() {
  await page.getByRole('link', { name: 'Administration' }).click();
  section = page.getByRole('region', { name: 'Webhooks' });
  await section.waitFor();
}

/** The console's own token, to ask the API what the page should show. */
async function sessionToken() {
  return JSON.parse(await page.evaluate(() => sessionStorage.getItem('atendo.console'))).token;
}

/** Clicks Refresh in the open log until `locator` is there (the sender works in the background). */
async function refreshUntil(log, locator) {
  await until('the log shows it', async () => {
    if (await locator.count()) return true;
    await log.getByRole('button', { name: 'Refresh' }).click();
    return false;
  });
}

test('an endpoint is created, its secret shown once, and a bad scheme refused on the URL field', async () => {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: chatUrl });
  page = await context.newPage();
  problems.push(watch(page, 'own server'));
  await page.goto(chatUrl + '/');
  const login = page.getByRole('form', { name: 'Sign in' });
  await login.getByLabel('Email').fill(ADMIN.email);
  await login.getByLabel('Password').fill(ADMIN.password);
  await login.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#conn[data-state="online"]').waitFor();
  await openAdmin();
  await section.getByText('No webhook endpoints yet.').waitFor();
  const form = section.getByRole('form', { name: 'New webhook endpoint' });

  // The scheme rule holds even where private addresses are allowed: the server's own words.
  await form.getByLabel('URL').fill('ftp://127.0.0.1/hooks');
  await form.getByRole('checkbox', { name: /conversation\.created/ }).check();
  await form.getByRole('button', { name: 'Create' }).click();
  await page.locator('#webhook-url-error', { hasText: 'url must be an http:// or https:// URL' }).waitFor();
  assert.equal(await form.getByLabel('URL').getAttribute('aria-invalid'), 'true');
  assert.equal(await section.getByRole('region', { name: /Signing secret/ }).count(), 0);

  await form.getByLabel('URL').fill(receivers.ok.url);
  await form.getByRole('checkbox', { name: /message\.created/ }).check();
  await form.getByRole('button', { name: 'Create' }).click();
  const shown = section.getByRole('region', { name: `Signing secret for ${receivers.ok.url}` });
  await shown.waitFor();
  await shown.getByText('you will not see it again').waitFor();
  secret = await shown.getByLabel('Signing secret', { exact: true }).inputValue();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  await shown.getByRole('button', { name: 'Copy' }).click();
  await shown.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  assert.equal(await form.getByLabel('URL').inputValue(), '', 'the form is emptied for the next one');
  assert.equal(await form.getByLabel('URL').getAttribute('aria-invalid'), null);

  const row = section.locator('tr', { hasText: receivers.ok.url });
  await row.waitFor();
  assert.deepEqual(await row.locator('.event-type').allTextContents(), ['conversation.created', 'message.created']);
  await page.screenshot({ path: path.join(env.results, 'webhooks-secret.png'), fullPage: true });

  // The API keeps no way to show it again, and neither does the page.
  await page.reload();
  await page.locator('#conn[data-state="online"]').waitFor();
  await openAdmin();
  await section.locator('tr', { hasText: receivers.ok.url }).waitFor();
  assert.equal(await section.getByRole('region', { name: /Signing secret/ }).count(), 0);
  assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere in the page after a reload');
});

test('a visitor’s conversation and messages show in the delivery log as delivered, newest first, paged', async () => {
  const c = await visitorWrites('Webhook visitor', 1);
  const got = await until('the receiver got both events', () => (receivers.ok.got.length >= 2 ? receivers.ok.got : null));
  // The secret the page showed is the one that signs: the receiver can verify every request.
  for (const r of got) assert.ok(verify(secret, r), `signature of ${r.body}`);
  assert.deepEqual(got.map((r) => JSON.parse(r.body).type), ['conversation.created', 'message.created']);
  assert.equal(JSON.parse(got[1].body).data.conversation_id, c.id);

  await section.getByRole('button', { name: `Delivery log ${receivers.ok.url}` }).click();
  const log = section.getByRole('region', { name: `Delivery log: ${receivers.ok.url}` });
  await log.waitFor();
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'webhook-log-title');
  const rows = log.locator('tbody tr');
  await refreshUntil(log, rows.nth(1));
  assert.deepEqual(await rows.locator('code').allTextContents(), ['message.created', 'conversation.created'], 'newest first');
  for (const r of await rows.all()) {
    assert.equal(await r.locator('.chip').textContent(), 'Delivered');
    assert.equal(await r.locator('.outcome-detail').textContent(), 'HTTP 204');
    assert.equal(await r.getByRole('cell').nth(2).textContent(), '1', 'the first attempt');
  }
  assert.equal(await rows.first().locator('.event-id').textContent(), got[1].headers['webhook-id']);
  assert.ok(await log.getByRole('button', { name: 'Older attempts' }).isHidden(), 'two attempts fit one page');

  // Twenty more: the newest page is full, the first two attempts are one click further.
  await visitorWrites('Second visitor', 19);
  // The log trails the receiver by a moment: wait until the server has recorded all 22.
  const token = await sessionToken();
  const id = await section.locator('tr[data-webhook-id]', { hasText: receivers.ok.url }).getAttribute('data-webhook-id');
  await until('22 attempts recorded', async () => (await call('GET', `/api/v1/webhooks/${id}/deliveries?limit=50`, token)).deliveries.length === 22);
  await log.getByRole('button', { name: 'Refresh' }).click();
  await rows.nth(19).waitFor();
  assert.equal(await rows.count(), 20);
  await log.getByRole('button', { name: 'Older attempts' }).click();
  await rows.nth(21).waitFor();
  assert.equal(await rows.count(), 22);
  assert.deepEqual(await rows.nth(21).locator('code').textContent(), 'conversation.created', 'the oldest attempt comes last');
  assert.ok(await log.getByRole('button', { name: 'Older attempts' }).isHidden(), 'nothing older');
  await page.screenshot({ path: path.join(env.results, 'webhooks-log.png'), fullPage: true });
});

test('a receiver answering 500 shows as retrying, then given up, with its status; endpoints are deleted after confirming', async () => {
  const form = section.getByRole('form', { name: 'New webhook endpoint' });
  await form.getByLabel('URL').fill(receivers.broken.url);
  await form.getByRole('checkbox', { name: /message\.created/ }).check();
  await form.getByRole('button', { name: 'Create' }).click();
  await section.getByRole('region', { name: `Signing secret for ${receivers.broken.url}` }).waitFor();
  await section.getByRole('button', { name: 'Done' }).click();
  assert.equal(await section.getByRole('region', { name: /Signing secret/ }).count(), 0);

  await visitorWrites('Unlucky visitor', 1);
  await section.getByRole('button', { name: `Delivery log ${receivers.broken.url}` }).click();
  const log = section.getByRole('region', { name: `Delivery log: ${receivers.broken.url}` });
  const retrying = log.locator('tbody tr', { hasText: 'Failed, will retry' });
  await refreshUntil(log, retrying.first());
  assert.equal(await retrying.first().locator('.outcome-detail').textContent(), 'HTTP 500');
  assert.equal(await retrying.first().getAttribute('data-status'), 'retrying');
  // CHAT_WEBHOOK_RETRY_FOR_SECS=3: the last attempt gives up, and the log says so first.
  const givenUp = log.locator('tbody tr', { hasText: 'Failed, given up' });
  await refreshUntil(log, givenUp.first());
  const first = log.locator('tbody tr').first();
  assert.equal(await first.getAttribute('data-status'), 'failed', 'the newest attempt is the one that gave up');
  assert.equal(await first.locator('.outcome-detail').textContent(), 'HTTP 500');
  assert.ok(Number(await first.getByRole('cell').nth(2).textContent()) > 1, 'after several attempts');
  assert.ok(receivers.broken.got.length > 1, 'the receiver was tried more than once');
  await page.screenshot({ path: path.join(env.results, 'webhooks-failed.png'), fullPage: true });

  // Delete asks first; Cancel keeps the endpoint.
  const row = section.locator('tr[data-webhook-id]', { hasText: receivers.broken.url });
  await row.getByRole('button', { name: `Delete ${receivers.broken.url}` }).click();
  await row.getByText(`Delete ${receivers.broken.url}? Its pending deliveries are dropped.`).waitFor();
  await row.getByRole('button', { name: 'Cancel' }).click();
  await row.getByRole('button', { name: `Delete ${receivers.broken.url}` }).waitFor();
  await row.getByRole('button', { name: `Delete ${receivers.broken.url}` }).click();
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await row.waitFor({ state: 'detached' });
  assert.ok(await page.locator('#webhook-log').isHidden(), 'its log goes with it');
  // The keyboard goes on from the section's heading, not from a button that is gone.
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'admin-webhooks-title');

  const okRow = section.locator('tr[data-webhook-id]', { hasText: receivers.ok.url });
  await okRow.getByRole('button', { name: `Delete ${receivers.ok.url}` }).click();
  await okRow.getByRole('button', { name: 'Delete', exact: true }).click();
  await section.getByText('No webhook endpoints yet.').waitFor();
  assert.deepEqual((await call('GET', '/api/v1/webhooks', await sessionToken())).webhooks, []);
});

test('no dialogs, page errors or CSP violations on any page', () => {
  assert.deepEqual(problems.flat(), []);
});
