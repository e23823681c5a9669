package pki_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/audit"
	"civitas/internal/kernel"
	"civitas/internal/pki"
)

var operatorCtx = kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "cli:keys"})

// The operator rotates the TSA, OCSP and audit seal certificates from a
// process of their own while a server runs: the server takes the new ones
// at its next poll, answers OCSP and time-stamps with them, serves them at
// /pki/ca/, and what the old ones signed — checkpoints sealed and stamped
// before — still verifies. Each rotation is audited.
func TestRotateServiceCertificates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	srv := e.serve(e.s)
	leaf, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	citizens, _ := e.s.CA(pki.Citizens)
	ocspSigner := func() *x509.Certificate {
		t.Helper()
		req, _ := xocsp.CreateRequest(leaf.Cert, citizens.Cert, nil)
		resp, err := http.Post(srv.URL+"/pki/ocsp", "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		der, _ := io.ReadAll(resp.Body)
		r, err := xocsp.ParseResponseForCert(der, leaf.Cert, citizens.Cert)
		if err != nil || r.Status != xocsp.Good || r.Certificate == nil {
			t.Fatalf("OCSP answer: %v %+v", err, r)
		}
		return r.Certificate
	}
	served := func(name string) *x509.Certificate {
		t.Helper()
		resp, err := http.Get(srv.URL + "/pki/ca/" + name + ".crt")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		der, _ := io.ReadAll(resp.Body)
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("/pki/ca/%s.crt: %v", name, err)
		}
		return c
	}
	oldOCSP := ocspSigner()
	before := map[string]*x509.Certificate{}
	for _, n := range pki.Services {
		before[n] = served(n)
	}
	// A stamper taken before the rotation, as the signing service keeps
	// the one it got at start-up.
	held := e.s.Stamper()
	if _, _, err := e.s.Checkpoint(ctx, held); err != nil {
		t.Fatal(err)
	}
	stampedBy := func(st pki.Stamper) *x509.Certificate {
		t.Helper()
		digest := sha256.Sum256([]byte("a document"))
		token, err := st.Stamp(ctx, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*x509.Certificate{before[pki.TSA], served(pki.TSA)} {
			if bytes.Contains(token, c.Raw) {
				return c
			}
		}
		t.Fatal("the time-stamp token carries neither TSA certificate")
		return nil
	}
	if !stampedBy(held).Equal(before[pki.TSA]) {
		t.Fatal("stamped by another TSA before the rotation")
	}

	operator := e.open(e.box) // the operator's command: another process
	if _, err := operator.RotateService(operatorCtx, pki.Root); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("rotating the root: %v", err)
	}
	rotated := map[string]pki.Rotated{}
	for _, n := range pki.Services {
		r, err := operator.RotateService(operatorCtx, n)
		if err != nil {
			t.Fatalf("rotate %s: %v", n, err)
		}
		if r.Serial == r.OldSerial || r.OldSerial == "" {
			t.Fatalf("rotate %s: %+v", n, r)
		}
		rotated[n] = r
	}
	// Until the server polls, it answers with what it loaded.
	if !ocspSigner().Equal(oldOCSP) {
		t.Fatal("the server changed its OCSP signer before polling: the test proves nothing")
	}
	if err := e.s.PollRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range pki.Services {
		c := served(n)
		if c.Equal(before[n]) || c.SerialNumber.Text(16) != rotated[n].Serial {
			t.Errorf("/pki/ca/%s.crt still serves the old certificate", n)
		}
		if c.Subject.String() != before[n].Subject.String() || c.Issuer.String() != before[n].Issuer.String() {
			t.Errorf("%s: the new certificate names %s by %s, the old %s by %s", n, c.Subject, c.Issuer, before[n].Subject, before[n].Issuer)
		}
	}
	if got := stampedBy(held); got.Equal(before[pki.TSA]) || got.SerialNumber.Text(16) != rotated[pki.TSA].Serial {
		t.Errorf("a stamper held since start-up stamps with %x, want the new TSA %s", got.SerialNumber, rotated[pki.TSA].Serial)
	}
	if got := ocspSigner(); got.Equal(oldOCSP) || got.SerialNumber.Text(16) != rotated[pki.OCSPCitizens].Serial {
		t.Errorf("OCSP answers are signed by %x, want the new signer %s", got.SerialNumber, rotated[pki.OCSPCitizens].Serial)
	}
	// A checkpoint after the rotation: sealed by the new audit seal and
	// stamped by the new TSA; the one before still verifies.
	if _, err := e.s.IssueCitizen(ctx, "001090000003"); err != nil {
		t.Fatal(err)
	}
	cp, made, err := e.s.Checkpoint(ctx, e.s.Stamper())
	if err != nil || !made || cp.Signer != rotated[pki.AuditSeal].Serial {
		t.Fatalf("checkpoint after rotation: %+v %v %v", cp, made, err)
	}
	rep, err := pki.VerifyCheckpoints(ctx, e.d)
	if err != nil || rep.Problem != "" || rep.Checkpoints != 2 || rep.Stamped != 2 {
		t.Fatalf("checkpoints across the rotation: %+v %v", rep, err)
	}
	recs, err := audit.List(ctx, e.d, audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Action == "pki.ca.rotate" {
			n++
			if r.ActorKind != string(kernel.ActorOperator) {
				t.Errorf("rotation audited as %s", r.ActorKind)
			}
		}
	}
	if n != len(pki.Services) {
		t.Errorf("%d rotations audited, want %d", n, len(pki.Services))
	}
}

// A seal rotation gives the agency a new seal that signs from now on; the
// old one stays valid and published, so what it signed still verifies.
func TestRotateSeal(t *testing.T) {
	e := newEnv(t)
	s, err := pki.New(context.Background(), pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock},
		Holders: people, Organisations: orgs{}})
	if err != nil {
		t.Fatal(err)
	}
	_, chainBefore, err := s.Seal(operatorCtx, "UB-01")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second) // the newest seal is the one issued last
	r, err := s.RotateSeal(operatorCtx, "UB-01")
	if err != nil || r.OldSerial != chainBefore[0].SerialNumber.Text(16) {
		t.Fatalf("rotate seal: %+v %v", r, err)
	}
	_, chainAfter, err := s.Seal(operatorCtx, "UB-01")
	if err != nil || chainAfter[0].SerialNumber.Text(16) != r.Serial {
		t.Fatalf("the seal after rotation is %x, want %s (%v)", chainAfter[0].SerialNumber, r.Serial, err)
	}
	seals, err := s.Seals(operatorCtx)
	if err != nil || len(seals) != 2 {
		t.Fatalf("published seals after rotation: %d %v", len(seals), err)
	}
	if st, _ := s.Status(operatorCtx, pki.Officials, chainBefore[0].SerialNumber); st.State != pki.Good {
		t.Errorf("the old seal is %v after rotation", st.State)
	}
	if _, err := s.RotateSeal(operatorCtx, "UB-09"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Errorf("rotating the seal of an unknown agency: %v", err)
	}
}
