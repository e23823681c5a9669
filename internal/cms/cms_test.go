package cms_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"slices"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/kernel"
	"civitas/internal/pki/pkitest"
)

// The DER we write is read back with encoding/asn1 (pkitest.ParseSignedData)
// rather than our parser.

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidRSASHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

func TestSignVerify(t *testing.T) {
	rk := pkitest.RSAKey(t, 2048)
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("ICT", 7*3600))
	for _, tc := range []struct {
		name        string
		key         crypto.Signer
		hash        crypto.Hash
		signingTime time.Time
		sigAlg      asn1.ObjectIdentifier
	}{
		{"ok/ecdsa-p256/pades", pkitest.ECKey(t, elliptic.P256()), 0, time.Time{}, oidECDSASHA256},
		{"ok/ecdsa-p256/cades", pkitest.ECKey(t, elliptic.P256()), crypto.SHA256, at, oidECDSASHA256},
		{"ok/ecdsa-p384/sha384", pkitest.ECKey(t, elliptic.P384()), crypto.SHA384, at, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}},
		{"ok/ecdsa-p521/sha512", pkitest.ECKey(t, elliptic.P521()), crypto.SHA512, at, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}},
		{"ok/rsa-2048/sha256", rk, crypto.SHA256, at, oidRSASHA256},
		{"ok/rsa-2048/sha512", rk, crypto.SHA512, time.Time{}, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPKI(t, tc.key)
			o := p.signOptions()
			o.Hash, o.SigningTime = tc.hash, tc.signingTime
			h := cmp(tc.hash, crypto.SHA256)
			w := h.New()
			w.Write(randomContent(t, 1000))
			digest := w.Sum(nil)
			sig := sign(t, digest, tc.key, o)

			res, err := cms.Verify(sig, digest, p.verifyOptions())
			if err != nil {
				t.Fatal(err)
			}
			if !res.Signer.Equal(p.Signer.Cert) || res.Hash != h || len(res.Chains) != 1 || len(res.Chains[0]) != 3 || len(res.Certificates) != 2 || res.Timestamp != nil {
				t.Fatalf("result %+v", res)
			}
			if want := tc.signingTime.UTC().Truncate(time.Second); !res.SigningTime.Equal(want) {
				t.Errorf("signing time %v, want %v", res.SigningTime, want)
			}
			if got, err := cms.DigestAlgorithm(sig); err != nil || got != h {
				t.Errorf("DigestAlgorithm = %v, %v", got, err)
			}

			sd, attrs := pkitest.ParseSignedData(t, sig)
			si := sd.SignerInfos[0]
			if sd.Version != 1 || len(sd.DigestAlgorithms) != 1 || len(sd.EncapContentInfo.EContent.FullBytes) != 0 ||
				!sd.EncapContentInfo.EContentType.Equal(oidData) || len(sd.Certificates) != 2 {
				t.Errorf("SignedData %+v", sd)
			}
			if !bytes.Equal(sd.Certificates[0].FullBytes, lesser(p.Signer.Cert.Raw, p.Citizens.Cert.Raw)) {
				t.Error("certificates are not in DER SET OF order")
			}
			if si.Version != 1 || si.SID.Serial.Cmp(p.Signer.Cert.SerialNumber) != 0 || !bytes.Equal(si.SID.Issuer.FullBytes, p.Signer.Cert.RawIssuer) ||
				!si.SignatureAlgorithm.Algorithm.Equal(tc.sigAlg) || !si.DigestAlgorithm.Algorithm.Equal(sd.DigestAlgorithms[0].Algorithm) {
				t.Errorf("SignerInfo %+v", si)
			}
			if si.SignedAttrs.FullBytes[0] != 0xa0 {
				t.Errorf("signed attributes tag %#x", si.SignedAttrs.FullBytes[0])
			}
			// PAdES: no signing-time; every signature: content-type,
			// message-digest, signing-certificate-v2, in DER order.
			want := 3
			if !tc.signingTime.IsZero() {
				want = 4
			}
			if len(attrs) != want {
				t.Fatalf("%d signed attributes, want %d", len(attrs), want)
			}
			var raws [][]byte
			seen := map[string]bool{}
			for _, a := range attrs {
				der, _ := asn1.Marshal(a)
				raws = append(raws, der)
				seen[a.Type.String()] = true
			}
			for _, oid := range []asn1.ObjectIdentifier{oidContentType, oidMessageDigest, oidSigningCertV2} {
				if !seen[oid.String()] {
					t.Errorf("no %v attribute", oid)
				}
			}
			if seen[oidSigningTime.String()] == tc.signingTime.IsZero() {
				t.Errorf("signing-time present: %v, want %v", seen[oidSigningTime.String()], !tc.signingTime.IsZero())
			}
			if tc.hash == 0 && !sd.DigestAlgorithms[0].Algorithm.Equal(oidSHA256) {
				t.Errorf("default digest algorithm %v", sd.DigestAlgorithms[0].Algorithm)
			}
			if !slices.IsSortedFunc(raws, bytes.Compare) {
				t.Error("signed attributes are not in DER SET OF order")
			}
		})
	}
}

func cmp(h, def crypto.Hash) crypto.Hash {
	if h == 0 {
		return def
	}
	return h
}

// lesser returns the one of a and b that comes first in a DER SET OF.
func lesser(a, b []byte) []byte {
	if bytes.Compare(b, a) < 0 {
		return b
	}
	return a
}

// The remote-signing flow: the key signs Digest elsewhere, later.
func TestTwoPhase(t *testing.T) {
	key := pkitest.ECKey(t, elliptic.P256())
	p := newTestPKI(t, key)
	digest := sum256([]byte("Quyết định số 42/QĐ-UBND"))
	o := p.signOptions()
	o.SigningTime = time.Now()
	pending, err := cms.Prepare(digest, o)
	if err != nil {
		t.Fatal(err)
	}
	tbs := pending.ToBeSigned()
	if tbs[0] != 0x31 {
		t.Fatalf("ToBeSigned starts with %#x, want a SET", tbs[0])
	}
	if d := sha256.Sum256(tbs); !bytes.Equal(pending.Digest(), d[:]) {
		t.Fatal("Digest is not SHA-256(ToBeSigned)")
	}
	// Prepare is deterministic, so a service may call it again later.
	again, err := cms.Prepare(digest, o)
	if err != nil || !bytes.Equal(again.ToBeSigned(), tbs) {
		t.Fatal("Prepare gave other bytes for the same inputs")
	}

	t.Run("ok/asn1 signature", func(t *testing.T) {
		sigValue, err := ecdsa.SignASN1(rand.Reader, key, pending.Digest())
		if err != nil {
			t.Fatal(err)
		}
		sig, err := pending.Finish(sigValue)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Verify(sig, digest, p.verifyOptions()); err != nil {
			t.Fatal(err)
		}
		sd, _ := pkitest.ParseSignedData(t, sig)
		if got := sd.SignerInfos[0].SignedAttrs.FullBytes; got[0] != 0xa0 || !bytes.Equal(got[1:], tbs[1:]) {
			t.Fatal("signedAttrs are not ToBeSigned under [0]")
		}
	})
	t.Run("ok/raw r||s signature", func(t *testing.T) {
		r, s, err := ecdsa.Sign(rand.Reader, key, pending.Digest())
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 64)
		r.FillBytes(raw[:32])
		s.FillBytes(raw[32:])
		sig, err := pending.Finish(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Verify(sig, digest, p.verifyOptions()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fail/another key", func(t *testing.T) {
		other := pkitest.ECKey(t, elliptic.P256())
		sigValue, err := ecdsa.SignASN1(rand.Reader, other, pending.Digest())
		if err != nil {
			t.Fatal(err)
		}
		_, err = pending.Finish(sigValue)
		wantReason(t, err, cms.ErrBadSignature)
	})
	t.Run("fail/another digest", func(t *testing.T) {
		sigValue, err := ecdsa.SignASN1(rand.Reader, key, digest)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pending.Finish(sigValue)
		wantReason(t, err, cms.ErrBadSignature)
	})
	t.Run("fail/garbage", func(t *testing.T) {
		_, err := pending.Finish([]byte("not a signature"))
		wantReason(t, err, cms.ErrBadSignature)
	})
	t.Run("ok/SignWithKey", func(t *testing.T) {
		sig, err := pending.SignWithKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Verify(sig, digest, p.verifyOptions()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fail/SignWithKey another key", func(t *testing.T) {
		_, err := pending.SignWithKey(pkitest.ECKey(t, elliptic.P256()))
		wantReason(t, err, cms.ErrBadSignature)
	})
}

func TestPrepareOptions(t *testing.T) {
	p := newTestPKI(t, pkitest.ECKey(t, elliptic.P256()))
	p224 := pkitest.ECKey(t, elliptic.P224())
	weak := p.certify(t, "P-224", p224)
	for _, tc := range []struct {
		name   string
		digest []byte
		edit   func(*cms.SignOptions)
		want   error
	}{
		{"ok/defaults", sum256(nil), func(*cms.SignOptions) {}, nil},
		{"ok/other content type", sum256(nil), func(o *cms.SignOptions) { o.ContentType = asn1.ObjectIdentifier{1, 2, 3, 4} }, nil},
		{"fail/sha1", make([]byte, 20), func(o *cms.SignOptions) { o.Hash = crypto.SHA1 }, cms.ErrUnsupportedAlgorithm},
		{"fail/digest length", make([]byte, 20), func(*cms.SignOptions) {}, cms.ErrBadDigest},
		{"fail/sha384 with a sha256 digest", sum256(nil), func(o *cms.SignOptions) { o.Hash = crypto.SHA384 }, cms.ErrBadDigest},
		{"fail/p224 key", sum256(nil), func(o *cms.SignOptions) { o.Certificate = weak }, cms.ErrUnsupportedAlgorithm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.signOptions()
			tc.edit(&o)
			_, err := cms.Prepare(tc.digest, o)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, tc.want)
		})
	}
	t.Run("fail/no certificate", func(t *testing.T) {
		if _, err := cms.Prepare(sum256(nil), cms.SignOptions{}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("fail/signer is not the certificate's key", func(t *testing.T) {
		if _, err := cms.Sign(sum256(nil), pkitest.ECKey(t, elliptic.P256()), p.signOptions()); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("ok/other content type verifies", func(t *testing.T) {
		o := p.signOptions()
		o.ContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 99}
		sig := sign(t, sum256(nil), p.Signer.Key, o)
		if _, err := cms.Verify(sig, sum256(nil), p.verifyOptions()); err != nil {
			t.Fatal(err)
		}
		if sd, _ := pkitest.ParseSignedData(t, sig); sd.Version != 3 {
			t.Fatalf("version %d, want 3 for a content type other than id-data", sd.Version)
		}
	})
}

// flip returns der with the last byte of the first occurrence of part
// changed.
func flip(t *testing.T, der, part []byte) []byte {
	t.Helper()
	i := bytes.Index(der, part)
	if i < 0 {
		t.Fatal("part not found")
	}
	out := bytes.Clone(der)
	out[i+len(part)-1] ^= 1
	return out
}

func TestVerifyFailures(t *testing.T) {
	key := pkitest.ECKey(t, elliptic.P256())
	p := newTestPKI(t, key)
	content := randomContent(t, 4096)
	digest := sum256(content)
	sig := sign(t, digest, key, p.signOptions())
	sigValue, err := cms.SignatureValue(sig)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := asn1.Marshal(p.Signer.Cert.SerialNumber)
	sid := append(bytes.Clone(p.Signer.Cert.RawIssuer), serial...)
	idData, _ := asn1.Marshal(oidData)
	certHash := sha256.Sum256(p.Signer.Cert.Raw)

	// A certificate for the same key with another serial number: the
	// signature value is the same, only the ESS attribute tells them apart.
	twin := p.certify(t, "Nguyễn Văn A", key)
	pending, err := cms.Prepare(digest, cms.SignOptions{Certificate: twin})
	if err != nil {
		t.Fatal(err)
	}
	cms.SubstituteSigner(pending, p.Signer.Cert)
	substituted, err := pending.Finish(must(ecdsa.SignASN1(rand.Reader, key, pending.Digest())))
	if err != nil {
		t.Fatal(err)
	}

	otherRoot := newTestPKI(t, pkitest.ECKey(t, elliptic.P256()))
	for _, tc := range []struct {
		name   string
		sig    []byte
		digest []byte
		opts   func(*cms.VerifyOptions)
		want   error
	}{
		{"ok/as signed", sig, digest, nil, nil},
		{"ok/intermediates given", sig, digest, func(o *cms.VerifyOptions) { o.Intermediates = x509.NewCertPool() }, nil},
		{"fail/content changed", sig, sum256(append(content, 0)), nil, cms.ErrDigestMismatch},
		{"fail/digest of another length", sig, make([]byte, 48), nil, cms.ErrDigestMismatch},
		{"fail/signature value changed", flip(t, sig, sigValue), digest, nil, cms.ErrBadSignature},
		{"fail/sid names no certificate", flip(t, sig, sid), digest, nil, cms.ErrSignerNotFound},
		{"fail/eContentType changed", flip(t, sig, idData), digest, nil, cms.ErrContentTypeMismatch},
		{"fail/ESS hash changed", flip(t, sig, certHash[:]), digest, nil, cms.ErrSigningCertificateMismatch},
		{"fail/certificate substituted", substituted, digest, nil, cms.ErrSigningCertificateMismatch},
		{"fail/no roots", sig, digest, func(o *cms.VerifyOptions) { o.Roots = nil }, cms.ErrUntrusted},
		{"fail/another root", sig, digest, func(o *cms.VerifyOptions) { o.Roots = pkitest.Pool(otherRoot.Root.Cert) }, cms.ErrUntrusted},
		{"fail/expired", sig, digest, func(o *cms.VerifyOptions) { o.At = time.Now().Add(30 * 24 * time.Hour) }, cms.ErrExpired},
		{"fail/not yet valid", sig, digest, func(o *cms.VerifyOptions) { o.At = time.Now().Add(-30 * 24 * time.Hour) }, cms.ErrExpired},
		{"fail/key usage", sig, digest, func(o *cms.VerifyOptions) { o.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }, cms.ErrKeyUsage},
		{"fail/trailing byte", append(bytes.Clone(sig), 0), digest, nil, cms.ErrMalformed},
		{"fail/truncated", sig[:len(sig)-1], digest, nil, cms.ErrMalformed},
		{"fail/empty", nil, digest, nil, cms.ErrMalformed},
		{"fail/too large", make([]byte, cms.MaxSize+1), digest, nil, cms.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.verifyOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			res, err := cms.Verify(tc.sig, tc.digest, o)
			if tc.want == nil {
				if err != nil || !res.Signer.Equal(p.Signer.Cert) {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if res != nil {
				t.Error("a result with an error")
			}
			wantReason(t, err, tc.want)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A key backend's own coded error (a token that cannot sign now) reaches
// the caller with its code and message; any other failure of the key is
// internal.
func TestSignKeyFailure(t *testing.T) {
	key := pkitest.Key(t)
	p := newTestPKI(t, key)
	for _, tc := range []struct {
		name    string
		err     error
		code    kernel.Code
		message string
	}{
		{"fail/coded failure keeps its code", kernel.E(kernel.Unavailable, "error.unavailable"), kernel.Unavailable, "error.unavailable"},
		{"fail/plain failure is internal", errors.New("token unplugged"), kernel.Internal, "error.internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cms.Sign(sum256(nil), pkitest.FailingSigner{Signer: key, Err: tc.err}, p.signOptions())
			if got, _ := kernel.ErrorKey(err); kernel.ErrorCode(err) != tc.code || got != tc.message || !errors.Is(err, tc.err) {
				t.Fatalf("error %v: code %q key %q, want %q %q", err, kernel.ErrorCode(err), got, tc.code, tc.message)
			}
		})
	}
}
