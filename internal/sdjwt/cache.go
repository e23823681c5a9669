package sdjwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"sync"
)

// SignatureCache remembers Issuer-signed JWTs whose signature verified, so
// that the same credential presented again (every share of a wallet
// document carries the same Issuer-signed JWT) costs one signature check,
// the holder's, instead of two.
//
// An entry is the SHA-256 of the exact public key and the exact signed JWT,
// signature included: it can only be hit by the same bytes under the same
// key, which would verify again. Only successes are stored, so input that
// fails costs its full check every time and cannot fill the cache. The key
// is still resolved on every call, so an issuer key the caller stops
// trusting stops verifying at once. Validity, Disclosures and key binding
// are checked on every call as well. It is safe for concurrent use.
type SignatureCache struct {
	mu   sync.Mutex
	seen map[[32]byte]struct{}
	ring [][32]byte // insertion order, for eviction of the oldest
	next int
}

// NewSignatureCache returns a cache of at most size entries (32 bytes each).
func NewSignatureCache(size int) *SignatureCache {
	if size < 1 {
		size = 1
	}
	return &SignatureCache{seen: make(map[[32]byte]struct{}, size), ring: make([][32]byte, 0, size)}
}

func (c *SignatureCache) has(k [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.seen[k]
	return ok
}

func (c *SignatureCache) add(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[k]; ok {
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, k)
	} else {
		delete(c.seen, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
	}
	c.seen[k] = struct{}{}
}

// cacheKey binds the public key and the signed JWT; ok is false for key
// types it cannot encode exactly, which are then never cached.
func cacheKey(pub crypto.PublicKey, jwt string) ([32]byte, bool) {
	h := sha256.New()
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return [32]byte{}, false
		}
		h.Write([]byte{1})
		h.Write(b)
	case ed25519.PublicKey:
		h.Write([]byte{2})
		h.Write(k)
	case *rsa.PublicKey:
		h.Write([]byte{3, byte(k.E >> 24), byte(k.E >> 16), byte(k.E >> 8), byte(k.E)})
		h.Write(k.N.Bytes())
	default:
		return [32]byte{}, false
	}
	h.Write([]byte{0})
	h.Write([]byte(jwt))
	var out [32]byte
	h.Sum(out[:0])
	return out, true
}
