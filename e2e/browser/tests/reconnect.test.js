// The widget through a chat-server restart: it shows that it is reconnecting, keeps what the
// visitor writes meanwhile, and afterwards has every message exactly once. This test runs a
// chat-server of its own (same port, data and signing key across the restart).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { env, launch, watch } from './harness.js';
import { freePort, startChatServer, stop } from './processes.js';

const bin = process.env.E2E_CHAT_BIN;
let dir;
let port;
let server;
let browser;
let visitor;
const problems = [];

function startServer() {
  return startChatServer(dir, port, {
    CHAT_SIGNING_KEY: 'reconnect-test-signing-key-0123456789abcdef',
    CHAT_ADMIN_EMAIL: env.adminEmail,
    CHAT_ADMIN_PASSWORD: env.adminPassword,
    CHAT_BRAND_LOCALE: 'pt-BR',
  });
}

async function stopServer() {
  const running = server;
  server = null;
  await stop(running);
}

before(async () => {
  assert.ok(bin, 'E2E_CHAT_BIN is not set; run the tests through e2e/browser/run.sh');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atendo-reconnect-'));
  port = await freePort();
  server = await startServer();
  browser = await launch();
  visitor = await (await browser.newContext()).newPage();
  problems.push(watch(visitor, 'visitor'));
});

after(async () => {
  await browser?.close();
  await stopServer();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const bodies = () =>
  visitor.locator('atendo-chat .messages li[data-seq]').evaluateAll((els) => els.map((e) => [Number(e.dataset.seq), e.querySelector('.body').textContent]));

test('the widget reconnects after a server restart and loses and repeats nothing', async () => {
  const chat = `http://127.0.0.1:${port}`;
  await visitor.goto(`${env.hostUrl}/?chat=${encodeURIComponent(chat)}`);
  await visitor.getByRole('button', { name: 'Abrir chat' }).click();
  const input = visitor.getByRole('textbox', { name: 'Digite sua mensagem' });
  await input.fill('antes da queda');
  await visitor.keyboard.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]').waitFor();
  const state = visitor.locator('atendo-chat .conn');
  await visitor.locator('atendo-chat .conn[data-state="online"]').waitFor();

  await stopServer();
  await visitor.locator('atendo-chat .conn[data-state="reconnecting"]').waitFor();
  assert.equal(await state.textContent(), 'Reconectando…');

  await input.fill('durante a queda');
  await visitor.keyboard.press('Enter');
  await visitor.locator('atendo-chat .pending li', { hasText: 'durante a queda' }).waitFor();

  server = await startServer();
  // An agent answers before the widget is back; the resume must replay it.
  const login = await (
    await fetch(`${chat}/api/v1/agents/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: env.adminEmail, password: env.adminPassword }),
    })
  ).json();
  const conversationId = await visitor.evaluate((o) => JSON.parse(localStorage.getItem(`atendo:${o}`)).conversation_id, chat);
  const posted = await fetch(`${chat}/api/v1/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` },
    body: JSON.stringify({ body: 'enquanto você estava fora', client_msg_id: 'agent-1' }),
  });
  assert.equal(posted.status, 201);

  await visitor.locator('atendo-chat .conn[data-state="online"]').waitFor({ timeout: 45_000 });
  await visitor.locator('atendo-chat li[data-seq="3"]').waitFor();
  await visitor.waitForTimeout(300);
  const log = await bodies();
  assert.deepEqual(log.map(([s]) => s), [1, 2, 3]);
  assert.deepEqual(log.map(([, b]) => b).sort(), ['antes da queda', 'durante a queda', 'enquanto você estava fora']);
  assert.equal(await visitor.locator('atendo-chat .pending li').count(), 0);
  assert.deepEqual(problems.flat(), []);
});
