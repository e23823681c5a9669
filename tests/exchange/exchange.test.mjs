// Independent checks of a civitas data-exchange answer and of its API
// description, by code nobody on the project wrote:
//   - npm jose verifies the receipt's signature with the key of its x5c
//     certificate, and the payload says what was asked and hashes the exact
//     bytes of the data as sent;
//   - @apidevtools/swagger-parser validates the OpenAPI 3.1 document.
// The x5c certificates are written as PEM for `openssl verify` against the
// providing province's root (.ci/exchange).
//
// Environment: ANSWER_FILE (the body of a 200 answer, as received),
// EXPECT_CONSUMER, EXPECT_SERVICE, EXPECT_SUBJECT, EXPECT_PURPOSE,
// EXPECT_CASE_REF, CERT_DIR (where leaf.pem and chain.pem go), OPENAPI_URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import SwaggerParser from '@apidevtools/swagger-parser';

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set`);
  return v;
};

// memberSpan finds the exact text of a top-level member's value in a JSON
// object, without re-encoding it: the receipt hashes those bytes.
function memberSpan(text, name) {
  let i = text.indexOf('{');
  assert.ok(i >= 0, 'not a JSON object');
  const skipWS = () => { while (/\s/.test(text[i])) i++; };
  const readString = () => {
    const start = i;
    assert.equal(text[i], '"');
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const skipValue = () => {
    skipWS();
    const start = i;
    if (text[i] === '"') { readString(); return [start, i]; }
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      do {
        if (text[i] === '"') { readString(); continue; }
        if (text[i] === '{' || text[i] === '[') depth++;
        if (text[i] === '}' || text[i] === ']') depth--;
        i++;
      } while (depth > 0);
      return [start, i];
    }
    while (i < text.length && !/[,}\]\s]/.test(text[i])) i++;
    return [start, i];
  };
  i++;
  for (;;) {
    skipWS();
    if (text[i] === '}') break;
    const key = readString();
    skipWS();
    assert.equal(text[i], ':');
    i++;
    const [s, e] = skipValue();
    if (key === name) return text.slice(s, e);
    skipWS();
    if (text[i] === ',') i++;
  }
  throw new Error(`no member ${name}`);
}

const toPEM = (b64) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;

test('the receipt verifies with jose against its x5c certificate and hashes the data as sent', async () => {
  const body = readFileSync(env('ANSWER_FILE'), 'utf8');
  const answer = JSON.parse(body);
  const dataText = memberSpan(body, 'data');
  assert.deepEqual(JSON.parse(dataText), answer.data);

  const header = jose.decodeProtectedHeader(answer.receipt);
  assert.ok(Array.isArray(header.x5c) && header.x5c.length >= 1, 'x5c in the header');
  const key = await jose.importX509(toPEM(header.x5c[0]), header.alg);
  const { payload, protectedHeader } = await jose.compactVerify(answer.receipt, key, { algorithms: ['ES256', 'ES384', 'RS256', 'PS256'] });
  const claims = JSON.parse(new TextDecoder().decode(payload));

  assert.equal(claims.consumer, env('EXPECT_CONSUMER'));
  assert.equal(claims.service, env('EXPECT_SERVICE'));
  assert.equal(claims.subject, env('EXPECT_SUBJECT'));
  assert.equal(claims.purpose, env('EXPECT_PURPOSE'));
  assert.equal(claims.case_ref, env('EXPECT_CASE_REF'));
  assert.equal(typeof claims.iat, 'number');
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 600, 'iat is now');
  const digest = createHash('sha256').update(Buffer.from(dataText, 'utf8')).digest('base64url');
  assert.equal(claims.data_sha256, digest, 'data_sha256 is over the exact bytes of data');

  // A changed answer no longer matches, and a changed receipt no longer verifies.
  const other = createHash('sha256').update(Buffer.from(JSON.stringify({ ...answer.data, forged: true }), 'utf8')).digest('base64url');
  assert.notEqual(claims.data_sha256, other);
  const [h, p, s] = answer.receipt.split('.');
  const forged = `${h}.${jose.base64url.encode(JSON.stringify({ ...claims, purpose: 'curiosity' }))}.${s}`;
  await assert.rejects(jose.compactVerify(forged, key, { algorithms: [protectedHeader.alg] }));
  assert.ok(p.length > 0);

  const dir = env('CERT_DIR');
  writeFileSync(join(dir, 'leaf.pem'), toPEM(header.x5c[0]));
  writeFileSync(join(dir, 'chain.pem'), header.x5c.slice(1).map(toPEM).join(''));
});

test('the OpenAPI document validates with @apidevtools/swagger-parser', async () => {
  const res = await fetch(env('OPENAPI_URL'));
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.openapi, '3.1.0');
  const api = await SwaggerParser.validate(structuredClone(doc));
  assert.ok(api.paths['/query'].post, 'POST /query described');
  assert.ok(api.components.schemas['population.person.v1'], 'a service schema');
});
