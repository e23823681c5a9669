// prompt (none, login, consent) and max_age, seen by two independent relying
// parties: openid-client (OpenID Certified) with pushed requests, and the
// lower-level oauth4webapi with plain authorization URLs and its own checks
// of auth_time against max_age. Every request must end — in a code or in an
// error sent back to the client — and a login demanded by prompt=login or
// max_age must be a new one.
// Needs CIVITAS_URL, PROMPT_CLIENT_ID (registered without --require-par),
// CLIENT_KEY (private JWK file), REDIRECT_URI, CITIZEN_ID and
// CITIZEN_PASSWORD. It uses a client of its own: its consents do not meet
// those of rp.test.mjs, which may run beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';

const env = (k) => { assert.ok(process.env[k], `${k} must be set`); return process.env[k]; };
const base = env('CIVITAS_URL');
const clientId = env('PROMPT_CLIENT_ID');
const redirectUri = env('REDIRECT_URI');
const jwk = JSON.parse(readFileSync(env('CLIENT_KEY'), 'utf8'));
const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);

const config = await client.discovery(new URL(base), clientId, {}, client.PrivateKeyJwt({ key, kid: jwk.kid }),
  { execute: [client.allowInsecureRequests] });
const insecure = { [oauth.allowInsecureRequests]: true };
const issuer = new URL(base);
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
const rp = { client_id: clientId };
const rpAuth = oauth.PrivateKeyJwt({ key, kid: jwk.kid });

// A minimal browser: a cookie jar and manual redirects.
const jar = new Map();
async function browse(url, init = {}) {
  const headers = new Headers(init.headers);
  if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const res = await fetch(new URL(url, base), { ...init, headers, redirect: 'manual' });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return res;
}
const field = (html, name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1]?.replaceAll('&amp;', '&');
async function postForm(url, fields) {
  return browse(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(base).origin },
    body: new URLSearchParams(fields),
  });
}

// person follows an authorization URL as a person would — logging in when
// sent to the login page, allowing on the consent screen — until the
// browser is sent back to the client. It returns the steps ("login",
// "login+force" when a new login is demanded though the session lives,
// "consent") and the callback URL.
async function person(authUrl) {
  const steps = [];
  let res = await browse(authUrl);
  for (let i = 0; i < 8; i++) {
    if (res.status === 303) {
      const next = new URL(res.headers.get('location'), base);
      if (next.origin + next.pathname === redirectUri) return { steps, callback: next };
      if (next.pathname === '/login') {
        const page = await (await browse(next)).text();
        steps.push(field(page, 'force') === '1' ? 'login+force' : 'login');
        res = await postForm('/login', {
          csrf_token: field(page, 'csrf_token'), next: field(page, 'next'), acr: field(page, 'acr'), force: field(page, 'force') ?? '',
          username: env('CITIZEN_ID'), password: env('CITIZEN_PASSWORD'), otp: '',
        });
        assert.equal(res.status, 303, 'login answers 303');
        res = await browse(res.headers.get('location'));
        continue;
      }
      res = await browse(next);
      continue;
    }
    const page = await res.text();
    assert.equal(res.status, 200, `unexpected answer ${res.status}: ${page.slice(0, 300)}`);
    assert.match(page, /consent-allow/, 'a page that is not the consent screen');
    steps.push('consent');
    res = await postForm('/oidc/consent', { csrf_token: field(page, 'csrf_token'), flow: field(page, 'flow'), decision: 'allow' });
  }
  assert.fail(`no end after ${steps.join(', ')}`);
}

// withPAR builds an openid-client authorization URL through PAR.
async function withPAR(extra) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri, scope: 'openid profile', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url, verifier, state, nonce };
}

// plain builds an oauth4webapi authorization URL without PAR.
async function plain(extra) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile', state, nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  })) url.searchParams.set(k, v);
  return { url, verifier, state, nonce };
}

// redeem exchanges an oauth4webapi callback for tokens and returns the ID
// token's claims, with oauth4webapi checking auth_time against maxAge.
async function redeem(req, callback, maxAge) {
  const params = oauth.validateAuthResponse(as, rp, callback, req.state);
  const res = await oauth.authorizationCodeGrantRequest(as, rp, rpAuth, params, redirectUri, req.verifier, insecure);
  const tokens = await oauth.processAuthorizationCodeResponse(as, rp, res, { expectedNonce: req.nonce, requireIdToken: true, maxAge });
  return oauth.getValidatedIdTokenClaims(tokens);
}

let authTime = 0; // of the last login, as the ID tokens tell it

test('openid-client: prompt=none without a session ends in login_required', async () => {
  const req = await withPAR({ prompt: 'none' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, []);
  assert.equal(callback.searchParams.get('error'), 'login_required');
  assert.equal(callback.searchParams.get('state'), req.state);
  await assert.rejects(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: req.verifier, expectedState: req.state }),
    (err) => err.error === 'login_required');
});

test('openid-client: prompt=consent on the first login asks once and ends in a code', async () => {
  const req = await withPAR({ prompt: 'consent' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, ['login', 'consent']);
  const tokens = await client.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  authTime = tokens.claims().auth_time;
  assert.ok(authTime > 0);
});

test('openid-client: prompt=consent with a consent given asks again, and the answer ends in a code', async () => {
  const req = await withPAR({ prompt: 'consent' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, ['consent'], 'one consent screen, then back to the client');
  const tokens = await client.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  assert.equal(tokens.claims().auth_time, authTime, 'no new login');
});

test('openid-client: prompt=none with a session and a consent gives a code at once', async () => {
  const req = await withPAR({ prompt: 'none' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, []);
  const tokens = await client.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  assert.equal(tokens.claims().auth_time, authTime);
});

test('openid-client: prompt=login logs in again though the session lives', async () => {
  await sleep(1100); // auth_time counts seconds
  const req = await withPAR({ prompt: 'login' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, ['login+force']);
  const tokens = await client.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
  assert.ok(tokens.claims().auth_time > authTime, 'auth_time is the new login');
  authTime = tokens.claims().auth_time;
});

test('openid-client: max_age=0 asks for one new login, and its auth_time passes the max_age check', async () => {
  await sleep(1100);
  const req = await withPAR({ max_age: '0' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, ['login+force'], 'one new login, not a loop');
  const tokens = await client.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce, maxAge: 0, idTokenExpected: true });
  assert.ok(tokens.claims().auth_time > authTime);
  authTime = tokens.claims().auth_time;
});

test('oauth4webapi: no prompt with a session and a consent gives a code at once', async () => {
  const req = await plain({});
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, []);
  const claims = await redeem(req, callback);
  assert.equal(claims.auth_time, authTime);
});

test('oauth4webapi: max_age not reached needs no login; auth_time passes its check', async () => {
  const req = await plain({ max_age: '600' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, []);
  const claims = await redeem(req, callback, 600);
  assert.equal(claims.auth_time, authTime);
});

test('oauth4webapi: prompt=none after max_age passed ends in login_required', async () => {
  await sleep(2100);
  const req = await plain({ prompt: 'none', max_age: '1' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, []);
  assert.throws(() => oauth.validateAuthResponse(as, rp, callback, req.state),
    (err) => err instanceof oauth.AuthorizationResponseError && err.error === 'login_required');
});

test('oauth4webapi: max_age passed asks for a new login, then a code', async () => {
  const req = await plain({ max_age: '1' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, ['login+force']);
  const claims = await redeem(req, callback, 1);
  assert.ok(claims.auth_time > authTime);
  authTime = claims.auth_time;
});

test('oauth4webapi: prompt=login consent asks for both, once each, then a code', async () => {
  await sleep(1100);
  const req = await plain({ prompt: 'login consent' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, ['login+force', 'consent']);
  const claims = await redeem(req, callback);
  assert.ok(claims.auth_time > authTime);
});

test('oauth4webapi: prompt=none combined with another value is refused', async () => {
  const req = await plain({ prompt: 'none consent' });
  const { steps, callback } = await person(req.url);
  assert.deepEqual(steps, []);
  assert.throws(() => oauth.validateAuthResponse(as, rp, callback, req.state),
    (err) => err instanceof oauth.AuthorizationResponseError && err.error === 'invalid_request');
});
