// The close-code policy and the backoff math, without a socket or a clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLOSE,
  closeAction,
  reconnectDelay,
  jitteredBackoff,
  BACKOFF_MAX_MS,
  MISBEHAVING_BASE_MS,
  MISBEHAVING_MAX_MS,
} from '../../../chat-server/web/shared/reconnect.js';

const low = () => 0;
const high = () => 0.999999;

test('each close code the server sends maps to its action', () => {
  assert.equal(closeAction(CLOSE.SIGNED_OUT), 'signed_out');
  assert.equal(closeAction(CLOSE.SLOW_CONSUMER), 'resume');
  assert.equal(closeAction(CLOSE.IDLE), 'resume');
  assert.equal(closeAction(CLOSE.SERVICE_RESTART), 'restart');
  assert.equal(closeAction(CLOSE.MISBEHAVING), 'misbehaving');
  assert.equal(closeAction(1006), 'retry', 'an abnormal close (network) is an ordinary retry');
  assert.equal(closeAction(CLOSE.TOO_BIG), 'retry');
  assert.equal(closeAction(undefined), 'retry');
});

test('equal jitter stays between half the ceiling and the ceiling, which doubles up to the cap', () => {
  assert.equal(jitteredBackoff(1, 500, 30_000, low), 250);
  assert.ok(jitteredBackoff(1, 500, 30_000, high) < 500);
  assert.equal(jitteredBackoff(3, 500, 30_000, low), 1000);
  assert.equal(jitteredBackoff(50, 500, 30_000, low), 15_000, 'capped, and no overflow for huge attempts');
  assert.ok(jitteredBackoff(50, 500, 30_000, high) <= BACKOFF_MAX_MS);
});

test('4008 resumes at once the first time, then backs off instead of looping', () => {
  assert.equal(reconnectDelay('resume', 1, high), 0);
  const second = reconnectDelay('resume', 2, low);
  assert.ok(second >= 250, `second quick 4008 waits ${second} ms`);
  assert.ok(reconnectDelay('resume', 6, low) > second);
});

test('1012 waits at least half a second so a whole replica does not come back at once', () => {
  for (let attempt = 1; attempt < 10; attempt++) {
    const d = reconnectDelay('restart', attempt, low);
    assert.ok(d >= 500, `attempt ${attempt}: ${d} ms`);
  }
  assert.ok(reconnectDelay('restart', 1, high) <= 1000);
});

test('4029 backs off for at least 30 s, doubling, at most 5 min', () => {
  assert.ok(reconnectDelay('misbehaving', 1, low) >= MISBEHAVING_BASE_MS);
  assert.ok(reconnectDelay('misbehaving', 2, low) >= 2 * MISBEHAVING_BASE_MS);
  assert.ok(reconnectDelay('misbehaving', 99, high) <= MISBEHAVING_MAX_MS);
  assert.ok(reconnectDelay('misbehaving', 1, low) > reconnectDelay('retry', 1, high) * 30);
});

test('4001 never reconnects', () => {
  assert.equal(reconnectDelay('signed_out', 1, low), Infinity);
});
