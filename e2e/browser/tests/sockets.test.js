// Both screens through the one conversation client (shared/conversation.js) and the socket's
// close-code handling, with Playwright between the page and the server's websocket: a send the
// server refuses is retried, 4008 resumes from the last seq, 4001 signs out (console) or starts
// a new visitor session (widget), and a message is measured in UTF-8 bytes as the server does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, signIn, api, tapSocket } from './harness.js';

let browser;
let agent;
let agentTap;
const problems = [];
let adminToken;

/** A visitor conversation with one message, made over REST. */
async function conversation(name) {
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name });
  const c = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${c.id}/messages`, token, { body: `oi, sou ${name}`, client_msg_id: 'v1' });
  return { ...c, token };
}

async function messages(id) {
  return (await api('GET', `/api/v1/conversations/${id}/messages?after_seq=0&limit=100`, adminToken)).messages;
}

async function openInConsole(c) {
  await agent.locator(`#conversation-list li[data-id="${c.id}"] button`).click();
  await agent.locator('.thread li[data-seq="1"]').waitFor();
}

before(async () => {
  browser = await launch();
  agent = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(agent, 'agent'));
  agentTap = await tapSocket(agent);
  adminToken = (await api('POST', '/api/v1/agents/login', undefined, { email: env.adminEmail, password: env.adminPassword })).token;
  await signIn(agent, env.adminEmail, env.adminPassword);
});

after(async () => {
  await browser?.close();
});

test('a reply the server refused shows why, and Retry stores it once under the same client_msg_id', async () => {
  const c = await conversation('Retry');
  await openInConsole(c);
  let refused = null;
  agentTap.refuse = (frame, reply) => {
    if (frame.type !== 'send' || refused) return false;
    refused = frame;
    reply({ type: 'error', code: 'rate_limited', message: 'Devagar, por favor', ref: frame.client_msg_id });
    return true;
  };
  await agent.locator('#reply-input').fill('primeira tentativa');
  await agent.getByRole('button', { name: 'Responder' }).click();
  const failed = agent.locator('.thread .pending li.is-failed', { hasText: 'Não enviada: Devagar, por favor' });
  await failed.waitFor();
  await agent.screenshot({ path: path.join(env.results, 'console-send-failed.png') });
  await failed.getByRole('button', { name: 'Tentar de novo' }).click();
  await agent.locator('.thread li[data-seq="2"]', { hasText: 'primeira tentativa' }).waitFor();
  assert.equal(await agent.locator('.thread .pending li').count(), 0);

  const stored = (await messages(c.id)).filter((m) => m.body === 'primeira tentativa');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].client_msg_id, refused.client_msg_id, 'the retry reuses the refused id');
  agentTap.refuse = () => false;
});

test('the token never appears in the socket URL (it travels in Sec-WebSocket-Protocol)', async () => {
  assert.ok(agentTap.urls.length > 0);
  for (const url of agentTap.urls) assert.equal(new URL(url).search, '', url);
});

test('after a 4008 close the console resumes from the last seq it showed and misses nothing', async () => {
  const c = await conversation('Resume');
  await openInConsole(c);
  const connections = agentTap.connections;
  await agentTap.close(4008, 'too slow; reconnect and resume with after_seq');
  // Written while this agent was cut off: the resume must replay it.
  await api('POST', `/api/v1/conversations/${c.id}/messages`, c.token, { body: 'enquanto caía', client_msg_id: 'v2' });
  await agent.locator('.thread li[data-seq="2"]', { hasText: 'enquanto caía' }).waitFor();
  assert.equal(agentTap.connections, connections + 1);
  const resubscribe = agentTap.sent.filter((f) => f.type === 'subscribe' && f.conversation_id === c.id).at(-1);
  assert.equal(resubscribe.after_seq, 1, 'subscribed again after the last seq shown');
  assert.deepEqual(
    await agent.locator('.thread .messages li[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq))),
    [1, 2],
  );
});

test('messages are measured in UTF-8 bytes as the server counts them', async () => {
  const c = await conversation('Limite');
  await openInConsole(c);
  const max = (await api('GET', '/api/v1/branding')).max_message_bytes;
  assert.equal(max, 4096);
  // 2049 characters: under a 4096 maxlength, but 4098 bytes.
  const tooLong = 'ç'.repeat(2049);
  const reply = agent.locator('#reply-input');
  await reply.fill(tooLong);
  await reply.press('Enter');
  await agent.getByRole('alert').filter({ hasText: 'no máximo 4096 bytes' }).waitFor();
  assert.equal(await reply.inputValue(), tooLong, 'what was written stays');
  assert.equal(await reply.getAttribute('aria-invalid'), 'true');
  assert.equal(await agent.locator('.thread .pending li').count(), 0, 'nothing sent');

  await reply.fill('ç'.repeat(2048)); // exactly 4096 bytes
  assert.equal(await reply.getAttribute('aria-invalid'), null);
  await reply.press('Enter');
  await agent.locator('.thread li[data-seq="2"]').waitFor();
  assert.equal((await messages(c.id))[1].body.length, 2048);
});

test('a 4001 close widget-side starts a new visitor session', async () => {
  const visitor = await (await browser.newContext({ locale: 'pt-BR' })).newPage();
  problems.push(watch(visitor, 'visitor'));
  const tap = await tapSocket(visitor);
  await visitor.goto(env.hostUrl);
  await visitor.getByRole('button', { name: 'Abrir chat' }).click();
  const input = visitor.getByRole('textbox', { name: 'Digite sua mensagem' });
  await input.fill('sessão antiga');
  await input.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]').waitFor();
  await visitor.locator('atendo-chat .conn[data-state="online"]').waitFor();
  const key = `atendo:${new URL(env.chatUrl).origin}`;
  const old = await visitor.evaluate((k) => JSON.parse(localStorage.getItem(k)), key);

  await tap.close(4001, 'signed out');
  await visitor.locator('atendo-chat li[data-seq]').first().waitFor({ state: 'detached' });
  const cleared = await visitor.evaluate((k) => JSON.parse(localStorage.getItem(k)), key);
  assert.equal(cleared.token, undefined, 'the revoked token is forgotten');

  await input.fill('sessão nova');
  await input.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]', { hasText: 'sessão nova' }).waitFor();
  const fresh = await visitor.evaluate((k) => JSON.parse(localStorage.getItem(k)), key);
  assert.notEqual(fresh.conversation_id, old.conversation_id);
  assert.notEqual(fresh.visitor_id, old.visitor_id);
  assert.equal(await visitor.locator('atendo-chat li[data-seq]').count(), 1, 'nothing of the old session shows');

  // The widget refuses an over-long message the same way.
  await input.fill('ã'.repeat(2049));
  await input.press('Enter');
  await visitor.locator('atendo-chat .error', { hasText: 'no máximo 4096 bytes' }).waitFor();
  assert.equal(await visitor.locator('atendo-chat .pending li').count(), 0);
});

test('a 4001 close signs the agent out with a notice', async () => {
  await agentTap.close(4001, 'signed out');
  await agent.getByRole('form', { name: 'Entrar' }).waitFor();
  await agent.locator('#login-error', { hasText: 'Você foi desconectado' }).waitFor();
  await agent.screenshot({ path: path.join(env.results, 'console-signed-out.png') });
  assert.equal(await agent.evaluate(() => sessionStorage.getItem('atendo.console')), null);
  assert.deepEqual(problems.flat(), []);
});
