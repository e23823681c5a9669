package oid4vc_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/oid4vc"
	"civitas/internal/sdjwt"
	"civitas/internal/sealed"
	"civitas/internal/statuslist"
)

const issuer = "https://civitas.test"

// env is the service on a real database, with a wallet of a few documents
// standing in for the real one (whose own tests prove its copies and
// checks; internal/app runs these protocols on the real wallet).
type env struct {
	t     testing.TB
	ctx   context.Context
	d     *db.DB
	clock *kernel.ManualClock
	w     *fakeWallet
	s     *oid4vc.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: dbtest.Open(t),
		clock: kernel.NewManualClock(time.Now()), w: newFakeWallet()}
	box, _ := sealed.New(bytes.Repeat([]byte{5}, sealed.KeySize))
	var err error
	e.s, err = oid4vc.New(oid4vc.Options{DB: e.d, Clock: e.clock, Box: box, Issuer: issuer + "/", Wallet: e.w})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// proofOf signs a proof of possession with key; change edits it first.
func proofOf(t testing.TB, key *ecdsa.PrivateKey, nonce string, now time.Time, change func(h *jose.Header, c map[string]any)) string {
	t.Helper()
	jwk, err := jose.PublicJWK(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := jose.Header{Alg: jose.ES256, Typ: oid4vc.ProofTyp, JWK: &jwk}
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

// fakeWallet holds documents by ID, issues "copies" that name the
// document and the key's thumbprint, and checks fake presentations.
type fakeWallet struct {
	mu     sync.Mutex
	docs   map[string]fakeDoc
	copies []string // the copies issued
}

type fakeDoc struct {
	holder string // citizen ID
	oid4vc.Document
}

func newFakeWallet() *fakeWallet { return &fakeWallet{docs: map[string]fakeDoc{}} }

// add gives the person a document.
func (w *fakeWallet) add(holder string, d oid4vc.Document) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.docs[d.ID] = fakeDoc{holder: holder, Document: d}
}

func (w *fakeWallet) Types() []oid4vc.Type {
	langs := func(vi, en, ar string) map[string]string { return map[string]string{"vi": vi, "en": en, "ar": ar} }
	return []oid4vc.Type{
		{Code: "health_insurance_card", VCT: issuer + "/wallet/types/health_insurance_card", Person: true,
			Names: langs("Thẻ BHYT", "Health insurance card", "بطاقة التأمين الصحي"),
			Claims: []oid4vc.Claim{
				{Name: "full_name", Required: true, Labels: langs("Họ và tên", "Full name", "الاسم الكامل")},
				{Name: "hospital", Labels: langs("Nơi KCB", "Hospital", "المستشفى")},
			}},
		{Code: "business_registration", VCT: issuer + "/wallet/types/business_registration",
			Names:  langs("Đăng ký kinh doanh", "Business registration", "تسجيل تجاري"),
			Claims: []oid4vc.Claim{{Name: "name", Required: true, Labels: langs("Tên", "Name", "الاسم")}}},
	}
}

func (w *fakeWallet) Document(_ context.Context, citizenID, id string) (oid4vc.Document, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.docs[id]
	if !ok || d.holder != citizenID {
		return oid4vc.Document{}, kernel.E(kernel.NotFound, "wallet.error.no_document")
	}
	return d.Document, nil
}

func (w *fakeWallet) NewestValid(_ context.Context, citizenID, typeCode string) (oid4vc.Document, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.docs {
		if d.holder == citizenID && d.Type == typeCode && d.Valid {
			return d.Document, nil
		}
	}
	return oid4vc.Document{}, kernel.E(kernel.NotFound, "oid4vc.error.no_valid_document")
}

func (w *fakeWallet) IssueCopy(ctx context.Context, citizenID, id string, key crypto.PublicKey) (string, error) {
	d, err := w.Document(ctx, citizenID, id)
	if err != nil {
		return "", err
	}
	if !d.Valid {
		return "", kernel.E(kernel.Conflict, "wallet.error.not_valid")
	}
	jwk, err := jose.PublicJWK(key)
	if err != nil {
		return "", kernel.E(kernel.Invalid, "oid4vc.error.bad_key")
	}
	jkt, _ := jwk.Thumbprint()
	cred := "copy:" + id + ":" + jkt
	w.mu.Lock()
	w.copies = append(w.copies, cred)
	w.mu.Unlock()
	return cred, nil
}

// fakePresentation is what a fake presentation says of itself.
type fakePresentation struct {
	Audience string            `json:"aud,omitempty"` // key binding: none when empty
	Nonce    string            `json:"nonce,omitempty"`
	Type     string            `json:"type"`
	Agency   string            `json:"agency"`
	Claims   map[string]any    `json:"claims"`
	Status   statuslist.Status `json:"status"`
}

// fakePresent makes a fake presentation: "fake~" and its JSON, base64url.
func fakePresent(p fakePresentation) string {
	b, _ := json.Marshal(p)
	return "fake~" + base64.RawURLEncoding.EncodeToString(b)
}

// Verify reads a fake presentation and checks its key binding as the real
// wallet does: a presentation for another audience or nonce, or without
// one when one is expected, does not verify.
func (w *fakeWallet) Verify(_ context.Context, presentation string, kb *sdjwt.ExpectKeyBinding) (oid4vc.Presented, error) {
	bad := kernel.E(kernel.Invalid, "wallet.error.invalid_presentation")
	raw, ok := strings.CutPrefix(presentation, "fake~")
	if !ok {
		return oid4vc.Presented{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return oid4vc.Presented{}, bad
	}
	var p fakePresentation
	if err := json.Unmarshal(b, &p); err != nil {
		return oid4vc.Presented{}, bad
	}
	if kb != nil && (p.Audience != kb.Audience || p.Nonce != kb.Nonce) {
		return oid4vc.Presented{}, bad
	}
	return oid4vc.Presented{Type: p.Type, Agency: p.Agency, Claims: p.Claims, Status: p.Status, KeyBound: p.Audience != "",
		IssuedAt: time.Unix(1700000000, 0).UTC(), ExpiresAt: time.Unix(1900000000, 0).UTC()}, nil
}
