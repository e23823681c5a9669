// Citizen feedback in headless Chromium, on a phone, without help from any
// script of ours (the pages have none): a citizen reports a pothole — the
// kind, three taps on the map drawn by the server (the province, the
// district, the spot at 12.68 N, 108.05 E), a description and a photo; an
// official of the agency the report was routed to resolves it with a
// photo of the fix; the reporter says it is not fixed and reopens it; it is
// resolved again, and the reporter rates it, which closes it. In
// Vietnamese by a citizen signed in with the e-ID, then in Arabic (right to
// left) by an anonymous one who follows with the tracking code. Each page
// fits the phone, is in the language asked, with no key untranslated and no
// console error.
// Needs CIVITAS_URL (or CIVITAS_PUBLIC_URL), CIVITAS_BIN and CIVITAS_DATA:
// the running server's binary and data directory, for `civitas account
// add` and the registry's lists; FIXTURE, to leave its people alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { codes } from './totp.mjs';

const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
const bin = process.env.CIVITAS_BIN;
const data = process.env.CIVITAS_DATA;
assert.ok(base && bin && data, 'CIVITAS_URL, CIVITAS_BIN and CIVITAS_DATA must name the running server');
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
mkdirSync(shots, { recursive: true });
const sets = process.env.FIXTURE ? JSON.parse(readFileSync(process.env.FIXTURE, 'utf8')) : [];
const used = new Set(sets.flatMap((s) => Object.values(s).filter((v) => typeof v === 'object')
  .flatMap((p) => [p.citizen_id, p.rep]).filter(Boolean)));
const staffPassword = 'feedback officer password';
const citizenPassword = 'feedback citizen password';
const place = { lat: 12.68, lon: 108.05 };

// A 96×64 JPEG of a pothole, as a phone would send (small, for speed).
const pothole = Buffer.from('/9j/2wCEAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSgBBwcHCggKEwoKEygaFhooKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKP/AABEIAEAAYAMBIgACEQEDEQH/xAGiAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+gEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoLEQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAMAwEAAhEDEQA/APKgtPC08LTwtU5BCQwLUgWnhaeFrNyOmEhgWnhaeFp4WocjphIYFp4WnhakC1DkdMJEYWpAtPC08LUOR0wkMC08LTwtPC1DkdMJGGFp4WnhaeFrqcj4qEhgWnhaeFqhr1w9rp5aIlXdggYHlep/pUXudMJEd9q9vaMyKDLKDgqvAB9zWVNr90wYRrHGCeCBkgfjx+lZFFVyo152a0Ov3sakN5UhznLLz+mK2LDX7adtlwpgYnAJOV/Pt/L3rkaKTimVGtOPU9MC08LWF4OupLi1lgkJbyCNrE9jnj8Mfr7V0YWuWfuux6dKpzJMYFqQLTwtPC1m5HXCRhBaeFp4Wnha6nI+KhIYFrM8TW7y6WWjGfLcOw74wR/WtoLTwtRzWdzphI8worsNS8MJMzSWTiJyc+W33Pwx07+v4ViXGgalCHY2xdVOMxkNnnqB1/St1Ui+p0JpmVRWnBoWpzoWS0kABx85CH8iRW7pvhHD7tQmDAHiOLOD06k/jwPzpSqRjuy1Fsd4GtpFtrmdhhJWVV99ucn6c/oa6oLSxxqiKiKFVRgADAAqULXDOfM7ndS91WGBaeFp4WnhaycjrhIwwtPC08LTwtdLkfFQkMC08LTwtPC1DkdMJDAtPC1IFp4WocjphIYFp4WnhaeFqHI6YSGBaeFp4WpAtQ5HTCRGFqQLTwtPC1DkdMJH/9k=', 'base64');

const civitas = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));



// addAccount gives a person an account; false when they have one already
// (a second run against the same server).
function addAccount(citizenID, level, password) {
  try {
    execFileSync(bin, ['account', 'add', '--data', data, '--citizen-id', citizenID, '--level', String(level), '--password-stdin'],
      { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    return true;
  } catch (e) {
    assert.match(String(e.stderr), /account|tài khoản/i, String(e.stderr));
    return false;
  }
}

let browser;
let reporter;
const officials = jsonLines(civitas('registry', 'list', 'officials', '--data', data, '--json', '--limit', '1000000'));
const agencies = jsonLines(civitas('registry', 'list', 'agencies', '--data', data, '--json', '--limit', '1000000'));
before(async () => {
  const posts = new Set(officials.map((o) => o.citizen_id));
  reporter = jsonLines(civitas('registry', 'list', 'persons', '--data', data, '--json', '--limit', '3000'))
    .find((p) => p.birth_date > '1960-01-01' && p.birth_date < '1990-01-01' && !used.has(p.citizen_id) && !posts.has(p.citizen_id)
      && p.citizen_id.endsWith('7'));
  assert.ok(reporter, 'a demo adult to report');
  addAccount(reporter.citizen_id, 1, citizenPassword);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 320, height: 740 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[0-9]/.test(m.text())) page.problems.push(m.text()); });
  return page;
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

// checkPage: the language asked, its direction, no untranslated key, and
// nothing wider than the phone.
async function checkPage(page, lang, what) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${what}: language`);
  assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr', `${what}: direction`);
  const text = await page.textContent('body');
  assert.doesNotMatch(text, /feedback\.[a-z_]+\.[a-z_]/, `${what}: an untranslated key`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the phone`);
}

async function login(page, citizenID, password, otp = '') {
  await page.goto(`${base}/login`);
  await page.fill('#username', citizenID);
  await page.fill('#password', password);
  if (otp) await page.fill('#otp', otp);
  await submit(page, 'form[action="/login"] button[type=submit]');
  assert.doesNotMatch(page.url(), /\/login/, 'signed in');
}

// Taps the picker where the place is, at each zoom, until the report's
// second step shows.
async function tapPlace(page, lang) {
  for (let i = 0; i < 3; i++) {
    const unit = await page.getAttribute('input[name=unit]', 'value');
    const width = Number(await page.getAttribute('#picker', 'width'));
    // Where the place is on this map: the server marks it when asked.
    const svg = await (await fetch(`${base}/feedback/map.svg?unit=${unit}&w=${width}&pick=1&mlat=${place.lat}&mlon=${place.lon}`)).text();
    const m = svg.match(/<g class="mark"><circle cx="([0-9.]+)" cy="([0-9.]+)"/);
    assert.ok(m, 'the picker marks the place');
    const box = await page.locator('#picker').boundingBox();
    assert.equal(Math.round(box.width), width, 'the picker is not scaled');
    await Promise.all([page.waitForNavigation(), page.click('#picker', { position: { x: Number(m[1]), y: Number(m[2]) } })]);
    if (await page.locator('#report-form').count()) return;
    await checkPage(page, lang, `the map after tap ${i + 1}`);
  }
  assert.fail('three taps did not choose the place');
}

// The reporter's half: the new report, up to the page it is followed on.
async function report(page, lang, description) {
  await page.goto(`${base}/feedback/new?lang=${lang}`);
  await checkPage(page, lang, 'the new report');
  await page.check('#cat-urban_infrastructure');
  await tapPlace(page, lang);
  await checkPage(page, lang, 'the second step');
  await page.screenshot({ path: join(shots, `feedback-new-${lang}.png`), fullPage: true });
  await page.fill('#description', description);
  await page.selectOption('#attr-kind', 'pothole');
  await page.setInputFiles('#photo', { name: 'o-ga.jpg', mimeType: 'image/jpeg', buffer: pothole });
  await submit(page, '#report-submit');
  assert.ok(await page.locator('#sent-notice').isVisible(), 'sent');
  await checkPage(page, lang, 'the sent page');
  await page.screenshot({ path: join(shots, `feedback-sent-${lang}.png`), fullPage: true });
}

// The handler: an official of the agency the report went to, with a level-2
// session (password and authenticator code).
async function handlerFor(agencyName) {
  const agency = agencies.find((a) => a.name === agencyName);
  assert.ok(agency, `the agency ${agencyName}`);
  const page = await newPage();
  for (const official of officials.filter((o) => o.agency === agency.code && !used.has(o.citizen_id))) {
    let next = handlers.get(official.citizen_id);
    if (!next) {
      if (!addAccount(official.citizen_id, 2, staffPassword)) continue; // someone else's account: not ours to sign in
      await login(page, official.citizen_id, staffPassword);
      await page.goto(`${base}/account`);
      await page.click('#setup-totp');
      const secret = (await page.textContent('#totp-secret')).trim();
      next = codes(secret);
      await page.fill('#otp', await next());
      await submit(page, 'form[action="/account/totp"] button');
      handlers.set(official.citizen_id, next);
      await submit(page, 'form[action="/logout"] button');
    }
    await login(page, official.citizen_id, staffPassword, await next());
    return page;
  }
  assert.fail(`no official of ${agency.code} to sign in`);
}
const handlers = new Map();

async function resolve(official, id, note, lang) {
  await official.goto(`${base}/officer/feedback/r/${id}?lang=${lang}`);
  await checkPage(official, lang, 'the staff page');
  await official.fill('#resolve-note', note);
  await official.setInputFiles('#resolve-photo', { name: 'da-va.jpg', mimeType: 'image/jpeg', buffer: pothole });
  await submit(official, '#resolve-submit');
  assert.ok(await official.locator('#feedback-notice').isVisible(), 'resolved');
}

test('vi: a signed-in citizen reports a pothole with a photo; it is resolved, reopened, resolved again and rated', { timeout: 180_000 }, async () => {
  const citizen = await newPage();
  await login(citizen, reporter.citizen_id, citizenPassword);
  await report(citizen, 'vi', 'Ổ gà sâu giữa đường, xe máy dễ ngã');
  await submit(citizen, '#sent-link');
  const id = citizen.url().split('/').pop().split('?')[0];
  assert.equal((await citizen.textContent('#report-status')).trim(), 'Đã gửi');
  assert.ok(await citizen.locator('.photo-report').count() >= 1, 'the photo is shown');
  const agencyName = (await citizen.textContent('#report-agency')).trim();

  const official = await handlerFor(agencyName);
  await official.goto(`${base}/officer/feedback?lang=vi`);
  assert.ok(await official.locator(`a[href^="/officer/feedback/r/${id}"]`).count(), 'the report is in the queue');
  await resolve(official, id, 'Đã vá ổ gà', 'vi');

  await citizen.goto(`${base}/feedback/r/${id}`);
  assert.equal((await citizen.textContent('#report-status')).trim(), 'Đã xử lý xong');
  await citizen.fill('#reopen-reason', 'Ổ gà lại bị vỡ sau cơn mưa');
  await submit(citizen, '#reopen-submit');
  assert.equal((await citizen.textContent('#report-status')).trim(), 'Đang xử lý');

  await resolve(official, id, 'Đã vá lại bằng bê tông', 'vi');
  await citizen.goto(`${base}/feedback/r/${id}`);
  await citizen.check('#rate-5');
  await citizen.fill('#rate-comment', 'Xử lý nhanh');
  await submit(citizen, '#rate-submit');
  assert.equal((await citizen.textContent('#report-status')).trim(), 'Đã đóng');
  assert.equal((await citizen.textContent('#report-rating')).trim(), '5 trên 5');
  await checkPage(citizen, 'vi', 'the closed report');
  await citizen.screenshot({ path: join(shots, 'feedback-report-vi.png'), fullPage: true });

  // The public page: the steps, no reporter, no comment.
  const visitor = await newPage();
  await visitor.goto(`${base}/feedback/r/${id}?lang=vi`);
  const html = await visitor.content();
  for (const secret of [reporter.citizen_id, reporter.full_name, 'Xử lý nhanh']) {
    assert.ok(!html.includes(secret), `the public page shows ${secret}`);
  }
  assert.equal(await visitor.locator('#timeline .event-reopened').count(), 1);
  assert.equal(await visitor.locator('#timeline .event-resolved').count(), 2);
  for (const p of [citizen, official, visitor]) {
    assert.deepEqual(p.problems, [], 'no console errors (CSP violations show here)');
    await p.context().close();
  }
});

test('ar: an anonymous citizen reports a pothole and follows it with the tracking code to the end', { timeout: 180_000 }, async () => {
  const citizen = await newPage();
  await report(citizen, 'ar', 'حفرة عميقة في منتصف الطريق أمام المدرسة');
  const code = (await citizen.textContent('#tracking-code')).trim();
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await submit(citizen, '#sent-link');
  const id = citizen.url().split('/').pop().split('?')[0];
  const agencyName = (await citizen.textContent('#report-agency')).trim();
  const follow = async () => {
    await citizen.goto(`${base}/feedback/track?lang=ar`);
    await citizen.fill('#track-code', code.toLowerCase());
    await submit(citizen, 'form[action="/feedback/track"] button[type=submit]');
    await checkPage(citizen, 'ar', 'the tracked report');
  };
  const official = await handlerFor(agencyName);
  await resolve(official, id, 'تم إصلاح الحفرة', 'ar');
  await follow();
  await citizen.fill('#reopen-reason', 'الحفرة عادت بعد المطر');
  await submit(citizen, '#reopen-submit');
  assert.equal((await citizen.textContent('#report-status')).trim(), 'قيد المعالجة');
  await resolve(official, id, 'أُصلحت نهائيًا', 'ar');
  await follow();
  await citizen.check('#rate-4');
  await submit(citizen, '#rate-submit');
  assert.equal((await citizen.textContent('#report-status')).trim(), 'أُغلق');
  await citizen.screenshot({ path: join(shots, 'feedback-report-ar.png'), fullPage: true });

  // The map shows it, in Arabic, on the phone.
  await citizen.goto(`${base}/feedback/map?lang=ar`);
  await checkPage(citizen, 'ar', 'the map');
  assert.ok(await citizen.locator('#map svg').count(), 'the map is drawn');
  await citizen.screenshot({ path: join(shots, 'feedback-map-ar.png'), fullPage: true });
  for (const p of [citizen, official]) {
    assert.deepEqual(p.problems, [], 'no console errors (CSP violations show here)');
    await p.context().close();
  }
});
