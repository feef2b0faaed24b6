// The reports page: an agent opens "Relatórios" from the console's navigation, picks today's
// range and sees the summary — tiles, a chart per day and per agent (SVG images with a label),
// and the same numbers in tables — for a conversation this test answered, resolved and had
// rated; both CSV downloads hold the tables' rows. The figures are compared with the API's
// own answer for the same range, since other test files share the server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { env, launch, watch, api, adminSession, openConsole } from './harness.js';

let browser;
let agent;
const problems = [];

before(async () => {
  browser = await launch();
  const context = await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  agent = await context.newPage();
  problems.push(watch(agent, 'agent'));
});

after(async () => {
  await browser?.close();
});

test('the reports page shows the summary as charts and tables and downloads both as CSV', async () => {
  const admin = await adminSession();
  // A conversation answered, resolved and rated today.
  const v = await api('POST', '/api/v1/visitors', undefined, { name: 'Rita' });
  const c = await api('POST', '/api/v1/conversations', v.token, {});
  await api('POST', `/api/v1/conversations/${c.id}/messages`, v.token, { body: 'Olá', client_msg_id: 'q1' });
  await api('POST', `/api/v1/conversations/${c.id}/messages`, admin.token, { body: 'Oi, Rita!', client_msg_id: 'a1' });
  await api('POST', `/api/v1/conversations/${c.id}/assign`, admin.token, { agent_id: admin.agent_id });
  await api('POST', `/api/v1/conversations/${c.id}/status`, admin.token, { status: 'resolved' });
  await api('POST', `/api/v1/conversations/${c.id}/rating`, v.token, { score: 5 });

  await openConsole(agent, admin);
  await agent.getByRole('navigation', { name: 'Áreas do console' }).getByRole('link', { name: 'Relatórios' }).click();
  await agent.getByRole('heading', { level: 1, name: 'Relatórios' }).waitFor();
  const today = new Date().toISOString().slice(0, 10);
  await agent.getByLabel('De', { exact: true }).fill(today);
  await agent.getByLabel('Até', { exact: true }).fill(today);
  const answered = agent.waitForResponse((r) => r.url().includes(`/api/v1/reports/summary?from=${today}&to=${today}`));
  await agent.getByRole('button', { name: 'Mostrar' }).click();
  await answered;
  const expected = await api('GET', `/api/v1/reports/summary?from=${today}&to=${today}`, admin.token);
  assert.ok(expected.conversations >= 1 && expected.csat.responses >= 1, JSON.stringify(expected));

  const tile = (name) => agent.locator('.report-tiles dt', { hasText: name }).locator('xpath=following-sibling::dd[1]//span[@class="value"]');
  assert.equal(await tile('Conversas').textContent(), expected.conversations.toLocaleString('pt-BR'));
  assert.equal(await tile('Resolvidas').textContent(), expected.resolved.toLocaleString('pt-BR'));
  assert.equal(await tile('Satisfação').textContent(), expected.csat.average.toLocaleString('pt-BR'));

  // Charts are labelled images; their numbers are in the tables.
  await agent.getByRole('img', { name: 'Conversas e conversas resolvidas por dia' }).waitFor();
  assert.equal(await agent.locator('svg.chart rect.bar.total').count() >= 2, true);
  const dayRows = agent.getByRole('table', { name: 'Por dia' }).locator('tbody tr');
  assert.equal(await dayRows.count(), 1);
  assert.deepEqual(
    await dayRows.first().locator('th, td').allTextContents().then((cells) => cells.slice(0, 3)),
    [today, String(expected.conversations), String(expected.resolved)],
  );
  const agentTable = agent.getByRole('table', { name: 'Por atendente' });
  assert.equal(await agentTable.locator('tbody tr').count(), expected.by_agent.length);
  await agent.screenshot({ path: path.join(env.results, 'reports-page.png'), fullPage: true });

  // Both downloads: a header and the same rows.
  for (const [button, header, rows] of [
    ['Baixar por dia (CSV)', 'date,conversations,resolved', expected.by_day.length],
    ['Baixar por atendente (CSV)', 'agent_id,name,conversations', expected.by_agent.length],
  ]) {
    const [download] = await Promise.all([agent.waitForEvent('download'), agent.getByRole('button', { name: button }).click()]);
    assert.match(download.suggestedFilename(), new RegExp(`^atendo-report-by-(day|agent)-${today}-${today}\\.csv$`));
    const text = await fs.readFile(await download.path(), 'utf8');
    const lines = text.trimEnd().split('\r\n');
    assert.ok(lines[0].startsWith(header), lines[0]);
    assert.equal(lines.length, rows + 1, text);
  }
  const dayCsv = await (async () => {
    const [d] = await Promise.all([agent.waitForEvent('download'), agent.getByRole('button', { name: 'Baixar por dia (CSV)' }).click()]);
    return fs.readFile(await d.path(), 'utf8');
  })();
  assert.ok(dayCsv.includes(`${today},${expected.conversations},${expected.resolved},`), dayCsv);
  assert.deepEqual(problems.flat(), []);
});
