// The console's alert for a new conversation: never a permission prompt on load; after the
// agent turns alerts on (Playwright grants the permission), each new conversation raises one
// desktop notification and one short sound, and a click on it opens the conversation. The page's
// Notification is a stub that records what the console asks of it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, signIn, api } from './harness.js';

let browser;
let context;
let page;
const problems = [];

/** Records notifications, permission requests and tones; the permission itself is the browser's. */
function stubNotifications() {
  const Real = window.Notification;
  window.__notifications = [];
  window.__permissionRequests = 0;
  window.__tones = 0;
  window.Notification = class {
    constructor(title, options) {
      Object.assign(this, { title, ...options });
      window.__notifications.push(this);
    }
    close() {
      this.closed = true;
    }
    static get permission() {
      return Real.permission;
    }
    static requestPermission() {
      window.__permissionRequests += 1;
      return Real.requestPermission();
    }
  };
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.__tones += 1;
    return start.apply(this, args);
  };
}

async function newConversation(name) {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name });
  return { ...(await api('POST', '/api/v1/conversations', token)), token };
}

const seen = () => page.evaluate(() => ({ notes: window.__notifications.map((n) => [n.title, n.body, n.tag]), tones: window.__tones }));

before(async () => {
  browser = await launch();
  context = await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } });
  await context.addInitScript(stubNotifications);
  page = await context.newPage();
  problems.push(watch(page, 'agent'));
});

after(async () => {
  await browser?.close();
});

test('the console never asks for notification permission on its own', async () => {
  await signIn(page, env.adminEmail, env.adminPassword);
  await newConversation('Sem alerta');
  await page.locator('#conversation-list li', { hasText: 'Sem alerta' }).waitFor();
  assert.equal(await page.evaluate(() => window.__permissionRequests), 0);
  assert.deepEqual(await seen(), { notes: [], tones: 0 }, 'alerts are off until the agent turns them on');
  const bell = page.getByRole('button', { name: 'Alertas de novas conversas' });
  assert.equal(await bell.getAttribute('aria-pressed'), 'false');
});

test('after the agent turns alerts on, a new conversation raises one notification and one tone', async () => {
  await context.grantPermissions(['notifications'], { origin: env.chatUrl });
  const bell = page.getByRole('button', { name: 'Alertas de novas conversas' });
  await bell.click();
  await page.waitForFunction(() => document.getElementById('notify-toggle').getAttribute('aria-pressed') === 'true');
  assert.equal(await page.evaluate(() => window.__permissionRequests), 1, 'asked once, after the click');

  const c = await newConversation('Com alerta');
  await page.waitForFunction(() => window.__notifications.length === 1);
  // A message and an assignment in that conversation are not new conversations.
  await api('POST', `/api/v1/conversations/${c.id}/messages`, c.token, { body: 'oi', client_msg_id: 'n1' });
  await page.locator(`#conversation-list li[data-id="${c.id}"]`).waitFor();
  await page.waitForTimeout(300);
  assert.deepEqual(await seen(), { notes: [['Nova conversa', 'Com alerta', c.id]], tones: 1 });
  await page.screenshot({ path: path.join(env.results, 'console-alerts-on.png') });

  // Clicking the notification opens the conversation.
  await page.evaluate(() => window.__notifications[0].onclick());
  await page.getByRole('heading', { name: 'Conversa com Com alerta' }).waitFor();
  assert.equal(await page.evaluate(() => window.__notifications[0].closed), true);

  // Reloaded, the choice holds without a new prompt.
  await page.reload();
  await page.locator('#conn[data-state="online"]').waitFor();
  assert.equal(await bell.getAttribute('aria-pressed'), 'true');
  assert.equal(await page.evaluate(() => window.__permissionRequests), 0);
});

test('turned off, alerts stay quiet', async () => {
  const bell = page.getByRole('button', { name: 'Alertas de novas conversas' });
  await bell.click();
  assert.equal(await bell.getAttribute('aria-pressed'), 'false');
  const c = await newConversation('Silêncio');
  await page.locator(`#conversation-list li[data-id="${c.id}"]`).waitFor();
  await page.waitForTimeout(300);
  assert.deepEqual(await seen(), { notes: [], tones: 0 });
  assert.deepEqual(problems.flat(), []);
});
