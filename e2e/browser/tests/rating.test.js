// Satisfaction: the visitor writes, an agent resolves the conversation over REST, and the
// widget — told by the `status` frame it receives as the conversation's subscriber — asks "Como
// foi o atendimento?" with five stars and an optional comment. The visitor picks 4, comments,
// sends; the widget thanks them, the agent sees the rating on the conversation, and a reload
// does not ask again (a second rating would be 409 already_rated).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { env, launch, watch, api, adminSession } from './harness.js';

let browser;
let visitor;
const problems = [];

before(async () => {
  browser = await launch();
  visitor = await (await browser.newContext({ locale: 'pt-BR' })).newPage();
  problems.push(watch(visitor, 'visitor'));
});

after(async () => {
  await browser?.close();
});

const widgetSession = () =>
  visitor.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.startsWith('atendo:'));
    return JSON.parse(localStorage.getItem(key));
  });

test('after resolution the widget asks for a rating once, and the agent sees it', async () => {
  await visitor.goto(env.hostUrl);
  await visitor.getByRole('button', { name: 'Abrir chat' }).click();
  const box = visitor.getByRole('textbox', { name: 'Digite sua mensagem' });
  await box.fill('Quero trocar o tamanho do tênis');
  await box.press('Enter');
  await visitor.locator('atendo-chat li[data-seq="1"]').waitFor();
  const { conversation_id: id, token } = await widgetSession();
  const prompt = visitor.getByRole('region', { name: 'Como foi o atendimento?' });
  assert.equal(await prompt.count(), 0, 'no prompt while the conversation is open');

  const admin = await adminSession();
  await api('POST', `/api/v1/conversations/${id}/messages`, admin.token, { body: 'Feito! Troca registrada.', client_msg_id: 'r1' });
  await api('POST', `/api/v1/conversations/${id}/status`, admin.token, { status: 'resolved' });
  await prompt.waitFor();

  const send = prompt.getByRole('button', { name: 'Enviar avaliação' });
  assert.equal(await send.isDisabled(), true, 'nothing to send before a score is picked');
  const four = prompt.getByRole('button', { name: '4 de 5' });
  await four.click();
  assert.equal(await four.getAttribute('aria-pressed'), 'true');
  assert.equal(await prompt.getByRole('button', { name: '5 de 5' }).getAttribute('aria-pressed'), 'false');
  await prompt.getByRole('textbox', { name: 'Quer comentar algo? (opcional)' }).fill('Rápido e simpático');
  await visitor.screenshot({ path: path.join(env.results, 'rating-prompt.png') });
  await send.click();
  await prompt.getByText('Obrigado pela sua avaliação!').waitFor();
  await visitor.screenshot({ path: path.join(env.results, 'rating-thanks.png') });

  const seen = await api('GET', `/api/v1/conversations/${id}`, admin.token);
  assert.equal(seen.rating.score, 4);
  assert.equal(seen.rating.comment, 'Rápido e simpático');

  // Rated: a reload does not ask again, and the server refuses a second rating.
  await visitor.reload();
  await visitor.locator('atendo-chat li[data-seq="2"]').waitFor();
  assert.equal(await visitor.getByRole('region', { name: 'Como foi o atendimento?' }).count(), 0);
  const again = await fetch(`${env.chatUrl}/api/v1/conversations/${id}/rating`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ score: 1 }),
  });
  assert.equal(again.status, 409);
  assert.equal((await again.json()).error.code, 'already_rated');
  assert.deepEqual(problems.flat(), []);
});
