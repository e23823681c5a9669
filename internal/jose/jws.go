package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Algorithms.
const (
	ES256 = "ES256"
	ES384 = "ES384"
	RS256 = "RS256"
	PS256 = "PS256"
	EdDSA = "EdDSA"
)

// MaxTokenSize bounds what Parse reads: enough for an SD-JWT's issuer part
// and any ID token, small enough that hostile input costs little.
const MaxTokenSize = 64 << 10

// Header is a JWS protected header.
type Header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
	JWK *JWK   `json:"jwk,omitempty"` // DPoP proofs carry their key
	// Extra holds any other members to sign (e.g. "x5c"); it never overrides the above.
	Extra map[string]any `json:"-"`
}

// ErrInvalid is the error of every malformed or unverifiable token; its text
// is safe to show to the party that sent the token.
var ErrInvalid = errors.New("jose: invalid token")

func invalid(why string) error { return fmt.Errorf("%w: %s", ErrInvalid, why) }

// Sign returns the compact serialisation of payload signed by signer with alg.
func Sign(signer crypto.Signer, h Header, payload []byte) (string, error) {
	hb, err := marshalHeader(h)
	if err != nil {
		return "", err
	}
	input := make([]byte, 0, b64.EncodedLen(len(hb))+1+b64.EncodedLen(len(payload)))
	input = b64.AppendEncode(input, hb)
	input = append(input, '.')
	input = b64.AppendEncode(input, payload)
	sig, err := signInput(signer, h.Alg, input)
	if err != nil {
		return "", err
	}
	out := append(input, '.')
	return string(b64.AppendEncode(out, sig)), nil
}

// SignJSON marshals claims and signs them.
func SignJSON(signer crypto.Signer, h Header, claims any) (string, error) {
	b, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jose: marshal claims: %w", err)
	}
	return Sign(signer, h, b)
}

func marshalHeader(h Header) ([]byte, error) {
	if len(h.Extra) == 0 {
		return json.Marshal(h)
	}
	m := make(map[string]any, len(h.Extra)+4)
	for k, v := range h.Extra {
		m[k] = v
	}
	m["alg"] = h.Alg
	if h.Typ != "" {
		m["typ"] = h.Typ
	}
	if h.Kid != "" {
		m["kid"] = h.Kid
	}
	if h.JWK != nil {
		m["jwk"] = h.JWK
	}
	return json.Marshal(m)
}

func signInput(signer crypto.Signer, alg string, input []byte) ([]byte, error) {
	switch alg {
	case ES256, ES384:
		hf, size := crypto.SHA256, 32
		if alg == ES384 {
			hf, size = crypto.SHA384, 48
		}
		h := hf.New()
		h.Write(input)
		der, err := signer.Sign(rand.Reader, h.Sum(nil), hf)
		if err != nil {
			return nil, fmt.Errorf("jose: sign: %w", err)
		}
		return derToRaw(der, size)
	case RS256:
		sum := sha256.Sum256(input)
		return signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	case PS256:
		sum := sha256.Sum256(input)
		return signer.Sign(rand.Reader, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	case EdDSA:
		return signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	return nil, fmt.Errorf("jose: unsupported algorithm %q", alg)
}

// derToRaw converts an ASN.1 ECDSA signature to JWS's fixed-size r||s.
func derToRaw(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("jose: signer returned a malformed ECDSA signature")
	}
	r, s := sig.R, sig.S
	if r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > size*8 || s.BitLen() > size*8 {
		return nil, errors.New("jose: signer returned an out-of-range ECDSA signature")
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

// JWS is a parsed, not yet verified, compact JWS.
type JWS struct {
	Header    Header
	RawHeader map[string]json.RawMessage
	Payload   []byte
	input     string // header.payload, as signed
	signature []byte
}

// Parse splits and decodes a compact JWS. It checks form only: call Verify.
func Parse(token string) (*JWS, error) {
	if len(token) > MaxTokenSize {
		return nil, invalid("too large")
	}
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first < 0 || first == last || strings.Count(token, ".") != 2 {
		return nil, invalid("not a compact JWS")
	}
	hb, err := b64.DecodeString(token[:first])
	if err != nil {
		return nil, invalid("bad header encoding")
	}
	payload, err := b64.DecodeString(token[first+1 : last])
	if err != nil {
		return nil, invalid("bad payload encoding")
	}
	sig, err := b64.DecodeString(token[last+1:])
	if err != nil {
		return nil, invalid("bad signature encoding")
	}
	j := &JWS{Payload: payload, input: token[:last], signature: sig}
	if err := json.Unmarshal(hb, &j.RawHeader); err != nil {
		return nil, invalid("header is not a JSON object")
	}
	if err := json.Unmarshal(hb, &j.Header); err != nil {
		return nil, invalid("bad header members")
	}
	if crit, ok := j.RawHeader["crit"]; ok && len(crit) > 0 {
		return nil, invalid("critical header extensions are not supported")
	}
	if j.Header.Alg == "" {
		return nil, invalid("no alg")
	}
	return j, nil
}

// Verify checks the signature with pub, allowing only the listed algorithms.
func (j *JWS) Verify(pub crypto.PublicKey, allowed ...string) error {
	if !slices.Contains(allowed, j.Header.Alg) {
		return invalid("algorithm not allowed")
	}
	in := []byte(j.input)
	switch j.Header.Alg {
	case ES256, ES384:
		k, ok := pub.(*ecdsa.PublicKey)
		size, hf := 32, crypto.SHA256
		if j.Header.Alg == ES384 {
			size, hf = 48, crypto.SHA384
		}
		if !ok || (k.Curve.Params().BitSize+7)/8 != size || len(j.signature) != 2*size {
			return invalid("key or signature does not fit the algorithm")
		}
		var digest []byte
		if hf == crypto.SHA256 {
			s := sha256.Sum256(in)
			digest = s[:]
		} else {
			s := sha512.Sum384(in)
			digest = s[:]
		}
		if !ecdsa.VerifyASN1(k, digest, derSignature(j.signature[:size], j.signature[size:])) {
			return invalid("bad signature")
		}
	case RS256, PS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return invalid("key does not fit the algorithm")
		}
		sum := sha256.Sum256(in)
		var err error
		if j.Header.Alg == RS256 {
			err = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], j.signature)
		} else {
			err = rsa.VerifyPSS(k, crypto.SHA256, sum[:], j.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		if err != nil {
			return invalid("bad signature")
		}
	case EdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || !ed25519.Verify(k, in, j.signature) {
			return invalid("bad signature")
		}
	default:
		return invalid("algorithm not supported")
	}
	return nil
}

// AlgFor returns the JWS algorithm civitas uses with a public key.
func AlgFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize == 384 {
			return ES384, nil
		}
		return ES256, nil
	case *rsa.PublicKey:
		return PS256, nil
	case ed25519.PublicKey:
		return EdDSA, nil
	}
	return "", errors.New("jose: unsupported key type")
}

// derSignature writes a JWS ECDSA signature's r and s (big-endian, fixed
// size) as the ASN.1 SEQUENCE of two INTEGERs that ecdsa.VerifyASN1 reads:
// leading zeros dropped, a zero byte before a high bit. Written here, not
// through big.Int and cryptobyte, because it is on every verification.
func derSignature(r, s []byte) []byte {
	trim := func(b []byte) []byte {
		for len(b) > 1 && b[0] == 0 {
			b = b[1:]
		}
		return b
	}
	r, s = trim(r), trim(s)
	pad := func(b []byte) int {
		if b[0]&0x80 != 0 {
			return 1
		}
		return 0
	}
	rl, sl := len(r)+pad(r), len(s)+pad(s)
	body := 2 + rl + 2 + sl // r and s of ES256 and ES384 are at most 48 bytes: short lengths, body under 128
	out := make([]byte, 0, 2+body)
	out = append(out, 0x30, byte(body), 0x02, byte(rl))
	if pad(r) == 1 {
		out = append(out, 0)
	}
	out = append(out, r...)
	out = append(out, 0x02, byte(sl))
	if pad(s) == 1 {
		out = append(out, 0)
	}
	return append(out, s...)
}
