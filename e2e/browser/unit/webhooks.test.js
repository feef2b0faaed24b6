// The webhook delivery log's pure parts: an attempt's outcome in words with its reason, the time
// of an attempt to the second, and the paged deliveries path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attemptOutcome, attemptTime, deliveriesPath, LOG_PAGE } from '../../../chat-server/web/console/webhook-log.js';
import { EVENT_TYPES } from '../../../chat-server/web/console/admin-webhooks.js';
import { strings } from '../../../chat-server/web/shared/i18n.js';

const en = strings('en');
const pt = strings('pt-BR');

test('a delivered attempt says so with the receiver’s status', () => {
  assert.deepEqual(attemptOutcome({ status: 'delivered', response_status: 204 }, en), { kind: 'delivered', label: 'Delivered', detail: 'HTTP 204' });
  assert.deepEqual(attemptOutcome({ status: 'delivered', response_status: 200 }, pt), { kind: 'delivered', label: 'Entregue', detail: 'HTTP 200' });
});

test('a failed attempt gives its reason once: the HTTP status the error names, or the error alone', () => {
  assert.deepEqual(attemptOutcome({ status: 'retrying', response_status: 500, error: 'HTTP 500' }, en), {
    kind: 'retrying',
    label: 'Failed, will retry',
    detail: 'HTTP 500',
  });
  assert.deepEqual(attemptOutcome({ status: 'failed', error: 'timeout' }, en), { kind: 'failed', label: 'Failed, given up', detail: 'timeout' });
  // A status the error does not mention is not lost.
  assert.equal(attemptOutcome({ status: 'retrying', response_status: 302, error: 'redirects are not followed' }, en).detail, 'HTTP 302: redirects are not followed');
  assert.equal(attemptOutcome({ status: 'retrying' }, en).detail, '');
});

test('a status this console does not know keeps the server’s word', () => {
  assert.deepEqual(attemptOutcome({ status: 'paused' }, en), { kind: 'unknown', label: 'paused', detail: '' });
});

test('every status and event type has words in both locales', () => {
  for (const t of [en, pt]) {
    for (const s of ['delivered', 'retrying', 'failed']) assert.ok(t.webhooks.statuses[s], s);
    for (const type of EVENT_TYPES) assert.ok(t.webhooks.eventHints[type], type);
  }
  assert.notEqual(pt.webhooks.secretOnce, en.webhooks.secretOnce);
});

test('an attempt’s time has seconds, and the date when it was not today', () => {
  const today = new Date('2026-12-05T20:00:00Z');
  const same = attemptTime('2026-12-05T14:03:09Z', 'en-GB', today);
  assert.match(same, /\d\d:\d\d:\d\d/);
  assert.doesNotMatch(same, /Dec/);
  assert.match(attemptTime('2026-11-30T14:03:09Z', 'en-GB', today), /Nov/);
  assert.equal(attemptTime('not a date', 'en'), '');
});

test('the deliveries path pages with limit and an escaped before cursor', () => {
  assert.equal(deliveriesPath('w 1'), `/api/v1/webhooks/w%201/deliveries?limit=${LOG_PAGE}`);
  assert.equal(deliveriesPath('w1', 'a/b', 5), '/api/v1/webhooks/w1/deliveries?limit=5&before=a%2Fb');
});
