//go:build !cgo

package pkcs11

import (
	"crypto"

	"civitas/internal/kernel"
)

// Token is a logged-in PKCS#11 token. Without cgo there is none.
type Token struct{}

// Open reports ErrNoCgo: PKCS#11 needs cgo.
func Open(Config) (*Token, error) { return nil, kernel.Wrap(ErrNoCgo, "pkcs11") }

// Generate reports ErrNoCgo.
func (*Token) Generate(string, Algorithm) (crypto.Signer, error) {
	return nil, kernel.Wrap(ErrNoCgo, "pkcs11")
}

// Find reports ErrNoCgo.
func (*Token) Find(string) (crypto.Signer, error) { return nil, kernel.Wrap(ErrNoCgo, "pkcs11") }

// Close does nothing.
func (*Token) Close() error { return nil }
