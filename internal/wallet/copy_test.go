package wallet_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestIssueCopy: the copy of a holder's valid document issued to an
// outside wallet (OpenID4VCI) is bound to its key, carries the same claims
// and the same status entry, so revoking the document revokes it.
func TestIssueCopy(t *testing.T) {
	e := newEnv(t)
	insurance := e.agency(registry.SocialInsurance)
	p, stranger := e.person(0), e.person(1)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	other := wallet.Holder{Kind: wallet.HolderPerson, ID: stranger.CitizenID}
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	cred, d, err := e.w.IssueCopy(e.ctx, h, doc.ID, &key.PublicKey)
	if err != nil || d.ID != doc.ID {
		t.Fatal(err)
	}
	if _, _, err := e.w.IssueCopy(e.ctx, other, doc.ID, &key.PublicKey); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a copy of another holder's document: %v", err)
	}
	v, err := sdjwt.Verify(e.ctx, cred, sdjwt.VerifyOptions{Key: e.w.IssuerKey, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := sdjwt.Verify(e.ctx, doc.Credential, sdjwt.VerifyOptions{Key: e.w.IssuerKey, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := jose.PublicJWK(&key.PublicKey)
	wantT, _ := want.Thumbprint()
	gotT, _ := v.Holder.Thumbprint()
	origT, _ := orig.Holder.Thumbprint()
	if gotT != wantT || origT == wantT {
		t.Fatalf("copy bound to %+v, want %+v", v.Holder, want)
	}
	if *v.Status != *orig.Status || !v.Expiry.Equal(orig.Expiry) || v.VCT != orig.VCT || v.KeyID != orig.KeyID {
		t.Fatalf("copy %+v, original %+v", v, orig)
	}
	for k, val := range doc.Claims {
		if v.Claims[k] != val {
			t.Errorf("claim %s: %v, want %v", k, v.Claims[k], val)
		}
	}
	if len(v.Disclosed) != len(doc.Claims) {
		t.Errorf("%d claims disclosable, want %d", len(v.Disclosed), len(doc.Claims))
	}
	// The outside wallet presents the copy with its own key.
	s, _ := sdjwt.Parse(cred)
	pres, err := s.Present(func(p []string) bool { return p[0] == "full_name" },
		&sdjwt.KeyBinding{Signer: key, Audience: "https://rp.test", Nonce: "n1", IssuedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	kb := &sdjwt.ExpectKeyBinding{Audience: "https://rp.test", Nonce: "n1"}
	if ver, err := e.w.Verify(e.ctx, pres, kb); err != nil || ver.Status != statuslist.Valid || !ver.KeyBound || len(ver.Claims) != 1 {
		t.Fatalf("presented copy: %+v %v", ver, err)
	}
	if err := e.w.SetStatus(e.ctx, insurance, doc.ID, wallet.StatusRevoked, "lost"); err != nil {
		t.Fatal(err)
	}
	if ver, err := e.w.Verify(e.ctx, pres, kb); err != nil || ver.Status != statuslist.Invalid {
		t.Fatalf("the copy of a revoked document: %v %v", ver.Status, err)
	}
	if _, _, err := e.w.IssueCopy(e.ctx, h, doc.ID, &key.PublicKey); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("a copy of a revoked document: %v", err)
	}
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.oid4vci.issue' AND details NOT LIKE ?`,
		"%"+p.FullName+"%").Scan(&n); err != nil || n != 1 {
		t.Fatalf("copy audited without claims: %d %v", n, err)
	}
}

// TestNewestValid: a holder's newest valid document of a type, and none
// once it is revoked.
func TestNewestValid(t *testing.T) {
	e := newEnv(t)
	insurance := e.agency(registry.SocialInsurance)
	p := e.person(0)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	if _, err := e.w.NewestValid(e.ctx, h, "health_insurance_card"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("none held: %v", err)
	}
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := e.w.NewestValid(e.ctx, h, "health_insurance_card"); err != nil || d.ID != doc.ID {
		t.Fatalf("newest valid: %+v %v", d, err)
	}
	if err := e.w.SetStatus(e.ctx, insurance, doc.ID, wallet.StatusRevoked, "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.NewestValid(e.ctx, h, "health_insurance_card"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("after revocation: %v", err)
	}
}
