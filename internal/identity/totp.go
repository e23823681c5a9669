package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters: RFC 6238 defaults, which every authenticator app supports.
const (
	totpDigits = 6
	totpPeriod = 30 * time.Second
	// totpSkew is how many periods either side of now are accepted, for
	// phones whose clocks drift.
	totpSkew = 1
	// totpSecretSize is 160 bits, the HMAC-SHA1 block RFC 4226 recommends.
	totpSecretSize = 20
)

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a fresh random TOTP seed.
func NewTOTPSecret() []byte {
	b := make([]byte, totpSecretSize)
	_, _ = rand.Read(b)
	return b
}

// TOTPKeyURI is the otpauth:// URI an authenticator app reads from a QR code.
func TOTPKeyURI(secret []byte, issuer, account string) string {
	v := url.Values{}
	v.Set("secret", totpEncoding.EncodeToString(secret))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(totpDigits))
	v.Set("period", fmt.Sprint(int(totpPeriod/time.Second)))
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?" + v.Encode()
}

// TOTPSecretText is the seed as people type it into an app by hand: base32 in groups of four.
func TOTPSecretText(secret []byte) string {
	s := totpEncoding.EncodeToString(secret)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// hotp is RFC 4226's HOTP value of counter with the given number of digits.
func hotp(secret []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, code%mod)
}

// TOTPAt returns the code for time t.
func TOTPAt(secret []byte, t time.Time) string {
	return hotp(secret, uint64(t.Unix())/uint64(totpPeriod/time.Second), totpDigits)
}

// CheckTOTP reports whether code is valid at now, and the time step it
// matched. The caller stores that step and refuses any code for the same or
// an earlier step again, so a code seen over a shoulder cannot be replayed.
func CheckTOTP(secret []byte, code string, now time.Time, lastStep uint64) (step uint64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits {
		return 0, false
	}
	cur := uint64(now.Unix()) / uint64(totpPeriod/time.Second)
	for d := -totpSkew; d <= totpSkew; d++ {
		s := cur + uint64(d)
		if d < 0 && cur < uint64(-d) {
			continue
		}
		if s <= lastStep {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(secret, s, totpDigits)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// ParseTOTPSecretText reads a seed written by TOTPSecretText.
func ParseTOTPSecretText(text string) ([]byte, error) {
	return totpEncoding.DecodeString(strings.ToUpper(strings.ReplaceAll(text, " ", "")))
}
