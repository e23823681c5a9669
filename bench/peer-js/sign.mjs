// sign.mjs seals the same PDF with npm @libpdf/core (PAdES B-B,
// ETSI.CAdES.detached), in one Node process, and prints the time per
// signature against the floor in the same process: SHA-256 of the file and
// one ECDSA P-256 signature. It is the JavaScript counterpart of bench/peer
// (civitas and digitorus/pdfsign); bench/signing.sh runs both.
//
// The keys and certificates are made in memory for the run (WebCrypto keys,
// certificates built with pkijs/asn1js, which @libpdf/core depends on and
// package-lock.json pins); no key is ever written to disk. --out writes only
// the signed file (libpdf.pdf) and the CA's certificate (ca.pem), so that
// other verifiers can check the output.
//
// Usage, from bench/peer-js (after npm ci):
//   node sign.mjs --in FILE.pdf [--n 200] [--rounds 3] [--out DIR]
import { createHash, KeyObject, sign as nodeSign, webcrypto } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import v8 from "node:v8";
import vm from "node:vm";

import { CryptoKeySigner, PDF, version as libpdfVersion } from "@libpdf/core";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

const subtle = webcrypto.subtle;
const EC = { name: "ECDSA", namedCurve: "P-256" };

// A collection before each timed round, as bench/peer does (runtime.GC):
// expose V8's gc() without needing --expose-gc on the command line.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

function usage(msg) {
  if (msg) console.error(`sign.mjs: ${msg}`);
  console.error("usage: node sign.mjs --in FILE.pdf [--n 200] [--rounds 3] [--out DIR]");
  process.exit(2);
}

const { values: opts } = (() => {
  try {
    return parseArgs({
      options: {
        in: { type: "string" },
        n: { type: "string", default: "200" },
        rounds: { type: "string", default: "3" },
        out: { type: "string" },
      },
      strict: true,
    });
  } catch (e) {
    usage(e.message);
  }
})();
const n = Number(opts.n);
const rounds = Number(opts.rounds);
if (!opts.in || !Number.isInteger(n) || n < 1 || !Number.isInteger(rounds) || rounds < 1) usage();

// --- the throwaway PKI ---------------------------------------------------

// Random 120-bit serials: certificates of different runs must not share an
// issuer and serial (NSS, for pdfsig, refuses that).
function serial() {
  const b = webcrypto.getRandomValues(new Uint8Array(15));
  b[0] = (b[0] & 0x7f) | 0x01; // positive, and no leading zero octet
  return new asn1js.Integer({ valueHex: b.buffer });
}

// name is O=civitas bench, CN=cn, one attribute per RDN as Go writes it
// (pkijs' own encoder would put both in one multi-valued RDN).
function name(cn) {
  const rdn = (type, value) =>
    new asn1js.Set({
      value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), new asn1js.Utf8String({ value })] })],
    });
  const der = new asn1js.Sequence({ value: [rdn("2.5.4.10", "civitas bench"), rdn("2.5.4.3", cn)] }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}

// keyUsage as a DER BIT STRING: bits numbered from the most significant.
function keyUsage(bits) {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  let unused = 0;
  while (unused < 7 && !(v & (1 << unused))) unused++;
  return new pkijs.Extension({
    extnID: "2.5.29.15",
    critical: true,
    extnValue: new asn1js.BitString({ valueHex: new Uint8Array([v]).buffer, unusedBits: unused }).toBER(false),
  });
}

async function keyId(publicKey) {
  const raw = await subtle.exportKey("raw", publicKey); // the subjectPublicKey bits
  return new Uint8Array(await subtle.digest("SHA-1", raw));
}

async function certificate({ subject, issuer, publicKey, signingKey, ca, issuerKeyId }) {
  const now = Date.now();
  const c = new pkijs.Certificate();
  c.version = 2;
  c.serialNumber = serial();
  c.subject = name(subject);
  c.issuer = name(issuer);
  c.notBefore.value = new Date(now - 3600e3);
  c.notAfter.value = new Date(now + 24 * 3600e3);
  await c.subjectPublicKeyInfo.importKey(publicKey);
  const ski = await keyId(publicKey);
  c.extensions = [];
  if (ca) {
    c.extensions.push(
      new pkijs.Extension({
        extnID: "2.5.29.19",
        critical: true,
        extnValue: new pkijs.BasicConstraints({ cA: true }).toSchema().toBER(false),
      }),
      keyUsage([5, 6]), // keyCertSign, cRLSign
    );
  } else {
    c.extensions.push(keyUsage([0, 1])); // digitalSignature, nonRepudiation (contentCommitment)
  }
  c.extensions.push(
    new pkijs.Extension({
      extnID: "2.5.29.14",
      extnValue: new asn1js.OctetString({ valueHex: ski.buffer }).toBER(false),
    }),
    new pkijs.Extension({
      extnID: "2.5.29.35",
      extnValue: new pkijs.AuthorityKeyIdentifier({
        keyIdentifier: new asn1js.OctetString({ valueHex: (issuerKeyId ?? ski).buffer }),
      })
        .toSchema()
        .toBER(false),
    }),
  );
  await c.sign(signingKey, "SHA-256");
  return { der: new Uint8Array(c.toSchema(true).toBER(false)), ski };
}

async function newPKI() {
  const caKeys = await subtle.generateKey(EC, false, ["sign", "verify"]);
  const keys = await subtle.generateKey(EC, false, ["sign", "verify"]);
  const ca = await certificate({
    subject: "Bench CA", issuer: "Bench CA", publicKey: caKeys.publicKey, signingKey: caKeys.privateKey, ca: true,
  });
  const leaf = await certificate({
    subject: "Bench Seal", issuer: "Bench CA", publicKey: keys.publicKey, signingKey: caKeys.privateKey,
    issuerKeyId: ca.ski,
  });
  return { caDer: ca.der, leafDer: leaf.der, key: keys.privateKey };
}

function pem(der) {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
}

// --- timing ----------------------------------------------------------------

// measure times n calls of op after a collection, and returns ms per call.
async function measure(count, op) {
  gc();
  const start = performance.now();
  for (let i = 0; i < count; i++) await op();
  return (performance.now() - start) / count;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// --- the run ---------------------------------------------------------------

const input = new Uint8Array(await readFile(opts.in));
const inputSum = createHash("sha256").update(input).digest("hex");
const p = await newPKI();

// The floor: SHA-256 of the file and one ECDSA P-256 signature of the
// digest, with the signer's own key, through node:crypto (synchronous; the
// sign hashes the 32-byte digest once more, which costs nothing here). The
// WebCrypto path, the one @libpdf/core uses, is timed too: off one core its
// thread-pool hops show.
const nodeKey = KeyObject.from(p.key);
const floorNode = {
  name: "floor",
  note: "node:crypto: SHA-256 of the file + one ECDSA P-256 signature",
  op: async () => {
    const digest = createHash("sha256").update(input).digest();
    nodeSign("sha256", digest, nodeKey);
  },
};
const floorWeb = {
  name: "floor/web",
  note: "the same with crypto.subtle digest + sign, as @libpdf/core calls it",
  op: async () => {
    const digest = await subtle.digest("SHA-256", input);
    await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, p.key, digest);
  },
};

const signer = new CryptoKeySigner(p.key, p.leafDer, "EC", "ECDSA", [p.caDer]);
let last = null;
const libpdf = {
  name: "libpdf/core",
  note: `@libpdf/core ${libpdfVersion}, PAdES B-B, ETSI.CAdES.detached`,
  // Each signature starts from the unsigned bytes: parsing is part of
  // signing, as it is for pades.Sign and pdfsign in bench/peer.
  op: async () => {
    const doc = await PDF.load(input);
    const { bytes } = await doc.sign({ signer, level: "B-B" });
    last = bytes;
  },
};
const signers = [floorNode, floorWeb, libpdf];
for (const s of signers) s.per = [];

console.log(
  `${path.basename(opts.in)}: ${input.length} bytes; ${n} signatures per signer and round, ${rounds} rounds interleaved, median round; ` +
    `node ${process.version}, ${os.availableParallelism()} CPU(s) available to the process`,
);

// Sign once and describe the output; the verdict is civitas verify's, in
// bench/signing.sh.
try {
  const { bytes, warnings } = await (await PDF.load(input)).sign({ signer, level: "B-B" });
  last = bytes;
  const tail = Buffer.from(last.subarray(input.length)).toString("latin1");
  const sub = /\/SubFilter\s*\/([A-Za-z0-9.]+)/.exec(tail)?.[1] ?? "no SubFilter found";
  const kept = Buffer.compare(Buffer.from(last.subarray(0, input.length)), Buffer.from(input)) === 0;
  let line = `${sub}, ${last.length - input.length} bytes appended, ` +
    (kept ? "incremental update (the original bytes intact)" : "the original bytes were REWRITTEN");
  if (warnings?.length) line += `; warnings: ${warnings.map((w) => w.code ?? w.message).join(", ")}`;
  console.log(`  check ${libpdf.name.padEnd(11)} ${line}`);
} catch (e) {
  console.log(`  check ${libpdf.name.padEnd(11)} signing failed: ${e?.stack ?? e}`);
  process.exit(1);
}
if (opts.out) {
  await mkdir(opts.out, { recursive: true });
  await writeFile(path.join(opts.out, "libpdf.pdf"), last);
  await writeFile(path.join(opts.out, "ca.pem"), pem(p.caDer));
}

// Warm up (JIT, caches, the heap's size) before timing anything.
for (const s of signers) for (let i = 0; i < Math.max(Math.floor(n / 10), 3); i++) await s.op();
for (let r = 0; r < rounds; r++) for (const s of signers) s.per.push(await measure(n, s.op));

if (createHash("sha256").update(input).digest("hex") !== inputSum) {
  console.log("note: the input bytes changed while signing: figures are not of the same file");
}
const base = median(floorNode.per);
for (const s of signers) {
  const d = median(s.per);
  let line = `${s.name.padEnd(12)} ${d.toFixed(2).padStart(7)} ms/op`;
  if (s !== floorNode) line += `  ${(d / base).toFixed(2).padStart(5)}x floor`;
  if (s === libpdf) line += `, ${(d / median(floorWeb.per)).toFixed(2)}x floor/web`;
  line += `  (${s.note})`;
  console.log(line);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
