package statuslist_test

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"testing"

	"civitas/internal/jose"
	"civitas/internal/statuslist"
)

// FuzzDecode feeds hostile lst values to the decoder: it must never panic,
// never return more than MaxDecodedSize, and what it accepts must encode and
// decode back to the same entries.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(1), draft1Lst)
	f.Add(uint8(2), draft2Lst)
	f.Add(uint8(1), draftLong1Lst)
	f.Add(uint8(8), our1Lst)
	f.Add(uint8(4), base64.RawURLEncoding.EncodeToString(zlibBytes(f, zlib.NoCompression, []byte{1, 2, 3})))
	f.Add(uint8(1), "eNo")
	f.Fuzz(func(t *testing.T, bits uint8, lst string) {
		l, err := statuslist.Decode(int(bits), lst)
		if err != nil {
			return
		}
		if n := len(l.Bytes()); n == 0 || n > statuslist.MaxDecodedSize {
			t.Fatalf("accepted %d bytes", n)
		}
		if _, err := l.Get(l.Len() - 1); err != nil {
			t.Fatalf("last entry: %v", err)
		}
		if _, err := l.Get(l.Len()); err == nil {
			t.Fatal("entry past the end accepted")
		}
		again, err := l.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := statuslist.Decode(int(bits), again)
		if err != nil || !bytes.Equal(back.Bytes(), l.Bytes()) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzVerifyClaims signs hostile claims with the trusted key, as a broken
// or compromised issuer could: Verify must refuse them without panicking
// or accept only a well-formed token for the URI asked.
func FuzzVerifyClaims(f *testing.F) {
	key := newKey(f)
	f.Add([]byte(`{"sub":"` + listURI + `","iat":1,"status_list":{"bits":1,"lst":"` + draft1Lst + `"}}`))
	f.Add([]byte(`{"sub":"` + listURI + `","iat":1,"ttl":1e400,"status_list":{"bits":1,"lst":"` + draft1Lst + `"}}`))
	f.Add([]byte(`{"sub":null,"status_list":[]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		tok, err := jose.Sign(key, jose.Header{Alg: jose.ES256, Typ: statuslist.TokenType}, payload)
		if err != nil {
			return
		}
		got, err := statuslist.Verify([]byte(tok), statuslist.Expect{URI: listURI, Key: &key.PublicKey})
		if err != nil {
			return
		}
		if got.URI != listURI || got.List == nil || got.List.Len() == 0 || got.TTL < 0 || got.IssuedAt.IsZero() {
			t.Fatalf("accepted %+v", got)
		}
	})
}
