// Verifies an SD-JWT VC and a presentation of it with npm @sd-jwt/sd-jwt-vc,
// an implementation nobody at civitas wrote, using only the issuer's public
// JWK and Node's WebCrypto.
//
// Input (a JSON file named as the first argument, or standard input):
//   {
//     "credential":   "<issuer-signed JWT>~<disclosure>~...~",   optional
//     "presentation": "<issuer-signed JWT>~<disclosure>~...~<KB-JWT>", optional
//     "issuer_jwk":   { "kty": "EC", "crv": "P-256", "x": ..., "y": ... },
//     "aud": "...", "nonce": "...",        what the KB-JWT must say
//     "now": 1790000000,                   the verifier's clock (seconds); default: now
//     "status_list_jwt": "<JWT>"           optional: the Token Status List the credential's
//                                          status.status_list.uri serves; without it the
//                                          status is not checked
//   }
// Output: {"credential": {"header": ..., "claims": ...},
//          "presentation": {"header": ..., "claims": ..., "kb": ...}}
// Exit status 1, with the reason on standard error, when anything fails.
import { readFileSync } from 'node:fs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

const { subtle } = globalThis.crypto;
const utf8 = new TextEncoder();
const fromB64u = (s) => new Uint8Array(Buffer.from(s, 'base64url'));

async function hasher(data, alg) {
  if (alg.toLowerCase() !== 'sha-256') throw new Error(`unsupported _sd_alg ${alg}`);
  const bytes = typeof data === 'string' ? utf8.encode(data) : new Uint8Array(data);
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

async function es256Verifier(jwk) {
  const { kty, crv, x, y } = jwk;
  if (kty !== 'EC' || crv !== 'P-256') throw new Error('only ES256 (P-256) keys are expected');
  const key = await subtle.importKey('jwk', { kty, crv, x, y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  // JWS ES256 signatures are r||s, the form WebCrypto verifies.
  return (data, sig) => subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, fromB64u(sig), utf8.encode(data));
}

async function main() {
  const input = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
  const issuerVerifier = await es256Verifier(input.issuer_jwk);
  const sdjwt = new SDJwtVcInstance({
    hasher,
    hashAlg: 'sha-256',
    verifier: issuerVerifier,
    // The KB-JWT is checked with the holder key the credential names.
    kbVerifier: async (data, sig, payload) => {
      if (!payload?.cnf?.jwk) throw new Error('credential has no cnf.jwk');
      return (await es256Verifier(payload.cnf.jwk))(data, sig);
    },
    statusVerifier: issuerVerifier,
    statusListFetcher: async () => {
      if (!input.status_list_jwt) throw new Error('no status list given');
      return input.status_list_jwt;
    },
  });
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const base = { currentDate: now, disableStatusVerification: !input.status_list_jwt };
  const out = {};
  if (input.credential) {
    const r = await sdjwt.verify(input.credential, base);
    // The library leaves these to its caller; SD-JWT VC requires them.
    if (r.header.typ !== 'dc+sd-jwt') throw new Error(`typ ${r.header.typ}`);
    if (typeof r.payload.vct !== 'string') throw new Error('no vct');
    out.credential = { header: r.header, claims: r.payload };
  }
  if (input.presentation) {
    if (!input.nonce || !input.aud) throw new Error('a presentation needs aud and nonce to check');
    const r = await sdjwt.verify(input.presentation, { ...base, keyBindingNonce: input.nonce });
    if (r.header.typ !== 'dc+sd-jwt') throw new Error(`typ ${r.header.typ}`);
    if (!r.kb) throw new Error('no key binding JWT');
    // The library checks the nonce and sd_hash but not the audience.
    if (r.kb.payload.aud !== input.aud) throw new Error(`KB-JWT aud ${r.kb.payload.aud}`);
    out.presentation = { header: r.header, claims: r.payload, kb: r.kb.payload };
  }
  if (!out.credential && !out.presentation) throw new Error('nothing to verify');
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`verify.mjs: ${err?.message ?? err}\n`);
  process.exit(1);
});
