// The adoption dashboards in headless Chromium, with no script of ours
// (the pages have none): the province's dashboard and the demo campaign
// "30 ngày chữ ký số" in Vietnamese, English and Arabic (right to left), on
// a 320-pixel phone and a 1280-pixel screen; each chart is drawn as SVG
// by the server beside a table of the same figures; the chart alone,
// rendered by Chromium, is captured for a person to look at. axe-core
// finds no serious or critical violation. Open data's CSV has a header.
// Needs CIVITAS_URL (or CIVITAS_PUBLIC_URL) of a server run with --demo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
assert.ok(base, 'CIVITAS_URL must be set');
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
mkdirSync(shots, { recursive: true });
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

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
  { code: 'vi', dir: 'ltr', title: 'Chuyển đổi số' },
  { code: 'en', dir: 'ltr', title: 'Digital adoption' },
  { code: 'ar', dir: 'rtl', title: 'التحول الرقمي' },
];

async function axeCheck(url, viewport) {
  const ctx = await browser.newContext({ viewport, bypassCSP: true });
  try {
    const page = await ctx.newPage();
    await page.goto(url);
    await page.addScriptTag({ path: axePath });
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
    });
    assert.deepEqual(violations, [], `axe-core on ${url}`);
  } finally {
    await ctx.close();
  }
}

for (const viewport of [{ width: 320, height: 700 }, { width: 1280, height: 900 }]) {
  for (const lang of langs) {
    test(`the dashboard and the campaign in ${lang.code} at ${viewport.width}px`, async () => {
      const ctx = await browser.newContext({ viewport });
      const page = await ctx.newPage();
      const errors = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(`${base}/stats?lang=${lang.code}`);
      assert.equal(await page.getAttribute('html', 'lang'), lang.code);
      assert.equal(await page.getAttribute('html', 'dir'), lang.dir);
      assert.match(await page.textContent('h1'), new RegExp(lang.title));
      // Each chart has its table beside it, with the same units.
      const bars = page.locator('.stats-pair svg[role="img"]').first();
      assert.ok(await bars.count() > 0, 'no chart');
      const rows = await page.locator('#ranking tbody tr').count();
      assert.equal(await bars.locator('rect').count(), rows, 'a bar per row of the table');
      const body = await page.textContent('main');
      assert.ok(!/stats\.[a-z_.]+/.test(body), 'an untranslated key');
      assert.match(body, /30 ngày chữ ký số/);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the dashboard is ${overflow}px wider than the screen`);
      await page.screenshot({ path: join(shots, `stats-dashboard-${lang.code}-${viewport.width}.png`) });
      await bars.screenshot({ path: join(shots, `stats-ranking-${lang.code}-${viewport.width}.png`) });
      // The campaign: targets, support points, visits.
      await page.locator('main h2 a').first().click();
      await page.waitForSelector('#points');
      assert.ok(await page.locator('#points tbody tr').count() > 0, 'no support point');
      assert.ok(await page.locator('#visits tbody tr').count() > 0, 'no visit');
      await page.screenshot({ path: join(shots, `stats-campaign-${lang.code}-${viewport.width}.png`) });
      const campaign = page.url();
      assert.deepEqual(errors, []);
      await ctx.close();
      if (lang.code !== 'en') {
        await axeCheck(`${base}/stats?lang=${lang.code}`, viewport);
        await axeCheck(`${campaign}&lang=${lang.code}`, viewport);
      }
    });
  }
}

test('a chart alone renders, and open data has a header', async () => {
  const ctx = await browser.newContext({ viewport: { width: 700, height: 600 } });
  const page = await ctx.newPage();
  const resp = await page.goto(`${base}/stats/chart.svg?kind=bars&indicator=adults`);
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()['content-type'], /image\/svg\+xml/);
  await page.screenshot({ path: join(shots, 'stats-chart-bars.png') });
  await ctx.close();
  const csv = await (await fetch(`${base}/open-data/indicators.csv?level=commune`)).text();
  const [header] = csv.split('\n');
  assert.match(header, /^date,unit,name,level,parent,population,adults,eid_level2_issued,eid_level2_activated,signature_holders/);
  const bad = await fetch(`${base}/api/stats/v1/indicators?date=2026-02-31`);
  assert.equal(bad.status, 400);
  assert.ok((await bad.json()).detail);
});
