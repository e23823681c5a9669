package wallet

import (
	"context"
	"crypto"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
)

// issuerKeys is the issuer's key set, rebuilt at most every keysTTL (a new
// seal appears within that), and at once when a kid is unknown.
type issuerKeys struct {
	mu    sync.Mutex
	set   jose.JWKSet
	byKid map[string]crypto.PublicKey
	at    time.Time
}

const keysTTL = 30 * time.Second

// JWKS is the issuer's public keys: every agency seal in use, with its
// certificate chain head (x5c) and the agency code, keyed by thumbprint.
func (s *Service) JWKS(ctx context.Context) (jose.JWKSet, error) {
	set, _, err := s.keys(ctx, false)
	return set, err
}

func (s *Service) keys(ctx context.Context, fresh bool) (jose.JWKSet, map[string]crypto.PublicKey, error) {
	k := &s.issuer
	k.mu.Lock()
	defer k.mu.Unlock()
	now := s.o.Clock.Now()
	if !fresh && k.byKid != nil && now.Sub(k.at) < keysTTL {
		return k.set, k.byKid, nil
	}
	seals, err := s.o.Seals.Seals(ctx)
	if err != nil {
		return jose.JWKSet{}, nil, err
	}
	set := jose.JWKSet{Keys: []jose.JWK{}}
	byKid := map[string]crypto.PublicKey{}
	for _, sc := range seals {
		jwk, err := jose.PublicJWK(sc.Cert.PublicKey)
		if err != nil {
			continue // a key type the JWS layer does not use
		}
		kid, err := jwk.Thumbprint()
		if err != nil {
			continue
		}
		jwk.Kid, jwk.Use = kid, "sig"
		jwk.X5C = []string{base64.StdEncoding.EncodeToString(sc.Cert.Raw)}
		set.Keys = append(set.Keys, jwk)
		byKid[kid] = sc.Cert.PublicKey
	}
	k.set, k.byKid, k.at = set, byKid, now
	return set, byKid, nil
}

// IssuerKey resolves a credential's signing key: iss must be this issuer
// and kid one of its seals. It is the sdjwt.KeyFunc of the wallet's own
// verifications.
func (s *Service) IssuerKey(ctx context.Context, iss, kid string) (crypto.PublicKey, error) {
	if iss != s.o.Issuer {
		return nil, kernel.E(kernel.Invalid, "wallet.error.untrusted_issuer")
	}
	_, byKid, err := s.keys(ctx, false)
	if err != nil {
		return nil, err
	}
	if key, ok := byKid[kid]; ok {
		return key, nil
	}
	if _, byKid, err = s.keys(ctx, true); err != nil {
		return nil, err
	}
	if key, ok := byKid[kid]; ok {
		return key, nil
	}
	return nil, kernel.E(kernel.Invalid, "wallet.error.unknown_key")
}

// IssuerMetadata is what /.well-known/jwt-vc-issuer serves (SD-JWT VC
// draft, JWT VC Issuer Metadata).
type IssuerMetadata struct {
	Issuer string      `json:"issuer"`
	JWKS   jose.JWKSet `json:"jwks"`
}

// Metadata returns the issuer metadata.
func (s *Service) Metadata(ctx context.Context) (IssuerMetadata, error) {
	set, err := s.JWKS(ctx)
	if err != nil {
		return IssuerMetadata{}, err
	}
	return IssuerMetadata{Issuer: s.o.Issuer, JWKS: set}, nil
}

// Verification is what a verifier learns of a presented document.
type Verification struct {
	Type      Type
	Agency    string         // the issuing agency's code
	Claims    map[string]any // only what the holder disclosed
	Disclosed []string       // their names
	IssuedAt  time.Time
	ExpiresAt time.Time
	Status    statuslist.Status
	KeyBound  bool // presented by its holder (key binding verified)
}

// Verify checks a presented document: signed by one of this issuer's
// seals, not expired, every disclosure belonging to it, and — when kb is
// set — presented by its holder for that audience and nonce; then its
// status. A document suspended or revoked verifies with that Status; the
// caller decides (a verifier page shows it failed).
func (s *Service) Verify(ctx context.Context, presentation string, kb *sdjwt.ExpectKeyBinding) (Verification, error) {
	v, err := sdjwt.Verify(ctx, presentation, sdjwt.VerifyOptions{Key: s.IssuerKey, Algs: []string{"ES256", "ES384", "RS256", "PS256"},
		Now: s.o.Clock.Now(), Leeway: time.Minute, KeyBinding: kb, Cache: s.sigCache})
	if err != nil {
		return Verification{}, kernel.E(kernel.Invalid, "wallet.error.invalid_presentation").WithCause(err)
	}
	code, _ := strings.CutPrefix(v.VCT, s.VCT(""))
	t, err := s.o.Catalogue.Type(code)
	if err != nil {
		return Verification{}, kernel.E(kernel.Invalid, "wallet.error.invalid_presentation").WithCause(err)
	}
	out := Verification{Type: t, Claims: map[string]any{}, IssuedAt: v.IssuedAt, ExpiresAt: v.Expiry, KeyBound: v.KeyBound}
	for k, val := range v.Claims {
		switch k {
		case "iss", "iat", "exp", "nbf", "vct", "cnf", "status":
		case "issuing_authority":
			out.Agency, _ = val.(string)
		default:
			out.Claims[k] = val
			out.Disclosed = append(out.Disclosed, k)
		}
	}
	if v.Status == nil {
		return Verification{}, kernel.E(kernel.Invalid, "wallet.error.invalid_presentation")
	}
	list, ok := s.listOf(v.Status.URI)
	if !ok {
		return Verification{}, kernel.E(kernel.Invalid, "wallet.error.invalid_presentation")
	}
	if out.Status, err = s.o.Status.Status(ctx, list, int(v.Status.Index)); err != nil {
		return Verification{}, err
	}
	return out, nil
}

// listOf is the id of one of this issuer's status lists from its URI.
func (s *Service) listOf(uri string) (string, bool) {
	list, ok := strings.CutPrefix(uri, s.o.Issuer+statuslist.PathPrefix)
	return list, ok && list != ""
}

// TypeMetadata is the SD-JWT VC Type Metadata of a document type, served
// at its vct: names and claim labels in each language, for wallets and
// verifiers to display.
type TypeMetadata struct {
	VCT     string         `json:"vct"`
	Name    string         `json:"name"`
	Display []TypeDisplay  `json:"display"`
	Claims  []ClaimDisplay `json:"claims"`
}

// TypeDisplay is a type's name in one language.
type TypeDisplay struct {
	Lang string `json:"lang"`
	Name string `json:"name"`
}

// ClaimDisplay is a claim's path, labels and disclosure rule.
type ClaimDisplay struct {
	Path    []string           `json:"path"`
	Display []ClaimDisplayLang `json:"display"`
	SD      string             `json:"sd"` // "always": every claim may be disclosed alone
}

// ClaimDisplayLang is a claim's label in one language.
type ClaimDisplayLang struct {
	Lang  string `json:"lang"`
	Label string `json:"label"`
}

// TypeMetadata returns the metadata of the type with that code.
func (s *Service) TypeMetadata(code string) (TypeMetadata, error) {
	t, err := s.o.Catalogue.Type(code)
	if err != nil {
		return TypeMetadata{}, err
	}
	md := TypeMetadata{VCT: s.VCT(code), Name: t.Name("en")}
	for _, l := range languages {
		md.Display = append(md.Display, TypeDisplay{Lang: l, Name: t.Name(l)})
	}
	for _, c := range t.Claims {
		cd := ClaimDisplay{Path: []string{c.Name}, SD: "always"}
		for _, l := range languages {
			cd.Display = append(cd.Display, ClaimDisplayLang{Lang: l, Label: c.Labels[l]})
		}
		md.Claims = append(md.Claims, cd)
	}
	return md, nil
}
