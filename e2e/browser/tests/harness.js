// What the browser tests share: where things run (set by run.sh), and Debian's chromium.

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
