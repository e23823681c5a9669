//go:build cgo

package pkcs11

import (
	"crypto"
	"errors"
	"io"

	"github.com/ThalesGroup/crypto11"

	"civitas/internal/kernel"
)

// signer is a key in the token. It hides crypto11's Delete and Decrypt and
// refuses to sign anything but a digest of the length its hash says:
// crypto11 passes whatever it is given to the token.
type signer struct {
	key   crypto11.Signer
	label string
}

var _ crypto.Signer = (*signer)(nil)

// Public returns the public key, an *ecdsa.PublicKey or *rsa.PublicKey.
func (s *signer) Public() crypto.PublicKey { return s.key.Public() }

// Sign signs digest in the token. The token draws its own randomness, so
// rand is ignored. ECDSA signatures are ASN.1 DER, as ecdsa.VerifyASN1 and
// crypto/x509 expect; RSA takes PKCS #1 v1.5 or, with *rsa.PSSOptions, PSS
// (PSSSaltLengthAuto is not supported: use PSSSaltLengthEqualsHash).
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() == 0 || !opts.HashFunc().Available() || len(digest) != opts.HashFunc().Size() {
		return nil, kernel.Wrap(errors.New("need a digest and the hash that made it"), "pkcs11: sign with %q", s.label)
	}
	sig, err := s.key.Sign(nil, digest, opts)
	if err != nil {
		return nil, kernel.Wrap(err, "pkcs11: sign with %q", s.label)
	}
	return sig, nil
}
