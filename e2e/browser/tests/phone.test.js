// Both screens at phone width (390×844, as an iPhone 12–15 reports it): nothing scrolls
// sideways, the console shows one pane at a time with a way back, and the widget opens
// full-screen with its input above the on-screen keyboard. Screenshots go to test-results/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, signIn, api, adminSession, openConsole } from './harness.js';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'pt-BR' };

let browser;
const problems = [];

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/**
 * Stands in for the on-screen keyboard: on a phone it shrinks the *visual* viewport while the
 * layout viewport (and so 100vh/100dvh) stays, which a desktop browser cannot show.
 * `window.__keyboard(px)` opens a keyboard that tall; `__keyboard(0)` closes it.
 */
function fakeKeyboard() {
  const real = window.visualViewport;
  const fake = new EventTarget();
  let keyboard = 0;
  Object.defineProperties(fake, {
    height: { get: () => real.height - keyboard },
    width: { get: () => real.width },
    offsetTop: { get: () => 0 },
    offsetLeft: { get: () => 0 },
    scale: { get: () => 1 },
  });
  Object.defineProperty(window, 'visualViewport', { get: () => fake });
  window.__keyboard = (px) => {
    keyboard = px;
    fake.dispatchEvent(new Event('resize'));
  };
}

/** The page's width overflow in CSS pixels (0 when nothing scrolls sideways). */
const overflow = (page) =>
  page.evaluate(() => {
    const el = document.scrollingElement;
    return el.scrollWidth - el.clientWidth;
  });

/** Whether `locator`'s whole box lies inside the visual viewport (what the person can see). */
const fullyVisible = (locator) =>
  locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const vv = window.visualViewport;
    return r.top >= 0 && r.left >= 0 && r.bottom <= vv.height + 0.5 && r.right <= vv.width + 0.5 && r.height > 0;
  });

test('the console at phone width: one column, the conversation with a way back, no sideways scroll', async () => {
  const page = await (await browser.newContext(PHONE)).newPage();
  problems.push(watch(page, 'console'));
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Telefone' });
  const c = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: 'oi do celular', client_msg_id: 'p1' });

  await signIn(page, env.adminEmail, env.adminPassword);
  assert.equal(await overflow(page), 0, 'the inbox fits the width');
  assert.ok(await fullyVisible(page.getByRole('button', { name: 'Sair' })), 'the whole top bar is on screen');
  assert.equal(await page.locator('#thread').isVisible(), false, 'one pane at a time');
  await page.screenshot({ path: path.join(env.results, 'phone-console-inbox.png') });

  const item = page.locator(`#conversation-list li[data-id="${c.id}"] button`);
  await item.click();
  await page.locator('.thread li[data-seq="1"]', { hasText: 'oi do celular' }).waitFor();
  assert.equal(await page.locator('.inbox').isVisible(), false);
  assert.equal(await overflow(page), 0, 'the conversation fits the width');
  assert.ok(await fullyVisible(page.locator('#reply-input')), 'the reply box is on screen');
  await page.screenshot({ path: path.join(env.results, 'phone-console-thread.png') });

  await page.getByRole('button', { name: 'Voltar à caixa de entrada' }).click();
  await page.locator('.inbox').waitFor();
  assert.equal(await item.evaluate((el) => el === document.activeElement), true, 'focus returns to the conversation left');

  await page.getByRole('link', { name: 'Administração' }).click();
  await page.getByRole('heading', { name: 'Atendentes' }).waitFor();
  assert.equal(await overflow(page), 0, 'the admin area fits the width');
  await page.screenshot({ path: path.join(env.results, 'phone-console-admin.png') });
});

test('the workspace at phone width: notes, labels, search, admin sections and my account fit', async () => {
  const page = await (await browser.newContext(PHONE)).newPage();
  problems.push(watch(page, 'console workspace'));
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Telefone Dois' });
  const c = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: 'procuro o celularzinho', client_msg_id: 'p2' });
  const session = await adminSession();
  await api('PUT', `/api/v1/conversations/${c.id}/labels`, session.token, { labels: ['celular', 'uma-etiqueta-bem-comprida-para-caber'] });

  await openConsole(page, session);
  assert.ok(await fullyVisible(page.getByRole('searchbox', { name: 'Buscar mensagens' })), 'the search field is on screen');
  assert.equal(await overflow(page), 0, 'the top bar with search fits');
  const row = page.locator(`#conversation-list li[data-id="${c.id}"]`);
  await row.locator('.chip.label', { hasText: 'celular' }).waitFor();
  assert.equal(await overflow(page), 0, 'rows with labels fit');

  await row.getByRole('button').click();
  await page.locator('.thread li[data-seq="1"]').waitFor();
  await page.getByRole('radio', { name: 'Nota privada' }).check();
  assert.ok(await fullyVisible(page.getByRole('button', { name: 'Adicionar nota' })));
  assert.ok(await fullyVisible(page.getByLabel('Adicionar etiqueta', { exact: true })));
  assert.equal(await overflow(page), 0, 'the conversation with labels and the note switch fits');
  await page.screenshot({ path: path.join(env.results, 'phone-console-note.png') });
  await page.getByRole('radio', { name: 'Resposta' }).check();

  await page.getByRole('searchbox', { name: 'Buscar mensagens' }).fill('celularzinho');
  await page.getByRole('searchbox', { name: 'Buscar mensagens' }).press('Enter');
  const results = page.getByRole('region', { name: /celularzinho/ });
  await results.locator('li[data-message-id]').first().waitFor();
  assert.ok(await fullyVisible(results.getByRole('button', { name: 'Fechar os resultados' })));
  assert.equal(await overflow(page), 0, 'the results fit');
  await page.screenshot({ path: path.join(env.results, 'phone-console-search.png') });
  await results.getByRole('button', { name: 'Fechar os resultados' }).click();

  await page.getByRole('link', { name: 'Administração' }).click();
  await page.getByRole('heading', { name: 'Respostas prontas' }).waitFor();
  await page.getByRole('heading', { name: 'Times' }).waitFor();
  await page.locator('.agents-table tr[data-agent-id]').first().waitFor();
  assert.equal(await overflow(page), 0, 'the admin sections fit: tables become cards');
  await page.screenshot({ path: path.join(env.results, 'phone-console-admin-sections.png'), fullPage: true });

  await page.getByRole('link', { name: 'Minha conta' }).click();
  await page.getByRole('form', { name: 'Trocar senha' }).waitFor();
  assert.equal(await overflow(page), 0, 'my account fits');
  await page.screenshot({ path: path.join(env.results, 'phone-console-account.png') });
});

test('the widget on a phone opens full-screen and keeps its input above the keyboard', async () => {
  const context = await browser.newContext(PHONE);
  await context.addInitScript(fakeKeyboard);
  const page = await context.newPage();
  problems.push(watch(page, 'visitor'));
  await page.goto(env.hostUrl);
  await page.getByRole('button', { name: 'Abrir chat' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished))); // the opening rise
  const box = await dialog.boundingBox();
  assert.deepEqual(
    [box.x, box.y, Math.round(box.width), Math.round(box.height)],
    [0, 0, 390, 844],
    'the panel fills the viewport',
  );
  assert.equal(await page.locator('atendo-chat .launcher').isVisible(), false, 'the launcher does not cover it');
  const input = page.getByRole('textbox', { name: 'Digite sua mensagem' });
  assert.ok(await fullyVisible(input));
  assert.equal(await overflow(page), 0);
  await input.fill('oi do celular');
  await input.press('Enter');
  await page.locator('atendo-chat li[data-seq="1"]').waitFor();
  await page.screenshot({ path: path.join(env.results, 'phone-widget.png') });

  // The on-screen keyboard covers the lower 364 px: the visible part is the top 480 px.
  await page.evaluate(() => window.__keyboard(364));
  const panelHeight = () =>
    page.evaluate(() => Math.round(document.querySelector('atendo-chat').shadowRoot.querySelector('.panel').getBoundingClientRect().height));
  await page.waitForFunction(() => Math.round(document.querySelector('atendo-chat').shadowRoot.querySelector('.panel').getBoundingClientRect().height) === 480);
  assert.ok(await fullyVisible(input), 'the input stays above the keyboard');
  assert.ok(await fullyVisible(page.getByRole('button', { name: 'Enviar' })));
  assert.ok(await fullyVisible(page.getByRole('button', { name: 'Fechar chat' })), 'and the header below the top');
  await page.screenshot({ path: path.join(env.results, 'phone-widget-keyboard.png') });
  await page.evaluate(() => window.__keyboard(0));
  await page.waitForFunction(() => Math.round(document.querySelector('atendo-chat').shadowRoot.querySelector('.panel').getBoundingClientRect().height) === 844);
  assert.equal(await panelHeight(), 844);

  await page.getByRole('button', { name: 'Fechar chat' }).click();
  await page.getByRole('button', { name: 'Abrir chat' }).waitFor();
  assert.deepEqual(problems.flat(), []);
});
