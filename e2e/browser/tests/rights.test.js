// Data rights in the console: "Baixar transcrição" in a conversation saves its transcript as
// HTML (notes marked, markup shown as text), and "Exportar" in the admin area saves the whole
// tenant as NDJSON (first line `export`, last `end`).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { env, launch, watch, api, adminSession, openConsole } from './harness.js';

let browser;
let page;
let admin;
let conversation; // the one the first test works in, looked for in the export
const problems = [];
const RUN = Date.now().toString(36);
const VISITOR = `Transcrição ${RUN}`;

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 }, acceptDownloads: true })).newPage();
  problems.push(watch(page, 'agent'));
  admin = (await adminSession()).token;
});

after(async () => {
  await browser?.close();
});

test('the conversation view downloads its transcript, notes marked and markup escaped', async () => {
  // Signed in first: a conversation started while no agent is online waits as pending.
  await openConsole(page, await adminSession());
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: VISITOR });
  conversation = await api('POST', '/api/v1/conversations', token);
  const c = conversation.id;
  await api('POST', `/api/v1/conversations/${c}/messages`, token, { body: '<script>alert(1)</script> olá!', client_msg_id: 'r1' });
  await api('POST', `/api/v1/conversations/${c}/messages`, admin, { body: `nota interna ${RUN}`, client_msg_id: 'r2', private: true });
  await api('POST', `/api/v1/conversations/${c}/messages`, admin, { body: 'Olá, em que posso ajudar?', client_msg_id: 'r3' });

  await page.locator(`#conversation-list li[data-id="${c}"]`).getByRole('button').click();
  await page.getByRole('heading', { name: `Conversa com ${VISITOR}` }).waitFor();
  await page.locator('.messages li', { hasText: 'Olá, em que posso ajudar?' }).waitFor();
  await page.screenshot({ path: path.join(env.results, 'rights-thread.png') });

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Baixar transcrição' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `transcript-${c}.html`);
  const html = await fs.readFile(await download.path(), 'utf8');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; olá!'), html);
  assert.ok(!html.includes('<script'), 'no markup from a message survives');
  assert.ok(html.includes(`nota interna ${RUN}`) && html.includes('Private note'), 'the note is in it, marked');
  assert.ok(html.includes('Olá, em que posso ajudar?'));

  // The saved page as a person opens it: nothing runs (the watcher would see an alert).
  const saved = await page.context().newPage();
  problems.push(watch(saved, 'transcript'));
  await saved.setContent(html);
  await saved.getByRole('heading', { name: 'Conversation transcript' }).waitFor();
  await saved.screenshot({ path: path.join(env.results, 'rights-transcript.png'), fullPage: true });
  await saved.close();
  assert.deepEqual(problems.flat(), []);
});

test('the admin area exports the whole tenant as NDJSON', async () => {
  await page.getByRole('link', { name: 'Administração' }).click();
  const section = page.getByRole('region', { name: 'Dados' });
  await section.waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    section.getByRole('button', { name: 'Exportar' }).click(),
  ]);
  const name = download.suggestedFilename();
  assert.match(name, /^atendo-export-\d{8}T\d{6}Z\.ndjson$/);
  await section.getByRole('status').filter({ hasText: `Salvo como ${name}.` }).waitFor();
  const text = await fs.readFile(await download.path(), 'utf8');
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].kind, 'export');
  assert.equal(lines.at(-1).kind, 'end');
  assert.ok(lines.some((l) => l.kind === 'conversation' && l.id === conversation.id), 'the conversation is in it');
  assert.ok(lines.some((l) => l.kind === 'note' && l.body === `nota interna ${RUN}`), 'its note, as a note');
  assert.ok(lines.some((l) => l.kind === 'visitor' && l.name === VISITOR));
  for (const a of lines.filter((l) => l.kind === 'agent')) {
    assert.ok(!JSON.stringify(a).includes('argon2'), 'no password hash');
  }
  await page.screenshot({ path: path.join(env.results, 'rights-export.png') });
  assert.deepEqual(problems.flat(), []);
});
