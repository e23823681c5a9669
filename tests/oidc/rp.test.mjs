// openid-client (an OpenID Certified relying party nobody here wrote) logs a
// demo citizen in to civitas with PAR + PKCE + DPoP + private_key_jwt, checks
// the ID token, calls userinfo, refreshes (the old refresh token must then
// fail), and sees that a level-2 request is not answered with a level-1 login.
// Needs CIVITAS_URL, CLIENT_ID, CLIENT_KEY (private JWK file), REDIRECT_URI,
// CITIZEN_ID and CITIZEN_PASSWORD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as client from 'openid-client';

const env = (k) => { assert.ok(process.env[k], `${k} must be set`); return process.env[k]; };
const base = env('CIVITAS_URL');
const redirectUri = env('REDIRECT_URI');
const jwk = JSON.parse(readFileSync(env('CLIENT_KEY'), 'utf8'));
const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);

const config = await client.discovery(new URL(base), env('CLIENT_ID'), {}, client.PrivateKeyJwt({ key, kid: jwk.kid }),
  { execute: [client.allowInsecureRequests] });
const dpopKeys = await client.randomDPoPKeyPair('ES256');
const DPoP = client.getDPoPHandle(config, dpopKeys);

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
const field = (html, name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];
async function postForm(url, fields) {
  return browse(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(base).origin },
    body: new URLSearchParams(fields),
  });
}

test('code flow with PAR, PKCE, DPoP and private_key_jwt; userinfo; refresh rotation', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri, scope: 'openid profile citizen_id',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
  }, { DPoP });
  assert.ok(authUrl.searchParams.get('request_uri'), 'the authorization URL carries a pushed request_uri');

  let res = await browse(authUrl);
  assert.equal(res.status, 303);
  const loginUrl = new URL(res.headers.get('location'), base);
  assert.equal(loginUrl.pathname, '/login');
  const loginPage = await (await browse(loginUrl)).text();
  assert.match(loginPage, /autocomplete="username"/);
  assert.match(loginPage, /autocomplete="current-password"/);
  assert.match(loginPage, /autocomplete="one-time-code"/);
  res = await postForm('/login', {
    csrf_token: field(loginPage, 'csrf_token'), next: field(loginPage, 'next'), acr: field(loginPage, 'acr'),
    username: env('CITIZEN_ID'), password: env('CITIZEN_PASSWORD'), otp: '',
  });
  assert.equal(res.status, 303, 'login answers 303');
  res = await browse(res.headers.get('location'));
  assert.equal(res.status, 200, 'the consent screen');
  const consent = await res.text();
  assert.match(consent, /consent-allow/);
  res = await postForm('/oidc/consent', { csrf_token: field(consent, 'csrf_token'), flow: field(consent, 'flow'), decision: 'allow' });
  assert.equal(res.status, 303);
  const callback = new URL(res.headers.get('location'));
  assert.equal(callback.origin + callback.pathname, redirectUri);

  const tokens = await client.authorizationCodeGrant(config, callback,
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true }, undefined, { DPoP });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  const claims = tokens.claims();
  assert.equal(claims.iss, base);
  assert.equal(claims.acr, 'urn:civitas:acr:level1');
  assert.notEqual(claims.sub, env('CITIZEN_ID'), 'the subject is pairwise, not the citizen ID');

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });
  assert.equal(info.citizen_id, env('CITIZEN_ID'));
  assert.ok(info.name && info.birthdate, 'profile claims');

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  assert.ok(refreshed.access_token && refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
  const again = await client.fetchUserInfo(config, refreshed.access_token, claims.sub, { DPoP });
  assert.equal(again.sub, claims.sub);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP }),
    (err) => err.error === 'invalid_grant', 'a rotated refresh token is refused');
});

test('a level-2 request sends a level-1 session back to the login page, with no code', async () => {
  const verifier = client.randomPKCECodeVerifier();
  const authUrl = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri, scope: 'openid', acr_values: 'urn:civitas:acr:level2',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: client.randomState(),
  }, { DPoP });
  const res = await browse(authUrl);
  assert.equal(res.status, 303);
  const next = new URL(res.headers.get('location'), base);
  assert.equal(next.pathname, '/login');
  assert.equal(next.searchParams.get('acr'), 'urn:civitas:acr:level2');
  assert.ok(!next.searchParams.get('code'));
});
