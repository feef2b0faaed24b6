// Which fragment opens the reset form, and with which token.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resetTokenOf } from '../../../chat-server/web/console/password-reset.js';

test('a reset link gives its token; other routes give null', () => {
  assert.equal(resetTokenOf('#/reset?token=abc_DEF-12'), 'abc_DEF-12');
  assert.equal(resetTokenOf('#/reset?other=1&token=t0k'), 't0k');
  assert.equal(resetTokenOf('#/reset'), '', 'the form, with nothing to send: the console asks for a new link');
  assert.equal(resetTokenOf('#/reset?'), '');
  for (const hash of ['', '#/', '#/forgot', '#/account', '#/resets?token=x', '#/admin?token=x']) {
    assert.equal(resetTokenOf(hash), null, hash);
  }
});
