// Agents' accounts: on the admin's agents page a role changes, an agent is disabled (and signed
// out of their open console at once) and enabled again, deleted after an inline confirmation,
// and the last admin cannot be demoted (409 last_admin said in plain words). Under "Minha conta"
// any agent changes their own password: refusals show on the field, and the console goes on.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, signIn, api, adminSession, openConsole } from './harness.js';

let browser;
let admin;
let caio;
let adminToken;
const problems = [];
const RUN = Date.now().toString(36);
const CAIO = { name: `Caio ${RUN}`, email: `caio.${RUN}@example.com`, password: 'caio-e2e-password-1', role: 'agent' };
const ELIS = { name: `Elis ${RUN}`, email: `elis.${RUN}@example.com`, password: 'elis-e2e-password-1', role: 'agent' };
const NEW_PASSWORD = 'uma senha nova bem comprida 42';

const desktop = { locale: 'pt-BR', viewport: { width: 1280, height: 800 } };

before(async () => {
  browser = await launch();
  admin = await (await browser.newContext(desktop)).newPage();
  caio = await (await browser.newContext(desktop)).newPage();
  problems.push(watch(admin, 'admin'), watch(caio, 'caio'));
  adminToken = (await adminSession()).token;
  await api('POST', '/api/v1/agents', adminToken, CAIO);
  await api('POST', '/api/v1/agents', adminToken, ELIS);
});

after(async () => {
  await browser?.close();
});

test('the last enabled admin cannot be demoted: the row says why', async () => {
  const { agents } = await api('GET', '/api/v1/agents', adminToken);
  const admins = agents.filter((a) => a.role === 'admin' && !a.disabled);
  assert.equal(admins.length, 1, 'this test needs the bootstrap admin to be the only admin');
  await openConsole(admin, await adminSession());
  await admin.getByRole('link', { name: 'Administração' }).click();
  const me = admin.locator('.agents-table tr[data-agent-id]', { hasText: env.adminEmail });
  await me.waitFor();
  await me.getByRole('combobox').selectOption('agent');
  const error = admin.locator(`tr[data-error-for="${admins[0].id}"] [role=alert]`);
  await error.filter({ hasText: 'É preciso manter ao menos um administrador ativo' }).waitFor();
  assert.equal(await me.getByRole('combobox').inputValue(), 'admin', 'the control shows the role that stayed');
  await admin.screenshot({ path: path.join(env.results, 'accounts-last-admin.png') });
});

test('the admin changes a role, disables an agent (signed out at once) and enables them again', async () => {
  const row = admin.locator('.agents-table tr[data-agent-id]', { hasText: CAIO.email });
  await row.getByLabel(`Papel: ${CAIO.name}`).selectOption('admin');
  await admin.waitForFunction((email) => {
    const tr = [...document.querySelectorAll('.agents-table tr[data-agent-id]')].find((r) => r.textContent.includes(email));
    return tr && tr.querySelector('select').value === 'admin';
  }, CAIO.email);
  await row.getByLabel(`Papel: ${CAIO.name}`).selectOption('agent');
  await admin.waitForFunction((email) => {
    const tr = [...document.querySelectorAll('.agents-table tr[data-agent-id]')].find((r) => r.textContent.includes(email));
    return tr && tr.querySelector('select').value === 'agent';
  }, CAIO.email);

  await signIn(caio, CAIO.email, CAIO.password);
  await row.getByRole('button', { name: `Desativar ${CAIO.name}` }).click();
  await row.locator('.chip', { hasText: 'Desativado' }).waitFor();
  await caio.getByRole('form', { name: 'Entrar' }).waitFor();
  await caio.locator('#login-error', { hasText: 'Você foi desconectado' }).waitFor();
  await admin.screenshot({ path: path.join(env.results, 'accounts-disabled.png') });
  await row.getByRole('button', { name: `Reativar ${CAIO.name}` }).click();
  await row.locator('.chip', { hasText: 'Ativo' }).waitFor();
  await signIn(caio, CAIO.email, CAIO.password);
});

test('deleting an agent asks first, inline; Cancel keeps them', async () => {
  const row = admin.locator('.agents-table tr[data-agent-id]', { hasText: ELIS.email });
  await row.getByRole('button', { name: `Excluir ${ELIS.name}` }).click();
  await row.getByText(`Excluir ${ELIS.name}? As conversas abertas dessa pessoa ficam sem responsável.`).waitFor();
  assert.equal(await row.getByRole('button', { name: 'Excluir', exact: true }).evaluate((el) => el === document.activeElement), true);
  await admin.screenshot({ path: path.join(env.results, 'accounts-confirm-delete.png') });
  await row.getByRole('button', { name: 'Cancelar' }).click();
  assert.equal(await row.getByRole('button', { name: `Excluir ${ELIS.name}` }).evaluate((el) => el === document.activeElement), true);
  await row.getByRole('button', { name: `Excluir ${ELIS.name}` }).click();
  await row.getByRole('button', { name: 'Excluir', exact: true }).click();
  await row.waitFor({ state: 'detached' });
  const { agents } = await api('GET', '/api/v1/agents', adminToken);
  assert.ok(!agents.some((a) => a.email === ELIS.email));
});

test('any agent changes their own password under "Minha conta"; the console keeps working', async () => {
  const otherSession = (await api('POST', '/api/v1/agents/login', undefined, { email: CAIO.email, password: CAIO.password })).token;
  await caio.getByRole('link', { name: 'Minha conta' }).click();
  const form = caio.getByRole('form', { name: 'Trocar senha' });
  await form.waitFor();
  const current = form.getByLabel('Senha atual');
  const next = form.getByLabel('Nova senha');

  await current.fill('not my password at all');
  await next.fill(NEW_PASSWORD);
  await form.getByRole('button', { name: 'Salvar' }).click();
  await caio.locator('#current-password-error', { hasText: 'Esta não é a sua senha atual.' }).waitFor();
  assert.equal(await current.getAttribute('aria-invalid'), 'true');

  await current.fill(CAIO.password);
  await next.fill('curta');
  await form.getByRole('button', { name: 'Salvar' }).click();
  await caio.locator('#new-password-error', { hasText: 'Fraca demais' }).waitFor();
  assert.equal(await next.getAttribute('aria-invalid'), 'true');
  assert.equal(await current.getAttribute('aria-invalid'), null, 'only the field at fault is marked');
  await caio.screenshot({ path: path.join(env.results, 'accounts-weak-password.png') });

  await next.fill(NEW_PASSWORD);
  await form.getByRole('button', { name: 'Salvar' }).click();
  await form.getByRole('status').filter({ hasText: 'Senha trocada' }).waitFor();
  assert.equal(await current.inputValue(), '', 'the form is cleared');

  // This console goes on: same socket online, REST still answering; the other session is out.
  await caio.getByRole('link', { name: 'Caixa de entrada' }).click();
  await caio.waitForTimeout(2500); // revocation closes revoked sockets within 2 s
  assert.equal(await caio.locator('#conn').getAttribute('data-state'), 'online');
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Depois da senha' });
  const c = await api('POST', '/api/v1/conversations', token);
  await caio.locator(`#conversation-list li[data-id="${c.id}"]`).waitFor();
  const res = await fetch(`${env.chatUrl}/api/v1/me`, { headers: { authorization: `Bearer ${otherSession}` } });
  assert.equal(res.status, 401, 'the session opened elsewhere is revoked');
  await api('POST', '/api/v1/agents/login', undefined, { email: CAIO.email, password: NEW_PASSWORD });
  assert.deepEqual(problems.flat(), []);
});
