// The inbox's unread counts: a list's own count, a frame's worked out from last_seq and my read
// seq, and frames arriving out of order never moving either back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unreadOf, mergeFrame } from '../../../chat-server/web/console/inbox.js';

const ME = 'a1';
const conv = (last_seq, agents, extra = {}) => ({ id: 'c1', last_seq, read: { visitor: 0, agents }, ...extra });

test("a list's count is taken as it is; a frame's is last_seq minus my read seq", () => {
  assert.equal(unreadOf(conv(9, { [ME]: 2 }, { unread: 4 }), ME), 4);
  assert.equal(unreadOf(conv(9, { [ME]: 2 }), ME), 7);
  assert.equal(unreadOf(conv(9, { other: 9 }), ME), 9, "another agent's read is not mine");
  assert.equal(unreadOf(conv(3, {}), ME), 3);
  assert.equal(unreadOf({ id: 'c1', last_seq: 0 }, ME), 0);
});

test('frames out of order: the highest last_seq and my highest read seq win', () => {
  const listed = conv(5, { [ME]: 5 }, { unread: 0 });
  const newer = conv(7, { [ME]: 5 });
  const older = conv(6, { [ME]: 5 });
  const merged = mergeFrame(mergeFrame(listed, newer, ME), older, ME);
  assert.equal(merged.last_seq, 7);
  assert.equal(unreadOf(merged, ME), 2, 'not 1, from the late frame');

  // My read announced, then a late frame of a message from before it.
  const read = mergeFrame(merged, conv(7, { [ME]: 7 }), ME);
  assert.equal(unreadOf(read, ME), 0);
  assert.equal(unreadOf(mergeFrame(read, conv(6, { [ME]: 5 }), ME), ME), 0);

  // The frame's other fields (status, labels) are the frame's.
  assert.equal(mergeFrame(listed, conv(5, { [ME]: 5 }, { status: 'resolved' }), ME).status, 'resolved');
  assert.equal(mergeFrame(listed, conv(5, { [ME]: 5 }), ME).unread, undefined, "the list's stale count is dropped");
});
