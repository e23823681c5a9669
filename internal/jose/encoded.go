package jose

import (
	"crypto"
	"errors"
	"fmt"
)

// EncodedHeader is a protected header already encoded: base64url of its
// JSON, as it begins a compact JWS, and its alg. A signer that signs many
// tokens under one header (a seal's, whose x5c chain is most of it)
// encodes it once instead of at every token.
type EncodedHeader struct {
	Alg     string
	Encoded string
}

// EncodeHeader encodes h for SignEncoded; the result is the header Sign
// would put in the token.
func EncodeHeader(h Header) (EncodedHeader, error) {
	hb, err := marshalHeader(h)
	if err != nil {
		return EncodedHeader{}, fmt.Errorf("jose: marshal header: %w", err)
	}
	return EncodedHeader{Alg: h.Alg, Encoded: b64.EncodeToString(hb)}, nil
}

// SignEncoded returns the compact serialisation of payload signed by
// signer under h: the same token Sign makes with the header h encodes.
func SignEncoded(signer crypto.Signer, h EncodedHeader, payload []byte) (string, error) {
	if h.Alg == "" || h.Encoded == "" {
		return "", errors.New("jose: no encoded header")
	}
	input := make([]byte, 0, len(h.Encoded)+1+b64.EncodedLen(len(payload))+1+b64.EncodedLen(132))
	input = append(input, h.Encoded...)
	input = append(input, '.')
	input = b64.AppendEncode(input, payload)
	sig, err := signInput(signer, h.Alg, input)
	if err != nil {
		return "", err
	}
	out := append(input, '.')
	return string(b64.AppendEncode(out, sig)), nil
}
