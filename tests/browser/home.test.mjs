// The public home page in headless Chromium, in each language, on a desktop
// and on a 320-px phone. Needs CIVITAS_URL (a running civitas) and writes
// screenshots into SCREENSHOT_DIR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.CIVITAS_URL;
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
assert.ok(base, 'CIVITAS_URL must name a running civitas');
mkdirSync(shots, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

const langs = [
  { code: 'vi', dir: 'ltr' },
  { code: 'en', dir: 'ltr' },
  { code: 'ar', dir: 'rtl' },
];

for (const { code, dir } of langs) {
  for (const [device, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 320, height: 640 }]]) {
    test(`home page in ${code} on a ${device}`, async () => {
      const page = await browser.newPage({ viewport });
      const problems = [];
      page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
      page.on('pageerror', (e) => problems.push(String(e)));
      const res = await page.goto(`${base}/?lang=${code}`);
      assert.equal(res.status(), 200);
      assert.equal(await page.getAttribute('html', 'lang'), code);
      assert.equal(await page.getAttribute('html', 'dir'), dir);
      assert.ok(await page.locator('h1').first().isVisible(), 'a visible heading');
      const title = await page.title();
      assert.ok(title.length > 0, 'a page title');
      // Nothing wider than the screen: no sideways scrolling on a small phone.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the ${viewport.width}px screen`);
      // Keyboard only: the first Tab reaches the skip link, which leads to the main content.
      await page.keyboard.press('Tab');
      const first = await page.evaluate(() => ({ href: document.activeElement.getAttribute('href'), tag: document.activeElement.tagName }));
      assert.equal(first.tag, 'A');
      assert.match(first.href ?? '', /^#/);
      assert.ok(await page.locator(first.href).count() === 1, 'the skip link target exists');
      await page.screenshot({ path: join(shots, `home-${code}-${device}.png`), fullPage: true });
      assert.deepEqual(problems, [], 'no console errors (CSP violations show here)');
      await page.close();
    });
  }
}

test('the language switcher changes the language and remembers it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/?lang=vi`);
  await page.locator('a[hreflang="ar"]').first().click();
  await page.waitForLoadState();
  assert.equal(await page.getAttribute('html', 'lang'), 'ar');
  // The choice sticks without the query parameter.
  await page.goto(`${base}/`);
  assert.equal(await page.getAttribute('html', 'lang'), 'ar');
  await context.close();
});

test('an unknown page says so in the reader\'s language, with a request ID', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${base}/no-such-page?lang=en`);
  assert.equal(res.status(), 404);
  const body = await page.textContent('body');
  const rid = res.headers()['x-request-id'];
  assert.ok(rid, 'an X-Request-ID header');
  assert.ok(body.includes(rid), 'the request ID is shown to quote to support');
  assert.doesNotMatch(body, /goroutine|panic|\.go:\d+/);
  await page.close();
});
