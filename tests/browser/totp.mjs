// One-time codes of an authenticator app (RFC 6238: SHA-1, 30 s, six
// digits), for the browser tests that turn one on.
import { createHmac } from 'node:crypto';

// totpAt is the code of the base32 secret for the 30-second step.
export function totpAt(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/\s+/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

// codes hands out one-time codes the server still accepts, each of a later
// 30-second step than the last, waiting when it must. The server accepts
// one step either side of its now, so a code of the step before now is
// good only until the current step ends: it is handed out only while at
// least 10 s of the step remain, for the code may reach the server
// seconds later on a busy machine (a code made at hh:mm:29.5 for the step
// before was refused at hh:mm:30.5). With past false it never hands out
// a step before now (an account that may have used it in another test).
export function codes(secret, { past = true } = {}) {
  let last = -1;
  return async () => {
    for (;;) {
      const t = Date.now() / 1000;
      const now = Math.floor(t / 30);
      const first = past && t - now * 30 < 20 ? now - 1 : now;
      const step = Math.max(last + 1, first);
      if (step <= now + 1) {
        last = step;
        return totpAt(secret, step);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
}
