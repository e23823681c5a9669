//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"civitas/internal/kernel"
)

// The token under test, made by .ci/softhsm:
//
//	eval "$(bash .ci/softhsm)" && go test ./internal/pki/pkcs11
const (
	envModule = "CIVITAS_TEST_PKCS11_MODULE"
	envToken  = "CIVITAS_TEST_PKCS11_TOKEN"
	envPIN    = "CIVITAS_TEST_PKCS11_PIN"
)

func testConfig(tb testing.TB) Config {
	tb.Helper()
	c := Config{Module: os.Getenv(envModule), TokenLabel: os.Getenv(envToken), PIN: os.Getenv(envPIN)}
	if c.Module == "" {
		tb.Skipf("%s is not set: no PKCS#11 token to test against (run: eval \"$(bash .ci/softhsm)\")", envModule)
	}
	if c.TokenLabel == "" || c.PIN == "" {
		tb.Fatalf("%s is set, so %s and %s must be too", envModule, envToken, envPIN)
	}
	return c
}

func openTest(tb testing.TB) *Token {
	tb.Helper()
	tok, err := Open(testConfig(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tok.Close() })
	return tok
}

// newLabel is unique per run: the token keeps its keys between runs.
func newLabel(tb testing.TB, name string) string {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	return "test-" + name + "-" + hex.EncodeToString(b)
}

func digest(msg string) []byte {
	d := sha256.Sum256([]byte(msg))
	return d[:]
}

// verify checks sig over digest(msg) with pub, as a relying party would.
func verify(t *testing.T, pub crypto.PublicKey, msg string, sig []byte, opts crypto.SignerOpts) error {
	t.Helper()
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest(msg), sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return rsa.VerifyPSS(pub, crypto.SHA256, digest(msg), sig, pss)
		}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest(msg), sig)
	}
	t.Fatalf("public key is a %T", pub)
	return nil
}

func TestGenerateSignVerify(t *testing.T) {
	tok := openTest(t)
	tests := []struct {
		name string
		alg  Algorithm
		opts crypto.SignerOpts
		want func(crypto.PublicKey) bool
	}{
		{"ok/default is P-256", "", crypto.SHA256, isP256},
		{"ok/ecdsa-p256", ECDSAP256, crypto.SHA256, isP256},
		{"ok/rsa-3072 pkcs1v15", RSA3072, crypto.SHA256, isRSA3072},
		{"ok/rsa-3072 pss", RSA3072, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}, isRSA3072},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tok.Generate(newLabel(t, "sign"), tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(s.Public()) {
				t.Fatalf("public key %T is not the algorithm asked for", s.Public())
			}
			sig, err := s.Sign(rand.Reader, digest("hello"), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify(t, s.Public(), "hello", sig, tt.opts); err != nil {
				t.Fatalf("token signature: %v", err)
			}
			// The same check must be able to fail.
			if verify(t, s.Public(), "hellO", sig, tt.opts) == nil {
				t.Fatal("signature verifies for another message")
			}
		})
	}
}

func isP256(pub crypto.PublicKey) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P256()
}

func isRSA3072(pub crypto.PublicKey) bool {
	k, ok := pub.(*rsa.PublicKey)
	return ok && k.N.BitLen() == 3072 && k.E == 65537
}

func TestSelfSignedCertificate(t *testing.T) {
	tok := openTest(t)
	for _, alg := range []Algorithm{ECDSAP256, RSA3072} {
		t.Run("ok/"+string(alg), func(t *testing.T) {
			s, err := tok.Generate(newLabel(t, "ca"), alg)
			if err != nil {
				t.Fatal(err)
			}
			tmpl := &x509.Certificate{
				SerialNumber:          big.NewInt(1),
				Subject:               pkix.Name{CommonName: "civitas test CA " + string(alg)},
				NotBefore:             time.Now().Add(-time.Minute),
				NotAfter:              time.Now().Add(time.Hour),
				KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
				BasicConstraintsValid: true,
				IsCA:                  true,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(cert); err != nil {
				t.Fatalf("self-signed certificate does not verify: %v", err)
			}
			if !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(s.Public()) {
				t.Fatal("certificate does not carry the token's public key")
			}
			pool := x509.NewCertPool()
			pool.AddCert(cert)
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
				t.Fatalf("chain: %v", err)
			}
		})
	}
}

func TestFindAfterRestart(t *testing.T) {
	cfg := testConfig(t)
	tok, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[Algorithm]string{ECDSAP256: newLabel(t, "restart"), RSA3072: newLabel(t, "restart")}
	pubs := map[Algorithm]crypto.PublicKey{}
	var old crypto.Signer
	for alg, label := range labels {
		s, err := tok.Generate(label, alg)
		if err != nil {
			t.Fatal(err)
		}
		pubs[alg], old = s.Public(), s
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tok.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := old.Sign(rand.Reader, digest("x"), crypto.SHA256); err == nil {
		t.Fatal("a signer of a closed token still signs")
	}
	if _, err := tok.Find(labels[ECDSAP256]); err == nil {
		t.Fatal("a closed token still finds keys")
	}

	tok = openTest(t) // the restart
	for alg, label := range labels {
		s, err := tok.Find(label)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pubs[alg]) {
			t.Fatalf("%s: found another key under the label", alg)
		}
		sig, err := s.Sign(rand.Reader, digest("after restart"), crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify(t, pubs[alg], "after restart", sig, crypto.SHA256); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
	}
}

func TestGenerateRefusesDuplicateLabel(t *testing.T) {
	tok := openTest(t)
	label := newLabel(t, "dup")
	first, err := tok.Generate(label, ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []Algorithm{ECDSAP256, RSA3072} {
		_, err := tok.Generate(label, alg)
		if kernel.ErrorCode(err) != kernel.Conflict {
			t.Fatalf("fail/duplicate %s: err = %v, want Conflict", alg, err)
		}
		if key, _ := kernel.ErrorKey(err); key != "pki.error.key_exists" {
			t.Fatalf("fail/duplicate %s: key = %q", alg, key)
		}
	}
	found, err := tok.Find(label)
	if err != nil || !found.Public().(*ecdsa.PublicKey).Equal(first.Public()) {
		t.Fatalf("the first key is gone or replaced: %v", err)
	}

	// Racing goroutines: exactly one wins a label.
	label = newLabel(t, "race")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := tok.Generate(label, ECDSAP256)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch kernel.ErrorCode(err) {
		case "":
			won++
		case kernel.Conflict:
		default:
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d goroutines made a key under one label, want 1", won)
	}
}

func TestFindMissingOrAmbiguous(t *testing.T) {
	tok := openTest(t)
	_, err := tok.Find(newLabel(t, "never-made"))
	if kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("fail/missing: err = %v, want NotFound", err)
	}
	if key, _ := kernel.ErrorKey(err); key != "pki.error.no_key" {
		t.Fatalf("fail/missing: key = %q", key)
	}

	// Two keys under one label, as another tool could make them.
	label := newLabel(t, "twice")
	for _, id := range []string{"a", "b"} {
		if _, err := tok.ctx.GenerateECDSAKeyPairWithLabel([]byte(id), []byte(label), elliptic.P256()); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := tok.Find(label); err == nil || kernel.ErrorCode(err) == kernel.NotFound {
		t.Fatalf("fail/ambiguous: Find = %v, %v; want an internal error, never a guess", s, err)
	}
}

func TestInvalidInput(t *testing.T) {
	tok := openTest(t)
	for name, call := range map[string]func() error{
		"fail/unknown algorithm": func() error { _, err := tok.Generate(newLabel(t, "alg"), "ed25519"); return err },
		"fail/empty label":       func() error { _, err := tok.Generate("", ECDSAP256); return err },
		"fail/long label":        func() error { _, err := tok.Generate(strings.Repeat("a", MaxLabel+1), ECDSAP256); return err },
		"fail/not UTF-8 label":   func() error { _, err := tok.Find("\xff"); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := tok.Generate(newLabel(t, "alg"), "ed25519"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Errorf("unknown algorithm: %v, want Invalid", err)
	}

	s, err := tok.Generate(newLabel(t, "digest"), ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for name, sign := range map[string]func() ([]byte, error){
		"fail/short digest": func() ([]byte, error) { return s.Sign(nil, digest("x")[:20], crypto.SHA256) },
		"fail/no hash":      func() ([]byte, error) { return s.Sign(nil, digest("x"), crypto.Hash(0)) },
		"fail/nil opts":     func() ([]byte, error) { return s.Sign(nil, digest("x"), nil) },
		"fail/message":      func() ([]byte, error) { return s.Sign(nil, []byte("not a digest"), crypto.SHA256) },
	} {
		if _, err := sign(); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	cfg := testConfig(t)
	notLib := filepath.Join(t.TempDir(), "libnot.so")
	os.WriteFile(notLib, []byte("not a shared library"), 0o644)
	with := func(f func(*Config)) Config { c := cfg; f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"fail/module missing", with(func(c *Config) { c.Module = filepath.Join(t.TempDir(), "libnone.so") }), ErrModule},
		{"fail/module not a library", with(func(c *Config) { c.Module = notLib }), ErrModule},
		{"fail/module a directory", with(func(c *Config) { c.Module = t.TempDir() }), ErrModule},
		{"fail/token not found", with(func(c *Config) { c.TokenLabel = "no-such-token" }), ErrTokenNotFound},
		{"fail/wrong PIN", with(func(c *Config) { c.PIN = "wrong-" + c.PIN }), ErrPIN},
		{"fail/empty PIN", with(func(c *Config) { c.PIN = "" }), ErrPIN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Open(tt.cfg)
			if err == nil {
				tok.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if key, _ := kernel.ErrorKey(err); key != "error.internal" {
				t.Fatalf("users would see %q", key)
			}
			if strings.Contains(err.Error(), cfg.PIN) {
				t.Fatal("the PIN is in the error")
			}
			t.Log(err) // what an operator reads
		})
	}
}

// PKCS#11 login state belongs to the process, not the session: once one
// Token is logged in, the module answers a second login with
// CKR_USER_ALREADY_LOGGED_IN without checking the PIN. Open must still
// refuse a wrong PIN then, and two Tokens must live side by side.
func TestOpenWhileLoggedIn(t *testing.T) {
	cfg := testConfig(t)
	first := openTest(t)
	wrong := cfg
	wrong.PIN = "wrong-" + cfg.PIN
	if tok, err := Open(wrong); !errors.Is(err, ErrPIN) {
		if err == nil {
			tok.Close()
		}
		t.Fatalf("fail/wrong PIN while logged in: err = %v, want ErrPIN", err)
	}

	// The same library by its real path (Debian links /usr/lib/softhsm to it).
	same := cfg
	if real, err := filepath.EvalSymlinks(cfg.Module); err == nil {
		same.Module = real
	}
	second, err := Open(same)
	if err != nil {
		t.Fatalf("ok/second token: %v", err)
	}
	label := newLabel(t, "two")
	if _, err := second.Generate(label, ECDSAP256); err != nil {
		t.Fatal(err)
	}
	second.Close()
	s, err := first.Find(label)
	if err != nil {
		t.Fatalf("ok/first token after the second closed: %v", err)
	}
	if _, err := s.Sign(rand.Reader, digest("x"), crypto.SHA256); err != nil {
		t.Fatalf("ok/first token after the second closed: %v", err)
	}
	first.Close()

	// All closed: the module is logged out and checks the PIN itself again.
	if tok, err := Open(wrong); !errors.Is(err, ErrPIN) {
		if err == nil {
			tok.Close()
		}
		t.Fatalf("fail/wrong PIN after all closed: err = %v, want ErrPIN", err)
	}
}

// TestKeyNotExtractable reads the private key's attributes through crypto11
// and asks the token for the secret itself.
func TestKeyNotExtractable(t *testing.T) {
	tok := openTest(t)
	tests := []struct {
		alg    Algorithm
		secret crypto11.AttributeType // the private value
		public crypto11.AttributeType // a public value, to show reading works
	}{
		{ECDSAP256, crypto11.CkaValue, crypto11.CkaEcPoint},
		{RSA3072, crypto11.CkaPrivateExponent, crypto11.CkaModulus},
	}
	for _, tt := range tests {
		t.Run("ok/"+string(tt.alg), func(t *testing.T) {
			s, err := tok.Generate(newLabel(t, "sealed"), tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			key := s.(*signer).key
			want := map[crypto11.AttributeType]bool{
				crypto11.CkaToken:            true,
				crypto11.CkaPrivate:          true,
				crypto11.CkaSensitive:        true,
				crypto11.CkaAlwaysSensitive:  true,
				crypto11.CkaExtractable:      false,
				crypto11.CkaNeverExtractable: true,
				crypto11.CkaSign:             true,
				crypto11.CkaDecrypt:          false,
			}
			var types []crypto11.AttributeType
			for a := range want {
				types = append(types, a)
			}
			got, err := tok.ctx.GetAttributes(key, types)
			if err != nil {
				t.Fatal(err)
			}
			for a, w := range want {
				v := got[a]
				if v == nil || len(v.Value) != 1 || (v.Value[0] != 0) != w {
					t.Errorf("attribute %#x = %v, want %v", a, v, w)
				}
			}

			if pub, err := tok.ctx.GetPubAttribute(key, tt.public); err != nil || len(pub.Value) == 0 {
				t.Fatalf("cannot read the public half (%v): the check below would prove nothing", err)
			}
			secret, err := tok.ctx.GetAttribute(key, tt.secret)
			var rv p11.Error
			if !errors.As(err, &rv) || rv != p11.CKR_ATTRIBUTE_SENSITIVE {
				t.Fatalf("reading the private value: %v, %v; want CKR_ATTRIBUTE_SENSITIVE", secret, err)
			}
		})
	}
}
