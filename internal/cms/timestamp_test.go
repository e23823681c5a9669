package cms_test

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pki/pkitest"
)

// CAdES-T: a signature time-stamp from civitas's TSA (internal/pki/tsa)
// over the signature value, added as an unsigned attribute.
func TestSignatureTimestamp(t *testing.T) {
	key := pkitest.ECKey(t, elliptic.P256())
	p := newTestPKI(t, key)
	a := p.authority(t, nil)
	content := randomContent(t, 2000)
	digest := sum256(content)
	o := p.signOptions()
	o.SigningTime = time.Now()
	sig := sign(t, digest, key, o)

	before := time.Now().Truncate(time.Microsecond)
	tok := signatureStamp(t, a, sig)
	after := time.Now()
	stamped, err := cms.AddTimestamp(sig, tok)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ok/verify", func(t *testing.T) {
		res, err := cms.Verify(stamped, digest, p.verifyOptions())
		if err != nil {
			t.Fatal(err)
		}
		ts := res.Timestamp
		if ts == nil {
			t.Fatal("no time-stamp in the result")
		}
		if ts.Time.Before(before) || ts.Time.After(after) {
			t.Errorf("time-stamp at %v, not between %v and %v", ts.Time, before, after)
		}
		if !ts.TSA.Equal(p.TSA.Cert) || !ts.Policy.Equal(pkitest.TSAPolicy) || ts.Accuracy != time.Second || ts.Hash != crypto.SHA256 ||
			ts.Serial.Sign() <= 0 || len(ts.Chains) != 1 || len(ts.Chains[0]) != 3 {
			t.Errorf("time-stamp %+v", ts)
		}
		v1, _ := cms.SignatureValue(sig)
		v2, _ := cms.SignatureValue(stamped)
		if !bytes.Equal(v1, v2) {
			t.Error("adding the time-stamp changed the signature value")
		}
	})

	t.Run("ok/openssl still verifies", func(t *testing.T) {
		pkitest.NeedOpenSSL(t)
		dir := t.TempDir()
		p7s := pkitest.WriteFile(t, dir, "sig.p7s", stamped)
		out := pkitest.OpenSSL(t, "cms", "-verify", "-binary", "-inform", "DER", "-in", p7s, "-content", pkitest.WriteFile(t, dir, "d", content),
			"-CAfile", pkitest.WritePEM(t, dir, "ca.pem", p.Root.Cert), "-purpose", "any", "-cades", "-out", os.DevNull)
		if !strings.Contains(out, "Verification successful") {
			t.Fatalf("openssl: %s", out)
		}
		if text := pkitest.OpenSSL(t, "cms", "-cmsout", "-print", "-inform", "DER", "-in", p7s); !strings.Contains(text, "id-smime-aa-timeStampToken") {
			t.Fatalf("openssl -print shows no time-stamp:\n%s", text)
		}
	})

	t.Run("ok/two time-stamps, the earlier counts", func(t *testing.T) {
		twice, err := cms.AddTimestamp(stamped, signatureStamp(t, a, sig))
		if err != nil {
			t.Fatal(err)
		}
		res, err := cms.Verify(twice, digest, p.verifyOptions())
		if err != nil {
			t.Fatal(err)
		}
		first, _ := cms.ParseTimestampToken(tok, sum256(must(cms.SignatureValue(sig))))
		if !res.Timestamp.Time.Equal(first.Time) {
			t.Errorf("time-stamp %v, want the first, %v", res.Timestamp.Time, first.Time)
		}
	})

	t.Run("ok/the chain is checked at the time-stamp's time", func(t *testing.T) {
		// A certificate that expired an hour ago, used two hours ago and
		// stamped then: valid at the time-stamp's time, not now.
		now := time.Now()
		old := p.certify(t, "Trần Thị B", key, pkitest.WithValidity(now.Add(-3*time.Hour), now.Add(-time.Hour)))
		sig := sign(t, digest, key, cms.SignOptions{Certificate: old, Chain: []*x509.Certificate{p.Citizens.Cert}})
		past := p.authority(t, func() time.Time { return now.Add(-2 * time.Hour) })
		stamped, err := cms.AddTimestamp(sig, signatureStamp(t, past, sig))
		if err != nil {
			t.Fatal(err)
		}
		res, err := cms.Verify(stamped, digest, p.verifyOptions())
		if err != nil {
			t.Fatal(err)
		}
		if d := now.Add(-2 * time.Hour).Sub(res.Timestamp.Time).Abs(); d > time.Second {
			t.Errorf("time-stamp at %v", res.Timestamp.Time)
		}
		o := p.verifyOptions()
		o.At = now
		_, err = cms.Verify(stamped, digest, o)
		wantReason(t, err, cms.ErrExpired)
		_, err = cms.Verify(sig, digest, p.verifyOptions())
		wantReason(t, err, cms.ErrExpired)
	})

	t.Run("fail/token for another imprint", func(t *testing.T) {
		other := stamp(t, a, sum256([]byte("another signature")), true)
		_, err := cms.AddTimestamp(sig, other)
		wantReason(t, err, cms.ErrImprintMismatch)
		forced, err := cms.AddTimestampUnchecked(sig, other)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cms.Verify(forced, digest, p.verifyOptions())
		wantReason(t, err, cms.ErrTimestamp)
	})

	t.Run("fail/token of another signature", func(t *testing.T) {
		otherSig := sign(t, digest, key, p.signOptions())
		_, err := cms.AddTimestamp(otherSig, tok)
		wantReason(t, err, cms.ErrImprintMismatch)
	})

	t.Run("fail/token changed", func(t *testing.T) {
		// One changed digit of genTime's year breaks the TSTInfo's digest.
		i := regexp.MustCompile(`\x18[\x0f-\x20]20[0-9]{2}`).FindIndex(tok)[0]
		bad := bytes.Clone(tok)
		bad[i+5] ^= 1
		_, err := cms.AddTimestamp(sig, bad)
		wantReason(t, err, cms.ErrDigestMismatch)
		forced, err := cms.AddTimestampUnchecked(sig, bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cms.Verify(forced, digest, p.verifyOptions())
		wantReason(t, err, cms.ErrTimestamp)
	})

	t.Run("fail/TSA not trusted", func(t *testing.T) {
		o := p.verifyOptions()
		o.TSARoots = pkitest.Pool(newTestPKI(t, pkitest.ECKey(t, elliptic.P256())).Root.Cert)
		_, err := cms.Verify(stamped, digest, o)
		wantReason(t, err, cms.ErrTimestamp)
	})

	t.Run("fail/token without the TSA's certificate", func(t *testing.T) {
		v, _ := cms.SignatureValue(sig)
		bare := stamp(t, a, sum256(v), false)
		_, err := cms.AddTimestamp(sig, bare)
		wantReason(t, err, cms.ErrSignerNotFound)
		if _, err := cms.ParseTimestampToken(bare, sum256(v), p.TSA.Cert); err != nil {
			t.Fatalf("with the TSA's certificate given: %v", err)
		}
	})
}

func TestParseTimestampToken(t *testing.T) {
	p := newTestPKI(t, pkitest.ECKey(t, elliptic.P256()))
	a := p.authority(t, nil)
	digest := sum256([]byte("a PDF's byte range"))
	tok := stamp(t, a, digest, true)
	if h, err := cms.TimestampHash(tok); err != nil || h != crypto.SHA256 {
		t.Fatalf("TimestampHash = %v, %v", h, err)
	}
	ts, err := cms.ParseTimestampToken(tok, digest)
	if err != nil {
		t.Fatal(err)
	}
	if !ts.TSA.Equal(p.TSA.Cert) || len(ts.Certificates) != 2 || time.Since(ts.Time) > time.Minute {
		t.Fatalf("token %+v", ts)
	}
	for _, tc := range []struct {
		name   string
		token  []byte
		digest []byte
		want   error
	}{
		{"fail/another digest", tok, sum256([]byte("another")), cms.ErrImprintMismatch},
		{"fail/a digest of another length", tok, make([]byte, 48), cms.ErrImprintMismatch},
		{"fail/trailing byte", append(bytes.Clone(tok), 0), digest, cms.ErrMalformed},
		{"fail/a signature, not a token", sign(t, digest, p.Signer.Key, p.signOptions()), digest, cms.ErrMalformed},
		{"fail/garbage", []byte("garbage"), digest, cms.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cms.ParseTimestampToken(tc.token, tc.digest)
			wantReason(t, err, tc.want)
		})
	}
}

// OpenSSL's TSA makes the tokens: with ESS signing-certificate v1 (SHA-1)
// and v2 (SHA-256), millisecond fractions and a full accuracy.
func TestOpenSSLTimestamp(t *testing.T) {
	pkitest.NeedOpenSSL(t)
	key := pkitest.ECKey(t, elliptic.P256())
	p := newTestPKI(t, key)
	content := randomContent(t, 300)
	digest := sum256(content)
	sig := sign(t, digest, key, p.signOptions())
	v, err := cms.SignatureValue(sig)
	if err != nil {
		t.Fatal(err)
	}
	for _, essAlg := range []string{"sha1", "sha256"} {
		t.Run("ok/ess-"+essAlg, func(t *testing.T) {
			dir := t.TempDir()
			pkitest.WriteFile(t, dir, "serial", []byte("01\n"))
			pkitest.WritePEM(t, dir, "tsa.pem", p.TSA.Cert)
			pkitest.WritePEM(t, dir, "chain.pem", p.Officials.Cert)
			pkitest.WriteKey(t, dir, "tsakey.pem", p.TSA.Key)
			conf := fmt.Sprintf(`[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = %s
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/chain.pem
signer_key = $dir/tsakey.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = %s
`, dir, essAlg)
			cnf := pkitest.WriteFile(t, dir, "tsa.cnf", []byte(conf))
			data := pkitest.WriteFile(t, dir, "sigvalue", v)
			tsq, tok := filepath.Join(dir, "req.tsq"), filepath.Join(dir, "token.der")
			pkitest.OpenSSL(t, "ts", "-query", "-data", data, "-sha384", "-cert", "-out", tsq)
			pkitest.OpenSSL(t, "ts", "-reply", "-config", cnf, "-queryfile", tsq, "-token_out", "-out", tok)
			token, err := os.ReadFile(tok)
			if err != nil {
				t.Fatal(err)
			}
			if h, err := cms.TimestampHash(token); err != nil || h != crypto.SHA384 {
				t.Fatalf("TimestampHash = %v, %v", h, err)
			}
			stamped, err := cms.AddTimestamp(sig, token)
			if err != nil {
				t.Fatal(err)
			}
			res, err := cms.Verify(stamped, digest, p.verifyOptions())
			if err != nil {
				t.Fatal(err)
			}
			ts := res.Timestamp
			if ts == nil || !ts.Policy.Equal(asn1.ObjectIdentifier{1, 2, 3, 4, 1}) || ts.Hash != crypto.SHA384 ||
				ts.Accuracy != time.Second+500*time.Millisecond+100*time.Microsecond || time.Since(ts.Time) > time.Minute {
				t.Fatalf("time-stamp %+v", ts)
			}
		})
	}
}
