// The console beyond a single chat: the admin creates an agent, sees their presence, hands
// them a conversation; filters follow status changes; long histories load page by page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, watch } from './harness.js';

let browser;
let admin;
let colleague;
const problems = [];
const COLLEAGUE = { name: 'Bruna Lima', email: `bruna.${Date.now()}@example.com`, password: 'bruna-e2e-password-1' };

async function signIn(page, email, password) {
  await page.goto(env.chatUrl + '/');
  const form = page.getByRole('form', { name: 'Entrar' });
  await form.getByLabel('E-mail').fill(email);
  await form.getByLabel('Senha').fill(password);
  await form.getByRole('button', { name: 'Entrar' }).click();
  await page.locator('#conn[data-state="online"]').waitFor();
}

async function api(method, path, token, body) {
  const res = await fetch(env.chatUrl + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A visitor conversation with `n` messages, made over REST. */
async function conversationWith(n) {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: `Paginação ${n}` });
  const c = await api('POST', '/api/v1/conversations', token);
  for (let i = 1; i <= n; i++) {
    await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: `mensagem ${i}`, client_msg_id: `m${i}` });
  }
  return c;
}

before(async () => {
  browser = await launch();
  admin = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  colleague = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(admin, 'admin'), watch(colleague, 'colleague'));
});

after(async () => {
  await browser?.close();
});

test('the admin creates an agent who signs in and shows up online, then away', async () => {
  await signIn(admin, env.adminEmail, env.adminPassword);
  const form = admin.getByRole('form', { name: 'Novo atendente' });
  await form.getByLabel('Nome').fill(COLLEAGUE.name);
  await form.getByLabel('E-mail').fill(COLLEAGUE.email);
  await form.getByLabel('Senha').fill(COLLEAGUE.password);
  await form.getByRole('button', { name: 'Criar' }).click();
  await form.getByRole('status').filter({ hasText: `${COLLEAGUE.name} já pode entrar.` }).waitFor();
  const row = admin.locator('.agent', { hasText: COLLEAGUE.name });
  await row.waitFor();

  await signIn(colleague, COLLEAGUE.email, COLLEAGUE.password);
  assert.equal(await colleague.getByRole('form', { name: 'Novo atendente' }).isVisible(), false, 'only admins create agents');
  await row.locator('.agent-presence', { hasText: 'Online' }).waitFor();

  await colleague.getByLabel('Meu status').selectOption('away');
  await row.locator('.agent-presence', { hasText: 'Ausente' }).waitFor();
  await colleague.getByLabel('Meu status').selectOption('online');
  await row.locator('.agent-presence', { hasText: 'Online' }).waitFor();
});

test('a conversation assigned to another agent appears live in their "mine" filter', async () => {
  await colleague.getByRole('radio', { name: 'Minhas' }).check();
  const c = await conversationWith(1);
  const item = admin.locator(`#conversation-list li[data-id="${c.id}"]`);
  await item.getByRole('button').click();
  await admin.getByLabel('Atribuir a').selectOption({ label: COLLEAGUE.name });
  await colleague.locator(`#conversation-list li[data-id="${c.id}"]`).waitFor();

  // Status changes move it between the status filters, live.
  await colleague.locator(`#conversation-list li[data-id="${c.id}"] button`).click();
  await colleague.getByLabel('Situação', { exact: true }).selectOption('pending');
  await colleague.locator(`#conversation-list li[data-id="${c.id}"]`).waitFor({ state: 'detached' });
  await admin.getByRole('radio', { name: 'Pendentes' }).check();
  await admin.locator(`#conversation-list li[data-id="${c.id}"]`).waitFor();
});

test('a long history shows its latest page first and loads earlier ones on demand', async () => {
  const c = await conversationWith(65);
  await admin.getByRole('radio', { name: 'Abertas' }).check();
  await admin.locator(`#conversation-list li[data-id="${c.id}"] button`).click();
  await admin.locator('.thread li[data-seq="65"]').waitFor();
  const seqs = () => admin.locator('.thread .messages li[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(await seqs(), Array.from({ length: 50 }, (_, i) => i + 16));

  await admin.getByRole('button', { name: 'Carregar mensagens anteriores' }).click();
  await admin.locator('.thread li[data-seq="1"]').waitFor();
  assert.deepEqual(await seqs(), Array.from({ length: 65 }, (_, i) => i + 1));
  assert.equal(await admin.getByRole('button', { name: 'Carregar mensagens anteriores' }).isVisible(), false);
  assert.deepEqual(problems.flat(), []);
});
