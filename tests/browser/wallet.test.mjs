// The document wallet in headless Chromium, on a phone: an agency (the
// provincial social insurance, through the operators' `civitas wallet
// issue`) issues a health-insurance card to a demo citizen; the citizen
// signs in, opens /wallet, shares two of its claims by QR code; an official
// opens the share's URL (what the QR code holds) and sees exactly those two
// claims and "valid", recorded for their agency; the public types the code
// on /wallet/verify. Then the same in English and in Arabic (right to
// left), and the holder's history shows who checked. Ending a share makes
// its URL answer 410.
// Needs CIVITAS_URL, CIVITAS_PUBLIC_URL, FIXTURE (its vi officer has a
// level-2 account with the password in OFFICER_PASSWORD), and CIVITAS_BIN
// and CIVITAS_DATA: the binary and data directory of the running server,
// for `civitas account add` and `civitas wallet issue`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
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
const officer = sets.find((s) => s.lang === 'vi').officer;
const staffPassword = process.env.OFFICER_PASSWORD || 'officer password';
const password = 'wallet test password';
const cardNumber = 'DN4797912345678';
const hospital = 'Bệnh viện Đa khoa tỉnh';

const civitas = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

// The holder: an adult of the demo who plays no part in the other browser
// tests and holds no post. The insurer: the provincial social insurance.
let holder;
let insurer;
let browser;
before(async () => {
  const used = new Set(sets.flatMap((s) => Object.values(s).filter((v) => typeof v === 'object')
    .flatMap((p) => [p.citizen_id, p.rep]).filter(Boolean)));
  const officials = new Set(jsonLines(civitas('registry', 'list', 'officials', '--data', data, '--json')).map((o) => o.citizen_id));
  holder = jsonLines(civitas('registry', 'list', 'persons', '--data', data, '--json'))
    .find((p) => p.birth_date > '1970-01-01' && p.birth_date < '1990-01-01' && !used.has(p.citizen_id) && !officials.has(p.citizen_id));
  assert.ok(holder, 'a demo adult for the wallet');
  insurer = jsonLines(civitas('registry', 'list', 'agencies', '--data', data, '--json'))
    .find((a) => a.kind === 'social_insurance' && a.code.startsWith('T'));
  assert.ok(insurer, 'the provincial social insurance');
  try {
    execFileSync(bin, ['account', 'add', '--data', data, '--citizen-id', holder.citizen_id, '--level', '2', '--password-stdin'],
      { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    // A second run against the same server: the account is there already.
    assert.match(String(e.stderr), /account|tài khoản/i, String(e.stderr));
  }
  const dir = mkdtempSync(join(tmpdir(), 'civitas-wallet-'));
  try {
    const claims = join(dir, 'claims.json');
    writeFileSync(claims, JSON.stringify({
      card_number: cardNumber, full_name: holder.full_name, birth_date: holder.birth_date, sex: holder.sex, hospital,
    }));
    const out = civitas('wallet', 'issue', '--data', data, '--agency', insurer.code, '--citizen-id', holder.citizen_id,
      '--type', 'health_insurance_card', '--claims', claims, '--out', join(dir, 'card.sdjwt'));
    assert.match(out, /issued health_insurance_card/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  // The 410 of an ended share is asserted where it is expected.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 410/.test(m.text())) page.problems.push(m.text()); });
  return page;
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function login(page, citizenID, pass, lang) {
  await page.goto(`${base}/login?lang=${lang}`);
  await page.fill('#username', citizenID);
  await page.fill('#password', pass);
  await submit(page, 'form[action="/login"] button[type=submit]');
  assert.doesNotMatch(page.url(), /\/login/, 'signed in');
}

async function fitsPhone(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the phone`);
}

// The verdict page shows the verdict, the type, the agency, the chosen
// claims, the purpose, "presented by its holder" — and nothing else.
async function checkVerdict(page, lang, purpose) {
  assert.equal(await page.getAttribute('html', 'lang'), lang);
  assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr');
  assert.match(await page.getAttribute('#verdict', 'class'), /verdict-valid/);
  const claims = page.locator('#verdict-claims dd');
  assert.equal(await claims.count(), 2, 'exactly the two claims shared');
  assert.equal((await page.textContent('#verdict-claims .claim-full_name')).trim(), holder.full_name);
  assert.equal((await page.textContent('#verdict-claims .claim-hospital')).trim(), hospital);
  assert.equal((await page.textContent('#verdict-purpose')).trim(), purpose);
  assert.ok(await page.locator('#verdict-holder').isVisible(), 'presented by its holder');
  assert.equal(await page.textContent('#verdict-agency'), insurer.name);
  const html = await page.content();
  for (const secret of [cardNumber, holder.birth_date, holder.citizen_id]) {
    assert.ok(!html.includes(secret), `the verifier's page shows ${secret}, which was not shared`);
  }
  await fitsPhone(page, 'the verdict page');
}

// The citizen opens the card, ticks two claims, gives a purpose and gets a
// QR code and a short code. Returns the code and the URL.
async function share(page, lang, purpose) {
  await page.goto(`${base}/wallet?lang=${lang}`);
  assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr');
  await fitsPhone(page, `/wallet in ${lang}`);
  await submit(page, '.document-link');
  assert.equal((await page.textContent('#doc-claims .claim-card_number')).trim(), cardNumber, 'the card as issued');
  await fitsPhone(page, `the document in ${lang}`);
  await page.check('#share-full_name');
  await page.check('#share-hospital');
  await page.fill('#share-purpose', purpose);
  await submit(page, '#share-submit');
  const code = (await page.textContent('#share-code')).trim();
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  const url = await page.getAttribute('#share-link', 'href');
  assert.equal(url, `${base}/wallet/v/${code.replace('-', '')}`);
  const qr = await page.evaluate(() => {
    const img = document.querySelector('#share-qr');
    return { complete: img.complete, width: img.naturalWidth, src: img.src.slice(0, 22) };
  });
  assert.ok(qr.complete && qr.src === 'data:image/png;base64,' && qr.width >= 150, `the QR code is drawn: ${JSON.stringify(qr)}`);
  await fitsPhone(page, `the share page in ${lang}`);
  await page.screenshot({ path: join(shots, `wallet-share-${lang}.png`), fullPage: true });
  return { code, url };
}

// The holder downloads the card as a PDF sealed by the insurer: `civitas
// verify` passes it, and its text (pdftotext) is the card's, with the
// labels in Vietnamese and the reader's language.
async function downloadPDF(page, lang, label) {
  await page.goto(`${base}/wallet?lang=${lang}`);
  await submit(page, '.document-link');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#doc-pdf-link')]);
  assert.match(download.suggestedFilename(), /^health_insurance_card-[0-9a-z]+\.pdf$/);
  const file = join(shots, `wallet-card-${lang}.pdf`);
  await download.saveAs(file);
  assert.match(civitas('verify', '--data', data, file), /verdict: TOTAL_PASSED/);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  for (const want of [cardNumber, hospital, holder.full_name, 'Thẻ bảo hiểm y tế', 'Mã số BHXH', label]) {
    assert.ok(text.includes(want), `the PDF lacks ${want}:\n${text}`);
  }
}

test('vi: a citizen shares two claims of a health-insurance card by QR; an official and the public verify them', { timeout: 120_000 }, async () => {
  const citizen = await newPage();
  await login(citizen, holder.citizen_id, password, 'vi');
  await citizen.goto(`${base}/wallet`);
  assert.match(await citizen.textContent('.document-link'), /Thẻ bảo hiểm y tế/);
  assert.equal((await citizen.textContent('.document-agency')).trim(), insurer.name);
  assert.equal((await citizen.textContent('.document-status')).trim(), 'Còn hiệu lực');
  await citizen.screenshot({ path: join(shots, 'wallet-list-vi.png'), fullPage: true });
  const purpose = 'Khám bệnh tại bệnh viện tỉnh';
  const { code, url } = await share(citizen, 'vi', purpose);

  // An official scans the QR code: its URL, with their session.
  const official = await newPage();
  await login(official, officer.citizen_id, staffPassword, 'vi');
  const res = await official.goto(url);
  assert.equal(res.status(), 200);
  await checkVerdict(official, 'vi', purpose);
  assert.equal((await official.textContent('.verdict-word')).trim(), 'Hợp lệ');
  assert.ok(await official.locator('#verdict-official').isVisible(), 'recorded for the official\'s agency');
  await official.screenshot({ path: join(shots, 'wallet-verdict-official-vi.png'), fullPage: true });

  // The public types the code, in lower case, on the public page.
  const visitor = await newPage();
  await visitor.goto(`${base}/wallet/verify?lang=vi`);
  await visitor.fill('#verify-code', code.toLowerCase());
  await submit(visitor, '#verify-submit');
  await checkVerdict(visitor, 'vi', purpose);

  // The holder's history says who looked, when and why.
  await citizen.goto(`${base}/wallet/history`);
  const history = await citizen.textContent('main');
  assert.match(history, /được kiểm tra trên trang công khai/);
  assert.ok(history.includes(purpose));
  assert.ok(await citizen.locator('.event-check').count() >= 2, 'both checks listed');

  // Ending the share: its URL stops working at once.
  await citizen.goto(`${base}/wallet`);
  await submit(citizen, '.document-link');
  await submit(citizen, '#live-shares .end-share');
  assert.ok(await citizen.locator('#wallet-notice').isVisible());
  const gone = await visitor.goto(url);
  assert.equal(gone.status(), 410);
  assert.match(await visitor.getAttribute('#verdict', 'class'), /verdict-share_ended/);
  assert.ok(!(await visitor.content()).includes(holder.full_name));

  for (const p of [citizen, official, visitor]) {
    assert.deepEqual(p.problems, [], 'no console errors (CSP violations show here)');
    await p.context().close();
  }
});

for (const [lang, purpose, valid] of [['en', 'Check-up at the provincial hospital', 'Valid'], ['ar', 'فحص في مستشفى المحافظة', 'صالحة']]) {
  test(`${lang}: the same share and check`, { timeout: 120_000 }, async () => {
    const citizen = await newPage();
    await login(citizen, holder.citizen_id, password, lang);
    const { url } = await share(citizen, lang, purpose);
    const visitor = await newPage();
    const res = await visitor.goto(`${url}?lang=${lang}`);
    assert.equal(res.status(), 200);
    await checkVerdict(visitor, lang, purpose);
    assert.equal((await visitor.textContent('.verdict-word')).trim(), valid);
    await visitor.screenshot({ path: join(shots, `wallet-verdict-${lang}.png`), fullPage: true });
    await citizen.goto(`${base}/wallet/history?lang=${lang}`);
    assert.ok((await citizen.textContent('main')).includes(purpose));
    await fitsPhone(citizen, `the history in ${lang}`);
    await downloadPDF(citizen, lang, lang === 'en' ? 'Insurance number' : 'التأمين');
    for (const p of [citizen, visitor]) {
      assert.deepEqual(p.problems, [], 'no console errors (CSP violations show here)');
      await p.context().close();
    }
  });
}
