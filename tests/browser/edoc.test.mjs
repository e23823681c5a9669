// The officials' document exchange in headless Chromium, at tablet size, in
// Vietnamese: a commune's specialist drafts three documents (PDF upload) and
// submits them to the chairman; the chairman, on the tablet page, sees them
// oldest first with their waiting time, returns one with a comment and
// approves the other two as a batch with one one-time code (remote signing
// with the official credential); the commune's clerk registers one (number
// and symbol, the agency's seal) and sends it to the district's committee;
// the PDF sent carries two signatures pdfsig finds valid; the chairman's
// supervision page draws its chart.
// Needs CIVITAS_URL, CIVITAS_PUBLIC_URL, FIXTURE, CIVITAS_BIN and
// CIVITAS_DATA, as the other browser tests. One-time codes are single use,
// so the officials wait for each next 30-second step: this takes a minute.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
const password = 'edoc test password';
const tablet = { width: 768, height: 1024 };

const civitas = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

function addAccount(citizenID) {
  try {
    execFileSync(bin, ['account', 'add', '--data', data, '--citizen-id', citizenID, '--level', '2', '--password-stdin'],
      { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    assert.match(String(e.stderr), /account|tài khoản/i, String(e.stderr));
  }
}



// A one-page PDF with a classic cross-reference table; text makes each unique.
function tinyPDF(text) {
  const bodies = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>', '<< /Length 0 >>\nstream\n\nendstream'];
  let s = '%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n';
  const offs = [];
  bodies.forEach((b, i) => { offs.push(Buffer.byteLength(s, 'latin1')); s += `${i + 1} 0 obj\n${b}\nendobj\n`; });
  const xref = Buffer.byteLength(s, 'latin1');
  s += `xref\n0 ${offs.length + 1}\n0000000000 65535 f\r\n`;
  for (const o of offs) s += `${String(o).padStart(10, '0')} 00000 n\r\n`;
  s += `trailer\n<< /Size ${offs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n% ${text}\n`;
  return Buffer.from(s, 'latin1');
}

let browser;
let agency;
let district;
let people; // { drafter, leader, clerk }: { citizen_id, name }
before(async () => {
  const used = new Set(sets.flatMap((s) => Object.values(s).filter((v) => typeof v === 'object')
    .flatMap((p) => [p.citizen_id, p.rep]).filter(Boolean)));
  const officials = jsonLines(civitas('registry', 'list', 'officials', '--data', data, '--json'));
  const agencies = jsonLines(civitas('registry', 'list', 'agencies', '--data', data, '--json'));
  const units = jsonLines(civitas('registry', 'list', 'units', '--data', data, '--json'));
  const persons = new Map(jsonLines(civitas('registry', 'list', 'persons', '--data', data, '--json')).map((p) => [p.citizen_id, p]));
  // Persons with one post only: no other test's official.
  const posts = new Map();
  for (const o of officials) posts.set(o.citizen_id, (posts.get(o.citizen_id) || 0) + 1);
  const holder = (code, role) => officials.find((o) => o.agency === code && o.role === role && posts.get(o.citizen_id) === 1 && !used.has(o.citizen_id));
  for (const a of agencies.filter((x) => /^X.*\.UBND$/.test(x.code)).sort((x, y) => (x.code < y.code ? 1 : -1))) {
    const drafter = holder(a.code, 'specialist');
    const leader = holder(a.code, 'chairman');
    const clerk = holder(a.code, 'records_clerk');
    const parent = units.find((u) => u.code === a.unit)?.parent_code;
    const up = agencies.find((x) => x.kind === 'people_committee' && x.unit === parent);
    if (drafter && leader && clerk && up) {
      agency = a.code;
      district = up.code;
      people = Object.fromEntries(Object.entries({ drafter, leader, clerk })
        .map(([k, o]) => [k, { citizen_id: o.citizen_id, name: persons.get(o.citizen_id)?.full_name }]));
      break;
    }
  }
  assert.ok(agency, 'a commune with a specialist, a chairman and a clerk');
  for (const p of Object.values(people)) addAccount(p.citizen_id);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function newPage() {
  const context = await browser.newContext({ viewport: tablet, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(m.text()); });
  return page;
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function login(page, citizenID, otp = '') {
  await page.goto(`${base}/login?lang=vi`);
  await page.fill('#username', citizenID);
  await page.fill('#password', password);
  if (otp) await page.fill('#otp', otp);
  await submit(page, 'form[action="/login"] button[type=submit]');
  assert.doesNotMatch(page.url(), /\/login/, 'signed in');
}

// An official's browser in a level-2 session (an authenticator app, a
// login with its code); with enrol, a signature in their capacity at the
// agency, activated with a code.
async function official(person, enrol) {
  const page = await newPage();
  await login(page, person.citizen_id);
  await page.goto(`${base}/account`);
  await page.click('#setup-totp');
  const secret = (await page.textContent('#totp-secret')).trim();
  page.next = codes(secret);
  await page.fill('#otp', await page.next());
  await submit(page, 'form[action="/account/totp"] button');
  await submit(page, 'form[action="/logout"] button');
  await login(page, person.citizen_id, await page.next());
  if (enrol) {
    await page.goto(`${base}/account/signing`);
    await submit(page, `#enrol-${agency.replaceAll('.', '\\.')}`);
    const form = page.locator('form[action="/account/signing/activate"]').first();
    await form.locator('input[name=code]').fill(await page.next());
    await Promise.all([page.waitForNavigation(), form.locator('button').click()]);
  }
  return page;
}

// check holds what every page holds: Vietnamese, no horizontal overflow at
// tablet width, no untranslated key, nothing in the console.
async function check(page, what) {
  await page.screenshot({ path: join(shots, `edoc-${what.replace(/[^a-z0-9]+/gi, '-')}-vi.png`), fullPage: true });
  assert.equal(await page.getAttribute('html', 'lang'), 'vi', what);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the tablet`);
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\bedoc\.[a-z_]+\.[a-z_.]+/, `${what} shows a message key`);
  assert.deepEqual(page.problems, [], `${what}: console`);
}

test('a chairman approves a batch of documents on a tablet with one code', async () => {
  const [leader, drafter, clerk] = await Promise.all([official(people.leader, true), official(people.drafter, false), official(people.clerk, false)]);
  const dir = mkdtempSync(join(tmpdir(), 'edoc-'));

  // The specialist drafts three documents for the chairman.
  const subjects = ['Về việc triển khai chữ ký số', 'Kế hoạch chuyển đổi số năm 2027', 'Báo cáo tình hình tháng 12'];
  for (const [i, subject] of subjects.entries()) {
    await drafter.goto(`${base}/edoc?agency=${agency}&lang=vi`);
    if (i === 0) await check(drafter, 'inbox');
    await drafter.selectOption('#e-type', i === 1 ? 'KH' : 'CV');
    await drafter.fill('#e-subject', subject);
    await drafter.fill('#e-to', district);
    const file = join(dir, `draft-${i}.pdf`);
    writeFileSync(file, tinyPDF(subject));
    await drafter.setInputFiles('#e-main', file);
    const signer = await drafter.evaluate((name) => [...document.querySelectorAll('#e-signer option')]
      .find((o) => o.textContent.startsWith(name))?.value, people.leader.name);
    assert.ok(signer, 'the chairman is offered as the signer');
    await drafter.selectOption('#e-signer', signer);
    await submit(drafter, '#edoc-create');
    assert.match(drafter.url(), /\/edoc\/d\//);
    assert.match(await drafter.textContent('#edoc-status'), /Chờ ký/);
  }
  await check(drafter, 'document');

  // The chairman's tablet: oldest first, with the waiting time.
  await leader.goto(`${base}/edoc/sign?agency=${agency}&lang=vi`);
  await check(leader, 'sign list');
  const items = leader.locator('#edoc-waiting .edoc-item');
  assert.equal(await items.count(), 3);
  assert.match(await items.nth(0).textContent(), new RegExp(subjects[0]));
  assert.match(await items.nth(0).locator('.edoc-wait').textContent(), /Đã chờ \d+ phút/);

  // One goes back with a comment.
  await submit(leader, `#edoc-waiting .edoc-item:nth-child(3) a[href^="/edoc/d/"]`);
  await leader.fill('#d-comment', 'Bổ sung số liệu tháng 11');
  await submit(leader, '#edoc-return button');
  assert.match(await leader.textContent('#edoc-notice'), /trả lại/);
  assert.equal(await items.count(), 2);

  // The other two, ticked, signed with one code.
  for (let i = 0; i < 2; i++) await items.nth(i).locator('.edoc-pick').check();
  await leader.fill('#edoc-code', await leader.next());
  await submit(leader, '#edoc-approve');
  assert.match(await leader.textContent('#edoc-notice'), /Đã ký số 2 văn bản/);
  assert.equal(await leader.locator('#edoc-empty').count(), 1);
  await check(leader, 'sign done');

  // The clerk registers the first and sends it to the district.
  await clerk.goto(`${base}/edoc?agency=${agency}&lang=vi`);
  await check(clerk, 'clerk inbox');
  await submit(clerk, `#edoc-inbox a:has-text("${subjects[0]}")`);
  await submit(clerk, '#edoc-register button');
  assert.match(await clerk.textContent('h1'), /^\d+\/UBND-VP/);
  const fileURL = await clerk.getAttribute('#edoc-file', 'href');
  await submit(clerk, '#edoc-send button');
  assert.match(await clerk.textContent('#edoc-status'), /Đã gửi/);

  // The PDF sent: the chairman's signature and the commune's seal.
  const pdf = Buffer.from(await (await clerk.request.get(`${base}${fileURL}`)).body());
  const sent = join(dir, 'sent.pdf');
  writeFileSync(sent, pdf);
  const out = execFileSync('pdfsig', [sent], { encoding: 'utf8' });
  assert.equal((out.match(/Signature is Valid\./g) || []).length, 2, out);

  // The chairman's supervision page and its chart.
  await leader.goto(`${base}/edoc/supervise?agency=${agency}&lang=vi`);
  await check(leader, 'supervise');
  const chart = await leader.request.get(`${base}/edoc/supervise/chart.svg?agency=${agency}`);
  assert.equal(chart.status(), 200);
  assert.match(await chart.text(), /^<svg /);
});
