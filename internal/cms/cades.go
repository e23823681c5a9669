package cms

import (
	"context"
	"crypto"
	"crypto/sha256"
	"io"

	"civitas/internal/kernel"
)

// Stamper gets an RFC 3161 time-stamp token over a SHA-256 digest from a
// time-stamping authority.
type Stamper interface {
	Stamp(ctx context.Context, sha256Digest []byte) (token []byte, err error)
}

// TimestampSignature adds a signature time-stamp to der (CAdES B-T, ETSI
// EN 319 122-1 §5.3): a token from tsa over the SHA-256 of the one
// SignerInfo's signature value, as an unsigned attribute.
func TimestampSignature(ctx context.Context, der []byte, tsa Stamper) ([]byte, error) {
	sv, err := SignatureValue(der)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sv)
	token, err := tsa.Stamp(ctx, sum[:])
	if err != nil {
		return nil, kernel.Wrap(err, "cms: time-stamp")
	}
	return AddTimestamp(der, token)
}

// SignDetached makes a detached CAdES signature (DER) over content, which
// is hashed as it is read and never held, so it may be of any size: B-B,
// or B-T when tsa is not nil. o.SigningTime should be set: a .p7s carries
// its claimed time in the signing-time attribute.
func SignDetached(ctx context.Context, content io.Reader, signer crypto.Signer, o SignOptions, tsa Stamper) ([]byte, error) {
	hash := o.Hash
	if hash == 0 {
		hash = crypto.SHA256
	}
	if !hash.Available() {
		return nil, fail(ErrUnsupportedAlgorithm, "hash %v", hash)
	}
	h := hash.New()
	if _, err := io.Copy(h, content); err != nil {
		return nil, kernel.Wrap(err, "cms: read content")
	}
	o.Hash = hash
	der, err := Sign(h.Sum(nil), signer, o)
	if err != nil || tsa == nil {
		return der, err
	}
	return TimestampSignature(ctx, der, tsa)
}
