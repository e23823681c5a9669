package pki_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"civitas/internal/audit"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/pki/pkitest"
)

// selfSigned makes a certificate of another hierarchy: a CA or not, valid
// from notBefore for a year.
func selfSigned(t *testing.T, name string, ca bool, notBefore time.Time) *x509.Certificate {
	t.Helper()
	return pkitest.NewRoot(t, name, pkitest.WithValidity(notBefore, notBefore.AddDate(1, 0, 0)),
		pkitest.WithTemplate(func(c *x509.Certificate) { c.IsCA = ca })).Cert
}

func TestAnchors(t *testing.T) {
	e := newEnv(t)
	ctx := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "ops"})
	a := pki.NewAnchors(e.d, e.clock)
	now := e.clock.Now()
	national := selfSigned(t, "Root CA quốc gia", true, now.Add(-time.Hour))
	root, _ := e.s.CA(pki.Root)

	// Ours is trusted before anything is imported; the national root not.
	verifies := func(c *x509.Certificate) bool {
		pool, _, err := a.Roots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err == nil
	}
	if !verifies(root.Cert) || verifies(national) {
		t.Fatal("before import: our root must verify, the national one not")
	}

	for _, tc := range []struct {
		name   string
		anchor string
		cert   *x509.Certificate
		code   kernel.Code
	}{
		{"fail/not a CA", "x", selfSigned(t, "leaf", false, now.Add(-time.Hour)), kernel.Invalid},
		{"fail/not yet valid", "x", selfSigned(t, "future", true, now.Add(time.Hour)), kernel.Invalid},
		{"fail/expired", "x", selfSigned(t, "old", true, now.AddDate(-2, 0, 0)), kernel.Invalid},
		{"fail/no name", "  ", national, kernel.Invalid},
		{"ok/national root", "Root CA quốc gia", national, ""},
		{"fail/twice", "again", national, kernel.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			an, err := a.Add(ctx, tc.anchor, tc.cert)
			if tc.code != "" {
				if kernel.ErrorCode(err) != tc.code {
					t.Fatalf("got %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil || an.Fingerprint != pki.Fingerprint(national) {
				t.Fatalf("%+v %v", an, err)
			}
		})
	}
	if !verifies(national) || !verifies(root.Cert) {
		t.Fatal("after import both roots must verify")
	}
	list, err := a.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "Root CA quốc gia" || !list[0].Cert.Equal(national) {
		t.Fatalf("list: %+v %v", list, err)
	}
	// Another process sees the same anchors.
	if l2, _ := pki.NewAnchors(e.d, e.clock).List(ctx); len(l2) != 1 {
		t.Fatalf("another store sees %d anchors", len(l2))
	}
	if err := a.Remove(ctx, "00"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("removing an unknown anchor: %v", err)
	}
	if err := a.Remove(ctx, pki.Fingerprint(national)); err != nil {
		t.Fatal(err)
	}
	if verifies(national) {
		t.Fatal("a removed anchor is still trusted")
	}
	var n int
	if err := e.d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action IN ('pki.anchor.add', 'pki.anchor.remove') AND actor_id = 'ops'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("audit records: %d %v", n, err)
	}
	if rep, err := audit.Verify(ctx, e.d); err != nil || !rep.OK() {
		t.Fatalf("audit chain: %+v %v", rep, err)
	}
}
