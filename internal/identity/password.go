package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"civitas/internal/kernel"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultPasswordParams are OWASP's first recommendation for argon2id
// (Password Storage Cheat Sheet): 19 MiB of memory, 2 passes, 1 lane.
var DefaultPasswordParams = PasswordParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltSize = 16
	keySize  = 32
	// maxPasswordBytes bounds the work a login form can ask of the server.
	maxPasswordBytes = 1024
	minPasswordRunes = 8
)

var phcB64 = base64.RawStdEncoding

// CheckPasswordPolicy refuses passwords too short to resist guessing or too
// long to hash cheaply. Length is what matters (NIST SP 800-63B); no
// composition rules, which only push people to predictable patterns.
func CheckPasswordPolicy(password string) error {
	if len(password) > maxPasswordBytes {
		return kernel.E(kernel.Invalid, "error.identity.password_too_long", maxPasswordBytes)
	}
	if !utf8.ValidString(password) || utf8.RuneCountInString(password) < minPasswordRunes {
		return kernel.E(kernel.Invalid, "error.identity.password_too_short", minPasswordRunes)
	}
	return nil
}

// HashPassword returns the password's argon2id hash in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash), which records its own
// parameters so they can be raised later without breaking old hashes.
func HashPassword(password string, p PasswordParams) (string, error) {
	if len(password) > maxPasswordBytes {
		return "", kernel.E(kernel.Invalid, "error.identity.password_too_long", maxPasswordBytes)
	}
	salt := make([]byte, saltSize)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keySize)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		phcB64.EncodeToString(salt), phcB64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the stored hash, and
// whether the hash should be replaced because its parameters are below p.
// A malformed hash is an error, never a match.
func VerifyPassword(password, stored string, p PasswordParams) (ok, rehash bool, err error) {
	if len(password) > maxPasswordBytes {
		return false, false, nil
	}
	h, err := parsePHC(stored)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(len(h.key)))
	ok = subtle.ConstantTimeCompare(key, h.key) == 1
	rehash = h.params.MemoryKiB < p.MemoryKiB || h.params.Time < p.Time
	return ok, rehash, nil
}

type phcHash struct {
	params    PasswordParams
	salt, key []byte
}

// Bounds on stored parameters, so a corrupted or planted hash cannot make a
// login take minutes or gigabytes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
)

func parsePHC(s string) (phcHash, error) {
	bad := kernel.Wrap(fmt.Errorf("malformed argon2id hash"), "identity: password")
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phcHash{}, bad
	}
	var h phcHash
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, found := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !found || err != nil {
			return phcHash{}, bad
		}
		switch k {
		case "m":
			h.params.MemoryKiB = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return phcHash{}, bad
			}
			h.params.Threads = uint8(n)
		default:
			return phcHash{}, bad
		}
	}
	p := h.params
	if p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB {
		return phcHash{}, bad
	}
	var err error
	if h.salt, err = phcB64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return phcHash{}, bad
	}
	if h.key, err = phcB64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return phcHash{}, bad
	}
	return h, nil
}
