// Digital literacy in headless Chromium, on a phone, in Vietnamese: a
// student takes the traffic-safety course — reads every lesson, passes the
// final test — finds the certificate in the wallet and shows it by QR code
// to a teacher, whose phone reads the code and sees the certificate valid.
// axe-core finds no serious or critical violation on the course, lesson,
// quiz and result pages. Then the lesson and the catalogue in English and
// Arabic (right to left) fit a 320-pixel screen.
//
// The student answers from the course's own question banks
// (internal/learning/content/traffic-safety/questions): the pages never
// carry the answers, so the test reads them where a student who learnt
// the lessons has them.
// Needs CIVITAS_URL (and CIVITAS_PUBLIC_URL), CIVITAS_BIN and CIVITAS_DATA:
// the running server (civitas serve --demo), its binary and data directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
const bin = process.env.CIVITAS_BIN;
const data = process.env.CIVITAS_DATA;
assert.ok(base, 'CIVITAS_URL must be set');
assert.ok(bin && data, 'CIVITAS_BIN and CIVITAS_DATA must name the running server\'s binary and data directory');
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
mkdirSync(shots, { recursive: true });
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const password = 'learning test password';
const phone = { width: 360, height: 740 };

const civitas = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

// --- The course's question banks, read as Moodle reads GIFT (the subset
// the course uses): for each question, its Vietnamese text and how to
// answer it right.
const unescape = (s) => s.replace(/\\([:#={}~\\])/g, '$1');
const firstLine = (html) => unescape(html).replace(/^\[html\]/, '').split('<br>')[0].replace(/<[^>]+>/g, '').trim();
function splitUnescaped(s, sep) {
  const out = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) { cur += s[i] + s[i + 1]; i++; continue; }
    if (s[i] === sep) { out.push(cur); cur = ''; continue; }
    cur += s[i];
  }
  out.push(cur);
  return out;
}
function readBanks(dir) {
  const questions = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.gift'))) {
    const blocks = readFileSync(join(dir, file), 'utf8').split(/\n\s*\n/);
    for (const block of blocks) {
      const text = block.split('\n').filter((l) => !l.trim().startsWith('//') && !l.startsWith('$CATEGORY')).join('\n').trim();
      if (!text.startsWith('::')) continue;
      const afterName = text.slice(text.indexOf('::', 2) + 2);
      const open = afterName.search(/(?<!\\)\{/);
      const close = afterName.lastIndexOf('}');
      const q = { text: firstLine(afterName.slice(0, open)) };
      let answers = afterName.slice(open + 1, close).split('####')[0].trim();
      if (/^(TRUE|FALSE|T|F)\b/.test(answers)) {
        q.kind = 'truefalse';
        q.truth = /^T/.test(answers);
      } else if (answers.startsWith('#')) {
        q.kind = 'numerical';
        q.value = answers.match(/=%100%(-?[0-9.]+)/)[1];
      } else if (/(?<!\\)~/.test(answers)) {
        const parts = splitUnescaped(answers.replace(/(?<!\\)=/g, '~='), '~').map((a) => a.trim()).filter(Boolean);
        q.kind = parts.some((p) => p.startsWith('=')) ? 'choice' : 'multi';
        q.right = parts.filter((p) => p.startsWith('=') || /^%[1-9][0-9]*%/.test(p))
          .map((p) => firstLine(splitUnescaped(p.replace(/^=|^%-?[0-9]+%/, ''), '#')[0]));
      } else if (answers.includes('->')) {
        q.kind = 'matching';
        q.pairs = splitUnescaped(answers, '=').map((a) => a.trim()).filter(Boolean).map((a) => {
          const [sub, ans] = a.split('->');
          return [sub.trim() ? firstLine(sub) : '', unescape(ans.trim())];
        });
      } else {
        q.kind = 'short';
        q.answer = unescape(splitUnescaped(answers, '=').map((a) => a.trim()).filter(Boolean)[0].replace(/^%[0-9]+%/, '').split('#')[0]).trim();
      }
      questions.push(q);
    }
  }
  return questions;
}
const bank = readBanks(join(here, '..', '..', 'internal', 'learning', 'content', 'traffic-safety', 'questions'));
assert.ok(bank.length >= 30, `the traffic-safety banks have ${bank.length} questions`);

// --- The student: a pupil of an upper-secondary class (15 to 17, old
// enough for an account of their own) with a homeroom teacher. The demo's
// own progress is for the first young people by citizen ID; the student is
// the last, so they start from nothing. The teacher is their class's.
let student;
let teacher;
let browser;
const teacherPassword = 'learning teacher password';
before(async () => {
  const classes = new Map(jsonLines(civitas('registry', 'list', 'classes', '--data', data, '--json')).map((c) => [c.id, c]));
  const persons = new Map(jsonLines(civitas('registry', 'list', 'persons', '--data', data, '--json')).map((p) => [p.citizen_id, p]));
  const pupils = jsonLines(civitas('registry', 'list', 'pupils', '--data', data, '--json'))
    .filter((p) => p.grade >= 10 && classes.get(p.class_id)?.teacher_citizen_id)
    .sort((a, b) => (a.citizen_id < b.citizen_id ? -1 : 1));
  const pupil = pupils[pupils.length - 1];
  assert.ok(pupil, 'an upper-secondary pupil with a homeroom teacher in the demo');
  student = persons.get(pupil.citizen_id);
  teacher = persons.get(classes.get(pupil.class_id).teacher_citizen_id);
  for (const [who, level, pass] of [[student, '1', password], [teacher, '2', teacherPassword]]) {
    try {
      execFileSync(bin, ['account', 'add', '--data', data, '--citizen-id', who.citizen_id, '--level', level, '--password-stdin'],
        { input: `${pass}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (e) {
      assert.match(String(e.stderr), /account|tài khoản/i, String(e.stderr)); // a second run
    }
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function login(page, citizenID, pass) {
  await page.goto(`${base}/login?lang=vi`);
  await page.fill('#username', citizenID);
  await page.fill('#password', pass);
  await submit(page, 'form[action="/login"] button[type=submit]');
  assert.doesNotMatch(page.url(), /\/login/, 'signed in');
}

async function newPage(viewport = phone) {
  const context = await browser.newContext({ viewport, locale: 'vi-VN' });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(m.text()); });
  return page;
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function fitsPhone(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the phone`);
}

// axe-core on the page as it stands, in a twin context with the same
// session (its script is injected, which the site's CSP rightly refuses,
// so the twin bypasses CSP; the page under test does not).
async function axeCheck(page, what) {
  const state = await page.context().storageState();
  const ctx = await browser.newContext({ viewport: phone, bypassCSP: true, storageState: state, locale: 'vi-VN' });
  try {
    const twin = await ctx.newPage();
    await twin.goto(page.url());
    await twin.addScriptTag({ path: axePath });
    const violations = await twin.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
    });
    assert.deepEqual(violations, [], `axe-core on ${what}`);
  } finally {
    await ctx.close();
  }
}

// answer fills the quiz on the page with the bank's right answers.
async function answer(page) {
  const items = await page.locator('li.question').all();
  assert.ok(items.length >= 10, `${items.length} questions in the final test`);
  for (const item of items) {
    const text = (await item.locator('.question-text').innerText()).split('\n')[0].trim();
    const q = bank.find((b) => b.text === text);
    assert.ok(q, `question not in the bank: ${text}`);
    switch (q.kind) {
      case 'truefalse':
        await item.locator(`input[value="${q.truth}"]`).check();
        break;
      case 'choice':
      case 'multi':
        for (const label of await item.locator('label.option').all()) {
          const choice = (await label.innerText()).split('\n')[0].trim();
          if (q.right.includes(choice)) await label.locator('input').check();
        }
        break;
      case 'short':
        await item.locator('input[type=text]').fill(q.answer);
        break;
      case 'numerical':
        await item.locator('input[type=text]').fill(q.value);
        break;
      case 'matching':
        for (const [sub, ans] of q.pairs.filter(([s]) => s)) {
          const label = item.locator('label').filter({ hasText: sub });
          const id = await label.first().getAttribute('for');
          await item.locator(`select[id="${id}"]`).selectOption({ label: ans });
        }
        break;
      default:
        assert.fail(`kind ${q.kind}`);
    }
  }
}

// readQR decodes the share's QR code with zbarimg (what a phone's camera
// does), or takes the link beside it where zbarimg is not installed.
async function readQR(page) {
  const src = await page.getAttribute('#share-qr', 'src');
  const link = await page.getAttribute('#share-link', 'href');
  const dir = mkdtempSync(join(tmpdir(), 'civitas-qr-'));
  try {
    const file = join(dir, 'qr.png');
    writeFileSync(file, Buffer.from(src.replace(/^data:image\/png;base64,/, ''), 'base64'));
    const out = execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' }).trim();
    assert.equal(out, link, 'the QR code holds the share\'s link');
    return out;
  } catch (e) {
    if (e.code === 'ENOENT') return link;
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('vi: a student takes the traffic-safety course, passes the final test and shows the certificate by QR to a teacher', { timeout: 240_000 }, async () => {
  const page = await newPage();
  await login(page, student.citizen_id, password);

  await page.goto(`${base}/learning`);
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  await fitsPhone(page, 'the catalogue');
  await submit(page, '#course-traffic-safety .course-link');
  assert.equal((await page.textContent('#course-title')).trim(), 'An toàn giao thông cho học sinh');
  await submit(page, '#enrol');
  assert.ok(await page.locator('#learning-notice').isVisible());
  await axeCheck(page, 'the course page');
  await page.screenshot({ path: join(shots, 'learning-course-vi.png'), fullPage: true });

  // Every lesson, in order: read, then "done, next".
  await submit(page, '.lesson-link');
  assert.equal(await page.getAttribute('article.lesson', 'lang'), 'vi');
  assert.ok(await page.locator('article.lesson img').count() >= 1, 'the lesson shows its picture');
  await fitsPhone(page, 'a lesson');
  await axeCheck(page, 'a lesson');
  await page.screenshot({ path: join(shots, 'learning-lesson-vi.png'), fullPage: true });
  for (let n = 0; n < 5; n++) {
    const last = !(await page.locator('#lesson-next').count());
    await submit(page, '#lesson-done');
    if (last) break;
  }
  assert.match(page.url(), /\/learning\/courses\/traffic-safety\?done=read/);

  // The final test: nothing in the page tells the answers.
  await submit(page, '#final-start');
  assert.match(page.url(), /\/learning\/attempts\/[a-z0-9]+$/);
  assert.equal(await page.locator('.feedback, .verdict').count(), 0, 'no feedback before submission');
  await fitsPhone(page, 'the quiz');
  await axeCheck(page, 'the quiz');
  await page.screenshot({ path: join(shots, 'learning-quiz-vi.png'), fullPage: true });
  await answer(page);
  await submit(page, '#quiz-submit');
  assert.equal((await page.textContent('#attempt-score')).trim(), '100');
  assert.match(await page.getAttribute('#result', 'class'), /result-passed/);
  await axeCheck(page, 'the result');
  await page.screenshot({ path: join(shots, 'learning-result-vi.png'), fullPage: true });

  // The certificate is in the wallet; the student shares it by QR code.
  await page.waitForSelector('#certificate-link');
  await submit(page, '#certificate-link');
  assert.equal((await page.textContent('#doc-title')).trim(), 'Chứng chỉ khóa học kỹ năng số');
  assert.equal((await page.textContent('#doc-claims .claim-course_title')).trim(), 'An toàn giao thông cho học sinh');
  assert.equal((await page.textContent('#doc-claims .claim-full_name')).trim(), student.full_name);
  await page.check('#share-full_name');
  await page.check('#share-course_title');
  await page.check('#share-completed_on');
  await page.fill('#share-purpose', 'Nộp chứng chỉ cho giáo viên chủ nhiệm');
  await submit(page, '#share-submit');
  const url = await readQR(page);
  await fitsPhone(page, 'the share page');
  await page.screenshot({ path: join(shots, 'learning-certificate-share-vi.png'), fullPage: true });

  // The teacher, signed in on their phone, reads the QR code.
  const teacherPage = await newPage();
  await login(teacherPage, teacher.citizen_id, teacherPassword);
  const res = await teacherPage.goto(url);
  assert.equal(res.status(), 200);
  assert.match(await teacherPage.getAttribute('#verdict', 'class'), /verdict-valid/);
  assert.equal((await teacherPage.textContent('#verdict-claims .claim-course_title')).trim(), 'An toàn giao thông cho học sinh');
  assert.equal((await teacherPage.textContent('#verdict-claims .claim-full_name')).trim(), student.full_name);
  assert.equal(await teacherPage.locator('#verdict-claims dd').count(), 3, 'exactly the three items shared');
  assert.ok(!(await teacherPage.content()).includes(student.birth_date), 'the birth date was not shared');
  await teacherPage.screenshot({ path: join(shots, 'learning-certificate-verdict-vi.png'), fullPage: true });

  for (const p of [page, teacherPage]) {
    assert.deepEqual(p.problems, [], 'no console errors (CSP violations show here)');
    await p.context().close();
  }
});

for (const [lang, dir, title] of [['en', 'ltr', 'Walking and crossing the road safely'], ['ar', 'rtl', 'المشي وعبور الطريق بأمان']]) {
  test(`${lang}: the catalogue and a lesson fit a 320-pixel phone`, { timeout: 60_000 }, async () => {
    const page = await newPage({ width: 320, height: 640 });
    await page.goto(`${base}/learning?lang=${lang}`);
    assert.equal(await page.getAttribute('html', 'dir'), dir);
    await fitsPhone(page, `the catalogue in ${lang}`);
    await page.goto(`${base}/learning/courses/traffic-safety/lessons/01-walking?lang=${lang}`);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    // The lesson is in English for both: the course has no Arabic text,
    // only Arabic titles, and says so with lang= on the article.
    assert.equal(await page.getAttribute('article.lesson', 'lang'), 'en');
    assert.equal((await page.textContent('#lesson-title')).trim(), 'Walking and crossing the road safely');
    if (lang === 'ar') assert.equal((await page.textContent('#lesson-ui-title')).trim(), title, 'the Arabic title above the English text');
    await fitsPhone(page, `a lesson in ${lang}`);
    await axeCheck(page, `a lesson in ${lang}`);
    await page.screenshot({ path: join(shots, `learning-lesson-${lang}.png`), fullPage: true });
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
}
