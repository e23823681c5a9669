package jose

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// FuzzDERSignature: derSignature writes r and s as encoding/asn1 does.
func FuzzDERSignature(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Add(make([]byte, 64))
	f.Add(append(append(make([]byte, 31), 1), bytes.Repeat([]byte{0x80}, 32)...))
	f.Add(bytes.Repeat([]byte{0x7f, 0x00}, 48))
	f.Fuzz(func(t *testing.T, sig []byte) {
		var size int
		switch len(sig) {
		case 64:
			size = 32
		case 96:
			size = 48
		default:
			return
		}
		want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])})
		if err != nil {
			t.Fatal(err)
		}
		if got := derSignature(sig[:size], sig[size:]); !bytes.Equal(got, want) {
			t.Fatalf("%x: got %x, want %x", sig, got, want)
		}
	})
}
