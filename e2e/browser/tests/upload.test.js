// A visitor attaches a file from the widget on a customer's site; the agent downloads the
// same bytes from the console.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, watch } from './harness.js';

let browser;
let visitor;
let agent;
const problems = [];

before(async () => {
  browser = await launch();
  visitor = await (await browser.newContext({ acceptDownloads: true })).newPage();
  agent = await (await browser.newContext({ acceptDownloads: true })).newPage();
  problems.push(watch(visitor, 'visitor'), watch(agent, 'agent'));
});

after(async () => {
  await browser?.close();
});

async function read(download) {
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

test('a visitor uploads a file and the agent downloads the same bytes', async () => {
  const bytes = Buffer.from('pedido 12345\nnota fiscal anexada\n');
  await visitor.goto(env.hostUrl);
  await visitor.getByRole('button', { name: 'Abrir chat' }).click();
  await visitor.getByRole('textbox', { name: 'Digite sua mensagem' }).fill('Segue a nota fiscal');
  await visitor.keyboard.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]').waitFor();

  await visitor.locator('atendo-chat input[type=file]').setInputFiles({ name: 'nota.txt', mimeType: 'text/plain', buffer: bytes });
  const sent = visitor.locator('atendo-chat li[data-seq="2"] .file', { hasText: 'nota.txt' });
  await sent.waitFor();
  assert.equal(await visitor.locator('atendo-chat .error').isVisible(), false);
  // The visitor can fetch it back too, cross-origin, through the attachment redirect.
  const [own] = await Promise.all([visitor.waitForEvent('download'), sent.click()]);
  assert.equal(own.suggestedFilename(), 'nota.txt');
  assert.deepEqual(await read(own), bytes);

  const conversationId = await visitor.evaluate((origin) => JSON.parse(localStorage.getItem(`atendo:${origin}`)).conversation_id, env.chatUrl);
  await agent.goto(env.chatUrl + '/');
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
