// Search from the console's top bar: results name their conversation, mark the words (found
// ignoring case and accents, as the server finds them), flag private notes, and open the
// conversation when picked. Escape closes the results and returns to the field.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, api, adminSession, openConsole } from './harness.js';

let browser;
let page;
const problems = [];
const WORD = `pedido${Date.now().toString(36)}`;

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(page, 'agent'));
});

after(async () => {
  await browser?.close();
});

test('a search lists matching messages and notes; picking one opens its conversation', async () => {
  const session = await adminSession();
  const admin = session.token;
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Pessoa Buscada' });
  const c = await api('POST', '/api/v1/conversations', token);
  const say = (who, body, extra = {}) =>
    api('POST', `/api/v1/conversations/${c.id}/messages`, who, { body, client_msg_id: `s${Math.random()}`, ...extra });
  const visitorMsg = await say(token, `Quero um Café gelado com o ${WORD}`);
  await say(token, 'mensagem sem a palavra');
  const note = await say(admin, `Nota: o CAFE do ${WORD} acabou`, { private: true });

  await openConsole(page, session);
  const field = page.getByRole('searchbox', { name: 'Buscar mensagens' });
  await field.fill(`cafe ${WORD.toUpperCase()}`);
  await field.press('Enter');
  const results = page.getByRole('region', { name: `Mensagens com “cafe ${WORD.toUpperCase()}”` });
  await results.waitFor();
  const hits = results.locator('li[data-message-id]');
  await hits.nth(1).waitFor();
  assert.deepEqual(await hits.evaluateAll((els) => els.map((e) => e.dataset.messageId)), [note.id, visitorMsg.id], 'newest first');
  await results.locator('.hit-title', { hasText: 'Conversa com Pessoa Buscada' }).first().waitFor();

  const noteHit = hits.nth(0);
  assert.equal(await noteHit.locator('.chip.note').textContent(), 'Nota privada');
  assert.deepEqual(await noteHit.locator('mark').allTextContents(), ['CAFE', WORD]);
  assert.deepEqual(await hits.nth(1).locator('mark').allTextContents(), ['Café', WORD], 'accents ignored, as the server does');
  assert.equal(await hits.nth(1).locator('.chip.note').count(), 0);
  await page.screenshot({ path: path.join(env.results, 'search-results.png') });

  // Escape closes and returns to the field.
  await hits.nth(1).getByRole('button').focus();
  await page.keyboard.press('Escape');
  await results.waitFor({ state: 'hidden' });
  assert.equal(await field.evaluate((el) => el === document.activeElement), true);

  // Picking a result opens the conversation, from the admin area too.
  await page.getByRole('link', { name: 'Administração' }).click();
  await page.getByRole('heading', { name: 'Atendentes' }).waitFor();
  await field.press('Enter');
  await hits.nth(1).getByRole('button').click();
  await results.waitFor({ state: 'hidden' });
  await page.getByRole('heading', { name: 'Conversa com Pessoa Buscada' }).waitFor();
  await page.waitForURL(/#\/$/);
  await page.locator('.thread li.is-note', { hasText: 'acabou' }).waitFor();
  assert.equal(await page.locator(`#conversation-list li[data-id="${c.id}"] button`).getAttribute('aria-current'), 'true');

  // Nothing found: said so.
  await field.fill(`${WORD} inexistente`);
  await field.press('Enter');
  await page.getByRole('region', { name: /inexistente/ }).getByText('Nenhuma mensagem encontrada.').waitFor();
  assert.deepEqual(problems.flat(), []);
});
