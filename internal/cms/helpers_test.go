package cms_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/kernel"
	"civitas/internal/pki/pkitest"
	"civitas/internal/pki/tsa"
)

// testPKI is a pkitest.Hierarchy whose signer certifies the test's key:
// root → citizens' CA → signer, and root → officials' CA → TSA.
type testPKI struct{ *pkitest.Hierarchy }

// newTestPKI certifies key as the signer's. The CAs are valid since a day,
// the TSA since six hours, so that tests can stamp at times the signer's
// certificate no longer covers.
func newTestPKI(t testing.TB, key crypto.Signer) *testPKI {
	t.Helper()
	now := time.Now()
	return &testPKI{pkitest.NewHierarchy(t, pkitest.Options{
		CA:     []pkitest.Option{pkitest.WithValidity(now.Add(-24*time.Hour), now.Add(48*time.Hour))},
		Signer: signerOptions(key),
		TSA:    []pkitest.Option{pkitest.WithValidity(now.Add(-6*time.Hour), now.Add(24*time.Hour))},
	})}
}

// signerOptions certify key for e-mail protection, as S/MIME signers are.
func signerOptions(key crypto.Signer, opts ...pkitest.Option) []pkitest.Option {
	return append([]pkitest.Option{pkitest.WithKey(key), pkitest.WithTemplate(func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	})}, opts...)
}

// certify makes another signer's certificate for key under the citizens' CA.
func (p *testPKI) certify(t testing.TB, cn string, key crypto.Signer, opts ...pkitest.Option) *x509.Certificate {
	t.Helper()
	return p.Citizens.Signer(t, cn, signerOptions(key, opts...)...).Cert
}

func (p *testPKI) signOptions() cms.SignOptions {
	return cms.SignOptions{Certificate: p.Signer.Cert, Chain: []*x509.Certificate{p.Citizens.Cert}}
}

func (p *testPKI) verifyOptions() cms.VerifyOptions {
	return cms.VerifyOptions{Roots: p.Roots()}
}

// authority is the hierarchy's TSA, from civitas's own TSA code; clock is
// nil for the real time.
func (p *testPKI) authority(t testing.TB, clock func() time.Time) *tsa.Authority {
	t.Helper()
	return p.Authority(t, func(o *tsa.Options) { o.Clock = clock })
}

// stamp asks the TSA for a token over the SHA-256 digest.
func stamp(t testing.TB, a *tsa.Authority, digest []byte, certReq bool) []byte {
	t.Helper()
	return pkitest.Stamp(t, a.Respond, pkitest.StampQuery(digest, certReq))
}

// signatureStamp asks the TSA for a signature time-stamp for sig.
func signatureStamp(t testing.TB, a *tsa.Authority, sig []byte) []byte {
	t.Helper()
	v, err := cms.SignatureValue(sig)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(v)
	return stamp(t, a, d[:], true)
}

func sign(t testing.TB, digest []byte, key crypto.Signer, o cms.SignOptions) []byte {
	t.Helper()
	sig, err := cms.Sign(digest, key, o)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func randomContent(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum256(b []byte) []byte {
	d := sha256.Sum256(b)
	return d[:]
}

// wantReason checks that err is the package's coded error for reason.
func wantReason(t testing.TB, err, reason error) {
	t.Helper()
	if !errors.Is(err, reason) {
		t.Fatalf("error %v, want %v", err, reason)
	}
	if kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("error code %q, want invalid", kernel.ErrorCode(err))
	}
	if key, _ := kernel.ErrorKey(err); !strings.HasPrefix(key, "cms.error.") {
		t.Fatalf("message key %q", key)
	}
}
