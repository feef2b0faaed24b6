// Labels: added and removed in the conversation's header, shown as chips there and on the inbox
// row (also when another agent changes them), refused labels explained, and the inbox filtered
// by label through ?label=, live and without taking the keyboard focus away.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, api, adminSession, openConsole } from './harness.js';

let browser;
let page;
let admin; // the admin's REST token, standing in for another agent
const problems = [];
const RUN = Date.now().toString(36);
const BILLING = `cobrança-${RUN}`;

async function conversation(name) {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name });
  const c = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: `oi, sou ${name}`, client_msg_id: 'l1' });
  return c;
}

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(page, 'agent'));
  admin = (await adminSession()).token;
});

after(async () => {
  await browser?.close();
});

test('labels are added and removed in the header and show on the inbox row', async () => {
  const c = await conversation('Rótulos Um');
  await openConsole(page, await adminSession());
  const row = page.locator(`#conversation-list li[data-id="${c.id}"]`);
  await row.getByRole('button').click();
  await page.getByRole('heading', { name: 'Conversa com Rótulos Um' }).waitFor();

  const field = page.getByLabel('Adicionar etiqueta', { exact: true });
  await field.fill(BILLING.toUpperCase());
  await field.press('Enter');
  const chips = page.getByRole('list', { name: 'Etiquetas' });
  await chips.getByRole('listitem').filter({ hasText: BILLING }).waitFor(); // stored lower case
  assert.equal(await field.inputValue(), '', 'the field empties for the next one');
  await field.fill('vip');
  await field.press('Enter');
  await chips.getByRole('listitem').filter({ hasText: 'vip' }).waitFor();
  await row.locator('.chip.label', { hasText: BILLING }).waitFor();
  await row.locator('.chip.label', { hasText: 'vip' }).waitFor();

  // A refused label: the server's sentence next to the field, nothing changed.
  await field.fill('duas palavras');
  await field.press('Enter');
  await page.locator('#label-error', { hasText: /^labels\[2\]/ }).waitFor();
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.equal(await chips.getByRole('listitem').count(), 2);
  await field.fill('');

  // Remove by its button; the keyboard carries on in the field.
  await chips.getByRole('button', { name: 'Remover etiqueta vip' }).click();
  await chips.getByRole('listitem').filter({ hasText: 'vip' }).waitFor({ state: 'detached' });
  await row.locator('.chip.label', { hasText: 'vip' }).waitFor({ state: 'detached' });
  assert.equal(await field.evaluate((el) => el === document.activeElement), true);
  assert.equal(await page.locator('#label-error').textContent(), '');

  // Another agent's change arrives live, in the header and on the row.
  await api('PUT', `/api/v1/conversations/${c.id}/labels`, admin, { labels: [BILLING, 'urgente'] });
  await chips.getByRole('listitem').filter({ hasText: 'urgente' }).waitFor();
  await row.locator('.chip.label', { hasText: 'urgente' }).waitFor();
  await page.screenshot({ path: path.join(env.results, 'labels-thread.png') });
});

test('the inbox filters by label, live, keeping the focus where it is', async () => {
  const other = await conversation('Rótulos Dois');
  const labelled = page.locator('#conversation-list li.conv', { hasText: 'Rótulos Um' });
  const rowOther = page.locator(`#conversation-list li[data-id="${other.id}"]`);
  await rowOther.waitFor();
  const filter = page.getByLabel('Etiqueta', { exact: true });
  await filter.fill(BILLING);
  await rowOther.waitFor({ state: 'detached' });
  await labelled.waitFor();
  assert.equal(await page.locator('#conversation-list li.conv').count(), 1, 'only the labelled conversation');

  // Focus on the row; the other conversation gets the label elsewhere and joins the list live.
  await labelled.getByRole('button').focus();
  await labelled.evaluate((el) => (el.kept = true));
  await api('PUT', `/api/v1/conversations/${other.id}/labels`, admin, { labels: [BILLING] });
  await rowOther.waitFor();
  assert.equal(await labelled.evaluate((el) => el.kept && el.contains(document.activeElement)), true, 'same row, still focused');
  await page.keyboard.press('ArrowUp');
  assert.equal(await rowOther.getByRole('button').evaluate((el) => el === document.activeElement), true, 'arrows still work');
  await page.screenshot({ path: path.join(env.results, 'labels-filter.png') });

  // Losing the label drops it from the filtered list; clearing the filter shows every one.
  await api('PUT', `/api/v1/conversations/${other.id}/labels`, admin, { labels: [] });
  await rowOther.waitFor({ state: 'detached' });
  await filter.fill('');
  await rowOther.waitFor();
  assert.deepEqual(problems.flat(), []);
});
