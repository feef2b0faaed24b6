// A forgotten password in Chromium, end to end: "Forgot your password?" on the sign-in form asks
// for a link, a real SMTP server (aiosmtpd, testkit/scripts/smtp_server.py) receives the mail,
// the link opens the reset form (and leaves the address bar), a weak password is refused on its
// field, a good one signs every old session out and brings the person back to sign in, and the
// used link is refused in words that say what to do. A chat-server without mail offers no link.
// Everything this file starts it stops in `after`, which node:test runs also when a test fails.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { env, launch, watch } from './harness.js';
import { freePort, listening, start, startChatServer, stop } from './processes.js';

const bin = process.env.E2E_CHAT_BIN;
const python = process.env.E2E_PYTHON;
const SMTP_SCRIPT = fileURLToPath(new URL('../../../testkit/scripts/smtp_server.py', import.meta.url));
const ADMIN = { email: 'owner@acme.test', password: 'the-first-admin-password-1' };
const NEW_PASSWORD = 'a brand new passphrase 2026';

let dir;
let chatUrl;
let smtp;
let server;
let browser;
const problems = [];

/** The mails received so far, oldest first. */
function mails() {
  return fs
    .readdirSync(path.join(dir, 'mail'))
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, 'mail', f), 'utf8'));
}

async function waitForMail(n) {
  for (let i = 0; i < 150; i++) {
    const all = mails();
    if (all.length >= n) return all[n - 1];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`mail ${n} did not arrive in 30s`);
}

/** The reset link in a mail, with quoted-printable soft breaks and escapes undone. */
function resetLink(mail) {
  const body = mail.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  const found = body.match(/(http:\/\/127\.0\.0\.1:\d+\/#\/reset\?token=[A-Za-z0-9_-]+)/);
  assert.ok(found, `no reset link in:\n${body}`);
  return found[1];
}

async function newPage(label) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  problems.push(watch(page, label));
  return page;
}

async function signIn(page, password) {
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Email').fill(ADMIN.email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

before(async () => {
  assert.ok(bin, 'E2E_CHAT_BIN is not set; run the tests through e2e/browser/run.sh');
  assert.ok(python, 'E2E_PYTHON is not set; run the tests through e2e/browser/run.sh');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atendo-reset-'));
  fs.mkdirSync(path.join(dir, 'mail'));
  const log = (name) => fs.openSync(path.join(dir, name), 'a');
  const smtpPort = await freePort();
  smtp = await start(
    'aiosmtpd',
    python,
    [SMTP_SCRIPT, '--port', String(smtpPort), '--user', 'atendo', '--password', 'mail-secret', '--maildir', path.join(dir, 'mail')],
    { stdio: ['ignore', log('smtp.log'), log('smtp.log')] },
    () => listening(smtpPort),
  );
  const port = await freePort();
  chatUrl = `http://127.0.0.1:${port}`;
  server = await startChatServer(dir, port, {
    CHAT_PUBLIC_URL: chatUrl,
    CHAT_BUS: 'local',
    CHAT_BRAND_LOCALE: 'en',
    CHAT_ADMIN_EMAIL: ADMIN.email,
    CHAT_ADMIN_PASSWORD: ADMIN.password,
    CHAT_SMTP_URL: `smtp://atendo:mail-secret@127.0.0.1:${smtpPort}?tls=none`,
    CHAT_MAIL_FROM: 'ACME Support <support@acme.test>',
    CHAT_MAIL_RETRY_BASE_SECS: '1',
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stop(server);
  await stop(smtp);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

let link;

test('"Forgot your password?" mails a link, and says so without telling whether the account exists', async () => {
  const page = await newPage('forgot');
  await page.goto(`${chatUrl}/`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  const form = page.getByRole('form', { name: 'Reset your password' });
  await form.waitFor();
  assert.equal(new URL(page.url()).hash, '#/forgot');

  // Empty: the field says what is missing, and nothing is sent.
  await form.getByRole('button', { name: 'Send the link' }).click();
  await form.locator('#forgot-email-error', { hasText: 'Enter your email.' }).waitFor();

  await form.getByLabel('Email').fill(ADMIN.email);
  await form.getByRole('button', { name: 'Send the link' }).click();
  await form.locator('#forgot-result', { hasText: `If ${ADMIN.email} has an account here, a link is on its way` }).waitFor();
  await page.screenshot({ path: path.join(env.results, 'reset-forgot.png') });
  const mail = await waitForMail(1);
  assert.match(mail, /^To: owner@acme\.test/m);
  link = resetLink(mail);
  assert.ok(link.startsWith(`${chatUrl}/#/reset?token=`), link);

  // Back to sign in is one link away.
  await form.getByRole('link', { name: 'Back to sign in' }).click();
  await page.getByRole('form', { name: 'Sign in' }).waitFor();
  await page.context().close();
});

test('the link sets a new password: weak refused on its field, old sessions signed out, sign-in with the new one', async () => {
  assert.ok(link, 'needs the link of the test before');
  const old = await (await fetch(`${chatUrl}/api/v1/agents/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  })).json();

  const page = await newPage('reset');
  await page.goto(link);
  const form = page.getByRole('form', { name: 'Choose a new password' });
  await form.waitFor();
  assert.equal(page.url(), `${chatUrl}/#/reset`, 'the token leaves the address bar');

  await form.getByLabel('New password').fill('password1234');
  await form.getByRole('button', { name: 'Set the new password' }).click();
  await form.locator('#reset-password-error', { hasText: 'Too weak' }).waitFor();
  assert.equal(await form.getByLabel('New password').getAttribute('aria-invalid'), 'true');

  await form.getByLabel('New password').fill(NEW_PASSWORD);
  await form.getByRole('button', { name: 'Set the new password' }).click();
  await page.locator('#login-error', { hasText: 'Password reset; sign in with the new one.' }).waitFor();
  await page.screenshot({ path: path.join(env.results, 'reset-done.png') });

  const me = await fetch(`${chatUrl}/api/v1/me`, { headers: { authorization: `Bearer ${old.token}` } });
  assert.equal(me.status, 401, 'a session from before the reset is revoked');
  await signIn(page, NEW_PASSWORD);
  await page.locator('#conn[data-state="online"]').waitFor();
  await page.context().close();
});

test('a used link is refused in plain words, with the way to ask for another', async () => {
  const page = await newPage('used');
  await page.goto(link);
  const form = page.getByRole('form', { name: 'Choose a new password' });
  await form.getByLabel('New password').fill('yet another long passphrase 7');
  await form.getByRole('button', { name: 'Set the new password' }).click();
  await form.getByText('This link is used, expired or was cancelled').waitFor();
  await form.getByRole('link', { name: 'Ask for a new link' }).click();
  await page.getByRole('form', { name: 'Reset your password' }).waitFor();
  await page.screenshot({ path: path.join(env.results, 'reset-used.png') });
  await page.context().close();
});

test('a server without mail offers no "Forgot your password?"', async () => {
  const page = await newPage('no-mail');
  await page.goto(`${env.chatUrl}/`);
  await page.getByRole('form', { name: 'Entrar' }).waitFor();
  assert.equal(await page.locator('#forgot-link').count(), 0);
  // Nor does the fragment open the form there.
  await page.goto(`${env.chatUrl}/#/forgot`);
  await page.getByRole('form', { name: 'Entrar' }).waitFor();
  assert.equal(await page.locator('#forgot-form').isVisible(), false);
  await page.context().close();
});

test('no dialogs, page errors or CSP violations on any page', () => {
  assert.deepEqual(problems.flat(), []);
});
