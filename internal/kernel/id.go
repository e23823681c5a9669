package kernel

import (
	"crypto/rand"
	"encoding/base32"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random 128-bit identifier as 26 lowercase base32 characters.
// IDs reveal nothing (no order, no count) and are safe in URLs.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return idEncoding.EncodeToString(b[:])
}

// NewToken returns a random 256-bit secret as 52 base32 characters, for
// session cookies and one-time links. Store only its hash.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}
