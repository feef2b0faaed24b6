// Timeline: the seq-ordered, duplicate-free message list both screens render from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timeline } from '../../../chat-server/web/shared/timeline.js';

const msg = (seq) => ({ seq, body: `m${seq}` });

test('messages inserted out of order come out in seq order, each seq once', () => {
  const t = new Timeline();
  assert.equal(t.insert(msg(3)), 0);
  assert.equal(t.insert(msg(1)), 0);
  assert.equal(t.insert(msg(2)), 1);
  assert.equal(t.insert(msg(2)), -1, 'a replayed seq is dropped');
  assert.equal(t.size, 3);
  assert.equal(t.firstSeq, 1);
  assert.equal(t.lastSeq, 3);
  assert.deepEqual([...t.since(0)].map((m) => m.seq), [1, 2, 3]);
});

test('latest(n) walks newest first and stops after n', () => {
  const t = new Timeline();
  for (const s of [5, 1, 4, 2, 3]) t.insert(msg(s));
  assert.deepEqual([...t.latest(2)].map((m) => m.seq), [5, 4]);
  assert.deepEqual([...t.latest()].map((m) => m.seq), [5, 4, 3, 2, 1]);
  assert.deepEqual([...t.latest(0)], []);
});

test('since(seq) yields only what is newer, also across a gap', () => {
  const t = new Timeline();
  for (const s of [1, 2, 7, 9]) t.insert(msg(s));
  assert.deepEqual([...t.since(2)].map((m) => m.seq), [7, 9]);
  assert.deepEqual([...t.since(5)].map((m) => m.seq), [7, 9]);
  assert.deepEqual([...t.since(9)], []);
  assert.equal(new Timeline().lastSeq, 0, 'an empty timeline resumes from 0');
});

test('the storage is not reachable from outside', () => {
  const t = new Timeline();
  t.insert(msg(1));
  assert.equal(t.seqs, undefined);
  assert.equal(t.bySeq, undefined);
});
