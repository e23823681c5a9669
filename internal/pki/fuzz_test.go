package pki_test

import (
	"bytes"
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

// FuzzReadWitness: a witness's file or a server's answer is untrusted.
// ReadWitness never panics; whatever it accepts is well formed, and reads
// back the same from the bytes it keeps (what a witness appends).
func FuzzReadWitness(f *testing.F) {
	good := `{"records":12,"head":"` + strings.Repeat("ab", 32) + `","time":"2026-05-01T08:00:00.123456Z","signer":"4a3f","signature":"MEUCIQ=="}`
	for _, s := range []string{good, good + "\n" + good, `{"checkpoints":[` + good + `],"next":"/audit/checkpoints?after=12"}`,
		"", "\n\n", "{}", "[]", `{"checkpoints":null}`, `{"records":-1}`, strings.Replace(good, "Z", "+07:00", 1)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for w, err := range pki.ReadWitness(bytes.NewReader(b), "f") {
			if err != nil {
				return
			}
			if w.Seq <= 0 || len(w.Hash) != 64 || len(w.Signature) == 0 || w.Signer == "" {
				t.Fatalf("accepted %+v from %q", w.Checkpoint, b)
			}
			n := 0
			for again, err := range pki.ReadWitness(bytes.NewReader(w.Raw), "again") {
				if err != nil || again.Seq != w.Seq || again.Hash != w.Hash || !again.At.Equal(w.At) ||
					!bytes.Equal(again.Signature, w.Signature) || !bytes.Equal(again.Token, w.Token) || !bytes.Equal(again.Raw, w.Raw) {
					t.Fatalf("%q reads back as %+v, %v", w.Raw, again.Checkpoint, err)
				}
				n++
			}
			if n != 1 {
				t.Fatalf("%q read back as %d checkpoints", w.Raw, n)
			}
		}
	})
}
