package pki_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/pki"
	"civitas/internal/pki/pkitest"
)

// foreign is another hierarchy: a root and a leaf it certified, whose
// OCSP responder and CRL are on srv, answering as mode says.
type foreign struct {
	root, leaf *x509.Certificate
	rootKey    crypto.Signer
	mode       string // "ok", "ocsp-down", "forged"
}

func newForeign(t *testing.T, base string) *foreign {
	t.Helper()
	root := pkitest.NewRoot(t, "Foreign Root")
	leaf := root.Signer(t, "Foreign Signer", pkitest.WithTemplate(func(c *x509.Certificate) {
		c.OCSPServer, c.CRLDistributionPoints = []string{"ldap://nowhere/", base + "/ocsp"}, []string{base + "/crl"}
	}))
	return &foreign{root: root.Cert, leaf: leaf.Cert, rootKey: root.Key, mode: "ok"}
}

func (f *foreign) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	signer := f.rootKey
	if f.mode == "forged" {
		signer, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	switch r.URL.Path {
	case "/ocsp":
		if f.mode == "ocsp-down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if _, err := xocsp.ParseRequest(body); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		der, _ := xocsp.CreateResponse(f.root, f.root, xocsp.Response{Status: xocsp.Good, SerialNumber: f.leaf.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour)}, signer)
		w.Write(der)
	case "/crl":
		der, _ := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute),
			NextUpdate: time.Now().Add(time.Hour)}, f.root, signer)
		w.Write(der)
	default:
		http.NotFound(w, r)
	}
}

func TestFetcher(t *testing.T) {
	var f *foreign
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.ServeHTTP(w, r) }))
	defer srv.Close()
	f = newForeign(t, srv.URL)
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		mode        string
		max         int64
		ocsps, crls int
	}{
		{"ok/ocsp", "ok", 0, 1, 0},
		{"ok/crl when no responder answers", "ocsp-down", 0, 0, 1},
		{"fail/answers not signed by the issuer are dropped", "forged", 0, 0, 0},
		{"fail/answers over the limit are dropped", "ok", 16, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mode = tc.mode
			fe := pki.NewFetcher()
			fe.MaxBytes = tc.max
			ocsps, crls, err := fe.Evidence(ctx, []*x509.Certificate{f.leaf, f.root})
			if err != nil || len(ocsps) != tc.ocsps || len(crls) != tc.crls {
				t.Fatalf("%d OCSP, %d CRL, %v; want %d, %d", len(ocsps), len(crls), err, tc.ocsps, tc.crls)
			}
			for _, der := range ocsps {
				if r, err := xocsp.ParseResponseForCert(der, f.leaf, f.root); err != nil || r.Status != xocsp.Good {
					t.Fatalf("OCSP %v", err)
				}
			}
		})
	}
	// A cancelled validation stops asking.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := pki.NewFetcher().Evidence(cctx, []*x509.Certificate{f.leaf, f.root}); err == nil {
		t.Fatal("a cancelled context fetched on")
	}
}
