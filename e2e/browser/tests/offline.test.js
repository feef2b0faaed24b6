// When no one is there: the widget says the desk is closed, with the next opening, asks for a
// name and an email beside the message, refuses an email that is no address, and the message
// lands in a pending conversation under the name given; "email me the transcript" is offered
// once there is a conversation. On a phone (390×844) the closed state fits the full-screen panel.
// This test runs a chat-server of its own whose CHAT_BUSINESS_HOURS are closed today and tomorrow
// (holidays), and whose mail goes to a port where nothing listens (requests are queued, never
// sent). Screenshots go to test-results/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { env, launch, watch } from './harness.js';
import { freePort, startChatServer, stop } from './processes.js';

const bin = process.env.E2E_CHAT_BIN;
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'pt-BR' };
let dir;
let chat;
let server;
let browser;
const problems = [];

/** Every day all day in UTC+14, but today and tomorrow there are holidays: closed until then. */
function closedToday() {
  const plus14 = (d) => new Date(d.getTime() + 14 * 3600 * 1000).toISOString().slice(0, 10);
  const now = new Date();
  const holidays = [plus14(now), plus14(new Date(now.getTime() + 24 * 3600 * 1000))];
  const weekly = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => ({ day, from: '00:00', to: '24:00' }));
  return JSON.stringify({ timezone: 'Etc/GMT-14', weekly, holidays });
}

async function startServer(port) {
  const nowhere = await freePort(); // an SMTP relay that is down: mail waits in the outbox
  return startChatServer(dir, port, {
    CHAT_ADMIN_EMAIL: env.adminEmail,
    CHAT_ADMIN_PASSWORD: env.adminPassword,
    CHAT_BRAND_LOCALE: 'pt-BR',
    CHAT_BUSINESS_HOURS: closedToday(),
    CHAT_SMTP_URL: `smtp://127.0.0.1:${nowhere}?tls=none`,
    CHAT_MAIL_FROM: 'ACME <suporte@acme.test>',
    CHAT_PUBLIC_URL: `http://127.0.0.1:${port}`,
  });
}

async function call(method, p, token, body) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(chat + p, { method, headers, body: body && JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  assert.ok(bin, 'E2E_CHAT_BIN is not set; run the tests through e2e/browser/run.sh');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atendo-offline-'));
  const port = await freePort();
  chat = `http://127.0.0.1:${port}`;
  server = await startServer(port);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stop(server);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('closed: the widget says so with the next opening and takes name, email and message into a pending conversation', async () => {
  const { body: availability } = await call('GET', '/api/v1/availability');
  assert.equal(availability.open, false);
  assert.ok(availability.next_open_at, 'closed by the hours: an opening is named');

  const visitor = await (await browser.newContext({ locale: 'pt-BR' })).newPage();
  problems.push(watch(visitor, 'visitor'));
  await visitor.goto(`${env.hostUrl}/?chat=${encodeURIComponent(chat)}`);
  await visitor.getByRole('button', { name: 'Abrir chat' }).click();
  const closed = visitor.getByRole('region', { name: 'Ninguém disponível agora' });
  await closed.waitFor();
  const opening = await visitor.locator('atendo-chat .opening').textContent();
  assert.match(opening, /^Voltamos .+\.$/, opening);

  const name = visitor.getByRole('textbox', { name: 'Seu nome' });
  const email = visitor.getByRole('textbox', { name: 'Seu e-mail' });
  const input = visitor.getByRole('textbox', { name: 'Digite sua mensagem' });
  await name.fill('Vera Lúcia');
  await email.fill('vera@');
  await input.fill('Meu pedido 4521 não chegou. Podem me responder por e-mail?');
  await input.press('Enter');
  await visitor.locator('atendo-chat .error', { hasText: 'Informe um e-mail válido.' }).waitFor();
  assert.equal(await input.inputValue(), 'Meu pedido 4521 não chegou. Podem me responder por e-mail?', 'the message is kept');
  assert.equal(await visitor.locator('atendo-chat li[data-seq]').count(), 0, 'nothing was sent');

  await email.fill('vera@example.com');
  await input.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]').waitFor();
  await visitor.locator('atendo-chat .thanks', { hasText: 'Obrigado! Recebemos sua mensagem' }).waitFor();
  assert.equal(await name.isVisible(), false, 'the fields give way to the thanks');
  await visitor.screenshot({ path: path.join(env.results, 'offline-widget.png') });

  // The server made it pending, under the name and email the form gave.
  const { body: login } = await call('POST', '/api/v1/agents/login', undefined, { email: env.adminEmail, password: env.adminPassword });
  const { body: page } = await call('GET', '/api/v1/conversations?status=pending', login.token);
  assert.equal(page.conversations.length, 1);
  assert.equal(page.conversations[0].visitor.name, 'Vera Lúcia');

  // Email me the transcript: the address is the one given, and it goes when resolved.
  await visitor.getByText('Receber a conversa por e-mail').click();
  const transcriptEmail = visitor.locator('atendo-chat #atendo-transcript-email');
  assert.equal(await transcriptEmail.inputValue(), 'vera@example.com');
  await visitor.getByRole('button', { name: 'Quero receber' }).click();
  await visitor
    .locator('atendo-chat .transcript-result', { hasText: 'Enviaremos a conversa para vera@example.com quando o atendimento for encerrado.' })
    .waitFor();
  await visitor.screenshot({ path: path.join(env.results, 'offline-widget-transcript.png') });
  assert.deepEqual(problems.flat(), []);
});

test('closed on a phone: the notice, the fields and the composer fit the full-screen panel', async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  problems.push(watch(page, 'phone visitor'));
  await page.goto(`${env.hostUrl}/?chat=${encodeURIComponent(chat)}`);
  await page.getByRole('button', { name: 'Abrir chat' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));
  const box = await dialog.boundingBox();
  assert.deepEqual([box.x, box.y, Math.round(box.width), Math.round(box.height)], [0, 0, 390, 844], 'full-screen');
  await page.getByRole('region', { name: 'Ninguém disponível agora' }).waitFor();
  const inside = (locator) =>
    locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5 && r.height > 0;
    });
  for (const label of ['Seu nome', 'Seu e-mail', 'Digite sua mensagem']) {
    assert.ok(await inside(page.getByRole('textbox', { name: label })), `${label} is on screen`);
  }
  assert.ok(await inside(page.getByRole('button', { name: 'Enviar' })));
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth);
  assert.equal(overflow, 0, 'nothing scrolls sideways');
  await page.screenshot({ path: path.join(env.results, 'offline-phone.png') });
  assert.deepEqual(problems.flat(), []);
});
