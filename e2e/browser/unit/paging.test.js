// The console's whole lists (agents, teams): every page is fetched by following `next`, and the
// agents come out oldest first whatever the server's page size.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allAgents, allPages } from '../../../chat-server/web/shared/client.js';

/** A server of `items` (newest first) that pages by `limit` and `before` as the API does. */
function pagedServer(field, items) {
  const asked = [];
  const request = async (method, path) => {
    asked.push(`${method} ${path}`);
    const url = new URL(path, 'http://console.test');
    const limit = Number(url.searchParams.get('limit') || 50);
    const before = url.searchParams.get('before');
    const start = before ? items.findIndex((x) => x.id === before) + 1 : 0;
    const page = items.slice(start, start + limit);
    const next = start + limit < items.length ? page[page.length - 1].id : null;
    return { [field]: page, next };
  };
  return { request, asked };
}

test('every page is fetched, following next until it is null, with the cursor escaped', async () => {
  const items = ['e', 'd/4', 'c', 'b', 'a'].map((id) => ({ id }));
  const { request, asked } = pagedServer('teams', items);
  assert.deepEqual(await allPages(request, '/api/v1/teams', 'teams', 2), items);
  assert.deepEqual(asked, ['GET /api/v1/teams?limit=2', 'GET /api/v1/teams?limit=2&before=d%2F4', 'GET /api/v1/teams?limit=2&before=b']);
});

test('one page is one request, at the largest size the API allows', async () => {
  const { request, asked } = pagedServer('teams', [{ id: 'a' }]);
  assert.deepEqual(await allPages(request, '/api/v1/teams', 'teams'), [{ id: 'a' }]);
  assert.deepEqual(asked, ['GET /api/v1/teams?limit=200']);
});

test('more agents than one page holds are all listed, oldest first', async () => {
  const newestFirst = Array.from({ length: 450 }, (_, i) => ({ id: `agent-${String(449 - i).padStart(3, '0')}` }));
  const { request, asked } = pagedServer('agents', newestFirst);
  const agents = await allAgents(request);
  assert.equal(agents.length, 450);
  assert.equal(agents[0].id, 'agent-000');
  assert.equal(agents[449].id, 'agent-449');
  assert.equal(asked.length, 3);
});
