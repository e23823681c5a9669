// The sweep: every page a person reaches by following links from the home
// page (three clicks at most), for each role — anonymous, citizen, guardian,
// officer of the level-2 desk, official (a post in an agency: the document
// exchange) — in vi, en and ar, on a 320-px phone, a 1280-px screen and that
// screen zoomed to 200 %, in the fonts the machine has (CI installs DejaVu
// and Noto, which Android phones draw Vietnamese and Arabic with). On each:
//   - no sideways scrolling (scrollWidth <= clientWidth) at 320 and 1280 px,
//     and at 1280 × 800 zoomed to 200 %: Chrome's zoom is a CSS viewport of
//     half the size at twice the device pixels, 640 × 400 at scale 2, which
//     is what the zoom context emulates; there also no text cut off (an
//     element clipping its own text: scrollWidth > clientWidth, overflow
//     hidden or clip);
//   - a page weight of at most 50 kB transferred, the document and every
//     resource it loads (styles, scripts, fonts, images), counted from
//     Chrome's own figures (Network.loadingFinished encodedDataLength:
//     compressed bytes on the wire, headers included), cache off;
//   - no axe-core violation of impact serious or critical (once a page, in
//     vi, en and ar in turn: axe is the slow part);
//   - no message key of the catalogue shown instead of its text;
//   - no raw ISO date (2026-12-07) in the visible text — <time datetime>
//     attributes are fine, they are not visible;
//   - no server error and no broken link (404).
// A page an earlier role swept is not swept again. Up to 30 pages a role
// (SWEEP_MAX_PAGES), two of one shape (/portal/procedures/{code}).
// Screenshots of each failing page go to SCREENSHOT_DIR. People are picked
// with `civitas demo people` (not those of FIXTURE) and given accounts with
// `civitas account add`; the officer turns on an authenticator app, since
// the desk needs a level-2 login.
// Needs CIVITAS_URL (or CIVITAS_PUBLIC_URL), CIVITAS_BIN and CIVITAS_DATA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { codes } from './totp.mjs';

const base = process.env.CIVITAS_PUBLIC_URL || process.env.CIVITAS_URL;
const bin = process.env.CIVITAS_BIN;
const data = process.env.CIVITAS_DATA;
assert.ok(base && bin && data, 'CIVITAS_URL, CIVITAS_BIN and CIVITAS_DATA must name the running server');
const here = dirname(fileURLToPath(import.meta.url));
// Kept after the run (.ci/smoke removes its own work directory): CI keeps
// this directory as an artefact.
const shots = process.env.SCREENSHOT_DIR || join(here, '..', '..', '.ci', 'artifacts', 'screenshots');
mkdirSync(shots, { recursive: true });
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const langs = ['vi', 'en', 'ar'];
const phone = { width: 320, height: 640 };
const desktop = { width: 1280, height: 800 };
const zoomed = { width: 640, height: 400, scale: 2, label: '1280px zoomed 200%' }; // desktop at 200 %
const budget = 50 * 1024; // bytes transferred per page, everything included
const maxPages = Number(process.env.SWEEP_MAX_PAGES || 30); // per role
const perTemplate = 2; // pages of one shape (/portal/procedures/{code}) kept per role
const depth = 3; // clicks from the home page

// The catalogue's keys: one shown on a page means a missing translation.
const localeDir = join(here, '..', '..', 'internal', 'i18n', 'locales');
const keys = new Set();
for (const f of readdirSync(localeDir).filter((n) => n === 'en.json' || n.endsWith('.en.json'))) {
  for (const k of Object.keys(JSON.parse(readFileSync(join(localeDir, f), 'utf8')))) keys.add(k);
}
const keyPattern = /\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+){1,5}\b/g;
const isoDate = /\b(?:19|20)\d\d-[01]\d-[0-3]\d(?:T[0-2]\d:[0-5]\d(?::[0-5]\d)?(?:Z|[+-][0-2]\d:?\d\d)?)?\b/;

// Links the sweep does not follow: files, machine interfaces, signing out.
const skip = /^\/(?:logout|static\/|api\/|\.well-known\/|pki\/|oidc\/|metrics|audit\/|healthz|readyz|problems\/)|\/download\b|\.(?:pdf|p7s|json|xml|csv|geojson|png|svg)$/;

const password = 'sweep password 1';
const civitas = (...args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const fixtureIDs = new Set();
if (process.env.FIXTURE) {
  const walk = (x) => {
    if (typeof x === 'string' && /^\d{12}$/.test(x)) fixtureIDs.add(x);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(JSON.parse(readFileSync(process.env.FIXTURE, 'utf8')));
}

// demoPeople lists up to limit demo people for role (one row a post for
// officers and officials).
function demoPeople(role, limit) {
  return civitas('demo', 'people', '--data', data, '--role', role, '--limit', String(limit), '--json')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// pick finds a demo person for role with no account yet and gives them a
// level-2 account (which a support point would): the pages of a new holder.
// fits, given the person's rows (one a post for officials), narrows the choice.
function pick(role, fits = () => true) {
  const people = demoPeople(role, 200);
  const rows = (x) => people.filter((y) => y.citizen_id === x.citizen_id);
  const p = people.find((x) => !x.has_account && !fixtureIDs.has(x.citizen_id) && !fixtureIDs.has(x.child_citizen_id ?? '') && fits(rows(x)));
  assert.ok(p, `a demo ${role} without an account`);
  execFileSync(bin, ['account', 'add', '--data', data, '--citizen-id', p.citizen_id, '--level', '2', '--password-stdin'],
    { input: `${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  return p;
}


async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function login(page, citizenID, otp = '') {
  await page.goto(`${base}/login`);
  await page.fill('#username', citizenID);
  await page.fill('#password', password);
  if (otp) await page.fill('#otp', otp);
  await submit(page, 'form[action="/login"] button[type=submit]');
  assert.doesNotMatch(new URL(page.url()).pathname, /^\/login/, `${citizenID} signed in`);
}

// level2 turns on an authenticator app and signs in again with its code.
async function level2(page, citizenID) {
  await page.goto(`${base}/account`);
  await page.click('#setup-totp');
  const next = codes((await page.textContent('#totp-secret')).trim(), { past: false });
  await page.fill('#otp', await next());
  await submit(page, 'form[action="/account/totp"] button');
  await submit(page, 'form[action="/logout"] button');
  await login(page, citizenID, await next());
}

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

// withLang sets ?lang= on a same-site path, keeping the other parameters.
function withLang(path, lang) {
  const u = new URL(path, base);
  u.searchParams.set('lang', lang);
  return u.pathname + u.search;
}

// crawl follows the links of the pages from the home page, breadth first,
// up to depth clicks, and returns the paths (with their query) it reached.
async function crawl(page, limit, first = []) {
  const seen = new Map(); // path -> clicks from home
  const shapes = new Map();
  let frontier = ['/'];
  seen.set('/', 0);
  for (let d = 1; d <= depth && frontier.length; d++) {
    const next = [];
    for (const path of frontier) {
      const res = await page.goto(base + withLang(path, 'vi'));
      if (!res || !(res.headers()['content-type'] || '').startsWith('text/html')) continue;
      // getAttribute, not .href: an SVG link's href is an object.
      const hrefs = await page.evaluate(() => [...document.querySelectorAll('a[href]')]
        .map((a) => new URL(a.getAttribute('href'), document.baseURI).href));
      // The role's own pages (the officer's desk) before the others.
      const mine = (h) => first.some((f) => new URL(h).pathname.startsWith(f));
      hrefs.sort((a, b) => Number(mine(b)) - Number(mine(a)));
      for (const href of hrefs) {
        const u = new URL(href, base);
        if (u.origin !== new URL(base).origin) continue;
        u.searchParams.delete('lang');
        u.hash = '';
        const p = u.pathname + u.search;
        if (seen.has(p) || skip.test(u.pathname)) continue;
        // One shape: the same path but for identifiers and codes, segments
        // with a digit or an underscore (/sign/{id}, /portal/procedures/{code}).
        const shape = u.pathname.replace(/\/[^/]*[\d_][^/]*/g, '/:id');
        if ((shapes.get(shape) || 0) >= perTemplate) continue;
        // The role's own pages may pass the limit by ten.
        if (seen.size >= limit && !(mine(href) && seen.size < limit + 10)) continue;
        shapes.set(shape, (shapes.get(shape) || 0) + 1);
        seen.set(p, d);
        next.push(p);
      }
    }
    frontier = next;
  }
  return [...seen.keys()];
}

// check looks at the page as it stands; it returns what is wrong.
async function check(page, what, viewport, withAxe) {
  const problems = [];
  const found = await page.evaluate((cutOff) => {
    const clipped = [];
    if (cutOff) {
      for (const el of document.body.querySelectorAll('*')) {
        if (clipped.length >= 3) break;
        if (el.matches('input, select, textarea, .visually-hidden, svg *') || el.clientWidth <= 1 || !el.textContent.trim()) continue;
        const st = getComputedStyle(el);
        if (!/hidden|clip/.test(st.overflowX) || st.display === 'none' || st.visibility === 'hidden') continue;
        if (el.scrollWidth > el.clientWidth + 1) {
          const name = el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') + (el.classList.length ? `.${[...el.classList].join('.')}` : '');
          clipped.push(`${name} "${el.textContent.trim().slice(0, 40)}"`);
        }
      }
    }
    return {
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      text: document.body.innerText,
      clipped,
    };
  }, Boolean(viewport.scale));
  if (found.overflow > 0) problems.push(`${found.overflow}px wider than the ${viewport.width}px screen`);
  if (found.clipped.length) problems.push(`text cut off: ${found.clipped.join('; ')}`);
  const raw = [...new Set((found.text.match(keyPattern) || []).filter((k) => keys.has(k)))];
  if (raw.length) problems.push(`untranslated keys: ${raw.join(', ')}`);
  const iso = found.text.match(isoDate);
  if (iso) problems.push(`raw ISO date "${iso[0]}"`);
  if (withAxe) {
    await page.addScriptTag({ path: axePath });
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `axe ${v.impact} ${v.id} (${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join('; ')})`);
    });
    problems.push(...violations);
  }
  if (problems.length) {
    const name = `sweep-${what.replace(/[^a-z0-9]+/gi, '_').slice(0, 120)}-${viewport.width}${viewport.scale ? 'x2' : ''}.png`;
    await page.screenshot({ path: join(shots, name), fullPage: true }).catch(() => {});
  }
  return problems.map((p) => `${what} at ${viewport.label || `${viewport.width}px`}: ${p}`);
}

// The registry roles that sign and assign documents (internal/edoc capacityOf).
const leaders = new Set(['chairman', 'vice_chairman', 'director', 'deputy_director', 'principal', 'vice_principal']);

const roles = [
  { name: 'anonymous' },
  { name: 'citizen', setup: async (page) => { const p = pick('citizen'); await login(page, p.citizen_id); } },
  // A guardian's pages are a citizen's but for the family on /account.
  { name: 'guardian', pages: 6, again: ['/account'], setup: async (page) => { const p = pick('guardian'); await login(page, p.citizen_id); } },
  {
    name: 'officer',
    first: ['/officer'],
    setup: async (page) => {
      const p = pick('officer');
      await login(page, p.citizen_id);
      await level2(page, p.citizen_id);
    },
  },
  {
    // An official with a post in an agency (not the desk's): the document
    // exchange, which needs a level-2 login. A leader (a post that signs and
    // assigns, internal/edoc capacityOf) in the agency /edoc opens first —
    // the smallest agency code of their posts — so the inbox links the
    // signing queue (/edoc/sign) and the supervision view (/edoc/supervise);
    // the first official by citizen ID is a records clerk, who has neither.
    // Someone who also holds a desk post (listed as an officer, not here)
    // may open on that agency instead: left out.
    name: 'official',
    first: ['/edoc'],
    pages: 15,
    setup: async (page) => {
      const desk = new Set(demoPeople('officer', 100000).map((x) => x.citizen_id));
      const p = pick('official', (posts) => {
        if (desk.has(posts[0].citizen_id)) return false;
        const first = [...posts].sort((a, b) => (a.agency_code < b.agency_code ? -1 : a.agency_code > b.agency_code ? 1 : 0))[0];
        return leaders.has(first.role);
      });
      await login(page, p.citizen_id);
      await level2(page, p.citizen_id);
    },
  },
];

// weigh follows what one page loads, through Chrome's network events: the
// transferred (encoded) bytes of the document and of every resource, with
// the cache off so that each page counts what a first visit costs.
async function weigh(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const loads = new Map(); // requestId -> { url, bytes }
  const entry = (id) => loads.get(id) || loads.set(id, { url: '', bytes: 0 }).get(id);
  cdp.on('Network.requestWillBeSent', (e) => { entry(e.requestId).url = e.request.url; });
  cdp.on('Network.loadingFinished', (e) => { entry(e.requestId).bytes = e.encodedDataLength; });
  return {
    reset: () => loads.clear(),
    // total and the largest resources, once the page and its fonts are in.
    async measure() {
      await page.evaluate(() => document.fonts.ready.then(() => true)).catch(() => {});
      const all = [...loads.values()].filter((x) => x.url && !x.url.startsWith('data:'));
      all.sort((a, b) => b.bytes - a.bytes);
      return { total: all.reduce((n, x) => n + x.bytes, 0), largest: all.slice(0, 4) };
    },
  };
}

const kB = (n) => `${(n / 1024).toFixed(1)} kB`;

// A page an earlier role swept is not swept again (its header differs, and
// the header is checked on the role's own pages), except the role's again.
const swept = new Set();

for (const role of roles) {
  test(`sweep as ${role.name}: every page within ${depth} clicks of home, in vi/en/ar at 320 and 1280 px and zoomed 200 %, within the page budget`, { timeout: 900_000 }, async () => {
    // bypassCSP: axe-core is injected as a script, which the site's CSP
    // rightly refuses; other tests check the CSP itself.
    const context = await browser.newContext({ viewport: desktop, bypassCSP: true });
    const page = await context.newPage();
    let zoomContext;
    try {
      if (role.setup) await role.setup(page);
      const weight = await weigh(context, page);
      // The zoomed screen: its own context (the scale is the context's), with
      // the role's session cookie.
      zoomContext = await browser.newContext({ viewport: { width: zoomed.width, height: zoomed.height },
        deviceScaleFactor: zoomed.scale, bypassCSP: true, storageState: await context.storageState() });
      const zoomPage = await zoomContext.newPage();
      const paths = await crawl(page, role.pages || maxPages, role.first);
      console.log(`# ${role.name}: ${paths.length} pages: ${paths.join(' ')}`);
      const problems = [];
      let n = 0;
      let heaviest = 0;
      for (const path of paths) {
        if (swept.has(path) && !(role.again || []).includes(path) && path !== '/') continue;
        swept.add(path);
        n++;
        for (const lang of langs) {
          const what = `${role.name} ${lang} ${path}`;
          await page.setViewportSize(phone);
          weight.reset();
          const res = await page.goto(base + withLang(path, lang));
          const status = res ? res.status() : 0;
          if (status >= 500 || status === 404) {
            problems.push(`${what}: HTTP ${status}`);
            continue;
          }
          if (!(res.headers()['content-type'] || '').startsWith('text/html')) continue;
          // A page this role may not open sends them to sign in: the sign-in
          // page is swept on its own.
          if (new URL(page.url()).pathname === '/login' && !path.startsWith('/login')) continue;
          // axe-core once a page, in each language in turn: it is the slow part.
          const w = await weight.measure();
          heaviest = Math.max(heaviest, w.total);
          if (w.total > budget) {
            problems.push(`${what}: ${kB(w.total)} transferred, over the ${kB(budget)} budget; largest: ${
              w.largest.map((x) => `${new URL(x.url).pathname} ${kB(x.bytes)}`).join(', ')}`);
          }
          problems.push(...await check(page, what, phone, langs[n % langs.length] === lang));
          await page.setViewportSize(desktop);
          problems.push(...await check(page, what, desktop, false));
          await zoomPage.goto(base + withLang(path, lang));
          if (new URL(zoomPage.url()).pathname === new URL(page.url()).pathname) {
            problems.push(...await check(zoomPage, what, zoomed, false));
          }
        }
      }
      console.log(`# ${role.name}: ${n} pages swept (the others were swept for an earlier role); heaviest ${kB(heaviest)}`);
      assert.deepEqual(problems, [], `the sweep as ${role.name} found ${problems.length} problems`);
    } finally {
      await zoomContext?.close();
      await context.close();
    }
  });
}
