package pkitest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/pki/pkitest"
)

// The hierarchy chains as a relying party checks it, each certificate with
// the profile its role needs.
func TestHierarchy(t *testing.T) {
	h := pkitest.NewHierarchy(t, pkitest.Options{})
	stranger := pkitest.NewRoot(t, "Somebody Else's Root")
	for _, tc := range []struct {
		name  string
		leaf  *x509.Certificate
		inter *x509.Certificate
		roots *x509.CertPool
		usage x509.ExtKeyUsage
		ok    bool
	}{
		{"ok/signer", h.Signer.Cert, h.Citizens.Cert, h.Roots(), x509.ExtKeyUsageAny, true},
		{"ok/tsa", h.TSA.Cert, h.Officials.Cert, h.Roots(), x509.ExtKeyUsageTimeStamping, true},
		{"ok/ocsp responder", h.OCSP.Cert, h.Citizens.Cert, h.Roots(), x509.ExtKeyUsageOCSPSigning, true},
		{"fail/signer under the wrong CA", h.Signer.Cert, h.Officials.Cert, h.Roots(), x509.ExtKeyUsageAny, false},
		{"fail/tsa is no OCSP responder", h.TSA.Cert, h.Officials.Cert, h.Roots(), x509.ExtKeyUsageOCSPSigning, false},
		{"fail/another root", h.Signer.Cert, h.Citizens.Cert, pkitest.Pool(stranger.Cert), x509.ExtKeyUsageAny, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.leaf.Verify(x509.VerifyOptions{Roots: tc.roots, Intermediates: pkitest.Pool(tc.inter), KeyUsages: []x509.ExtKeyUsage{tc.usage}})
			if (err == nil) != tc.ok {
				t.Fatalf("verify: %v, want ok %v", err, tc.ok)
			}
		})
	}
	critical := false
	for _, e := range h.TSA.Cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			critical = e.Critical
		}
	}
	if !critical {
		t.Error("the TSA's extended key usage is not critical (RFC 3161 §2.3)")
	}
	crl, err := x509.ParseRevocationList(h.CRL)
	if err != nil || crl.CheckSignatureFrom(h.Root.Cert) != nil {
		t.Fatalf("the root's CRL: %v", err)
	}
	if got := h.Chain(); len(got) != 2 || !got[0].Equal(h.Citizens.Cert) {
		t.Error("Chain is not the citizens' CA, then the root")
	}
}

func TestOptions(t *testing.T) {
	root := pkitest.NewRoot(t, "Root")
	key := pkitest.ECKey(t, elliptic.P384())
	from := time.Now().Add(-5 * time.Hour).Truncate(time.Second)
	p := root.Signer(t, "Trần Văn Bình", pkitest.WithKey(key), pkitest.WithSerial(big.NewInt(77)),
		pkitest.WithValidity(from, from.Add(time.Hour)),
		pkitest.WithTemplate(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection} }))
	if !key.PublicKey.Equal(p.Cert.PublicKey) || p.Key != crypto.Signer(key) {
		t.Error("WithKey: another key was certified")
	}
	if p.Cert.SerialNumber.Int64() != 77 || !p.Cert.NotBefore.Equal(from) || !p.Cert.NotAfter.Equal(from.Add(time.Hour)) {
		t.Errorf("serial %v, valid %v to %v", p.Cert.SerialNumber, p.Cert.NotBefore, p.Cert.NotAfter)
	}
	if len(p.Cert.ExtKeyUsage) != 1 || p.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageEmailProtection {
		t.Errorf("WithTemplate: EKU %v", p.Cert.ExtKeyUsage)
	}
	if a, b := pkitest.RSAKey(t, 1024), pkitest.RSAKey(t, 1024); a != b {
		t.Error("RSAKey made a second key of one size")
	}
	if s := pkitest.Serial(t); s.Sign() <= 0 || s.BitLen() != 127 {
		t.Errorf("serial %x", s)
	}
}

// responder answers good for every certificate, signed by the CA itself,
// or fails with err.
type responder struct {
	ca  pkitest.Party
	err error
}

func (r responder) Response(_ context.Context, req *xocsp.Request) ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	now := time.Now()
	return xocsp.CreateResponse(r.ca.Cert, r.ca.Cert, xocsp.Response{Status: xocsp.Good, SerialNumber: req.SerialNumber,
		ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, r.ca.Key)
}

// Evidence is the issuing CA's OCSP answer for a leaf and the root's CRL
// for a CA under it; a failing responder fails it.
func TestRevocation(t *testing.T) {
	h := pkitest.NewHierarchy(t, pkitest.Options{})
	rev := &pkitest.Revocation{Root: h.Root.Cert, CRL: h.CRL, Responders: map[*x509.Certificate]pkitest.Responder{h.Citizens.Cert: responder{ca: h.Citizens}}}
	ocsps, crls, err := rev.Evidence(context.Background(), []*x509.Certificate{h.Signer.Cert, h.Citizens.Cert, h.Root.Cert})
	if err != nil || len(ocsps) != 1 || len(crls) != 1 || !bytes.Equal(crls[0], h.CRL) || rev.Calls() != 1 {
		t.Fatalf("evidence: %d OCSP, %d CRL, %v", len(ocsps), len(crls), err)
	}
	if r, err := xocsp.ParseResponseForCert(ocsps[0], h.Signer.Cert, h.Citizens.Cert); err != nil || r.Status != xocsp.Good {
		t.Fatalf("OCSP answer: %v", err)
	}
	rev.Responders[h.Citizens.Cert] = responder{err: errors.New("responder down")}
	if _, _, err := rev.Evidence(context.Background(), []*x509.Certificate{h.Signer.Cert, h.Citizens.Cert}); err == nil {
		t.Fatal("a failing responder gave evidence")
	}
	_, req := pkitest.OCSPRequest(t, h.Signer.Cert, h.Citizens.Cert, crypto.SHA256)
	if req.SerialNumber.Cmp(h.Signer.Cert.SerialNumber) != 0 || req.HashAlgorithm != crypto.SHA256 {
		t.Errorf("request %+v", req)
	}
}

type status struct{ revoked bool }

func TestStatuses(t *testing.T) {
	var s pkitest.Statuses[status]
	ctx := context.Background()
	s.Set(big.NewInt(5), status{revoked: true})
	if st, err := s.Status(ctx, big.NewInt(5)); err != nil || !st.revoked {
		t.Fatalf("set status: %+v %v", st, err)
	}
	if st, err := s.Status(ctx, big.NewInt(6)); err != nil || st.revoked {
		t.Fatalf("unknown serial: %+v %v", st, err)
	}
	down := errors.New("store down")
	s.Fail(down)
	if _, err := s.Status(ctx, big.NewInt(5)); !errors.Is(err, down) {
		t.Fatalf("failing source: %v", err)
	}
	if s.Calls() != 3 {
		t.Errorf("%d calls counted, want 3", s.Calls())
	}
}

// Stamp returns the token of a granted response and fails the test on a
// rejection.
func TestStamp(t *testing.T) {
	digest := bytes.Repeat([]byte{1}, 32)
	q := pkitest.StampQuery(digest, true)
	granted := func(req []byte) []byte {
		var got pkitest.TimeStampReq
		if _, err := asn1.Unmarshal(req, &got); err != nil || !bytes.Equal(got.MessageImprint.HashedMessage, digest) || !bytes.Equal(got.CertReq.FullBytes, pkitest.True.FullBytes) {
			t.Fatalf("query %+v: %v", got, err)
		}
		der, _ := asn1.Marshal(pkitest.TimeStampResp{Token: asn1.RawValue{FullBytes: []byte{0x30, 0x00}}})
		return der
	}
	if tok := pkitest.Stamp(t, granted, q); !bytes.Equal(tok, []byte{0x30, 0x00}) {
		t.Fatalf("token %x", tok)
	}
	if der := pkitest.StampQuery(digest, false).DER(t); bytes.Contains(der, pkitest.True.FullBytes) {
		t.Error("certReq written when not asked")
	}
}
