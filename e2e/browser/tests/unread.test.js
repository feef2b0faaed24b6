// Unread badges: a conversation the agent has not opened counts the visitor's new messages on
// its inbox row, live, and the tab's title carries the total; opening it clears the count (the
// console reports what it read, so a reload keeps it cleared), and a conversation being read
// gains no badge.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, api, adminSession, openConsole } from './harness.js';

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(page, 'agent'));
});

after(async () => {
  await browser?.close();
});

async function visitorConversation(name) {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name });
  const c = await api('POST', '/api/v1/conversations', token);
  let n = 0;
  const say = (body) => api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body, client_msg_id: `u${(n += 1)}` });
  return { c, say };
}

/** The badge's number on a row ('' when it has none). */
const badge = (row) => row.evaluate((el) => el.querySelector('.badge.unread [aria-hidden]')?.textContent || '');
/** The sum of every row's badge: what the title must show. */
const total = () =>
  page.evaluate(() => [...document.querySelectorAll('#conversation-list .badge.unread [aria-hidden]')].reduce((n, el) => n + Number(el.textContent), 0));

test('unread messages are counted per row and in the title, live, and cleared by opening', async () => {
  const x = await visitorConversation('Não Lida');
  await x.say('primeira');
  await openConsole(page, await adminSession());
  const row = page.locator(`#conversation-list li[data-id="${x.c.id}"]`);
  await row.locator('.badge.unread', { hasText: '1' }).waitFor();
  assert.equal(await row.locator('.badge.unread .sr-only').textContent(), '1 não lidas', 'the count in words too');

  // Live, with the conversation never opened here.
  await x.say('segunda');
  await x.say('terceira');
  await row.locator('.badge.unread', { hasText: '3' }).waitFor();
  const sum = await total();
  assert.ok(sum >= 3);
  assert.equal(await page.title(), `(${sum}) ${env.brandName}`);
  await page.screenshot({ path: path.join(env.results, 'unread-inbox.png') });

  // Opening clears it, here and in the title.
  await row.getByRole('button').click();
  await page.locator('.thread li[data-seq="3"]').waitFor();
  await row.locator('.badge.unread').waitFor({ state: 'detached' });
  const after = await total();
  assert.equal(await page.title(), after ? `(${after}) ${env.brandName}` : env.brandName);

  // What is read while open stays read.
  await x.say('quarta, lida na hora');
  await page.locator('.thread li[data-seq="4"]').waitFor();
  await page.waitForTimeout(500);
  assert.equal(await badge(row), '');

  // The server keeps what was read: after a reload the row has no badge.
  await page.reload();
  await page.locator('#conn[data-state="online"]').waitFor();
  await row.waitFor();
  await page.waitForTimeout(300);
  assert.equal(await badge(row), '', 'read state survives a reload');

  // Once another conversation is open, new messages count again.
  const y = await visitorConversation('Outra Aberta');
  await y.say('oi');
  await page.locator(`#conversation-list li[data-id="${y.c.id}"] button`).click();
  await page.getByRole('heading', { name: 'Conversa com Outra Aberta' }).waitFor();
  await x.say('quinta');
  await row.locator('.badge.unread', { hasText: '1' }).waitFor();
  assert.deepEqual(problems.flat(), []);
});
