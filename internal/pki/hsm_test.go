package pki_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/pki/pkcs11"
	"civitas/internal/sealed"
)

// openToken logs in to the SoftHSM2 token .ci/softhsm made; without one the
// test is skipped (go test ./... on a machine without SoftHSM2), but .ci/run
// always makes one.
func openToken(t testing.TB) *pkcs11.Token {
	t.Helper()
	c := pkcs11.Config{Module: os.Getenv("CIVITAS_TEST_PKCS11_MODULE"), TokenLabel: os.Getenv("CIVITAS_TEST_PKCS11_TOKEN"), PIN: os.Getenv("CIVITAS_TEST_PKCS11_PIN")}
	if c.Module == "" {
		t.Skip("no PKCS#11 token: eval \"$(bash .ci/softhsm)\" first")
	}
	tok, err := pkcs11.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tok.Close() })
	return tok
}

// The whole hierarchy and a citizen's key live in the token: the database
// holds labels only, the chain verifies, and after a restart the CA finds
// its keys again in the token.
func TestHierarchyOnPKCS11(t *testing.T) {
	tok := openToken(t)
	ctx := context.Background()
	d := dbtest.Open(t)
	clock := kernel.NewManualClock(time.Now())
	box, _ := sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	soft := pki.Software{DB: d, Box: box, Clock: clock}
	hsm := pki.PKCS11{DB: d, Token: tok, Clock: clock}
	open := func(keys pki.KeyBackend) *pki.Service {
		s, err := pki.New(ctx, pki.Options{DB: d, Clock: clock, Keys: keys, PublicURL: "http://localhost:8080", Holders: people})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(pki.KeyRing{DB: d, New: hsm, Backends: []pki.KeyBackend{soft, hsm}})
	if _, err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}

	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM pki_keys WHERE backend = 'pkcs11' AND private_sealed = ''`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Errorf("%d keys in the token, want the hierarchy's and the citizen's", n)
	}
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM pki_keys WHERE backend <> 'pkcs11' OR private_sealed <> ''`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d keys outside the token (%v)", n, err)
	}

	// A new process finds the keys in the token and signs with them.
	s = open(pki.KeyRing{DB: d, New: soft, Backends: []pki.KeyBackend{soft, hsm}})
	if !s.Ready() {
		t.Fatal("hierarchy not found again in the token")
	}
	root, _ := s.CA(pki.Root)
	citizens, _ := s.CA(pki.Citizens)
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root.Cert)
	inter.AddCert(citizens.Cert)
	if _, err := issued.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("citizen certificate from the token does not chain: %v", err)
	}
	if err := s.Revoke(ctx, issued.Cert.SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	der, err := s.CRL(ctx, pki.Citizens)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil || crl.CheckSignatureFrom(citizens.Cert) != nil || len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("CRL signed in the token: %v", err)
	}

	// Without the token configured, the CA says where its keys are.
	_, err = pki.New(ctx, pki.Options{DB: d, Clock: clock, Keys: pki.KeyRing{DB: d, New: soft, Backends: []pki.KeyBackend{soft}}})
	if err == nil || !strings.Contains(err.Error(), "pkcs11 backend, which is not configured") {
		t.Fatalf("CA opened without its token: %v", err)
	}
}
