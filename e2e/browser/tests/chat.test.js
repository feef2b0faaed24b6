// A visitor on a customer's site and an agent in the console, each in their own browser
// context, talking through a real chat-server. The steps build on each other, in order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, rgb, watch } from './harness.js';

const XSS = '<img src=x onerror=alert(1)>';

let browser;
let visitorContext;
let agentContext;
let visitor; // page on the customer's site
let agent; // page in the console
const problems = [];

/** The visitor's rendered messages as [seq, text] in DOM order. */
async function visitorLog() {
  return visitor.locator('atendo-chat .messages li[data-seq]').evaluateAll((items) =>
    items.map((li) => [Number(li.dataset.seq), li.querySelector('.body') ? li.querySelector('.body').textContent : '']),
  );
}

before(async () => {
  browser = await launch();
  visitorContext = await browser.newContext({ locale: 'pt-BR' });
  agentContext = await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } });
  visitor = await visitorContext.newPage();
  agent = await agentContext.newPage();
  problems.push(watch(visitor, 'visitor'), watch(agent, 'agent'));
});

after(async () => {
  await browser?.close();
});

test('a host page on another origin embeds the widget with the tenant branding', async () => {
  assert.notEqual(new URL(env.hostUrl).origin, new URL(env.chatUrl).origin);
  await visitor.goto(env.hostUrl);
  const launcher = visitor.getByRole('button', { name: 'Abrir chat' });
  await launcher.waitFor();
  const bg = await launcher.evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(bg, rgb(env.brandColor), 'launcher uses the primary colour');

  await launcher.click();
  const dialog = visitor.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getByRole('heading').textContent(), env.brandName);
  assert.equal(await visitor.locator('atendo-chat .welcome').textContent(), env.brandWelcome);
  const input = visitor.getByRole('textbox', { name: 'Digite sua mensagem' });
  assert.equal(await input.getAttribute('placeholder'), 'Digite sua mensagem', 'pt-BR strings');
  assert.ok(await visitor.getByRole('button', { name: 'Enviar' }).isVisible());
  assert.ok(await visitor.getByRole('button', { name: 'Anexar arquivo' }).isVisible());
  assert.equal(await visitor.locator('atendo-chat #atendo-panel').getAttribute('lang'), 'pt-BR');
  // The host page's aggressive CSS (30px red text on yellow) stays outside the shadow root.
  const style = await input.evaluate((el) => {
    const s = getComputedStyle(el);
    return { fontSize: s.fontSize, background: s.backgroundColor };
  });
  assert.notEqual(style.fontSize, '30px');
  assert.notEqual(style.background, 'rgb(255, 255, 0)');
  assert.equal(await input.evaluate((el) => el.getRootNode().activeElement === el), true, 'focus moves into the dialog');

  // Keyboard only: Escape closes and returns focus to the launcher; Enter opens again.
  await visitor.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await visitor.evaluate(() => document.querySelector('atendo-chat').shadowRoot.activeElement?.classList.contains('launcher')), true);
  assert.equal(await launcher.getAttribute('aria-expanded'), 'false');
  await visitor.keyboard.press('Enter');
  await dialog.waitFor();
  assert.equal(await input.evaluate((el) => el.getRootNode().activeElement === el), true);
  assert.equal(await visitor.locator('atendo-chat .launcher').getAttribute('aria-expanded'), 'true');
  assert.equal(await visitor.getByRole('log', { name: 'Mensagens' }).getAttribute('aria-live'), 'polite');
});

test('the agent signs in to the branded console', async () => {
  await agent.goto(env.chatUrl + '/');
  const form = agent.getByRole('form', { name: 'Entrar' });
  await form.getByLabel('E-mail').fill(env.adminEmail);
  await form.getByLabel('Senha').fill(env.adminPassword);
  await form.getByRole('button', { name: 'Entrar' }).click();
  await agent.getByRole('heading', { name: 'Caixa de entrada' }).waitFor();
  // The brand's name, after the count of unread messages when there are any ("(3) ACME Suporte").
  assert.match(await agent.title(), new RegExp(`^(\\(\\d+\\) )?${env.brandName}$`));
  const topbar = await agent.locator('.topbar').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(topbar, rgb(env.brandColor));
  await agent.locator('#conn[data-state="online"]').waitFor();
});

test('a visitor writes and the conversation appears live in the agent inbox', async () => {
  const before = await agent.locator('#conversation-list li.conv').count();
  await visitor.getByRole('textbox', { name: 'Digite sua mensagem' }).fill('Olá, preciso de ajuda com meu pedido');
  await visitor.keyboard.press('Enter');
  await visitor.locator('atendo-chat .messages li[data-seq="1"]').waitFor();
  await visitor.locator('atendo-chat .conn[data-state="online"]').waitFor();

  const item = agent.locator('#conversation-list li.conv').first();
  await agent.waitForFunction((n) => document.querySelectorAll('#conversation-list li.conv').length > n, before);
  assert.ok(await item.locator('.chip.new').isVisible(), 'a new conversation is marked as new');
  await item.getByRole('button').click();
  await agent.locator('.thread .messages li[data-seq="1"]').getByText('Olá, preciso de ajuda com meu pedido').waitFor();
});

test('the agent assigns the conversation, the visitor sees typing and then the reply', async () => {
  await agent.getByRole('button', { name: 'Atribuir a mim' }).click();
  await agent.waitForFunction(() => document.querySelector('#thread-assignee').selectedOptions[0]?.textContent === 'Administrator');
  // The inbox row follows the `conversation` frame.
  await agent.locator('#conversation-list li.conv .conv-assignee', { hasText: 'Administrator' }).waitFor();

  // Typing goes both ways.
  await visitor.getByRole('textbox', { name: 'Digite sua mensagem' }).pressSequentially('Obri', { delay: 20 });
  await agent.locator('.thread .typing', { hasText: 'está digitando' }).waitFor();
  await visitor.getByRole('textbox', { name: 'Digite sua mensagem' }).fill('');

  const reply = agent.locator('#reply-input');
  await reply.click();
  await reply.pressSequentially('Claro! Qual', { delay: 20 });
  await visitor.locator('atendo-chat .typing', { hasText: 'está digitando' }).waitFor();

  await reply.pressSequentially(' é o número do pedido?', { delay: 5 });
  await agent.getByRole('button', { name: 'Responder' }).click();
  await visitor.locator('atendo-chat .messages li[data-seq="2"]', { hasText: 'Claro! Qual é o número do pedido?' }).waitFor();
  await visitor.waitForFunction(() => !document.querySelector('atendo-chat').shadowRoot.querySelector('.typing').textContent);

  // The visitor has the panel open, so it reports seq 2 as read; the agent sees it.
  await agent.locator('.thread li[data-seq="2"] .receipt', { hasText: 'Vista' }).waitFor();
});

test('markup in a message is shown as text and runs nothing', async () => {
  await visitor.getByRole('textbox', { name: 'Digite sua mensagem' }).fill(XSS);
  await visitor.keyboard.press('Enter');
  const mine = visitor.locator('atendo-chat .messages li[data-seq="3"] .body');
  await mine.waitFor();
  assert.equal(await mine.textContent(), XSS);
  assert.equal(await visitor.locator('atendo-chat .messages img').count(), 0);

  const theirs = agent.locator('.thread li[data-seq="3"] .body');
  await theirs.waitFor();
  assert.equal(await theirs.textContent(), XSS);
  assert.equal(await agent.locator('.thread .messages img').count(), 0);
  await visitor.waitForTimeout(500); // an onerror would fire right away
  assert.deepEqual(problems.flat(), []);
});

test('after a reload mid-conversation the visitor sees the full history exactly once', async () => {
  await agent.locator('#reply-input').fill('Pode me mandar o número?');
  await agent.getByRole('button', { name: 'Responder' }).click();
  await visitor.locator('atendo-chat li[data-seq="4"]').waitFor();
  const expected = await visitorLog();
  assert.deepEqual(expected.map(([s]) => s), [1, 2, 3, 4]);

  await visitor.reload();
  // The panel was open before the reload, so it reopens; history comes back from the server.
  await visitor.locator('atendo-chat li[data-seq="4"]').waitFor();
  await visitor.locator('atendo-chat .conn[data-state="online"]').waitFor();
  assert.deepEqual(await visitorLog(), expected);

  // Live messages after the resume arrive once, after the history.
  await agent.locator('#reply-input').fill('Obrigado por aguardar.');
  await agent.getByRole('button', { name: 'Responder' }).click();
  await visitor.locator('atendo-chat li[data-seq="5"]').waitFor();
  await visitor.getByRole('textbox', { name: 'Digite sua mensagem' }).fill('Pedido 12345');
  await visitor.keyboard.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="6"]').waitFor();
  await visitor.waitForTimeout(300);
  const after = await visitorLog();
  assert.deepEqual(after.map(([s]) => s), [1, 2, 3, 4, 5, 6]);
  assert.equal(await visitor.locator('atendo-chat .pending li').count(), 0, 'no message left pending');
  await agent.locator('.thread li[data-seq="6"]', { hasText: 'Pedido 12345' }).waitFor();
  assert.equal(await agent.locator('.thread .messages li[data-seq]').count(), 6);
  // The agent has the conversation open, so the visitor's last message shows as seen.
  await visitor.locator('atendo-chat li[data-seq="6"] .receipt', { hasText: 'Vista' }).waitFor();
});

test('replies that arrive while the panel is closed show as unread on the launcher', async () => {
  await visitor.getByRole('button', { name: 'Fechar chat' }).click();
  await agent.locator('#reply-input').fill('Encontrei seu pedido.');
  await agent.getByRole('button', { name: 'Responder' }).click();
  const launcher = visitor.locator('atendo-chat .launcher');
  await visitor.locator('atendo-chat .badge', { hasText: '1' }).waitFor();
  assert.match(await launcher.getAttribute('aria-label'), /1 não lidas/);
  await launcher.click();
  await visitor.locator('atendo-chat .badge').waitFor({ state: 'hidden' });
  await agent.locator('.thread li[data-seq="7"] .receipt', { hasText: 'Vista' }).waitFor();
});

test('screenshots of both screens are written', async () => {
  await visitor.screenshot({ path: path.join(env.results, 'widget.png') });
  await agent.screenshot({ path: path.join(env.results, 'console.png') });
  assert.deepEqual(problems.flat(), [], 'no dialogs, page errors or CSP violations');
});
