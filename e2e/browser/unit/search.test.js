// The search results' snippet: words marked as the server matches them (case and accents
// ignored), long messages cut around the first match.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snippet } from '../../../chat-server/web/console/search.js';

const marked = (pieces) => pieces.filter(([, m]) => m).map(([t]) => t);

test('every word is marked wherever it occurs, ignoring case and accents both ways', () => {
  const pieces = snippet('Um Café com leite; CAFE gelado e cafe.', ['cafe', 'LEITE']);
  assert.deepEqual(marked(pieces), ['Café', 'leite', 'CAFE', 'cafe']);
  assert.equal(pieces.map(([t]) => t).join(''), 'Um Café com leite; CAFE gelado e cafe.', 'nothing lost or doubled');
  assert.deepEqual(marked(snippet('um cafe', ['café'])), ['cafe']);
});

test('a decomposed accent and characters outside the BMP keep the marks in the right place', () => {
  const text = '😀 Cafe\u0301 já';
  assert.deepEqual(marked(snippet(text, ['cafe'])), ['Cafe\u0301']);
  assert.deepEqual(marked(snippet(text, ['ja'])), ['já']);
});

test('a long message is cut to a window around the first match', () => {
  const text = `${'a '.repeat(200)}reembolso ${'b '.repeat(200)}`;
  const pieces = snippet(text, ['reembolso']);
  const joined = pieces.map(([t]) => t).join('');
  assert.ok(joined.startsWith('…') && joined.endsWith('…'), joined);
  assert.ok(joined.length <= 162, `${joined.length}`);
  assert.deepEqual(marked(pieces), ['reembolso']);
});
