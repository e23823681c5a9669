package pki_test

import (
	"strings"
	"testing"

	"civitas/internal/pki"
)

// FuzzParseSerial: serial numbers typed by officers and holders parse to a
// positive number of at most 20 octets, or are refused; never a panic.
func FuzzParseSerial(f *testing.F) {
	for _, s := range []string{"4a3f", "0x4A:3F", " 40000000000000000000000000000001 ", "-1", "", "zz", strings.Repeat("f", 41)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := pki.ParseSerial(s)
		if err != nil {
			return
		}
		if n.Sign() <= 0 || n.BitLen() > 160 {
			t.Fatalf("%q parsed to %v", s, n)
		}
	})
}
