package cms_test

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/sha512"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pki/pkitest"
)

// FuzzVerify: whatever arrives, Verify and the other readers of a signature
// answer without panicking, and what Verify accepts is signed by a key of
// the test hierarchy over the digest it was given.
func FuzzVerify(f *testing.F) {
	key := pkitest.ECKey(f, elliptic.P256())
	p := newTestPKI(f, key)
	a := p.authority(f, nil)
	digest := sum256([]byte("fuzz"))
	sig := sign(f, digest, key, p.signOptions())
	stamped, err := cms.AddTimestamp(sig, signatureStamp(f, a, sig))
	if err != nil {
		f.Fatal(err)
	}
	// No RSA seed: generating an RSA key in a coverage-instrumented
	// worker takes longer than a short fuzzing run. A P-384 signature with
	// SHA-384 and a signing time gives the other branches instead.
	p384 := newTestPKI(f, pkitest.ECKey(f, elliptic.P384()))
	o384 := p384.signOptions()
	o384.Hash, o384.SigningTime = crypto.SHA384, time.Now()
	f.Add(sig)
	f.Add(stamped)
	d384 := sha512.Sum384([]byte("fuzz"))
	f.Add(sign(f, d384[:], p384.Signer.Key, o384))
	f.Add(append(bytes.Clone(sig), 0))
	f.Add(sig[:len(sig)-7])
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0x00, 0x00})
	o := p.verifyOptions()
	o.Intermediates = pkitest.Pool(p384.Root.Cert)
	token := stamp(f, a, digest, true)
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := cms.Verify(in, digest, o)
		if err == nil && (res == nil || res.Signer == nil || len(res.Chains) == 0) {
			t.Fatalf("accepted without a signer or chain: %+v", res)
		}
		if err != nil && res != nil {
			t.Fatal("a result with an error")
		}
		_, _ = cms.DigestAlgorithm(in)
		if _, err := cms.SignatureValue(in); err == nil {
			_, _ = cms.AddTimestamp(in, token)
		}
	})
}

// FuzzParseTimestampToken: no panic, and an accepted token stamps the digest.
func FuzzParseTimestampToken(f *testing.F) {
	p := newTestPKI(f, pkitest.ECKey(f, elliptic.P256()))
	a := p.authority(f, nil)
	digest := sum256([]byte("fuzz"))
	tok := stamp(f, a, digest, true)
	f.Add(tok)
	f.Add(stamp(f, a, digest, false))
	f.Add(append(bytes.Clone(tok), 0))
	f.Add(tok[:len(tok)/2])
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, err := cms.ParseTimestampToken(in, digest, p.TSA.Cert)
		if err == nil && (ts == nil || ts.TSA == nil || ts.Time.IsZero()) {
			t.Fatalf("accepted an incomplete token: %+v", ts)
		}
		_, _ = cms.TimestampHash(in)
	})
}
