package sealed

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func testBox(t *testing.T) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := testBox(t)
	v := b.Seal([]byte("seed"), []byte("totp:A"))
	if bytes.Contains(v, []byte("seed")) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := b.Open(v, []byte("totp:A"))
	if err != nil || string(got) != "seed" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if bytes.Equal(v, b.Seal([]byte("seed"), []byte("totp:A"))) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	tampered := bytes.Clone(v)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"fail/other aad":   func() ([]byte, error) { return b.Open(v, []byte("totp:B")) },
		"fail/other key":   func() ([]byte, error) { return other.Open(v, []byte("totp:A")) },
		"fail/tampered":    func() ([]byte, error) { return b.Open(tampered, []byte("totp:A")) },
		"fail/truncated":   func() ([]byte, error) { return b.Open(v[:10], []byte("totp:A")) },
		"fail/empty":       func() ([]byte, error) { return b.Open(nil, nil) },
		"fail/bad version": func() ([]byte, error) { w := bytes.Clone(v); w[0] = 9; return b.Open(w, []byte("totp:A")) },
	} {
		if _, err := open(); err != ErrOpen {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "secret.key")
	if _, _, err := LoadOrCreateKeyFile(path, false); err == nil {
		t.Fatal("missing key file accepted without create")
	}
	k1, created, err := LoadOrCreateKeyFile(path, true)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("create: %v %v %d", err, created, len(k1))
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode(), err)
	}
	k2, created, err := LoadOrCreateKeyFile(path, true)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %v %v", err, created)
	}
	os.WriteFile(path, []byte("not hex"), 0o600)
	if _, _, err := LoadOrCreateKeyFile(path, true); err == nil {
		t.Fatal("bad key file accepted")
	}
	if _, err := ParseKey([]byte("  " + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" + "\n")); err != nil {
		t.Fatal(err)
	}
}
