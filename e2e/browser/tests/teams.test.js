// Teams: the admin creates one with members, renames it, changes its members, is told when a
// name is taken, deletes one; the conversation's assign control offers teams beside agents, and
// the team shows on the conversation and its inbox row.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, api, adminSession, openConsole } from './harness.js';

let browser;
let page;
const problems = [];
const RUN = Date.now().toString(36);
const SUPPORT = `Suporte ${RUN}`;
const RENAMED = `Suporte N2 ${RUN}`;
const MEMBER = { name: `Davi ${RUN}`, email: `davi.${RUN}@example.com`, password: 'davi-e2e-password-1', role: 'agent' };

before(async () => {
  browser = await launch();
  page = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(page, 'admin'));
  await api('POST', '/api/v1/agents', (await adminSession()).token, MEMBER);
});

after(async () => {
  await browser?.close();
});

test('the admin creates, renames, re-staffs and deletes teams', async () => {
  await openConsole(page, await adminSession());
  await page.getByRole('link', { name: 'Administração' }).click();
  const section = page.getByRole('region', { name: 'Times' });
  await section.waitFor();
  const form = page.getByRole('form', { name: 'Novo time' });
  await form.getByLabel('Nome').fill(SUPPORT);
  const members = form.getByRole('group', { name: 'Membros' });
  await members.getByRole('checkbox', { name: 'Administrator' }).check();
  await members.getByRole('checkbox', { name: MEMBER.name }).check();
  await form.getByRole('button', { name: 'Salvar' }).click();
  await section.getByRole('status').filter({ hasText: `Time ${SUPPORT} criado.` }).waitFor();
  const row = section.locator('tr', { hasText: SUPPORT });
  assert.equal(await row.locator('.team-members').textContent(), `Administrator, ${MEMBER.name}`);
  // The agents list shows each agent's teams, updated without leaving the page.
  const agents = page.getByRole('region', { name: 'Atendentes' });
  const teamsOf = (name) => agents.locator('tr', { hasText: name }).locator('.agent-teams');
  await teamsOf(MEMBER.name).filter({ hasText: SUPPORT }).waitFor();

  // A second team, then the first one's name for it: refused on the name field.
  await form.getByLabel('Nome').fill(`Vendas ${RUN}`);
  await form.getByRole('button', { name: 'Salvar' }).click();
  await section.locator('tr', { hasText: `Vendas ${RUN}` }).waitFor();
  await section.getByRole('button', { name: `Editar Vendas ${RUN}` }).click();
  const edit = page.locator('#team-form');
  await edit.getByLabel('Nome').fill(SUPPORT.toLowerCase());
  await edit.getByRole('button', { name: 'Salvar' }).click();
  await page.locator('#team-name-error', { hasText: 'Outro time já tem este nome.' }).waitFor();
  assert.equal(await edit.getByLabel('Nome').getAttribute('aria-invalid'), 'true');
  await page.screenshot({ path: path.join(env.results, 'teams-admin-error.png') });
  await edit.getByRole('button', { name: 'Cancelar' }).click();
  await section.getByRole('button', { name: `Excluir Vendas ${RUN}` }).click();
  await section.locator('tr', { hasText: `Vendas ${RUN}` }).waitFor({ state: 'detached' });

  // Rename and take a member off.
  await section.getByRole('button', { name: `Editar ${SUPPORT}` }).click();
  assert.equal(await edit.getByRole('checkbox', { name: MEMBER.name }).isChecked(), true, 'the form shows the members');
  await edit.getByLabel('Nome').fill(RENAMED);
  await edit.getByRole('checkbox', { name: 'Administrator' }).uncheck();
  await edit.getByRole('button', { name: 'Salvar' }).click();
  const renamed = section.locator('tr', { hasText: RENAMED });
  await renamed.waitFor();
  assert.equal(await renamed.locator('.team-members').textContent(), MEMBER.name);
  await teamsOf(MEMBER.name).filter({ hasText: RENAMED }).waitFor();
  assert.equal(await teamsOf(MEMBER.name).textContent(), RENAMED);
  assert.doesNotMatch(await teamsOf('Administrator').first().textContent(), /Suporte/, 'taken off the team');
  await page.screenshot({ path: path.join(env.results, 'teams-admin.png') });
});

test('a conversation is assigned to a team from the same control as agents; the team shows', async () => {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Cliente do Time' });
  const c = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: 'oi', client_msg_id: 't1' });
  await page.getByRole('link', { name: 'Caixa de entrada' }).click();
  const row = page.locator(`#conversation-list li[data-id="${c.id}"]`);
  await row.getByRole('button').click();
  await page.getByRole('heading', { name: 'Conversa com Cliente do Time' }).waitFor();

  const picker = page.getByLabel('Atribuir a', { exact: true });
  assert.deepEqual(
    await picker.locator('optgroup').evaluateAll((gs) => gs.map((g) => g.label)),
    ['Atendentes', 'Times'],
    'agents and teams, each in its group',
  );
  await picker.selectOption({ label: RENAMED });
  await page.locator('.thread-head .team-chip', { hasText: `Time: ${RENAMED}` }).waitFor();
  await row.locator('.team-chip', { hasText: `Time: ${RENAMED}` }).waitFor();
  assert.equal(await picker.evaluate((el) => el.selectedOptions[0].textContent), RENAMED);

  // An agent of the team takes it: the assignee shows, the team stays.
  await picker.selectOption({ label: MEMBER.name });
  await row.locator('.conv-assignee', { hasText: MEMBER.name }).waitFor();
  assert.equal(await page.locator('.thread-head .team-chip').textContent(), `Time: ${RENAMED}`);
  await page.screenshot({ path: path.join(env.results, 'teams-conversation.png') });

  // "Sem responsável" clears both.
  await picker.selectOption({ value: '' });
  await page.locator('.thread-head .team-chip').waitFor({ state: 'hidden' });
  await row.locator('.conv-assignee', { hasText: 'Sem responsável' }).waitFor();
  assert.deepEqual(problems.flat(), []);
});
