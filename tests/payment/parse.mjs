// Reads VietQR payloads, one a line on standard input, with npm emvqr (an
// EMVCo merchant-presented QR parser nobody here wrote), which checks the
// CRC-16 of ID 63 and throws when it does not match. Writes one JSON
// object a line: what the parser read, or the error.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const emvqr = require('emvqr');

const input = readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
for (const payload of input) {
  try {
    const d = emvqr.decode(payload);
    const mai = d['38'].data;
    const extra = d['62'] ? d['62'].data : {};
    console.log(JSON.stringify({
      ok: true,
      format: d['00'].data,
      initiation: d['01'].data,
      guid: mai['00'].data,
      beneficiary: mai['01'].data,
      service: mai['02'].data,
      currency: d['53'].data,
      amount: d['54'] ? d['54'].data : '',
      country: d['58'].data,
      name: d['59'] ? d['59'].data : '',
      bill: extra['01'] ? extra['01'].data : '',
      purpose: extra['08'] ? extra['08'].data : '',
      crc: d['63'].data,
    }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
  }
}
