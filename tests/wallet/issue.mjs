// Issues an SD-JWT VC and a presentation of it with npm @sd-jwt/sd-jwt-vc,
// for civitas to verify: the other direction of the interop test.
//
// Output (standard output, JSON):
//   { "credential", "presentation", "issuer_jwk", "holder_jwk", "holder_d",
//     "iss", "vct", "aud", "nonce", "now", "status": {"idx", "uri"} }
// holder_d is the holder's private scalar, so that civitas can also act as
// the holder of this credential in the test.
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

const { subtle } = globalThis.crypto;
const utf8 = new TextEncoder();
const b64u = (bytes) => Buffer.from(bytes).toString('base64url');

async function hasher(data, alg) {
  if (alg.toLowerCase() !== 'sha-256') throw new Error(`unsupported _sd_alg ${alg}`);
  const bytes = typeof data === 'string' ? utf8.encode(data) : new Uint8Array(data);
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

async function es256Key() {
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y, d } = await subtle.exportKey('jwk', pair.privateKey);
  // WebCrypto signs ECDSA as r||s, the JWS form.
  const sign = async (data) => b64u(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, utf8.encode(data)));
  return { jwk: { kty, crv, x, y }, d, sign };
}

async function main() {
  const issuer = await es256Key();
  const holder = await es256Key();
  const now = Math.floor(Date.now() / 1000);
  const iss = 'https://npm-issuer.example';
  const vct = 'urn:vn:gov:health-insurance-card:1';
  const aud = 'https://verifier.civitas.example';
  const nonce = b64u(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const status = { idx: 12, uri: `${iss}/status/1` };
  const sdjwt = new SDJwtVcInstance({
    signer: issuer.sign,
    signAlg: 'ES256',
    hasher,
    hashAlg: 'sha-256',
    saltGenerator: () => b64u(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    kbSigner: holder.sign,
    kbSignAlg: 'ES256',
  });
  const claims = {
    iss, vct, iat: now, exp: now + 365 * 24 * 3600,
    cnf: { jwk: holder.jwk },
    status: { status_list: status },
    sub: '001190012345',
    given_name: 'Lan',
    family_name: 'Nguyễn Thị',
    birthdate: '1990-04-12',
    card_number: 'HS4010123456789',
    address: { street_address: '12 Lý Thường Kiệt', locality: 'Hoàn Kiếm', region: 'Hà Nội', country: 'VN' },
    nationalities: ['VN', 'FR'],
  };
  // Top-level claims hidden; address recursively (itself and two members);
  // each nationality an array element Disclosure; decoys at the top.
  const frame = {
    _sd: ['sub', 'given_name', 'family_name', 'birthdate', 'card_number', 'address'],
    _sd_decoy: 2,
    address: { _sd: ['locality', 'region'] },
    nationalities: { _sd: [0, 1] },
  };
  const credential = await sdjwt.issue(claims, frame, { header: { kid: 'npm-issuer-1' } });
  const presentation = await sdjwt.present(
    credential,
    { given_name: true, address: { locality: true }, nationalities: { 1: true } },
    { kb: { payload: { iat: now, aud, nonce } } },
  );
  process.stdout.write(JSON.stringify({
    credential, presentation, issuer_jwk: issuer.jwk, holder_jwk: holder.jwk, holder_d: holder.d,
    iss, vct, aud, nonce, now, status,
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`issue.mjs: ${err?.message ?? err}\n`);
  process.exit(1);
});
