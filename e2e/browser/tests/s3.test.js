// S3 mode from the customer's site: the widget on the host page's origin uploads and downloads
// an attachment at presigned URLs on moto's origin, and the agent downloads it in the console.
// The chat-server allows only the host page's origin (CHAT_ALLOWED_ORIGINS) and the bucket's
// CORS rule, made by the operator's own S3 provider, admits the host page and the console. A
// page on another origin (the same host page server, reached as localhost) is refused by both.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, watch } from './harness.js';

const page = (origin) => `${origin}/?chat=${encodeURIComponent(env.s3ChatUrl)}&s3=${encodeURIComponent(env.s3Url)}`;
const allowedOrigin = new URL(env.hostUrl).origin;
// Same server, another origin: the chat-server and the bucket must tell them apart.
const otherOrigin = allowedOrigin.replace('127.0.0.1', 'localhost');

let browser;
let visitor;
let agent;
const problems = [];
/** Every request the visitor's page made to the bucket: [method, status]. */
const bucketCalls = [];

before(async () => {
  browser = await launch();
  visitor = await (await browser.newContext({ acceptDownloads: true })).newPage();
  agent = await (await browser.newContext({ acceptDownloads: true })).newPage();
  problems.push(watch(visitor, 'visitor'), watch(agent, 'agent'));
  visitor.on('response', (r) => {
    if (r.url().startsWith(env.s3Url + '/')) bucketCalls.push([r.request().method(), r.status()]);
  });
});

after(async () => {
  await browser?.close();
});

/** The bucket calls of `method`, once one has been answered (events arrive asynchronously). */
async function callsOf(method) {
  for (let i = 0; i < 50 && !bucketCalls.some(([m]) => m === method); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return bucketCalls.filter(([m]) => m === method);
}

async function read(download) {
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A visitor, its conversation and a presigned upload of `bytes`, asked for by Node (no Origin). */
async function grant(bytes) {
  const call = async (path, body, token) => {
    const res = await fetch(env.s3ChatUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  const { token } = await call('/api/v1/visitors', { name: 'Sonda' });
  const { id } = await call('/api/v1/conversations', {}, token);
  const upload = await call('/api/v1/uploads', { conversation_id: id, filename: 'sonda.txt', content_type: 'text/plain', size: bytes.length }, token);
  return { token, upload };
}

/** What a page on `origin` gets when it calls each thing the widget needs. */
async function probe(origin, bytes) {
  const { token, upload } = await grant(bytes);
  const p = await (await browser.newContext()).newPage();
  await p.goto(page(origin));
  const result = await p.evaluate(
    async ({ chat, token, upload, body }) => {
      const outcome = async (f) => {
        try {
          const r = await f();
          return r.status;
        } catch (e) {
          return `refused: ${e.name}`;
        }
      };
      const socket = () =>
        new Promise((resolve) => {
          const ws = new WebSocket(`${chat.replace('http', 'ws')}/api/v1/ws?token=${encodeURIComponent(token)}`);
          ws.onopen = () => {
            ws.close();
            resolve('open');
          };
          ws.onerror = () => resolve('refused');
        });
      return {
        api: await outcome(() => fetch(`${chat}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })),
        socket: await socket(),
        put: await outcome(() => fetch(upload.upload_url, { method: 'PUT', headers: upload.headers, body })),
      };
    },
    { chat: env.s3ChatUrl, token, upload, body: bytes.toString() },
  );
  await p.context().close();
  return result;
}

test('in S3 mode a visitor on the customer site uploads to the bucket and visitor and agent download the same bytes', async () => {
  const bytes = Buffer.from('nota fiscal 778\nvia bucket\n');
  await visitor.goto(page(env.hostUrl));
  await visitor.getByRole('button', { name: 'Abrir chat' }).click();
  await visitor.getByRole('textbox', { name: 'Digite sua mensagem' }).fill('Segue a nota pelo bucket');
  await visitor.keyboard.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]').waitFor();

  await visitor.locator('atendo-chat input[type=file]').setInputFiles({ name: 'nota.txt', mimeType: 'text/plain', buffer: bytes });
  const sent = visitor.locator('atendo-chat li[data-seq="2"] .file', { hasText: 'nota.txt' });
  await sent.waitFor();
  assert.equal(await visitor.locator('atendo-chat .error').isVisible(), false);
  // The bytes went to moto's origin, not through the chat-server.
  assert.deepEqual(await callsOf('PUT'), [['PUT', 200]]);

  const [own] = await Promise.all([visitor.waitForEvent('download'), sent.click()]);
  assert.equal(own.suggestedFilename(), 'nota.txt');
  assert.deepEqual(await read(own), bytes);
  assert.deepEqual(await callsOf('GET'), [['GET', 200]]);

  const conversationId = await visitor.evaluate((o) => JSON.parse(localStorage.getItem(`atendo:${o}`)).conversation_id, env.s3ChatUrl);
  await agent.goto(env.s3ChatUrl + '/');
  const form = agent.getByRole('form', { name: 'Entrar' });
  await form.getByLabel('E-mail').fill(env.adminEmail);
  await form.getByLabel('Senha').fill(env.adminPassword);
  await form.getByRole('button', { name: 'Entrar' }).click();
  await agent.locator(`#conversation-list li[data-id="${conversationId}"] button`).click();
  const file = agent.locator('.thread li[data-seq="2"] .file', { hasText: 'nota.txt' });
  await file.waitFor();
  const [download] = await Promise.all([agent.waitForEvent('download'), file.click()]);
  assert.equal(download.suggestedFilename(), 'nota.txt');
  assert.deepEqual(await read(download), bytes);
  assert.deepEqual(problems.flat(), []);
});

test('a page on an origin the tenant did not allow can use neither the chat API, a socket nor the bucket', async () => {
  const bytes = Buffer.from('sonda');
  // The control: the allowed page, with the same CSP, gets every answer.
  assert.deepEqual(await probe(allowedOrigin, bytes), { api: 200, socket: 'open', put: 200 });
  assert.deepEqual(await probe(otherOrigin, bytes), { api: 'refused: TypeError', socket: 'refused', put: 'refused: TypeError' });
});
