// Remote signing in headless Chromium, as a citizen on a phone: a level-2
// citizen turns on an authenticator app, gets a digital signature and
// activates it with a one-time code, uploads a PDF, approves it on the
// phone page with a code, downloads it signed, and poppler's pdfsig (with an
// NSS database holding the province's root) says the signature is valid and
// trusted. Then anyone checks the file at /verify. One-time codes are
// single use, so the test waits for each next 30-second step.
// Needs CIVITAS_URL, CIVITAS_PUBLIC_URL, FIXTURE (a "signer" per language
// with a level-2 account and the password in OFFICER_PASSWORD).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { codes } from './totp.mjs';

const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
assert.ok(base && process.env.FIXTURE, 'CIVITAS_URL and FIXTURE must be set');
const set = JSON.parse(readFileSync(process.env.FIXTURE, 'utf8')).find((s) => s.lang === 'vi');
const password = process.env.OFFICER_PASSWORD || 'officer password';

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });



// A one-page PDF 1.4, as a phone's "print to PDF" would make.
function tinyPDF() {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>',
    '<< /Length 36 >>\nstream\nBT /F1 12 Tf 72 720 Td (Don) Tj ET\n\nendstream',
  ];
  let out = '%PDF-1.4\n';
  const offs = [];
  objs.forEach((o, i) => { offs.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f\r\n`;
  for (const o of offs) out += `${String(o).padStart(10, '0')} 00000 n\r\n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

test('vi: a citizen gets a digital signature, signs an uploaded PDF on the phone page, and pdfsig trusts the download', { timeout: 180_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  const login = async (otp = '') => {
    await page.goto(`${base}/login?lang=vi`);
    await page.fill('#username', set.signer.citizen_id);
    await page.fill('#password', password);
    if (otp) await page.fill('#otp', otp);
    await submit(page, 'form[action="/login"] button[type=submit]');
  };

  // An authenticator app first: signatures are approved with its codes.
  await login();
  await page.goto(`${base}/account`);
  await page.click('#setup-totp');
  const secret = (await page.textContent('#totp-secret')).trim();
  const next = codes(secret);
  await page.fill('#otp', await next());
  await submit(page, 'form[action="/account/totp"] button');
  await submit(page, 'form[action="/logout"] button');
  await login(await next()); // level 2: password and code

  // The digital signature: get it, activate it with a code.
  await page.goto(`${base}/account/signing`);
  await submit(page, '#enrol');
  assert.ok(await page.locator('#signing-notice').isVisible());
  const code = page.locator('input[name=code]');
  await code.fill(await next());
  await submit(page, 'form[action="/account/signing/activate"] button');
  assert.equal(await page.locator('.credential-status').first().textContent(), 'Đang hoạt động');

  // Upload a PDF, see it waiting, approve it with a code.
  await page.goto(`${base}/sign/upload`);
  await page.setInputFiles('#file', { name: 'Đơn xin xác nhận.pdf', mimeType: 'application/pdf', buffer: tinyPDF() });
  await submit(page, '#upload');
  assert.match(page.url(), /\/sign\/[a-z0-9]+$/);
  const requestURL = page.url();
  assert.match(await page.textContent('#request-items'), /Đơn xin xác nhận\.pdf/);
  await page.fill('#code', await next());
  await submit(page, '#approve');
  assert.ok(await page.locator('#signing-notice').isVisible());
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the phone page is ${overflow}px wider than the screen`);

  // Approving their own upload brings the citizen back to it, with its download.
  assert.equal(page.url(), `${requestURL}?done=signed_own`);
  assert.ok(await page.locator('#download').isVisible(), 'the download is offered at once');
  // Later they find it by links alone: account, then "my signed documents".
  await page.goto(`${base}/`);
  await submit(page, 'a[href="/account"]');
  await submit(page, '#my-signed-documents');
  assert.match(await page.textContent('#own-documents'), /Đơn xin xác nhận\.pdf/);
  await submit(page, '#own-documents .own-document a[href^="/sign/"]');
  assert.equal(page.url(), requestURL);

  // Download it from the request page.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const dir = mkdtempSync(join(tmpdir(), 'civitas-signing-'));
  try {
    const file = join(dir, 'signed.pdf');
    await download.saveAs(file);
    const bytes = readFileSync(file);
    assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
    assert.ok(bytes.includes('ETSI.CAdES.detached') && bytes.includes('/DSS'), 'not a PAdES B-LT file');

    // poppler, with an NSS database holding the province's root.
    const root = await (await fetch(`${base}/pki/ca/root.crt`)).arrayBuffer();
    writeFileSync(join(dir, 'root.der'), Buffer.from(root));
    execFileSync('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password']);
    execFileSync('certutil', ['-A', '-d', `sql:${dir}`, '-n', 'civitas-root', '-t', 'CT,C,C', '-i', join(dir, 'root.der')]);
    let report = '';
    try {
      report = execFileSync('pdfsig', ['-nssdir', `sql:${dir}`, file], { encoding: 'utf8' });
    } catch (e) {
      report = String(e.stdout) + String(e.stderr);
    }
    assert.match(report, /Signature is Valid\./, report);
    assert.match(report, /Certificate is Trusted\./, report);

    // Anyone checks it at /verify, without an account.
    const anyone = await browser.newContext({ viewport: { width: 390, height: 800 } });
    const checker = await anyone.newPage();
    await checker.goto(`${base}/verify?lang=vi`);
    await checker.setInputFiles('input[name=file]', file);
    await Promise.all([checker.waitForNavigation(), checker.click('form[action="/verify"] button[type=submit]')]);
    const verdict = await checker.textContent('main');
    assert.match(verdict, /Hợp lệ/);
    assert.doesNotMatch(verdict, /Không hợp lệ|Không xác nhận/);
    await anyone.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
  await context.close();
});
