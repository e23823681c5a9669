package sdjwt

import (
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"civitas/internal/jose"
)

// KeyBinding is what the holder signs into a Key Binding JWT: the verifier
// it presents to and that verifier's nonce.
type KeyBinding struct {
	// Signer is the holder's key: the one the credential's cnf.jwk names.
	Signer   crypto.Signer
	Audience string // aud: the verifier
	Nonce    string // nonce: from the verifier, for freshness
	IssuedAt time.Time
}

// Present returns a presentation carrying only the Disclosures whose claim
// path keep accepts, in the credential's order. Keeping a claim also keeps
// the Disclosures of the claims that enclose it, without which it could not
// be placed. With kb, a Key Binding JWT (typ kb+jwt) over the presented
// SD-JWT is appended; without, the result ends with "~".
//
// keep sees a fresh copy of each path and may keep it; a nil keep
// presents no Disclosure.
func (s *SDJWT) Present(keep func(path []string) bool, kb *KeyBinding) (string, error) {
	if s.kb != "" {
		return "", errors.New("sdjwt: present: this is already a presentation")
	}
	kept := make([]bool, len(s.disclosures))
	for i, d := range s.disclosures {
		if keep == nil || !keep(slices.Clone(d.path)) {
			continue
		}
		for j := i; j >= 0 && !kept[j]; j = s.disclosures[j].parent {
			kept[j] = true
		}
	}
	var b strings.Builder
	b.WriteString(s.issuerJWT)
	b.WriteByte('~')
	for i, d := range s.disclosures {
		if kept[i] {
			b.WriteString(d.raw)
			b.WriteByte('~')
		}
	}
	if kb == nil {
		return b.String(), nil
	}
	jwt, err := s.keyBindingJWT(b.String(), kb)
	if err != nil {
		return "", err
	}
	b.WriteString(jwt)
	return b.String(), nil
}

func (s *SDJWT) keyBindingJWT(presented string, kb *KeyBinding) (string, error) {
	if kb.Signer == nil || kb.Audience == "" || kb.Nonce == "" || kb.IssuedAt.IsZero() {
		return "", errors.New("sdjwt: present: key binding needs Signer, Audience, Nonce and IssuedAt")
	}
	pub, err := jose.PublicJWK(kb.Signer.Public())
	if err != nil {
		return "", fmt.Errorf("sdjwt: present: %w", err)
	}
	// A KB-JWT under another key would only be refused by the verifier.
	if s.holder == nil {
		return "", errors.New("sdjwt: present: the credential has no holder key (cnf.jwk)")
	}
	want, err1 := s.holder.Thumbprint()
	got, err2 := pub.Thumbprint()
	if err1 != nil || err2 != nil || want != got {
		return "", errors.New("sdjwt: present: signer is not the credential's holder key")
	}
	alg, err := jose.AlgFor(kb.Signer.Public())
	if err != nil {
		return "", fmt.Errorf("sdjwt: present: %w", err)
	}
	claims := struct {
		IssuedAt int64  `json:"iat"`
		Audience string `json:"aud"`
		Nonce    string `json:"nonce"`
		SDHash   string `json:"sd_hash"`
	}{kb.IssuedAt.Unix(), kb.Audience, kb.Nonce, digestOf(presented)}
	jwt, err := jose.SignJSON(kb.Signer, jose.Header{Alg: alg, Typ: TypKB}, claims)
	if err != nil {
		return "", fmt.Errorf("sdjwt: present: %w", err)
	}
	return jwt, nil
}
