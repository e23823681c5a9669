// e-ID flows in headless Chromium, in each language: a citizen registers at
// level 1 and logs in with password + TOTP; a police officer verifies a parent
// in person and issues a level-2 account by printed letter; the parent
// activates it, takes their child as a dependent and acts for them; a legal
// representative opens an organisation account and delegates a member.
// Needs CIVITAS_URL (civitas serve --demo --sms outbox) and FIXTURE (made by
// fixture.py; officers and representatives already have level-2 accounts
// with the password in OFFICER_PASSWORD).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { codes, totpAt } from './totp.mjs';

const base = process.env.CIVITAS_URL;
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
assert.ok(base && process.env.FIXTURE, 'CIVITAS_URL and FIXTURE must be set');
const sets = JSON.parse(readFileSync(process.env.FIXTURE, 'utf8'));
const staffPassword = process.env.OFFICER_PASSWORD || 'officer password';
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

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) from the base32 key the page shows.

async function newPage(lang) {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(`${base}/?lang=${lang}`);
  page.problems = problems;
  return page;
}

async function login(page, citizenID, password, otp = '') {
  await page.goto(`${base}/login`);
  await page.fill('#username', citizenID);
  await page.fill('#password', password);
  if (otp) await page.fill('#otp', otp);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
}

// Officers act only from a level-2 login: password and a code from an
// authenticator app, which the officer turns on for the visit and off again
// at the end (officerDone), since other tests sign the same officer in with
// the password alone. Codes are single use: the second is for a later
// 30-second step than the first, and never an earlier step than now (the
// same officer may have used the step before in another test), waiting when
// it must.
async function officerLogin(page, citizenID, password) {
  await login(page, citizenID, password);
  await page.goto(`${base}/account`);
  await page.click('#setup-totp');
  const next = codes((await page.textContent('#totp-secret')).trim(), { past: false });
  await page.fill('#otp', await next());
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/totp"] button')]);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
  await login(page, citizenID, password, await next());
}

async function officerDone(page, password) {
  await page.goto(`${base}/account`);
  await page.fill('form[action="/account/totp/disable"] input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/totp/disable"] button')]);
}


// The newest demo text message whose body holds a code, for a phone ending in last3.
async function smsCode(page, last3, pattern) {
  const other = await page.context().newPage();
  await other.goto(`${base}/demo/sms`);
  const rows = await other.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
  await other.close();
  for (const [to, text] of rows) {
    const m = text.match(pattern);
    if (to.endsWith(last3) && m) return m[1];
  }
  throw new Error(`no code texted to …${last3}`);
}

for (const set of sets) {
  const { lang } = set;

  test(`${lang}: a citizen registers at level 1, turns on TOTP and signs in with it`, async () => {
    const r = set.registrant;
    const page = await newPage(lang);
    await page.goto(`${base}/register`);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await page.fill('input[name=citizen_id]', r.citizen_id);
    await page.fill('input[name=full_name]', r.full_name);
    await page.fill('input[name=birth_date]', r.birth_date);
    await page.fill('input[name=phone]', r.phone);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/register"] button')]);
    const code = await smsCode(page, r.phone.slice(-3), /(?:là|is) ([0-9]{6})/);
    await page.fill('#code', code);
    await page.fill('input[name=password]', 'my citizen password');
    await page.fill('input[name=password_again]', 'my citizen password');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/register/verify"] button')]);
    assert.match(page.url(), /\/account\?welcome=1$/);
    assert.equal((await page.textContent('#profile-name')).trim(), r.full_name);

    await page.click('#setup-totp');
    const secret = (await page.textContent('#totp-secret')).trim();
    await page.fill('#otp', totpAt(secret, Math.floor(Date.now() / 30_000)));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/account/totp"] button')]);
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);

    // Password alone is not enough any more; the next code is.
    await login(page, r.citizen_id, 'my citizen password');
    assert.ok(await page.locator('#login-error').isVisible());
    page.problems.length = 0; // the browser logs that expected 401
    await login(page, r.citizen_id, 'my citizen password', totpAt(secret, Math.floor(Date.now() / 30_000) + 1));
    assert.match(page.url(), /\/account$/);
    assert.equal((await page.textContent('#profile-name')).trim(), r.full_name);
    await page.screenshot({ path: join(shots, `account-${lang}.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `account page is ${overflow}px wider than the screen`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test(`${lang}: an officer issues level 2 by letter; the parent activates it and acts for their child`, async () => {
    const officer = await newPage(lang);
    await officerLogin(officer, set.officer.citizen_id, staffPassword);
    await officer.goto(`${base}/officer?agency=${set.officer.agency}`);
    await Promise.all([officer.waitForNavigation(), officer.click('#enrol-link')]);
    await officer.fill('input[name=citizen_id]', set.parent.citizen_id);
    await Promise.all([officer.waitForNavigation(), officer.click('form[method=get] button')]);
    await officer.check('#chip_read');
    await officer.check('#face_match');
    await officer.check('#attest');
    await officer.check('#contact_letter');
    await Promise.all([officer.waitForNavigation(), officer.click('#enrol-submit')]);
    const code = (await officer.textContent('#activation-code')).trim();
    assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await officer.screenshot({ path: join(shots, `letter-${lang}.png`) });
    await officerDone(officer, staffPassword);
    assert.deepEqual(officer.problems, []);
    await officer.context().close();

    const parent = await newPage(lang);
    await parent.goto(`${base}/activate`);
    await parent.fill('input[name=citizen_id]', set.parent.citizen_id);
    await parent.fill('input[name=code]', code.toLowerCase());
    await parent.fill('input[name=password]', 'parent password ok');
    await parent.fill('input[name=password_again]', 'parent password ok');
    await Promise.all([parent.waitForNavigation(), parent.click('form[action="/activate"] button')]);
    assert.match(parent.url(), /activated=1/);
    assert.ok(await parent.locator('#account-level').textContent());
    // The child of the household is offered; take them, then act for them.
    const add = parent.locator(`form[action="/account/dependents"]:has(input[value="${set.child.citizen_id}"]) button`);
    await Promise.all([parent.waitForNavigation(), add.click()]);
    const act = parent.locator(`form[action="/account/act-for"]:has(input[value="person:${set.child.citizen_id}"]) button`);
    await Promise.all([parent.waitForNavigation(), act.click()]);
    assert.ok((await parent.textContent('#acting')).includes(set.child.full_name));
    assert.deepEqual(parent.problems, []);
    await parent.context().close();
  });

  test(`${lang}: a legal representative opens the organisation account and adds a member`, async () => {
    const rep = await newPage(lang);
    await login(rep, set.business.rep, staffPassword);
    await rep.fill('input[name=reg_number]', set.business.reg_number);
    await Promise.all([rep.waitForNavigation(), rep.click('form[action="/account/organisations"] button')]);
    await Promise.all([rep.waitForNavigation(), rep.click(`a:has-text("${set.business.name}")`)]);
    assert.equal((await rep.textContent('h1')).trim(), set.business.name);
    await rep.fill('input[name=citizen_id]', set.registrant.citizen_id);
    await Promise.all([rep.waitForNavigation(), rep.click('form[action$="/members"] button')]);
    assert.ok((await rep.textContent('tbody')).includes(set.registrant.citizen_id));
    assert.deepEqual(rep.problems, []);
    await rep.context().close();
  });
}
