package kernel

import (
	"crypto/rand"
	"encoding/base32"
	"time"
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

// NewOrderedID returns an ID like NewID whose first 48 bits are the time in
// milliseconds: rows keyed by it are inserted at the end of their B-tree,
// and the busy rows of the moment share a few pages, instead of landing on
// a random page each. The 80 random bits keep it unguessable; use it where
// the creation time (to the millisecond) may be known.
func NewOrderedID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return orderedEncoding.EncodeToString(b[:])
}

// orderedEncoding is base32 with its alphabet in ASCII order, so that the
// strings sort as the bytes do.
var orderedEncoding = base32.NewEncoding("234567abcdefghijklmnopqrstuvwxyz").WithPadding(base32.NoPadding)
