// Makes the relying party's ES256 key: node keygen.mjs PRIVATE.json PUBLIC_JWKS.json
import { writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = randomUUID();
writeFileSync(process.argv[2], JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256' }), { mode: 0o600 });
writeFileSync(process.argv[3], JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] }));
