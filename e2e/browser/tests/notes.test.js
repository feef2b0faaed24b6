// Private notes: the agent switches the reply box to "Nota privada", writes a note and then a
// reply. The note shows as a note in the console (label, tint, not colour alone), the visitor's
// widget, open in the same test, gets the reply and never the note, and the visitor does not
// see "typing" while the agent writes a note.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, tapSocket, api, adminSession, openConsole } from './harness.js';

let browser;
let visitor;
let agent;
const problems = [];

before(async () => {
  browser = await launch();
  visitor = await (await browser.newContext({ locale: 'pt-BR' })).newPage();
  agent = await (await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } })).newPage();
  problems.push(watch(visitor, 'visitor'), watch(agent, 'agent'));
});

after(async () => {
  await browser?.close();
});

/** The widget's stored session (its conversation id), as main.js keeps it. */
const widgetSession = () =>
  visitor.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.startsWith('atendo:'));
    return JSON.parse(localStorage.getItem(key));
  });

test('a note stays among agents: the visitor gets the reply, never the note', async () => {
  await visitor.goto(env.hostUrl);
  await visitor.getByRole('button', { name: 'Abrir chat' }).click();
  const box = visitor.getByRole('textbox', { name: 'Digite sua mensagem' });
  await box.fill('Meu pedido não chegou');
  await box.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]').waitFor();
  const { conversation_id: id } = await widgetSession();

  const tap = await tapSocket(agent);
  await openConsole(agent, await adminSession());
  await agent.locator(`#conversation-list li[data-id="${id}"] button`).click();
  await agent.locator('.thread li[data-seq="1"]', { hasText: 'Meu pedido não chegou' }).waitFor();

  // The switch: two radios, "Resposta" checked by default.
  const replyMode = agent.getByRole('radio', { name: 'Resposta' });
  const noteMode = agent.getByRole('radio', { name: 'Nota privada' });
  assert.equal(await replyMode.isChecked(), true);
  await noteMode.check();
  const input = agent.getByRole('textbox', { name: 'Nota privada' });
  assert.equal(await input.getAttribute('placeholder'), 'Escreva uma nota privada: só atendentes a veem');
  await input.pressSequentially('Cliente VIP, ver com logística', { delay: 10 });
  await agent.getByRole('button', { name: 'Adicionar nota' }).click();
  const note = agent.locator('.thread li[data-seq="2"]');
  await note.waitFor();
  assert.equal(await note.locator('.note-label').textContent(), 'Nota privada', 'said in words, not only by colour');
  assert.match(await note.getAttribute('class'), /is-note/);
  const look = await note.evaluate((el) => {
    const s = getComputedStyle(el);
    return { bg: s.backgroundColor, border: s.borderTopStyle };
  });
  assert.deepEqual(look, { bg: 'rgb(255, 244, 204)', border: 'dashed' }, 'tinted and framed apart from replies');
  const noteFrame = tap.sent.find((f) => f.type === 'send' && f.body.startsWith('Cliente VIP'));
  assert.equal(noteFrame.private, true);
  assert.equal(tap.sent.filter((f) => f.type === 'typing' && f.state === true).length, 0, 'writing a note is not "typing" for the visitor');

  // Back to a reply: the words change back, and the reply is an ordinary message.
  await replyMode.check();
  await agent.getByRole('textbox', { name: 'Responder' }).fill('Vou verificar com a transportadora.');
  await agent.getByRole('button', { name: 'Responder' }).click();
  const reply = agent.locator('.thread li[data-seq="3"]');
  await reply.waitFor();
  assert.equal(await reply.locator('.note-label').count(), 0);
  assert.equal(tap.sent.find((f) => f.type === 'send' && f.body.startsWith('Vou verificar')).private, undefined);
  await agent.screenshot({ path: path.join(env.results, 'notes-console.png') });

  // The visitor: the reply arrives, the note never does, now or after a reload.
  await visitor.locator('atendo-chat .messages li', { hasText: 'Vou verificar com a transportadora.' }).waitFor();
  const texts = () => visitor.locator('atendo-chat .messages li').allTextContents();
  assert.ok(!(await texts()).some((s) => s.includes('VIP')), 'no note in the widget');
  await visitor.reload();
  await visitor.locator('atendo-chat .messages li', { hasText: 'Vou verificar com a transportadora.' }).waitFor();
  assert.ok(!(await texts()).some((s) => s.includes('VIP')), 'nor in the history fetched after a reload');
  assert.equal(await visitor.locator('atendo-chat .messages li', { hasText: 'Meu pedido não chegou' }).count(), 1);
  await visitor.screenshot({ path: path.join(env.results, 'notes-widget.png') });

  // Another conversation opened in the console starts as a reply: a note is chosen each time.
  await noteMode.check();
  const { token } = await api('POST', '/api/v1/visitors', undefined, { name: 'Outra pessoa' });
  const other = await api('POST', '/api/v1/conversations', token);
  await api('POST', `/api/v1/conversations/${other.id}/messages`, token, { body: 'oi', client_msg_id: 'o1' });
  await agent.locator(`#conversation-list li[data-id="${other.id}"] button`).click();
  await agent.getByRole('heading', { name: 'Conversa com Outra pessoa' }).waitFor();
  assert.equal(await replyMode.isChecked(), true);
  assert.equal(await agent.locator('form.reply.is-note').count(), 0);
  assert.deepEqual(problems.flat(), []);
});
