// The console beyond a single chat: the admin creates an agent in the admin area, sees their
// presence, hands them a conversation; filters follow status changes; the inbox keeps focus
// through live updates and works from the keyboard; long histories load page by page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, signIn, api } from './harness.js';

let browser;
let admin;
let colleague;
const problems = [];
const COLLEAGUE = { name: 'Bruna Lima', email: `bruna.${Date.now()}@example.com`, password: 'bruna-e2e-password-1' };

/** A visitor conversation with `n` messages, made over REST. */
async function conversationWith(n) {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: `Paginação ${n}` });
  const c = await api('POST', '/api/v1/conversations', token);
  for (let i = 1; i <= n; i++) {
    // A token may write 60 at once, then 20 a second (CHAT_WS_BURST/RATE): pace to stay under.
    if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1000));
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

test('the admin creates an agent in the admin area; the agent signs in and shows up online, then away', async () => {
  await signIn(admin, env.adminEmail, env.adminPassword);
  assert.equal(await admin.getByRole('form', { name: 'Novo atendente' }).count(), 0, 'no agent form beside the conversations');
  await admin.getByRole('link', { name: 'Administração' }).click();
  await admin.waitForURL(/#\/admin$/);
  await admin.getByRole('heading', { name: 'Atendentes' }).waitFor();
  assert.equal(await admin.getByRole('link', { name: 'Administração' }).getAttribute('aria-current'), 'page');
  assert.equal(await admin.locator('#desk').isVisible(), false, 'the conversations are out of the way');
  const form = admin.getByRole('form', { name: 'Novo atendente' });
  await form.getByLabel('Nome').fill(COLLEAGUE.name);
  await form.getByLabel('E-mail').fill(COLLEAGUE.email);
  await form.getByLabel('Senha').fill(COLLEAGUE.password);
  await form.getByRole('button', { name: 'Criar' }).click();
  await form.getByRole('status').filter({ hasText: `${COLLEAGUE.name} já pode entrar.` }).waitFor();
  await admin.locator('.agents-table tr', { hasText: COLLEAGUE.email }).waitFor();
  await admin.screenshot({ path: path.join(env.results, 'console-admin.png') });
  await admin.getByRole('link', { name: 'Caixa de entrada' }).click();
  const row = admin.locator('.agent', { hasText: COLLEAGUE.name });
  await row.waitFor();

  await signIn(colleague, COLLEAGUE.email, COLLEAGUE.password);
  assert.equal(await colleague.getByRole('link', { name: 'Administração' }).isVisible(), false, 'only admins see the admin area');
  await colleague.goto(env.chatUrl + '/#/admin');
  await colleague.locator('#conn[data-state="online"]').waitFor();
  assert.equal(await colleague.getByRole('form', { name: 'Novo atendente' }).isVisible(), false, 'not even by its address');
  assert.ok(await colleague.locator('#desk').isVisible());
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

test('the inbox keeps focus and selection through live updates; arrows, j/k and Enter work it', async () => {
  await admin.getByRole('radio', { name: 'Abertas' }).check();
  await admin.getByRole('radio', { name: 'Todas' }).check();
  const older = await conversationWith(1);
  const newer = await conversationWith(1);
  const rowOf = (c) => admin.locator(`#conversation-list li[data-id="${c.id}"]`);
  await rowOf(newer).waitFor();
  await rowOf(older).getByRole('button').click();
  await rowOf(newer).getByRole('button').focus();
  // Mark the row nodes: a keyed render keeps them; a rebuild would drop the marks.
  await admin.locator('#conversation-list li.conv').evaluateAll((els) => els.forEach((el) => (el.kept = true)));

  // Live: a new conversation arrives, another is reassigned, a colleague's presence changes.
  const newest = await conversationWith(1);
  const adminToken = (await api('POST', '/api/v1/agents/login', undefined, { email: env.adminEmail, password: env.adminPassword })).token;
  await api('POST', `/api/v1/conversations/${newer.id}/assign`, adminToken, { agent_id: (await api('GET', '/api/v1/me', adminToken)).id });
  await colleague.getByLabel('Meu status').selectOption('away');
  await rowOf(newest).waitFor();
  await rowOf(newer).locator('.conv-assignee', { hasText: 'Administrator' }).waitFor();
  await admin.locator('.agent', { hasText: COLLEAGUE.name }).locator('.agent-presence', { hasText: 'Ausente' }).waitFor();

  const focused = () => admin.evaluate(() => document.activeElement.closest('li.conv')?.dataset.id);
  assert.equal(await focused(), newer.id, 'focus stays on the row it was on');
  assert.equal(await rowOf(older).getByRole('button').getAttribute('aria-current'), 'true', 'the selection stays');
  assert.equal(await rowOf(older).evaluate((el) => el.kept), true, 'rows are updated in place');
  assert.equal(await rowOf(newer).evaluate((el) => el.kept), true);

  await admin.keyboard.press('ArrowUp');
  assert.equal(await focused(), newest.id);
  await admin.keyboard.press('j');
  await admin.keyboard.press('ArrowDown');
  assert.equal(await focused(), older.id);
  await admin.keyboard.press('k');
  assert.equal(await focused(), newer.id);
  await admin.keyboard.press('Home');
  assert.equal(await focused(), newest.id);
  await admin.keyboard.press('Enter');
  await admin.getByRole('heading', { name: 'Conversa com Paginação 1' }).waitFor();
  assert.equal(await rowOf(newest).getByRole('button').getAttribute('aria-current'), 'true');
  await colleague.getByLabel('Meu status').selectOption('online');
});

test('a long history shows its latest page first and loads earlier ones on demand', async () => {
  const c = await conversationWith(65);
  await admin.getByRole('radio', { name: 'Abertas' }).check();
  await admin.locator(`#conversation-list li[data-id="${c.id}"] button`).click();
  await admin.locator('.thread li[data-seq="65"]').waitFor();
  const seqs = () => admin.locator('.thread .messages li[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(await seqs(), Array.from({ length: 50 }, (_, i) => i + 16));

  // The first try fails: the agent is told, and the button stays for another try.
  await admin.route((url) => url.pathname.endsWith(`/conversations/${c.id}/messages`) && url.searchParams.get('limit') === '15', (route) =>
    route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'Indisponível agora' } }) }),
    { times: 1 },
  );
  await admin.getByRole('button', { name: 'Carregar mensagens anteriores' }).click();
  await admin.locator('.thread .form-error', { hasText: 'Indisponível agora' }).waitFor();
  await admin.getByRole('button', { name: 'Carregar mensagens anteriores' }).click();
  await admin.locator('.thread li[data-seq="1"]').waitFor();
  assert.deepEqual(await seqs(), Array.from({ length: 65 }, (_, i) => i + 1));
  assert.equal(await admin.getByRole('button', { name: 'Carregar mensagens anteriores' }).isVisible(), false);
  assert.deepEqual(problems.flat(), []);
});

test('a conversation that arrives live while the list is loading stays when the older answer lands', async () => {
  // The list's answers are read at once but held back until a new conversation's frame has been
  // shown: each answer is then older than the inbox, as when the desk opens at sign-in.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const lists = (url) => url.pathname.endsWith('/api/v1/conversations') && url.searchParams.get('status') === 'open';
  let answered = 0;
  await admin.route(lists, async (route) => {
    const response = await route.fetch();
    await held;
    await route.fulfill({ response });
    answered += 1;
  });
  await admin.getByRole('radio', { name: 'Pendentes' }).check();
  await admin.getByRole('radio', { name: 'Abertas' }).check();
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Chegou agora' });
  const c = await api('POST', '/api/v1/conversations', token);
  const item = admin.locator(`#conversation-list li[data-id="${c.id}"]`);
  await item.waitFor();
  release();
  while (answered === 0) await new Promise((r) => setTimeout(r, 20));
  await admin.unroute(lists);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await item.count(), 1, 'the answer read before the conversation existed did not drop it');
  assert.deepEqual(problems.flat(), []);
});
