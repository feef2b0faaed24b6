// What the browser tests share: where things run (set by run.sh), and Debian's chromium.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run the tests through e2e/browser/run.sh`);
  return value;
}

export const env = {
  chatUrl: need('E2E_CHAT_URL'),
  hostUrl: need('E2E_HOST_URL'),
  results: need('E2E_RESULTS'),
  adminEmail: need('E2E_ADMIN_EMAIL'),
  adminPassword: need('E2E_ADMIN_PASSWORD'),
  brandName: need('E2E_BRAND_NAME'),
  brandColor: need('E2E_BRAND_COLOR'),
  brandWelcome: need('E2E_BRAND_WELCOME'),
  // S3 mode: a second chat-server, moto on its own origin and the bucket it presigns into.
  s3ChatUrl: need('E2E_S3_CHAT_URL'),
  s3Url: need('E2E_S3_URL'),
  s3Bucket: need('E2E_S3_BUCKET'),
};

/**
 * Debian's chromium, headless. Playwright gives every launch a fresh temporary user-data
 * directory and deletes it on close, so no profile state carries over between runs.
 */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** "#aa3300" as the browser reports a computed colour. */
export function rgb(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

/**
 * Records what must never happen on a page: a JavaScript dialog (an injected alert), an
 * uncaught error, or a Content-Security-Policy violation reported to the console.
 */
export function watch(page, label) {
  const problems = [];
  page.on('dialog', async (d) => {
    problems.push(`${label}: a ${d.type()} dialog opened: ${d.message()}`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`${label}: uncaught error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Trusted Type/i.test(m.text())) {
      problems.push(`${label}: ${m.text()}`);
    }
  });
  return problems;
}

/** Signs in to the console (pt-BR) and waits until its socket is online. */
export async function signIn(page, email, password) {
  await page.goto(env.chatUrl + '/');
  const form = page.getByRole('form', { name: 'Entrar' });
  await form.getByLabel('E-mail').fill(email);
  await form.getByLabel('Senha').fill(password);
  await form.getByRole('button', { name: 'Entrar' }).click();
  await page.locator('#conn[data-state="online"]').waitFor();
}

/** A REST call to the chat-server; fails the test on an error status. */
export async function api(method, path, token, body) {
  const res = await fetch(env.chatUrl + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = res.status === 204 ? null : await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * Puts Playwright between the page and the chat-server's websocket, as the server would be
 * seen from the page: every frame the page sends is recorded in `sent`; `refuse(frame)` may
 * answer a frame itself (return true) instead of passing it on; `close(code)` ends the current
 * connection with a close code the way the server does (4001, 4008, …).
 */
export async function tapSocket(page) {
  const tap = {
    sent: [],
    urls: [], // every socket's URL, as an access log would record it
    connections: 0,
    refuse: () => false,
    async close(code, reason = 'test') {
      const { page: pageSide, server } = tap.current;
      await pageSide.close({ code, reason });
      await server.close();
    },
  };
  await page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    const server = ws.connectToServer();
    tap.current = { page: ws, server };
    tap.connections += 1;
    tap.urls.push(ws.url());
    ws.onMessage((text) => {
      const frame = JSON.parse(text);
      tap.sent.push(frame);
      if (!tap.refuse(frame, (reply) => ws.send(JSON.stringify(reply)))) server.send(text);
    });
    server.onMessage((text) => ws.send(text));
  });
  return tap;
}

/**
 * The admin's console session ({ token, agent_id, role, name }), signed in once for the whole
 * run: sign-ins are limited to 5 a minute per account (CHAT_LOGIN_ACCOUNT_RATE) and every test
 * file runs in a process of its own, so the token is kept in a file beside the results. A token
 * from an earlier run (another server, another key) fails GET /me and is replaced.
 */
export async function adminSession() {
  const file = path.join(env.results, '.admin-session.json');
  try {
    const saved = JSON.parse(await fs.readFile(file, 'utf8'));
    const res = await fetch(env.chatUrl + '/api/v1/me', { headers: { authorization: `Bearer ${saved.token}` } });
    if (res.ok) return saved;
  } catch {
    // none yet, or unreadable: sign in
  }
  const r = await api('POST', '/api/v1/agents/login', undefined, { email: env.adminEmail, password: env.adminPassword });
  const session = { token: r.token, agent_id: r.agent_id, role: r.role, name: r.name || env.adminEmail };
  await fs.writeFile(file, JSON.stringify(session));
  return session;
}

/**
 * Opens the console already signed in with `session`, as the sign-in form would leave it (the
 * form itself is chat.test.js's). Seeded once per tab: a sign-out stays a sign-out.
 */
export async function openConsole(page, session) {
  await page.addInitScript((s) => {
    if (sessionStorage.getItem('e2e.seeded')) return;
    sessionStorage.setItem('e2e.seeded', '1');
    sessionStorage.setItem('atendo.console', JSON.stringify(s));
  }, session);
  await page.goto(env.chatUrl + '/');
  await page.locator('#conn[data-state="online"]').waitFor();
}
