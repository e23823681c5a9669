package wallet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
)

// proofOf signs a proof of possession with key; change edits it first.
func proofOf(t *testing.T, key *ecdsa.PrivateKey, nonce string, now time.Time, change func(h *jose.Header, c map[string]any)) string {
	t.Helper()
	jwk, err := jose.PublicJWK(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := jose.Header{Alg: jose.ES256, Typ: wallet.ProofTyp, JWK: &jwk}
	c := map[string]any{"aud": issuer, "iat": now.Unix(), "nonce": nonce}
	if change != nil {
		change(&h, c)
	}
	jwt, err := jose.SignJSON(key, h, c)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCheckProof: only a fresh proof for this issuer, signed by the key it
// names, with a nonce of ours used once, proves a key.
func TestCheckProof(t *testing.T) {
	e := newEnv(t)
	key, other := newKey(t), newKey(t)
	now := e.clock.Now()
	nonce := func() string {
		n, err := e.w.NewNonce(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	used := nonce()
	if _, err := e.w.CheckProof(e.ctx, proofOf(t, key, used, now, nil)); err != nil {
		t.Fatal(err)
	}
	expired := nonce()
	for _, tc := range []struct {
		name  string
		proof func() string
		code  string
	}{
		{"ok/fresh", func() string { return proofOf(t, key, nonce(), now, nil) }, ""},
		{"ok/aud as an array", func() string {
			return proofOf(t, key, nonce(), now, func(_ *jose.Header, c map[string]any) { c["aud"] = []string{"https://x.test", issuer} })
		}, ""},
		{"fail/nonce used before", func() string { return proofOf(t, key, used, now, nil) }, "invalid_nonce"},
		{"fail/nonce not ours", func() string { return proofOf(t, key, "made-up", now, nil) }, "invalid_nonce"},
		{"fail/no nonce", func() string { return proofOf(t, key, "", now, nil) }, "invalid_nonce"},
		{"fail/nonce expired", func() string {
			e.clock.Advance(6 * time.Minute) // put back after the check
			return proofOf(t, key, expired, e.clock.Now(), nil)
		}, "invalid_nonce"},
		{"fail/another audience", func() string {
			return proofOf(t, key, nonce(), now, func(_ *jose.Header, c map[string]any) { c["aud"] = "https://evil.test" })
		}, "invalid_proof"},
		{"fail/wrong typ", func() string {
			return proofOf(t, key, nonce(), now, func(h *jose.Header, _ map[string]any) { h.Typ = "JWT" })
		}, "invalid_proof"},
		{"fail/too old", func() string { return proofOf(t, key, nonce(), now.Add(-10*time.Minute), nil) }, "invalid_proof"},
		{"fail/from the future", func() string { return proofOf(t, key, nonce(), now.Add(10*time.Minute), nil) }, "invalid_proof"},
		{"fail/no iat", func() string {
			return proofOf(t, key, nonce(), now, func(_ *jose.Header, c map[string]any) { delete(c, "iat") })
		}, "invalid_proof"},
		{"fail/signed by another key than its jwk", func() string {
			jwk, _ := jose.PublicJWK(&other.PublicKey)
			return proofOf(t, key, nonce(), now, func(h *jose.Header, _ map[string]any) { h.JWK = &jwk })
		}, "invalid_proof"},
		{"fail/no jwk", func() string {
			return proofOf(t, key, nonce(), now, func(h *jose.Header, _ map[string]any) { h.JWK = nil; h.Kid = "k1" })
		}, "invalid_proof"},
		{"fail/jwk and kid", func() string {
			return proofOf(t, key, nonce(), now, func(h *jose.Header, _ map[string]any) { h.Kid = "k1" })
		}, "invalid_proof"},
		{"fail/not a JWS", func() string { return "a.b" }, "invalid_proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := e.clock.Now()
			got, err := e.w.CheckProof(e.ctx, tc.proof())
			e.clock.Set(at)
			if tc.code == "" {
				if err != nil || !got.Equal(&key.PublicKey) {
					t.Fatalf("got %v %v", got, err)
				}
				return
			}
			pe, ok := err.(*wallet.ProtocolError)
			if !ok || pe.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// TestOfferAndCopy: a holder offers a valid document of theirs; the copy
// issued to the outside wallet is bound to its key, carries the same
// claims and the same status entry, so revoking the document revokes it.
func TestOfferAndCopy(t *testing.T) {
	e := newEnv(t)
	insurance := e.agency(registry.SocialInsurance)
	p, stranger := e.person(0), e.person(1)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	other := wallet.Holder{Kind: wallet.HolderPerson, ID: stranger.CitizenID}
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	var gotDetails json.RawMessage
	var gotTx string
	preauth := func(_ context.Context, details json.RawMessage, tx string) (string, time.Time, error) {
		gotDetails, gotTx = details, tx
		return "code-123", e.clock.Now().Add(5 * time.Minute), nil
	}
	offer, err := e.w.OfferDocument(e.ctx, h, doc.ID, wallet.OfferOptions{TxCode: true, TxCodeDescription: "see the page"}, preauth)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(offer.URI)
	if err != nil || u.Scheme != "openid-credential-offer" {
		t.Fatalf("offer URI %q: %v", offer.URI, err)
	}
	var obj struct {
		Issuer string   `json:"credential_issuer"`
		IDs    []string `json:"credential_configuration_ids"`
		Grants map[string]struct {
			Code   string         `json:"pre-authorized_code"`
			TxCode map[string]any `json:"tx_code"`
		} `json:"grants"`
	}
	if err := json.Unmarshal([]byte(u.Query().Get("credential_offer")), &obj); err != nil {
		t.Fatal(err)
	}
	g := obj.Grants[wallet.PreAuthorizedGrant]
	if obj.Issuer != issuer || len(obj.IDs) != 1 || obj.IDs[0] != "health_insurance_card" || g.Code != "code-123" || g.TxCode["length"] != float64(6) {
		t.Fatalf("offer %s", u.Query().Get("credential_offer"))
	}
	if len(offer.TxCode) != 6 || gotTx != offer.TxCode || strings.Contains(offer.URI, offer.TxCode) {
		t.Fatalf("tx code %q (given to the provider %q) or in the link", offer.TxCode, gotTx)
	}
	if !strings.Contains(string(gotDetails), doc.ID) || strings.Contains(string(gotDetails), p.CitizenID) {
		t.Fatalf("details %s", gotDetails)
	}
	if _, err := e.w.OfferDocument(e.ctx, other, doc.ID, wallet.OfferOptions{}, preauth); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a stranger offers it: %v", err)
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
	if _, err := e.w.OfferDocument(e.ctx, h, doc.ID, wallet.OfferOptions{}, preauth); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("an offer of a revoked document: %v", err)
	}
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action IN ('wallet.oid4vci.offer', 'wallet.oid4vci.issue') AND details NOT LIKE ?`,
		"%"+p.FullName+"%").Scan(&n); err != nil || n != 2 {
		t.Fatalf("offer and copy audited without claims: %d %v", n, err)
	}
}

// TestCredentialIssuerMetadata: a configuration per person type, with its
// vct, scope, proof type and labels in three languages.
func TestCredentialIssuerMetadata(t *testing.T) {
	e := newEnv(t)
	md := e.w.CredentialIssuerMetadata(map[string]string{"vi": "Ví", "en": "Wallet", "ar": "محفظة"})
	if md.CredentialIssuer != issuer || md.CredentialEnd != issuer+wallet.CredentialPath || md.NonceEndpoint != issuer+wallet.NoncePath || len(md.Display) != 3 {
		t.Fatalf("metadata %+v", md)
	}
	c, ok := md.Configurations["health_insurance_card"]
	if !ok || c.Format != "dc+sd-jwt" || c.VCT != e.w.VCT("health_insurance_card") || c.Scope != wallet.CredentialScope("health_insurance_card") ||
		c.ProofTypes["jwt"].SigningAlgs[0] != "ES256" || len(c.Metadata.Display) != 3 || len(c.Metadata.Claims) == 0 {
		t.Fatalf("health insurance card: %+v", c)
	}
	if _, ok := md.Configurations["business_registration"]; ok {
		t.Fatal("an organisation's type offered to outside wallets")
	}
}
