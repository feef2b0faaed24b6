// Canned responses: the admin manages them in the admin area (a refused shortcut is explained on
// its field), and in the reply box "/" + the start of a shortcut offers them in a listbox that
// works from the keyboard (arrows, Enter, Tab, Escape) and with the mouse.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, api, adminSession, openConsole } from './harness.js';

let browser;
let page;
const problems = [];
const RUN = Date.now().toString(36);
const REFUND = `reembolso${RUN}`;
const TRACK = `rastreio${RUN}`;

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(page, 'admin'));
});

after(async () => {
  await browser?.close();
});

test('the admin creates, edits and deletes canned responses; a taken shortcut is refused on its field', async () => {
  await openConsole(page, await adminSession());
  await page.getByRole('link', { name: 'Administração' }).click();
  const section = page.getByRole('region', { name: 'Respostas prontas' });
  await section.waitFor();
  const form = page.getByRole('form', { name: 'Nova resposta pronta' });
  const add = async (shortcut, body) => {
    await form.getByLabel('Atalho').fill(shortcut);
    await form.getByLabel('Texto').fill(body);
    await form.getByRole('button', { name: 'Salvar' }).click();
  };
  await add(REFUND, 'Seu reembolso sai em até 5 dias úteis.');
  await section.locator('tr', { hasText: `/${REFUND}` }).waitFor();
  await add(TRACK, 'Acompanhe a entrega pelo código que enviamos.');
  await section.locator('tr', { hasText: `/${TRACK}` }).waitFor();
  await add('tchau', 'Até logo!');
  await section.locator('tr', { hasText: '/tchau' }).waitFor();

  // The same shortcut in capitals: 409 duplicate_shortcut, said next to the shortcut field.
  await add(REFUND.toUpperCase(), 'Outro texto');
  const shortcut = form.getByLabel('Atalho');
  await page.locator('#canned-shortcut-error', { hasText: 'Outra resposta pronta já usa este atalho.' }).waitFor();
  assert.equal(await shortcut.getAttribute('aria-invalid'), 'true');
  assert.equal(await shortcut.getAttribute('aria-describedby'), 'canned-shortcut-error');
  // A shortcut with a space: the server's own sentence, on the same field.
  await add('duas palavras', 'x');
  await page.locator('#canned-shortcut-error', { hasText: /^shortcut/ }).waitFor();
  await page.screenshot({ path: path.join(env.results, 'canned-admin-error.png') });

  // Edit: the form fills in, saves over the same response.
  await section.getByRole('button', { name: `Editar /${TRACK}` }).click();
  const edit = page.getByRole('form', { name: 'Editar resposta pronta' });
  assert.equal(await edit.getByLabel('Atalho').inputValue(), TRACK);
  await edit.getByLabel('Texto').fill('Acompanhe a entrega pelo código de rastreio que enviamos por e-mail.');
  await edit.getByRole('button', { name: 'Salvar' }).click();
  await section.locator('tr', { hasText: 'código de rastreio que enviamos por e-mail' }).waitFor();
  assert.equal(await page.locator('#canned-shortcut').getAttribute('aria-invalid'), null, 'the old error is gone');

  await section.getByRole('button', { name: 'Excluir /tchau' }).click();
  await section.locator('tr', { hasText: '/tchau' }).waitFor({ state: 'detached' });
  await page.screenshot({ path: path.join(env.results, 'canned-admin.png') });
});

test('"/" in the reply box offers canned responses: keyboard and mouse insert them', async () => {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Cliente Atalhos' });
  const c = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: 'Quero meu dinheiro de volta', client_msg_id: 'c1' });
  await page.getByRole('link', { name: 'Caixa de entrada' }).click();
  await page.locator(`#conversation-list li[data-id="${c.id}"] button`).click();
  await page.locator('.thread li[data-seq="1"]').waitFor();

  const input = page.locator('#reply-input');
  const listbox = page.getByRole('listbox', { name: 'Respostas prontas' });
  await input.pressSequentially(`Olá! /r`, { delay: 10 });
  await listbox.waitFor();
  // Both shortcuts start with "r"; typing on narrows the list.
  assert.deepEqual(await listbox.getByRole('option').evaluateAll((els) => els.map((e) => e.querySelector('.canned-shortcut').textContent).sort()), [`/${TRACK}`, `/${REFUND}`].sort());
  await input.pressSequentially('e', { delay: 10 });
  await page.waitForFunction(() => document.querySelectorAll('#canned-list [role=option]').length === 1);
  const only = listbox.getByRole('option');
  assert.equal(await only.getAttribute('aria-selected'), 'true');
  assert.equal(await input.getAttribute('aria-activedescendant'), await only.getAttribute('id'));
  assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'the focus stays in the reply box');
  await page.screenshot({ path: path.join(env.results, 'canned-picker.png') });

  // Enter inserts (and does not send).
  await input.press('Enter');
  assert.equal(await input.inputValue(), 'Olá! Seu reembolso sai em até 5 dias úteis.');
  assert.equal(await listbox.isVisible(), false);
  assert.equal(await page.locator('.thread li[data-seq="2"]').count(), 0, 'nothing was sent');

  // Arrows move, Tab inserts.
  await input.fill('');
  await input.pressSequentially('/r', { delay: 10 });
  await listbox.waitFor();
  await input.press('ArrowDown');
  assert.equal(await listbox.getByRole('option').nth(1).getAttribute('aria-selected'), 'true');
  assert.equal(await listbox.getByRole('option').nth(0).getAttribute('aria-selected'), 'false');
  await input.press('ArrowDown'); // wraps around
  assert.equal(await listbox.getByRole('option').nth(0).getAttribute('aria-selected'), 'true');
  await input.press('ArrowUp');
  const second = await listbox.getByRole('option').nth(1).locator('.canned-body').textContent();
  await input.press('Tab');
  assert.equal(await input.inputValue(), second);

  // Escape closes and leaves the text as typed; Enter then sends it as it is.
  await input.fill('');
  await input.pressSequentially('/ras', { delay: 10 });
  await listbox.waitFor();
  await input.press('Escape');
  assert.equal(await listbox.isVisible(), false);
  assert.equal(await input.inputValue(), '/ras');

  // The mouse: a click on an option inserts it.
  await input.fill('');
  await input.pressSequentially('Veja: /', { delay: 10 });
  await listbox.waitFor();
  await listbox.getByRole('option', { name: new RegExp(`/${TRACK}`) }).click();
  assert.equal(await input.inputValue(), 'Veja: Acompanhe a entrega pelo código de rastreio que enviamos por e-mail.');
  await page.getByRole('button', { name: 'Responder' }).click();
  await page.locator('.thread li[data-seq="2"]', { hasText: 'código de rastreio' }).waitFor();

  // No match, no list.
  await input.pressSequentially('/zzz', { delay: 10 });
  await page.waitForTimeout(200);
  assert.equal(await listbox.isVisible(), false);
  assert.deepEqual(problems.flat(), []);
});
