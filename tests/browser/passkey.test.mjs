// Passkeys in headless Chromium, in each language, with a virtual WebAuthn
// authenticator (Chrome DevTools Protocol): a citizen signs in with a
// password, adds a passkey on the account page, signs out and signs in again
// with the passkey alone, usernameless. A browser without WebAuthn sees no
// passkey button and keeps the password form.
// Needs CIVITAS_PUBLIC_URL, the server's --public-url: WebAuthn binds
// passkeys to its host, which must be a name (http://localhost:PORT), not an
// IP address. FIXTURE (made by fixture.py) names a citizen per language who
// has an account with the password in OFFICER_PASSWORD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.CIVITAS_PUBLIC_URL;
const shots = process.env.SCREENSHOT_DIR || '/tmp/civitas-screenshots';
assert.ok(base && process.env.FIXTURE, 'CIVITAS_PUBLIC_URL and FIXTURE must be set');
assert.ok(!/^https?:\/\/[0-9.]+(:|\/|$)/.test(base), 'passkeys need a host name in CIVITAS_PUBLIC_URL, e.g. http://localhost:8080');
const sets = JSON.parse(readFileSync(process.env.FIXTURE, 'utf8'));
const password = process.env.OFFICER_PASSWORD || 'officer password';
mkdirSync(shots, { recursive: true });

// What each language's pages say, to check the strings came translated.
const words = {
  vi: { level2: 'Mức 2', button: 'Đăng nhập bằng khóa truy cập', added: 'Đã thêm khóa truy cập.' },
  en: { level2: 'Level 2', button: 'Sign in with a passkey', added: 'The passkey was added.' },
  ar: { level2: 'المستوى 2', button: 'الدخول بمفتاح مرور', added: 'أُضيف مفتاح المرور.' },
};

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function newPage(lang, { webauthn = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  if (!webauthn) await context.addInitScript(() => { delete window.PublicKeyCredential; });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(`${base}/?lang=${lang}`);
  page.problems = problems;
  return page;
}

// virtualAuthenticator gives the page a platform authenticator that holds
// discoverable credentials and verifies its user (as a phone's screen lock).
async function virtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { cdp, authenticatorId };
}

for (const set of sets) {
  const { lang } = set;
  const w = words[lang];

  test(`${lang}: a citizen adds a passkey and signs in with it alone`, async () => {
    const citizen = set.passkey;
    const page = await newPage(lang);
    const { cdp, authenticatorId } = await virtualAuthenticator(page);

    await page.goto(`${base}/login`);
    await page.fill('#username', citizen.citizen_id);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
    assert.match(page.url(), /\/account$/);
    assert.ok(await page.locator('#passkey-none').isVisible());

    await page.fill('#passkey-name', `${lang} phone`);
    await Promise.all([page.waitForNavigation(), page.click('#passkey-add button[type=submit]')]);
    assert.match(page.url(), /\/account\?done=passkey_added$/);
    assert.equal((await page.textContent('#notice')).trim(), w.added);
    assert.ok((await page.textContent('#passkey-list')).includes(`${lang} phone`));
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
    assert.equal(credentials[0].rpId, new URL(base).hostname);
    await page.screenshot({ path: join(shots, `account-passkey-${lang}.png`), fullPage: true });
    let overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `account page is ${overflow}px wider than the screen`);

    await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
    await page.goto(`${base}/login`);
    const button = page.locator('#passkey-login-button');
    assert.ok(await button.isVisible());
    assert.equal((await button.textContent()).trim(), w.button);
    await page.screenshot({ path: join(shots, `login-passkey-${lang}.png`), fullPage: true });
    overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `login page is ${overflow}px wider than the screen`);

    // No username, no password: the authenticator offers the account's passkey.
    await Promise.all([page.waitForURL(/\/account$/), button.click()]);
    assert.equal((await page.textContent('#profile-name')).trim(), citizen.full_name);
    // A level-2 account signed in with a user-verified passkey: level 2.
    assert.equal((await page.textContent('#session-level')).trim(), w.level2);
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(after.credentials[0].signCount >= 1, 'the authenticator signed');
    assert.deepEqual(page.problems, [], 'no console errors (CSP violations show here)');
    await page.context().close();
  });
}

test('a browser without WebAuthn sees no passkey button and keeps the password form', async () => {
  const page = await newPage(sets[0].lang, { webauthn: false });
  await page.goto(`${base}/login`);
  assert.equal(await page.locator('#passkey-login').isVisible(), false);
  assert.ok(await page.locator('#username').isVisible());
  assert.ok(await page.locator('#password').isVisible());
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
