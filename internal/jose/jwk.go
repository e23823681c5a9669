package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

var b64 = base64.RawURLEncoding

// JWK is a public JSON Web Key. Only public members are modelled: a private
// key never travels as a JWK in civitas.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	// X5C is the key's certificate and its chain, standard base64 DER
	// (RFC 7517 §4.7); published keys may carry it, it is never trusted
	// from a token.
	X5C []string `json:"x5c,omitempty"`
}

// JWKSet is a JSON Web Key Set.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// Find returns the key with the given kid.
func (s JWKSet) Find(kid string) (JWK, bool) {
	for _, k := range s.Keys {
		if k.Kid == kid {
			return k, true
		}
	}
	return JWK{}, false
}

// PublicJWK describes a public key (ECDSA P-256/P-384, RSA ≥ 2048 bits, or Ed25519) as a JWK.
func PublicJWK(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		crv, size := "", 0
		switch k.Curve {
		case elliptic.P256():
			crv, size = "P-256", 32
		case elliptic.P384():
			crv, size = "P-384", 48
		default:
			return JWK{}, errors.New("jose: unsupported curve")
		}
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return JWK{}, fmt.Errorf("jose: bad EC key: %w", err)
		}
		return JWK{Kty: "EC", Crv: crv, X: b64.EncodeToString(raw[1 : 1+size]), Y: b64.EncodeToString(raw[1+size:])}, nil
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k)}, nil
	}
	return JWK{}, errors.New("jose: unsupported key type")
}

// PublicKey returns the key the JWK describes, checking that it is well formed
// (an EC point on its curve, an RSA modulus of at least 2048 bits).
func (j JWK) PublicKey() (crypto.PublicKey, error) {
	switch j.Kty {
	case "EC":
		var ecurve elliptic.Curve
		size := 0
		switch j.Crv {
		case "P-256":
			ecurve, size = elliptic.P256(), 32
		case "P-384":
			ecurve, size = elliptic.P384(), 48
		default:
			return nil, errors.New("jose: unsupported curve")
		}
		x, err1 := b64.DecodeString(j.X)
		y, err2 := b64.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("jose: bad EC coordinates")
		}
		raw := append(append([]byte{4}, x...), y...)
		// ParseUncompressedPublicKey rejects points that are not on the curve.
		k, err := ecdsa.ParseUncompressedPublicKey(ecurve, raw)
		if err != nil {
			return nil, errors.New("jose: EC point not on curve")
		}
		return k, nil
	case "RSA":
		n, err1 := b64.DecodeString(j.N)
		e, err2 := b64.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("jose: bad RSA key")
		}
		k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if k.N.BitLen() < 2048 || k.E < 3 || k.E%2 == 0 {
			return nil, errors.New("jose: RSA key too weak")
		}
		return k, nil
	case "OKP":
		x, err := b64.DecodeString(j.X)
		if err != nil || j.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("jose: bad OKP key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errors.New("jose: unsupported key type")
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of the key, base64url.
func (j JWK) Thumbprint() (string, error) {
	var m any
	switch j.Kty {
	case "EC":
		m = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y}
	case "RSA":
		m = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N}
	case "OKP":
		m = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Crv, j.Kty, j.X}
	default:
		return "", errors.New("jose: unsupported key type")
	}
	b, err := json.Marshal(m) // members in lexicographic order, no spaces: RFC 7638 §3
	if err != nil {
		return "", fmt.Errorf("jose: thumbprint: %w", err)
	}
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:]), nil
}
