package identity

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B, SHA-1 rows (8 digits, secret "12345678901234567890").
func TestHOTPRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		t    int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := hotp(secret, uint64(v.t/30), 8); got != v.want {
			t.Errorf("T=%d: got %s, want %s", v.t, got, v.want)
		}
	}
}

func TestCheckTOTP(t *testing.T) {
	secret := NewTOTPSecret()
	now := time.Date(2026, 11, 22, 10, 0, 15, 0, time.UTC)
	code := TOTPAt(secret, now)
	step, ok := CheckTOTP(secret, code, now, 0)
	if !ok {
		t.Fatal("current code refused")
	}
	tests := []struct {
		name string
		code string
		at   time.Time
		last uint64
		ok   bool
	}{
		{"ok/with spaces", code[:3] + " " + code[3:], now, 0, true},
		{"ok/previous period (clock drift)", code, now.Add(30 * time.Second), 0, true},
		{"fail/replayed step", code, now, step, false},
		{"fail/two periods late", code, now.Add(61 * time.Second), 0, false},
		{"fail/wrong code", strings.Repeat("0", 6), now, 0, code == "000000"},
		{"fail/too short", code[:5], now, 0, false},
		{"fail/letters", "abcdef", now, 0, false},
	}
	for _, tt := range tests {
		if _, ok := CheckTOTP(secret, tt.code, tt.at, tt.last); ok != tt.ok {
			t.Errorf("%s: ok = %v", tt.name, ok)
		}
	}
}

func TestTOTPKeyURI(t *testing.T) {
	u := TOTPKeyURI([]byte("12345678901234567890"), "civitas", "099 123")
	if !strings.HasPrefix(u, "otpauth://totp/civitas:099%20123?") || !strings.Contains(u, "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") {
		t.Fatal(u)
	}
	if got := TOTPSecretText([]byte("12345678901234567890")); got != "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ" {
		t.Fatal(got)
	}
}
