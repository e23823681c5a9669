package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a key-encryption key: 256 bits.
const KeySize = 32

// version prefixes every sealed value so that the format can change.
const version = 1

// Box seals and opens secrets under one key-encryption key, and during a
// change of key also opens what older keys sealed. It is safe for
// concurrent use.
type Box struct {
	aead  cipher.AEAD
	older []cipher.AEAD // open only: the keys a rewrap is moving away from
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealed: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	return aead, nil
}

// New returns a Box for a 32-byte key and, after it, older keys it only
// opens with: while every sealed value is re-sealed under a new key
// (Rewrap), the servers run with the new key first and the old after it.
func New(key []byte, older ...[]byte) (*Box, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	b := &Box{aead: aead}
	for _, k := range older {
		o, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		b.older = append(b.older, o)
	}
	return b, nil
}

// Seal encrypts plaintext bound to aad (say, "totp:" + account ID).
func (b *Box) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		panic("sealed: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return b.aead.Seal(out, out[1:1+b.aead.NonceSize()], plaintext, aad)
}

// ErrOpen is returned for a value that is not sealed under this key with this
// associated data.
var ErrOpen = errors.New("sealed: cannot open: wrong key, wrong associated data or damaged value")

// Open decrypts a value made by Seal with the same aad, under the Box's
// key or one of its older keys.
func (b *Box) Open(value, aad []byte) ([]byte, error) {
	if pt, err := open(b.aead, value, aad); err == nil {
		return pt, nil
	}
	for _, o := range b.older {
		if pt, err := open(o, value, aad); err == nil {
			return pt, nil
		}
	}
	return nil, ErrOpen
}

// OpensUnderKey reports whether value opens under the Box's own key (not
// an older one): a rewrap leaves such values alone.
func (b *Box) OpensUnderKey(value, aad []byte) bool {
	_, err := open(b.aead, value, aad)
	return err == nil
}

func open(aead cipher.AEAD, value, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(value) < 1+n+aead.Overhead() || value[0] != version {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, value[1:1+n], value[1+n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ParseKey reads a key written as 64 hexadecimal digits (surrounding white
// space ignored), the format of `openssl rand -hex 32`.
func ParseKey(text []byte) ([]byte, error) {
	s := strings.TrimSpace(string(text))
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("sealed: a key is %d hexadecimal digits (openssl rand -hex %d)", 2*KeySize, KeySize)
	}
	return key, nil
}

// ParseKeys reads a key file: one key a line (ParseKey), blank lines and
// lines starting with # ignored. The first key seals; the others, older
// keys kept during a change of key, only open.
func ParseKeys(text []byte) ([][]byte, error) {
	var keys [][]byte
	for line := range strings.SplitSeq(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := ParseKey([]byte(line))
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("sealed: no key (%d hexadecimal digits, openssl rand -hex %d)", 2*KeySize, KeySize)
	}
	return keys, nil
}

// LoadKeyFile reads every key of a key file (ParseKeys).
func LoadKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sealed: read key: %w", err)
	}
	keys, err := ParseKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return keys, nil
}

// LoadOrCreateKeyFile reads the key in path, or, when the file does not
// exist and create is true, writes a new random key there readable by the
// owner only. created reports the latter, so the caller can warn that a key
// beside the data it protects is for demos and development.
func LoadOrCreateKeyFile(path string, create bool) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		keys, err := ParseKeys(b)
		if err != nil {
			return nil, false, fmt.Errorf("%w (in %s)", err, path)
		}
		return keys[0], false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		return nil, false, fmt.Errorf("sealed: read key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("sealed: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("sealed: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race: use its key
		return LoadOrCreateKeyFile(path, false)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sealed: create key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("sealed: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("sealed: write key: %w", err)
	}
	return key, true, nil
}
