// "Who used my data" in headless Chromium: an agency's system (a client
// made with `civitas client add --scope exchange.query`, granted with
// `civitas exchange grant`) reads a demo citizen's data through the
// exchange three times, for three purposes; the citizen signs in and sees
// each read once — who, which fields, why, the case, the receipt — on a
// 320-pixel phone and at 1280 pixels, in Vietnamese, English and Arabic
// (right to left), filters them and downloads them as CSV; another citizen
// sees none of them.
// Needs CIVITAS_URL (and CIVITAS_PUBLIC_URL when it differs), CIVITAS_BIN
// and CIVITAS_DATA: the binary and data directory of the running server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
const bin = process.env.CIVITAS_BIN;
const data = process.env.CIVITAS_DATA;
assert.ok(base && bin && data, 'CIVITAS_URL, CIVITAS_BIN and CIVITAS_DATA must be set');
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
mkdirSync(shots, { recursive: true });
const password = 'data use test password';
const civitas = (args, input) => execFileSync(bin, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

let person;
let stranger;
let agency;
let browser;
const cases = { tax: 'THUE-2026-001', health_care: 'KCB-2026-002', administrative_procedure: 'HS-2026-003' };

before(async () => {
  const officials = new Set(jsonLines(civitas(['registry', 'list', 'officials', '--data', data, '--json'])).map((o) => o.citizen_id));
  const adults = jsonLines(civitas(['registry', 'list', 'persons', '--data', data, '--json', '--limit', '2000']))
    .filter((p) => p.birth_date > '1950-01-01' && p.birth_date < '1965-01-01' && !officials.has(p.citizen_id));
  [person, stranger] = adults.slice(-2);
  assert.ok(person && stranger, 'two demo adults');
  agency = jsonLines(civitas(['registry', 'list', 'agencies', '--data', data, '--json']))
    .find((a) => a.kind === 'service_centre' && a.code.startsWith('T'));
  assert.ok(agency, 'the provincial service centre');
  for (const p of [person, stranger]) {
    try {
      civitas(['account', 'add', '--data', data, '--citizen-id', p.citizen_id, '--level', '1', '--password-stdin'], `${password}\n`);
    } catch (e) {
      assert.match(String(e.stderr), /account|tài khoản/i, String(e.stderr)); // a second run
    }
  }
  const client = `datause-${randomBytes(4).toString('hex')}`;
  const secret = randomBytes(24).toString('hex');
  civitas(['client', 'add', '--data', data, '--client-id', client, '--agency', agency.code, '--scope', 'exchange.query', '--secret-stdin'], `${secret}\n`);
  civitas(['exchange', 'grant', '--data', data, '--consumer', client, '--service', 'population.person',
    '--fields', 'full_name,birth_date', '--basis', 'Nghị định 107/2021/NĐ-CP']);
  const tok = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=exchange.query',
  }).then((r) => r.json());
  for (const [purpose, caseRef] of Object.entries(cases)) {
    const res = await fetch(`${base}/api/exchange/v1/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'population.person', subject: { citizen_id: person.citizen_id }, purpose, case_ref: caseRef }),
    });
    assert.equal(res.status, 200, await res.text());
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function signedIn(who, width) {
  const context = await browser.newContext({ viewport: { width, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(m.text()); });
  await page.goto(`${base}/login?lang=vi`);
  await page.fill('#username', who.citizen_id);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
  assert.doesNotMatch(page.url(), /\/login/, 'signed in');
  return page;
}

async function fits(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the window`);
}

for (const [lang, width, title] of [['vi', 320, 'Ai đã dùng dữ liệu của tôi'], ['en', 1280, 'Who used my data'], ['ar', 320, 'من استخدم بياناتي']]) {
  test(`${lang} at ${width}px: the person sees each read of their data once, with who, what, why and the receipt`, { timeout: 90_000 }, async () => {
    const page = await signedIn(person, width);
    await page.goto(`${base}/account/data-use?lang=${lang}`);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr');
    assert.equal((await page.textContent('h1')).trim(), title);
    assert.ok(await page.locator(`nav a[href="/account/data-use"]`).count() >= 1, 'in the navigation');
    const uses = page.locator('#uses .use');
    assert.equal(await uses.count(), 3, 'three reads');
    const text = await page.textContent('#uses');
    for (const caseRef of Object.values(cases)) {
      assert.equal(text.split(caseRef).length - 1, 1, `the read for ${caseRef} is shown once`);
    }
    assert.ok(text.includes(agency.name), 'the reader is named');
    assert.ok(text.includes('full_name, birth_date'), 'the fields read');
    assert.equal(await page.locator('#uses time[datetime]').count(), 3, 'times as <time datetime>');
    assert.doesNotMatch(await page.textContent('#uses .use-head'), /\d{4}-\d{2}-\d{2}T/, 'no raw ISO date shown');
    assert.equal(await page.locator('#uses details.receipt').count(), 3, 'a receipt for each');
    const html = await page.content();
    assert.doesNotMatch(html, /exchange\.(datause|purpose|service|channel)\./, 'no untranslated key');
    await fits(page, `the data-use page in ${lang}`);
    await page.screenshot({ path: join(shots, `datause-${lang}-${width}.png`), fullPage: true });

    // Filters, without JavaScript: a plain GET form.
    await page.selectOption('#f-purpose', 'tax');
    await Promise.all([page.waitForNavigation(), page.click('#filters button[type=submit]')]);
    assert.equal(await page.locator('#uses .use').count(), 1);
    assert.ok((await page.textContent('#uses')).includes(cases.tax));

    // The download.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
    const path = join(shots, `datause-${lang}.csv`);
    await download.saveAs(path);
    const csv = execFileSync('cat', [path], { encoding: 'utf8' });
    assert.match(csv, /^time,reader,/);
    assert.ok(csv.includes(cases.tax) && !csv.includes(cases.health_care), 'the CSV follows the filter');
    assert.deepEqual(page.problems, [], 'no console errors (CSP violations show here)');
    await page.context().close();
  });
}

test('another citizen sees none of it, and cannot ask for it', { timeout: 60_000 }, async () => {
  const page = await signedIn(stranger, 390);
  await page.goto(`${base}/account/data-use`);
  const own = await page.textContent('main');
  for (const caseRef of Object.values(cases)) assert.ok(!own.includes(caseRef), 'someone else\'s read on a stranger\'s page');
  const res = await page.goto(`${base}/account/data-use?who=${person.citizen_id}`);
  assert.equal(res.status(), 403);
  assert.ok(!(await page.content()).includes(cases.tax));
  await page.context().close();
});
