// The personal-data page in headless Chromium: a demo citizen signs in,
// finds "My data" in the navigation, opens /account/privacy in Vietnamese,
// English and Arabic (right to left) on a 320-pixel phone and a 1280-pixel
// screen without horizontal overflow or untranslated keys, downloads their
// data as JSON (theirs, no one else's) and as a PDF when the server has a
// font, and asks for a correction of their population record, which then
// shows as waiting for the agency.
// Needs CIVITAS_URL, CIVITAS_PUBLIC_URL, FIXTURE, CIVITAS_BIN and
// CIVITAS_DATA (the running server's binary and data directory, for
// `civitas account add`), as tests/browser/wallet.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
const bin = process.env.CIVITAS_BIN;
const data = process.env.CIVITAS_DATA;
assert.ok(base && process.env.FIXTURE, 'CIVITAS_URL and FIXTURE must be set');
assert.ok(bin && data, 'CIVITAS_BIN and CIVITAS_DATA must name the running server\'s binary and data directory');
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
mkdirSync(shots, { recursive: true });
const sets = JSON.parse(readFileSync(process.env.FIXTURE, 'utf8'));
const password = 'privacy test password';
const civitas = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

let me;
let someoneElse;
let browser;
before(async () => {
  const used = new Set(sets.flatMap((s) => Object.values(s).filter((v) => typeof v === 'object')
    .flatMap((p) => [p.citizen_id, p.rep]).filter(Boolean)));
  const officials = new Set(jsonLines(civitas('registry', 'list', 'officials', '--data', data, '--json')).map((o) => o.citizen_id));
  const adults = jsonLines(civitas('registry', 'list', 'persons', '--data', data, '--json'))
    .filter((p) => p.birth_date > '1960-01-01' && p.birth_date < '1970-01-01' && !used.has(p.citizen_id) && !officials.has(p.citizen_id));
  [me, someoneElse] = adults;
  assert.ok(me && someoneElse, 'two demo adults for the privacy page');
  try {
    execFileSync(bin, ['account', 'add', '--data', data, '--citizen-id', me.citizen_id, '--level', '1', '--password-stdin'],
      { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    assert.match(String(e.stderr), /account|tài khoản/i, String(e.stderr));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function signedIn(width) {
  const context = await browser.newContext({ viewport: { width, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(m.text()); });
  await page.goto(`${base}/login?lang=vi`);
  await page.fill('#username', me.citizen_id);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
  assert.doesNotMatch(page.url(), /\/login/, 'signed in');
  return page;
}

for (const width of [320, 1280]) {
  test(`the privacy page in vi, en and ar at ${width}px`, { timeout: 120_000 }, async () => {
    const page = await signedIn(width);
    for (const lang of ['vi', 'en', 'ar']) {
      await page.goto(`${base}/account/privacy?lang=${lang}`);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr');
      assert.ok(await page.locator('a[href="/account/privacy"]').count() > 0, 'the page is in the navigation');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `/account/privacy in ${lang} is ${overflow}px wider than the window`);
      const text = await page.textContent('main');
      assert.doesNotMatch(text, /\bprivacy\.[a-z_]+\.[a-z_]+/, `an untranslated key in ${lang}`);
      await page.screenshot({ path: join(shots, `privacy-${lang}-${width}.png`), fullPage: true });
    }
    assert.deepEqual(page.problems, []);
  });
}

test('a citizen downloads their data and asks for a correction', { timeout: 120_000 }, async () => {
  const page = await signedIn(390);
  await page.goto(`${base}/account/privacy?lang=vi`);
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const body = readFileSync(await json.path(), 'utf8');
  const ex = JSON.parse(body);
  assert.equal(ex.person.citizen_id, me.citizen_id);
  assert.ok(!body.includes(someoneElse.citizen_id), 'another person\'s data in my export');
  if (await page.locator('#export-pdf').count() > 0) {
    const [pdf] = await Promise.all([page.waitForEvent('download'), page.click('#export-pdf')]);
    assert.match(readFileSync(await pdf.path(), 'latin1').slice(0, 8), /^%PDF-1\./);
  }
  const option = await page.locator('#record-0').getAttribute('value');
  assert.ok(option.startsWith(`${me.citizen_id}|registry|person|`), `the first record is my population record: ${option}`);
  await page.check('#record-0');
  await page.fill('#wrong', 'Tên đệm ghi sai');
  await page.fill('#correct-value', 'Tên đệm đúng là Thị');
  await Promise.all([page.waitForNavigation(), page.click('#correction-form button[type=submit]')]);
  assert.ok(await page.locator('#notice').isVisible(), 'the request was sent');
  assert.match(await page.textContent('.correction .correction-status'), /Đang chờ cơ quan xử lý/);
});
