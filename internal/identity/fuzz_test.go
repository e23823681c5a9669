package identity

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzFormInput feeds what a browser may send to every parser of typed
// input: none may panic, and each keeps its promise.
func FuzzFormInput(f *testing.F) {
	for _, s := range []string{"/account", "//evil", "/\\evil", "https://x", "+84 912 345 678", "0912.345.678",
		"abcd-efgh-jkmn-pqrs", "JBSW Y3DP", "Mozilla/5.0 (Linux; Android 10) Chrome/120 Safari/537", "\x00", "Nguyễn  Văn\tA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := safeNext(s, "/account"); !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") || strings.ContainsAny(n, "\r\n") {
			t.Fatalf("safeNext(%q) = %q", s, n)
		}
		if p := normalizePhone(s); p != "" {
			if len(p) < 9 || len(p) > 11 || p[0] != '0' || strings.Trim(p, "0123456789") != "" {
				t.Fatalf("normalizePhone(%q) = %q", s, p)
			}
		}
		if c := normalizeCode(s); strings.ContainsAny(c, " -\t") {
			t.Fatalf("normalizeCode(%q) = %q", s, c)
		}
		if n := normalizeName(s); utf8.ValidString(s) && n != strings.TrimSpace(n) {
			t.Fatalf("normalizeName(%q) = %q", s, n)
		}
		if d := DeviceName(s); len(d) > 60 && len(s) <= 60 {
			t.Fatalf("DeviceName(%q) = %q", s, d)
		}
		_, _ = ParseTOTPSecretText(s)
		_ = wantACR(s)
	})
}
