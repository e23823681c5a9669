package pkcs11

import (
	"errors"

	"civitas/internal/kernel"
)

// Config says which token to use and how to log in to it.
type Config struct {
	// Module is the path of the PKCS#11 library, for example
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token.
	TokenLabel string
	// PIN is the user PIN, read by the caller from a file or the environment.
	// It is never logged nor put into an error.
	PIN string
}

// Algorithm names a key type. The values are those of the CA, so that one
// converts to the other.
type Algorithm string

// The key types: ECDSA P-256 by default, RSA-3072 where a relying party still
// needs RSA.
const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	RSA3072   Algorithm = "rsa-3072"
)

// MaxLabel is the longest label accepted, in bytes.
const MaxLabel = 128

// Errors of Open, to be found with errors.Is. They come wrapped in an
// Internal kernel.Error: a token that cannot be opened is the operator's
// problem, and users see only "internal error".
var (
	ErrModule        = errors.New("pkcs11: cannot load the PKCS#11 module")
	ErrTokenNotFound = errors.New("pkcs11: no token with this label")
	ErrPIN           = errors.New("pkcs11: wrong user PIN")
	ErrPINLocked     = errors.New("pkcs11: user PIN locked")
	ErrNoCgo         = errors.New("pkcs11: built without cgo (CGO_ENABLED=0), PKCS#11 tokens are not available")
)

// errNoKey is what Find returns for a label no key has; the message key is
// the CA's.
func errNoKey() *kernel.Error { return kernel.E(kernel.NotFound, "pki.error.no_key") }

// parseAlgorithm maps the empty algorithm to the default.
func parseAlgorithm(alg Algorithm) (Algorithm, error) {
	switch alg {
	case "", ECDSAP256:
		return ECDSAP256, nil
	case RSA3072:
		return RSA3072, nil
	}
	return "", kernel.E(kernel.Invalid, "pki.error.bad_algorithm")
}
