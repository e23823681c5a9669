// The public-service portal in headless Chromium, on a phone, in Vietnamese
// and in Arabic (right to left): a mother applies for the integrated birth
// procedure (birth registration, permanent residence and a health-insurance
// card for a child under 6) with no upload — everything else pre-filled
// from the registries — and gets a receipt with the promised date; the
// commune's civil-status clerk, the commune's police officer and the
// district's social-insurance officer each receive and decide their part,
// signing the result with their signature in their capacity (a one-time
// code); the child's three documents land in its wallet, which the mother
// sees as its guardian. npm @sd-jwt/sd-jwt-vc verifies the three
// credentials with the issuer's published keys, and poppler's pdfsig finds
// the signed result PDF valid and trusted.
// Needs CIVITAS_URL, CIVITAS_PUBLIC_URL, FIXTURE, CIVITAS_BIN and
// CIVITAS_DATA (the running server's binary and data, for `civitas account
// add` and `civitas registry list`). One-time codes are single use, so the
// officials wait for each next 30-second step: this takes minutes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { codes } from './totp.mjs';

const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
const bin = process.env.CIVITAS_BIN;
const data = process.env.CIVITAS_DATA;
assert.ok(base && process.env.FIXTURE, 'CIVITAS_URL and FIXTURE must be set');
assert.ok(bin && data, 'CIVITAS_BIN and CIVITAS_DATA must name the running server\'s binary and data directory');
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
mkdirSync(shots, { recursive: true });
const sets = JSON.parse(readFileSync(process.env.FIXTURE, 'utf8'));
const password = 'portal test password';
const walletTests = join(dirname(fileURLToPath(import.meta.url)), '..', 'wallet');

const civitas = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

function addAccount(citizenID) {
  try {
    execFileSync(bin, ['account', 'add', '--data', data, '--citizen-id', citizenID, '--level', '2', '--password-stdin'],
      { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    // A second run against the same server: the account is there already.
    assert.match(String(e.stderr), /account|tài khoản/i, String(e.stderr));
  }
}



// The province's civil day, a few days back: the child's birthday.
function daysAgo(n) {
  const t = new Date(Date.now() + 7 * 3600 * 1000 - n * 86400 * 1000);
  return t.toISOString().slice(0, 10);
}

let browser;
let commune;
let mothers; // [vi, ar]
let staff; // { civil, police, insurance }: { citizen_id, agency }
before(async () => {
  const used = new Set(sets.flatMap((s) => Object.values(s).filter((v) => typeof v === 'object')
    .flatMap((p) => [p.citizen_id, p.rep]).filter(Boolean)));
  const officials = jsonLines(civitas('registry', 'list', 'officials', '--data', data, '--json'));
  const agencies = jsonLines(civitas('registry', 'list', 'agencies', '--data', data, '--json'));
  const units = jsonLines(civitas('registry', 'list', 'units', '--data', data, '--json'));
  const persons = jsonLines(civitas('registry', 'list', 'persons', '--data', data, '--json'));
  const holder = (agency, role) => officials.find((o) => o.agency === agency && o.role === role && !used.has(o.citizen_id));
  // Two mothers of one commune, in two households, whose commune has the
  // three officials.
  const women = persons.filter((p) => p.sex === 'F' && p.birth_date > '1988-01-01' && p.birth_date < '2002-01-01' && p.household_id
    && !p.died_on && !used.has(p.citizen_id));
  for (const unit of [...new Set(women.map((p) => p.unit))].sort()) {
    const here = women.filter((p) => p.unit === unit);
    const two = here.filter((p, i) => here.findIndex((q) => q.household_id === p.household_id) === i).slice(0, 2);
    const district = units.find((u) => u.code === unit)?.parent_code;
    const bhxh = agencies.find((a) => a.kind === 'social_insurance' && a.unit === district);
    const civil = holder(`X${unit}.UBND`, 'civil_status_clerk');
    const police = holder(`X${unit}.CA`, 'police_officer');
    const insurance = bhxh && holder(bhxh.code, 'officer');
    const officers = new Set([civil, police, insurance].filter(Boolean).map((o) => o.citizen_id));
    if (two.length === 2 && civil && police && insurance && two.every((p) => !officers.has(p.citizen_id))) {
      commune = unit;
      mothers = two;
      staff = { civil, police, insurance };
      break;
    }
  }
  assert.ok(commune, 'a commune with two mothers and the three officials');
  for (const p of [...mothers, ...Object.values(staff)]) addAccount(p.citizen_id);
  if (!existsSync(join(walletTests, 'node_modules', '@sd-jwt', 'sd-jwt-vc'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--silent'], { cwd: walletTests, stdio: 'inherit' });
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function newPage(width = 360) {
  const context = await browser.newContext({ viewport: { width, height: 780 }, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(m.text()); });
  return page;
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function login(page, citizenID, lang, otp = '') {
  await page.goto(`${base}/login?lang=${lang}`);
  await page.fill('#username', citizenID);
  await page.fill('#password', password);
  if (otp) await page.fill('#otp', otp);
  await submit(page, 'form[action="/login"] button[type=submit]');
  assert.doesNotMatch(page.url(), /\/login/, 'signed in');
}

// check holds what every page of the sweep holds: the language and
// direction, no horizontal overflow at phone width, no untranslated key,
// dates in <time> elements, nothing in the console.
async function check(page, lang, what) {
  await page.screenshot({ path: join(shots, `portal-${what.replace(/[^a-z0-9]+/gi, '-')}-${lang}.png`), fullPage: true });
  assert.equal(await page.getAttribute('html', 'lang'), lang, what);
  assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr', what);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
    || e.getBoundingClientRect().left < -1).slice(0, 3).map((e) => e.tagName + '.' + e.className + '#' + e.id));
  assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the phone: ${wide}`);
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\bportal\.[a-z_]+\.[a-z_.]+/, `${what} shows a message key`);
  const bare = await page.evaluate(() => [...document.body.querySelectorAll('*')]
    .filter((e) => e.children.length === 0 && e.tagName !== 'TIME' && !e.closest('time') && /\b\d{4}-\d{2}-\d{2}T?/.test(e.textContent)
      && !e.closest('[dir=ltr] code, code, input, textarea, option')).map((e) => e.textContent.trim()).slice(0, 3));
  assert.deepEqual(bare, [], `${what} shows raw ISO dates`);
  assert.deepEqual(page.problems, [], `${what}: console`);
}

// An official's browser: an authenticator app, a level-2 login, a
// signature in their capacity at their agency, activated with a code.
async function officialSetup(person, lang) {
  const page = await newPage();
  await login(page, person.citizen_id, lang);
  await page.goto(`${base}/account`);
  await page.click('#setup-totp');
  const secret = (await page.textContent('#totp-secret')).trim();
  page.next = codes(secret);
  await page.fill('#otp', await page.next());
  await submit(page, 'form[action="/account/totp"] button');
  await submit(page, 'form[action="/logout"] button');
  await login(page, person.citizen_id, lang, await page.next());
  await page.goto(`${base}/account/signing`);
  await submit(page, `#enrol-${person.agency.replaceAll('.', '\\.')}`);
  const form = page.locator('form[action="/account/signing/activate"]').first();
  await form.locator('input[name=code]').fill(await page.next());
  await Promise.all([page.waitForNavigation(), form.locator('button').click()]);
  return page;
}

// decide has the official receive, take and approve their part, signing
// the result with a code.
async function decide(page, agency, id, part, lang) {
  await page.goto(`${base}/officer/portal?agency=${agency}&lang=${lang}`);
  await check(page, lang, `desk queue ${part}`);
  await submit(page, `.queue-link[href*="${id}"]`);
  const work = `#work-${part}`;
  await submit(page, `${work} button.receive`);
  assert.ok(await page.locator('#portal-notice').isVisible());
  await submit(page, `${work} button.assign`);
  await check(page, lang, `desk application ${part}`);
  await page.fill(`${work} form.decide input[name=code]`, await page.next());
  await submit(page, `${work} .decide-button`);
  assert.deepEqual(await page.locator('#portal-error').count(), 0, await page.locator('main').textContent());
  assert.match(await page.getAttribute(`${work} .part-status`, 'class'), /status-issued/);
}

// verifySDJWT has npm @sd-jwt/sd-jwt-vc check a credential with the key the
// issuer publishes.
async function verifySDJWT(credential, dir, name) {
  const header = JSON.parse(Buffer.from(credential.split('.')[0], 'base64url').toString());
  const meta = await (await fetch(`${base}/.well-known/jwt-vc-issuer`)).json();
  const jwk = meta.jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `the issuer publishes key ${header.kid}`);
  const input = join(dir, `${name}.json`);
  writeFileSync(input, JSON.stringify({ credential, issuer_jwk: jwk }));
  const out = JSON.parse(execFileSync('node', [join(walletTests, 'verify.mjs'), input], { encoding: 'utf8' }));
  return out.credential.claims;
}

async function pdfsig(file, dir) {
  const nss = join(dir, 'nss');
  if (!existsSync(nss)) {
    mkdirSync(nss);
    const root = await (await fetch(`${base}/pki/ca/root.crt`)).arrayBuffer();
    writeFileSync(join(dir, 'root.der'), Buffer.from(root));
    execFileSync('certutil', ['-N', '-d', `sql:${nss}`, '--empty-password']);
    execFileSync('certutil', ['-A', '-d', `sql:${nss}`, '-n', 'civitas-root', '-t', 'CT,C,C', '-i', join(dir, 'root.der')]);
  }
  try {
    return execFileSync('pdfsig', ['-nssdir', `sql:${nss}`, file], { encoding: 'utf8' });
  } catch (e) {
    return String(e.stdout) + String(e.stderr);
  }
}

test('a mother applies for the integrated birth procedure without paper; three agencies decide; the child\'s documents verify', { timeout: 900_000 }, async () => {
  const offices = {
    civil: { ...staff.civil },
    police: { ...staff.police },
    insurance: { ...staff.insurance },
  };
  // The officials get ready side by side: each waits for their own codes.
  const [civil, police, insurance] = await Promise.all([officialSetup(offices.civil, 'vi'), officialSetup(offices.police, 'vi'),
    officialSetup(offices.insurance, 'vi')]);
  const dir = mkdtempSync(join(tmpdir(), 'civitas-portal-'));
  try {
    for (const [i, lang] of ['vi', 'ar'].entries()) {
      const mother = mothers[i];
      const page = await newPage();
      await login(page, mother.citizen_id, lang);
      await page.goto(`${base}/portal?lang=${lang}`);
      await check(page, lang, 'catalogue');
      await submit(page, '#procedure-birth_integrated a');
      await check(page, lang, 'procedure');
      assert.ok(await page.locator('#no-uploads').isVisible(), 'the integrated birth procedure asks for no file');
      await submit(page, '#start button');
      await check(page, lang, 'draft');
      // Pre-filled from the population registry, as received.
      assert.equal((await page.textContent('#source-0 .value-full_name')).trim(), mother.full_name);
      assert.ok(await page.locator('#paperless').isVisible());
      const childName = i === 0 ? 'Nguyễn Thị Bình An' : 'Trần Minh Khang';
      await page.fill('[name="field.child.full_name"]', childName);
      await page.fill('[name="field.child.birth_date"]', daysAgo(2));
      await page.selectOption('[name="field.child.sex"]', i === 0 ? 'F' : 'M');
      await page.fill('[name="field.child.place_of_birth"]', 'Bệnh viện Đa khoa tỉnh');
      await page.fill('[name="field.hospital"]', 'Trạm Y tế xã');
      await submit(page, '#to-review');
      await check(page, lang, 'review');
      assert.equal(await page.locator('#missing').count(), 0, 'nothing missing');
      await submit(page, '#submit');
      await check(page, lang, 'receipt');
      const receipt = (await page.textContent('#receipt-number')).trim();
      assert.ok(receipt.length > 8, receipt);
      assert.match(await page.getAttribute('#promised-date time', 'datetime'), /^\d{4}-\d{2}-\d{2}$/);
      const id = page.url().match(/applications\/([a-z0-9]+)\/receipt/)[1];

      // The three agencies: the birth first, then residence and the card side by side.
      await decide(civil, offices.civil.agency, id, 'civil_status', lang);
      await Promise.all([decide(police, offices.police.agency, id, 'residence', lang),
        decide(insurance, offices.insurance.agency, id, 'insurance', lang)]);

      // The mother sees it done, the three results, and the documents in
      // her child's wallet.
      await page.goto(`${base}/portal/applications/${id}?lang=${lang}`);
      await check(page, lang, 'done');
      assert.match(await page.getAttribute('#application-status .status', 'class'), /status-closed/);
      assert.equal(await page.locator('.result-pdf').count(), 3);
      const creds = [];
      for (const part of ['civil_status', 'residence', 'insurance']) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#part-${part} .result-sdjwt`)]);
        const file = join(dir, `${part}-${lang}.sdjwt`);
        await download.saveAs(file);
        creds.push(await verifySDJWT(readFileSync(file, 'utf8').trim(), dir, `${part}-${lang}`));
      }
      assert.match(creds[0].vct, /\/wallet\/types\/birth_certificate$/);
      assert.match(creds[1].vct, /\/wallet\/types\/permanent_residence$/);
      assert.match(creds[2].vct, /\/wallet\/types\/health_insurance_card$/);
      const [pdfDownload] = await Promise.all([page.waitForEvent('download'), page.click('#part-civil_status .result-pdf')]);
      const pdf = join(dir, `birth-${lang}.pdf`);
      await pdfDownload.saveAs(pdf);
      const report = await pdfsig(pdf, dir);
      assert.match(report, /Signature #2/, `the clerk's signature and the agency's seal:\n${report}`);
      assert.doesNotMatch(report, /Signature is Invalid|Certificate is not Trusted|Unknown Issuer/, report);
      assert.equal((report.match(/Signature is Valid\./g) || []).length, 2, report);
      await page.goto(`${base}/wallet?lang=${lang}`);
      const wallet = await page.textContent('main');
      assert.ok(wallet.includes(childName), `the child's wallet is on the mother's page:\n${wallet}`);
      assert.equal(await page.locator('.document-link').count() >= 3, true);
      await page.goto(`${base}/inbox?lang=${lang}`);
      assert.ok((await page.textContent('main')).includes(receipt), 'the inbox tells of the application');
      await page.context().close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stranger sees no one else\'s application and uploads are never served inline', { timeout: 60_000 }, async () => {
  // Each mother's applications list holds only her own.
  const page = await newPage(1280);
  await login(page, mothers[0].citizen_id, 'vi');
  await page.goto(`${base}/portal/applications?lang=vi`);
  const ids = await page.locator('.application-item a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(ids.length >= 1);
  const other = await newPage();
  await login(other, mothers[1].citizen_id, 'en');
  for (const href of ids) {
    const res = await other.goto(`${base}${href}`);
    assert.equal(res.status(), 404, `${href} is someone else's`);
  }
  await page.context().close();
  await other.context().close();
});
