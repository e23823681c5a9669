package oid4vc_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/oid4vc"
)

// TestCheckProof: only a fresh proof for this issuer, signed by the key it
// names, with a nonce of ours used once, proves a key.
func TestCheckProof(t *testing.T) {
	e := newEnv(t)
	key, other := newKey(t), newKey(t)
	now := e.clock.Now()
	nonce := func() string {
		n, err := e.s.NewNonce(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	used := nonce()
	if _, err := e.s.CheckProof(e.ctx, proofOf(t, key, used, now, nil)); err != nil {
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
			got, err := e.s.CheckProof(e.ctx, tc.proof())
			e.clock.Set(at)
			if tc.code == "" {
				if err != nil || !got.Equal(&key.PublicKey) {
					t.Fatalf("got %v %v", got, err)
				}
				return
			}
			pe, ok := err.(*oid4vc.ProtocolError)
			if !ok || pe.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// TestOfferDocument: a holder offers a valid document of theirs: a link
// with the issuer, the configuration and the pre-authorized code, the
// transaction code beside it (never in it), details for the provider that
// name the document and not the person; a stranger's, an organisation's
// type and an invalid document are refused; each offer is audited.
func TestOfferDocument(t *testing.T) {
	e := newEnv(t)
	const holder, stranger = "001080000001", "001080000002"
	e.w.add(holder, oid4vc.Document{ID: "doc-1", Type: "health_insurance_card", Agency: "BHXH", Valid: true})
	e.w.add(holder, oid4vc.Document{ID: "doc-org", Type: "business_registration", Agency: "SKHDT", Valid: true})
	e.w.add(holder, oid4vc.Document{ID: "doc-old", Type: "health_insurance_card", Agency: "BHXH", Valid: false})
	var gotDetails json.RawMessage
	var gotTx string
	preauth := func(_ context.Context, details json.RawMessage, tx string) (string, time.Time, error) {
		gotDetails, gotTx = details, tx
		return "code-123", e.clock.Now().Add(5 * time.Minute), nil
	}
	offer, err := e.s.OfferDocument(e.ctx, holder, "doc-1", oid4vc.OfferOptions{TxCode: true, TxCodeDescription: strings.Repeat("x", 400)}, preauth)
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
	g := obj.Grants[oid4vc.PreAuthorizedGrant]
	if obj.Issuer != issuer || len(obj.IDs) != 1 || obj.IDs[0] != "health_insurance_card" || g.Code != "code-123" || g.TxCode["length"] != float64(6) ||
		len([]rune(g.TxCode["description"].(string))) != 300 || offer.Configuration != "health_insurance_card" || offer.PreAuthorizedCode != "code-123" {
		t.Fatalf("offer %s", u.Query().Get("credential_offer"))
	}
	if len(offer.TxCode) != 6 || gotTx != offer.TxCode || strings.Contains(offer.URI, offer.TxCode) {
		t.Fatalf("tx code %q (given to the provider %q) or in the link", offer.TxCode, gotTx)
	}
	if !strings.Contains(string(gotDetails), "doc-1") || strings.Contains(string(gotDetails), holder) {
		t.Fatalf("details %s", gotDetails)
	}
	if plain, err := e.s.OfferDocument(e.ctx, holder, "doc-1", oid4vc.OfferOptions{}, preauth); err != nil || plain.TxCode != "" || gotTx != "" ||
		strings.Contains(string(plain.Object), "tx_code") {
		t.Fatalf("an offer without a transaction code: %+v %v", plain, err)
	}
	for _, tc := range []struct {
		name, holder, id string
		code             kernel.Code
	}{
		{"fail/a stranger's", stranger, "doc-1", kernel.NotFound},
		{"fail/no such document", holder, "nope", kernel.NotFound},
		{"fail/an organisation's type", holder, "doc-org", kernel.Invalid},
		{"fail/no longer valid", holder, "doc-old", kernel.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.s.OfferDocument(e.ctx, tc.holder, tc.id, oid4vc.OfferOptions{}, preauth); kernel.ErrorCode(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.oid4vci.offer' AND subject_id = 'doc-1' AND details NOT LIKE ?`,
		"%"+holder+"%").Scan(&n); err != nil || n != 2 {
		t.Fatalf("offers audited without the holder: %d %v", n, err)
	}
}

// TestCredentialIssuerMetadata: a configuration per person type, with its
// vct, scope, proof type and labels in three languages.
func TestCredentialIssuerMetadata(t *testing.T) {
	e := newEnv(t)
	md := e.s.CredentialIssuerMetadata(map[string]string{"vi": "Ví", "en": "Wallet", "ar": "محفظة"})
	if md.CredentialIssuer != issuer || md.CredentialEnd != issuer+oid4vc.CredentialPath || md.NonceEndpoint != issuer+oid4vc.NoncePath || len(md.Display) != 3 {
		t.Fatalf("metadata %+v", md)
	}
	c, ok := md.Configurations["health_insurance_card"]
	if !ok || c.Format != "dc+sd-jwt" || c.VCT != issuer+"/wallet/types/health_insurance_card" || c.Scope != oid4vc.CredentialScope("health_insurance_card") ||
		c.ProofTypes["jwt"].SigningAlgs[0] != "ES256" || len(c.Metadata.Display) != 3 || len(c.Metadata.Claims) != 2 ||
		c.Metadata.Claims[0].Display[1].Name != "Full name" || !c.Metadata.Claims[0].Mandatory || c.Metadata.Claims[1].Mandatory {
		t.Fatalf("health insurance card: %+v", c)
	}
	if _, ok := md.Configurations["business_registration"]; ok {
		t.Fatal("an organisation's type offered to outside wallets")
	}
}
