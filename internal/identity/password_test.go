package identity

import (
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"civitas/internal/kernel"
)

// cheap parameters keep the tests fast; the format and checks are the same.
var cheap = PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("mật khẩu dài đủ", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %s", h)
	}
	h2, _ := HashPassword("mật khẩu dài đủ", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name     string
		password string
		ok       bool
	}{
		{"ok/right password", "mật khẩu dài đủ", true},
		{"fail/wrong password", "mật khẩu dài đũ", false},
		{"fail/empty", "", false},
		{"fail/huge", strings.Repeat("a", 5000), false},
	}
	for _, tt := range tests {
		ok, rehash, err := VerifyPassword(tt.password, h, cheap)
		if err != nil || ok != tt.ok || rehash {
			t.Errorf("%s: ok=%v rehash=%v err=%v", tt.name, ok, rehash, err)
		}
	}
	if ok, rehash, _ := VerifyPassword("mật khẩu dài đủ", h, DefaultPasswordParams); !ok || !rehash {
		t.Fatal("a hash below the current parameters must ask to be replaced")
	}
}

// TestMatchesArgon2idDirectly checks our PHC encoding against x/crypto's
// argon2id output for a fixed salt, so hashes stay readable by other tools.
func TestMatchesArgon2idDirectly(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("password"), salt, 2, 64, 1, 32)
	stored := "$argon2id$v=19$m=64,t=2,p=1$" + phcB64.EncodeToString(salt) + "$" + phcB64.EncodeToString(key)
	if ok, _, err := VerifyPassword("password", stored, cheap); !ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
}

func TestMalformedHashesRefused(t *testing.T) {
	good, _ := HashPassword("correct horse", cheap)
	parts := strings.Split(good, "$")
	for name, s := range map[string]string{
		"fail/empty":          "",
		"fail/bcrypt":         "$2a$10$abcdefghijklmnopqrstuu",
		"fail/argon2i":        strings.Replace(good, "argon2id", "argon2i", 1),
		"fail/old version":    strings.Replace(good, "v=19", "v=16", 1),
		"fail/huge memory":    strings.Replace(good, "m=64", "m=4000000", 1),
		"fail/zero time":      strings.Replace(good, "t=1", "t=0", 1),
		"fail/many passes":    strings.Replace(good, "t=1", "t=1000", 1),
		"fail/unknown param":  strings.Replace(good, "p=1", "x=1", 1),
		"fail/short key":      strings.Join(append(parts[:5:5], "AAAA"), "$"),
		"fail/bad base64":     strings.Join(append(parts[:4:4], "!!!!", parts[5]), "$"),
		"fail/extra part":     good + "$x",
		"fail/threads > 255":  strings.Replace(good, "p=1", "p=300", 1),
		"fail/memory<8×lanes": strings.Replace(good, "m=64,t=1,p=1", "m=8,t=1,p=2", 1),
	} {
		ok, _, err := VerifyPassword("correct horse", s, cheap)
		if ok || kernel.ErrorCode(err) != kernel.Internal {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for pw, want := range map[string]kernel.Code{
		"short":                   kernel.Invalid,
		"ngắn quá":                "",
		"a long enough password":  "",
		strings.Repeat("x", 1025): kernel.Invalid,
		"bad\xffutf8 password":    kernel.Invalid,
	} {
		if got := kernel.ErrorCode(CheckPasswordPolicy(pw)); got != want {
			t.Errorf("%.20q: code %q, want %q", pw, got, want)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	good, _ := HashPassword("x", cheap)
	f.Add(good)
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err == nil && (h.params.MemoryKiB > maxMemoryKiB || h.params.Time > maxTime || len(h.key) < 16) {
			t.Fatalf("accepted out-of-bounds hash %q", s)
		}
	})
}

// BenchmarkPassword compares a password check with the OWASP parameters to
// the raw argon2id computation it is made of, in the same run.
func BenchmarkPassword(b *testing.B) {
	stored, _ := HashPassword("correct horse battery", DefaultPasswordParams)
	salt := make([]byte, saltSize)
	b.Run("raw-argon2id", func(b *testing.B) {
		p := DefaultPasswordParams
		for b.Loop() {
			argon2.IDKey([]byte("correct horse battery"), salt, p.Time, p.MemoryKiB, p.Threads, keySize)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if ok, _, err := VerifyPassword("correct horse battery", stored, DefaultPasswordParams); !ok || err != nil {
				b.Fatal("verify failed")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
	b.Run("verify-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _, _ = VerifyPassword("correct horse battery", stored, DefaultPasswordParams)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
}
