package sdjwt

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"civitas/internal/jose"
)

// KeyFunc resolves the public key that signs an issuer's credentials, from
// the iss claim and the kid header (which may be empty): the wallet answers
// from the issuer's jwt-vc-issuer metadata and the trust services. It returns
// an error wrapping ErrInvalid for an issuer or key it does not trust; any
// other error is passed through as the caller's own failure.
type KeyFunc func(ctx context.Context, iss, kid string) (crypto.PublicKey, error)

// VerifyOptions are the verifier's policy. Key binding is required or not by
// this policy alone, never by what the presentation carries (RFC 9901 §7.3).
type VerifyOptions struct {
	Key  KeyFunc  // required
	Algs []string // issuer signature algorithms allowed; default ES256
	// Typ is the issuer-signed JWT's required typ; default TypVC. With TypVC
	// (or the older "vc+sd-jwt", when given here) the vct claim is required.
	Typ    string
	VCT    string    // when set, the vct claim must equal it
	Now    time.Time // the verifier's clock; zero means time.Now()
	Leeway time.Duration
	// KeyBinding, when set, requires a Key Binding JWT by the holder key in
	// cnf.jwk; when nil, a presentation carrying one is refused, as RFC 9901
	// §4 requires of a verifier expecting a plain SD-JWT.
	KeyBinding *ExpectKeyBinding
	Limits     Limits
	// Cache, when set, skips the issuer signature check of an Issuer-signed
	// JWT already verified under the same key (see SignatureCache).
	Cache *SignatureCache
}

// ExpectKeyBinding is what a Key Binding JWT must say.
type ExpectKeyBinding struct {
	Audience string        // required: this verifier
	Nonce    string        // required: the nonce this verifier issued
	MaxAge   time.Duration // how old its iat may be; default 5 minutes
	Algs     []string      // holder signature algorithms allowed; default ES256
}

// DefaultKeyBindingMaxAge is how old a Key Binding JWT may be by default.
const DefaultKeyBindingMaxAge = 5 * time.Minute

// Verified is a verified presentation: the claims it discloses and the
// references the caller checks next (status, type).
type Verified struct {
	// Claims is the Processed SD-JWT Payload: plain claims and the disclosed
	// ones, without _sd, _sd_alg or digests; undisclosed claims are absent
	// and undisclosed array elements removed. Numbers are json.Number.
	Claims map[string]any
	// Disclosed lists the path of every claim revealed by a Disclosure,
	// sorted; array elements are named by their index in the issued array.
	Disclosed [][]string
	Issuer    string
	KeyID     string // kid of the issuer's key, if the header named one
	VCT       string
	IssuedAt  time.Time // zero when absent
	Expiry    time.Time // zero when absent
	// Status is the credential's entry in its Token Status List, for the
	// caller to check; nil when the credential has none.
	Status *StatusRef
	// Holder is the key in cnf.jwk, nil when absent.
	Holder *jose.JWK
	// KeyBound reports that a Key Binding JWT by Holder was verified.
	KeyBound bool
}

// Verify checks a presented SD-JWT VC (RFC 9901 §7.1 and §7.3, SD-JWT VC
// §2.4): the issuer's signature with the key opts.Key resolves, every
// Disclosure, the validity claims, the type and, when the policy requires
// it, the Key Binding JWT. A holder verifies a credential it receives the
// same way, without KeyBinding.
func Verify(ctx context.Context, token string, opts VerifyOptions) (*Verified, error) {
	if opts.Key == nil {
		return nil, errors.New("sdjwt: verify: no issuer key resolver")
	}
	if kb := opts.KeyBinding; kb != nil && (kb.Audience == "" || kb.Nonce == "") {
		return nil, errors.New("sdjwt: verify: key binding needs an audience and a nonce")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p, err := split(token, opts.Limits.withDefaults())
	if err != nil {
		return nil, err
	}
	switch {
	case opts.KeyBinding == nil && p.kb != "":
		return nil, invalid("unexpected key binding JWT")
	case opts.KeyBinding != nil && p.kb == "":
		return nil, invalid("key binding JWT required")
	}
	jws, err := jose.Parse(p.issuerJWT)
	if err != nil {
		return nil, invalid("issuer-signed JWT is malformed")
	}
	typ := opts.Typ
	if typ == "" {
		typ = TypVC
	}
	if !typIs(jws.Header.Typ, typ) {
		return nil, invalid("wrong typ")
	}
	payload, err := decodePayload(jws.Payload)
	if err != nil {
		return nil, err
	}
	// Disclosures are decoded before the costly signature check so that
	// malformed input is refused cheaply; nothing is applied before it.
	discs, err := decodeDisclosures(p.disclosures)
	if err != nil {
		return nil, err
	}
	iss, _ := payload["iss"].(string)
	if iss == "" {
		return nil, invalid("no iss")
	}
	key, err := opts.Key(ctx, iss, jws.Header.Kid)
	if errors.Is(err, ErrInvalid) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sdjwt: issuer key: %w", err)
	}
	if key == nil {
		return nil, invalid("unknown issuer key")
	}
	algs := opts.Algs
	if len(algs) == 0 {
		algs = []string{jose.ES256}
	}
	if err := verifyIssuerSignature(jws, p.issuerJWT, key, algs, opts.Cache); err != nil {
		return nil, err
	}
	if err := process(payload, discs); err != nil {
		return nil, err
	}
	v := &Verified{Claims: payload, Issuer: iss, KeyID: jws.Header.Kid}
	if err := v.readRegistered(payload, now, opts, typ); err != nil {
		return nil, err
	}
	v.Disclosed = make([][]string, len(discs))
	for i := range discs {
		v.Disclosed[i] = discs[i].path
	}
	slices.SortFunc(v.Disclosed, slices.Compare[[]string])
	if opts.KeyBinding != nil {
		if err := verifyKeyBinding(p, v.Holder, opts.KeyBinding, now, opts.Leeway); err != nil {
			return nil, err
		}
		v.KeyBound = true
	}
	return v, nil
}

func verifyIssuerSignature(jws *jose.JWS, jwt string, key crypto.PublicKey, algs []string, cache *SignatureCache) error {
	if !slices.Contains(algs, jws.Header.Alg) {
		return invalid("issuer signature algorithm not allowed")
	}
	var ck [32]byte
	cacheable := false
	if cache != nil {
		ck, cacheable = cacheKey(key, jwt)
		if cacheable && cache.has(ck) {
			return nil
		}
	}
	if err := jws.Verify(key, algs...); err != nil {
		return invalid("issuer signature does not verify")
	}
	if cacheable {
		cache.add(ck)
	}
	return nil
}

// readRegistered checks the validity window and type and reads status and
// cnf, all from plain claims (process refused them as Disclosures).
func (v *Verified) readRegistered(payload map[string]any, now time.Time, opts VerifyOptions, typ string) error {
	t, lee := now.Unix(), int64(opts.Leeway/time.Second)
	if raw, ok := payload["exp"]; ok {
		exp, ok := numericDate(raw)
		if !ok {
			return invalid("bad exp")
		}
		if t > exp+lee {
			return invalid("expired")
		}
		v.Expiry = time.Unix(exp, 0)
	}
	if raw, ok := payload["nbf"]; ok {
		nbf, ok := numericDate(raw)
		if !ok {
			return invalid("bad nbf")
		}
		if t+lee < nbf {
			return invalid("not yet valid")
		}
	}
	if raw, ok := payload["iat"]; ok {
		iat, ok := numericDate(raw)
		if !ok {
			return invalid("bad iat")
		}
		if t+lee < iat {
			return invalid("issued in the future")
		}
		v.IssuedAt = time.Unix(iat, 0)
	}
	if raw, ok := payload["vct"]; ok {
		vct, ok := raw.(string)
		if !ok || vct == "" {
			return invalid("bad vct")
		}
		v.VCT = vct
	}
	if v.VCT == "" && (typIs(typ, TypVC) || typIs(typ, "vc+sd-jwt")) {
		return invalid("no vct")
	}
	if opts.VCT != "" && v.VCT != opts.VCT {
		return invalid("wrong credential type")
	}
	if raw, ok := payload["status"]; ok {
		st, ok := raw.(map[string]any)
		if !ok {
			return invalid("bad status")
		}
		if sl, ok := st["status_list"]; ok {
			ref, ok := statusRef(sl)
			if !ok {
				return invalid("bad status_list")
			}
			v.Status = &ref
		}
	}
	if raw, ok := payload["cnf"]; ok {
		cnf, ok := raw.(map[string]any)
		if !ok {
			return invalid("bad cnf")
		}
		if raw, ok := cnf["jwk"]; ok {
			j, ok := jwkFrom(raw)
			if !ok {
				return invalid("bad cnf.jwk")
			}
			v.Holder = &j
		}
	}
	return nil
}

// typIs compares media types as RFC 7515 §4.1.9 asks: case-insensitively,
// with or without the "application/" prefix.
func typIs(got, want string) bool {
	const prefix = "application/"
	if len(got) > len(prefix) && strings.EqualFold(got[:len(prefix)], prefix) {
		got = got[len(prefix):]
	}
	return strings.EqualFold(got, want)
}

func statusRef(v any) (StatusRef, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return StatusRef{}, false
	}
	uri, _ := m["uri"].(string)
	n, _ := m["idx"].(json.Number)
	idx, err := n.Int64()
	if err != nil || idx < 0 || uri == "" {
		return StatusRef{}, false
	}
	return StatusRef{Index: idx, URI: uri}, true
}

func verifyKeyBinding(p parts, holder *jose.JWK, want *ExpectKeyBinding, now time.Time, leeway time.Duration) error {
	if holder == nil {
		return invalid("credential has no holder key to bind")
	}
	jws, err := jose.Parse(p.kb)
	if err != nil {
		return invalid("key binding JWT is malformed")
	}
	if !typIs(jws.Header.Typ, TypKB) {
		return invalid("key binding JWT has the wrong typ")
	}
	pub, err := holder.PublicKey()
	if err != nil {
		return invalid("holder key is unusable")
	}
	algs := want.Algs
	if len(algs) == 0 {
		algs = []string{jose.ES256}
	}
	if err := jws.Verify(pub, algs...); err != nil {
		return invalid("key binding signature does not verify")
	}
	var c struct {
		IssuedAt any    `json:"iat"`
		Expiry   any    `json:"exp"`
		Audience string `json:"aud"` // a single string (RFC 9901 §4.3); an array fails to decode
		Nonce    string `json:"nonce"`
		SDHash   string `json:"sd_hash"`
	}
	if err := decodeJSON(jws.Payload, &c); err != nil {
		return invalid("key binding JWT payload is malformed")
	}
	t, lee := now.Unix(), int64(leeway/time.Second)
	iat, ok := numericDate(c.IssuedAt)
	if !ok {
		return invalid("key binding JWT has no iat")
	}
	maxAge := want.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultKeyBindingMaxAge
	}
	switch {
	case t+lee < iat:
		return invalid("key binding JWT issued in the future")
	case t-iat > int64(maxAge/time.Second)+lee:
		return invalid("key binding JWT too old")
	}
	if c.Expiry != nil {
		exp, ok := numericDate(c.Expiry)
		if !ok || t > exp+lee {
			return invalid("key binding JWT expired")
		}
	}
	switch {
	case c.Audience != want.Audience:
		return invalid("key binding JWT is for another verifier")
	case c.Nonce != want.Nonce:
		return invalid("key binding JWT has the wrong nonce")
	case c.SDHash != digestOf(p.presented):
		return invalid("key binding JWT does not cover this presentation")
	}
	return nil
}
