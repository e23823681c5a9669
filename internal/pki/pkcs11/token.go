//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"civitas/internal/kernel"
)

// Token is a logged-in PKCS#11 token. It is safe for concurrent use; signers
// it returns work until Close.
type Token struct {
	ctx   *crypto11.Context
	label string
	login string // key in logins

	// generate serialises Generate, so that two goroutines cannot both find
	// a label free and both make a key under it. Another process sharing the
	// token is not covered: give each CA its own token or label prefix.
	generate sync.Mutex
	close    sync.Once
}

// Open loads the module, finds the token by label and logs in with the user
// PIN. Wrong settings give errors matching ErrModule, ErrTokenNotFound, ErrPIN
// or ErrPINLocked.
func Open(c Config) (*Token, error) {
	switch {
	case c.Module == "":
		return nil, kernel.Wrap(ErrModule, "pkcs11: no module path configured")
	case c.TokenLabel == "":
		return nil, kernel.Wrap(errors.New("no token label configured"), "pkcs11")
	case c.PIN == "":
		return nil, kernel.Wrap(ErrPIN, "pkcs11: no PIN configured for token %q", c.TokenLabel)
	}
	// dlopen's own message for a missing file is poor; say it plainly.
	if st, err := os.Stat(c.Module); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, kernel.Wrap(ErrModule, "pkcs11: %s does not exist", c.Module)
		}
		return nil, kernel.Wrap(fmt.Errorf("%w: %w", ErrModule, err), "pkcs11")
	} else if st.IsDir() {
		return nil, kernel.Wrap(ErrModule, "pkcs11: %s is a directory", c.Module)
	}
	// One library reached by two paths (Debian's /usr/lib/softhsm link and
	// its target) must be one module: the library cannot be initialised twice.
	module, err := filepath.EvalSymlinks(c.Module)
	if err != nil {
		return nil, kernel.Wrap(fmt.Errorf("%w: %w", ErrModule, err), "pkcs11")
	}
	login := module + "\x00" + c.TokenLabel
	pin := sha256.Sum256([]byte(c.PIN))

	logins.Lock()
	defer logins.Unlock()
	if l, ok := logins.m[login]; ok && subtle.ConstantTimeCompare(l.pin[:], pin[:]) != 1 {
		return nil, kernel.Wrap(ErrPIN, "pkcs11: open token %q with %s", c.TokenLabel, c.Module)
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: module, TokenLabel: c.TokenLabel, Pin: c.PIN})
	if err != nil {
		return nil, kernel.Wrap(classifyOpen(err), "pkcs11: open token %q with %s", c.TokenLabel, c.Module)
	}
	l := logins.m[login]
	l.pin, l.open = pin, l.open+1
	logins.m[login] = l
	return &Token{ctx: ctx, label: c.TokenLabel, login: login}, nil
}

// logins records the tokens this process is logged in to. PKCS#11 login
// state belongs to the process, not to a session: while one Token is logged
// in, the module answers another login with CKR_USER_ALREADY_LOGGED_IN
// whatever the PIN, and crypto11 takes that for success. So a later Open
// must show the PIN that the first Open proved, here compared as a SHA-256
// (the PIN itself stays with crypto11, which needs it). It is global because
// the state it mirrors is.
var logins = struct {
	sync.Mutex
	m map[string]loginState
}{m: map[string]loginState{}}

type loginState struct {
	pin  [sha256.Size]byte
	open int // Tokens open; the module logs out when the last closes
}

// classifyOpen puts one of the Open sentinels in front of a crypto11 error.
// crypto11 exports no sentinels of its own, so the token and module cases
// are told by its messages; the tests catch a change in them.
func classifyOpen(err error) error {
	var rv p11.Error
	if errors.As(err, &rv) {
		switch rv {
		case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE, p11.CKR_PIN_EXPIRED:
			return fmt.Errorf("%w (%v)", ErrPIN, rv)
		case p11.CKR_PIN_LOCKED:
			return fmt.Errorf("%w (%v)", ErrPINLocked, rv)
		}
	}
	msg := err.Error()
	switch {
	case msg == "could not find PKCS#11 token":
		return ErrTokenNotFound
	case strings.HasPrefix(msg, "failed to create module context"):
		return fmt.Errorf("%w: %w", ErrModule, err)
	}
	return err
}

// Close logs out and unloads the module once no other Token uses it. Signers
// from this Token fail afterwards. Close may be called more than once.
func (t *Token) Close() error {
	var err error
	t.close.Do(func() {
		logins.Lock()
		defer logins.Unlock()
		err = t.ctx.Close()
		if l := logins.m[t.login]; l.open > 1 {
			l.open--
			logins.m[t.login] = l
		} else {
			delete(logins.m, t.login)
		}
	})
	return kernel.Wrap(err, "pkcs11: close token %q", t.label)
}

// Generate makes a key pair inside the token under label and returns its
// signer. The private key is a token object, private, sensitive and not
// extractable: it can sign and do nothing else, and never leaves the token.
// A label in use is a Conflict.
func (t *Token) Generate(label string, alg Algorithm) (crypto.Signer, error) {
	alg, err := parseAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	if err := checkLabel(label); err != nil {
		return nil, err
	}
	t.generate.Lock()
	defer t.generate.Unlock()

	existing, err := t.ctx.FindPrivateKeys(nil, []byte(label))
	if err != nil {
		return nil, kernel.Wrap(err, "pkcs11: look for label %q", label)
	}
	if len(existing) > 0 {
		return nil, kernel.E(kernel.Conflict, "pki.error.key_exists").
			WithCause(fmt.Errorf("pkcs11: token %q has a key labelled %q", t.label, label))
	}

	// CKA_ID pairs the private with the public half; a random one cannot
	// collide with keys made by other tools.
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, kernel.Wrap(err, "pkcs11")
	}
	public, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, kernel.Wrap(err, "pkcs11")
	}
	private := public.Copy()
	// crypto11 adds most of these by default; say them here so that a change
	// there cannot loosen them.
	for a, v := range map[crypto11.AttributeType]bool{
		crypto11.CkaToken:       true,
		crypto11.CkaPrivate:     true,
		crypto11.CkaSensitive:   true,
		crypto11.CkaExtractable: false,
		crypto11.CkaSign:        true,
		crypto11.CkaDecrypt:     false, // a signing key only
	} {
		if err := private.Set(a, v); err != nil {
			return nil, kernel.Wrap(err, "pkcs11")
		}
	}
	if err := public.Set(crypto11.CkaToken, true); err != nil {
		return nil, kernel.Wrap(err, "pkcs11")
	}

	var s crypto11.Signer
	switch alg {
	case ECDSAP256:
		s, err = t.ctx.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P256())
	case RSA3072:
		if err = public.Set(crypto11.CkaEncrypt, false); err == nil {
			s, err = t.ctx.GenerateRSAKeyPairWithAttributes(public, private, 3072)
		}
	}
	if err != nil {
		return nil, kernel.Wrap(err, "pkcs11: generate %s key %q in token %q", alg, label, t.label)
	}
	return &signer{key: s, label: label}, nil
}

// Find returns the signer of the key under label; an unknown label is
// NotFound. Two keys under one label (made by another tool) are an error,
// never a guess.
func (t *Token) Find(label string) (crypto.Signer, error) {
	if err := checkLabel(label); err != nil {
		return nil, err
	}
	keys, err := t.ctx.FindKeyPairs(nil, []byte(label))
	if err != nil {
		return nil, kernel.Wrap(err, "pkcs11: find key %q in token %q", label, t.label)
	}
	switch len(keys) {
	case 0:
		return nil, errNoKey().WithCause(fmt.Errorf("pkcs11: token %q has no key pair labelled %q", t.label, label))
	case 1:
		return &signer{key: keys[0], label: label}, nil
	}
	return nil, kernel.Wrap(fmt.Errorf("%d key pairs labelled %q", len(keys), label), "pkcs11: token %q", t.label)
}

func checkLabel(label string) error {
	if label == "" || len(label) > MaxLabel || !utf8.ValidString(label) {
		return kernel.Wrap(fmt.Errorf("a key label is 1 to %d bytes of UTF-8", MaxLabel), "pkcs11: label %q", label)
	}
	return nil
}
