package statuslist_test

import (
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/statuslist"
)

const listURI = "https://civitas.example/status/abc"

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	key := newKey(t)
	now := time.Unix(1_800_000_000, 0).UTC()
	l, _ := statuslist.New(2, 100)
	l.Set(7, statuslist.Invalid)
	l.Set(8, statuslist.Suspended)
	tok, err := statuslist.Sign(statuslist.Signer{Key: key, Kid: "k1", Header: map[string]any{"x5c": []string{"AA"}}},
		statuslist.Token{URI: listURI, Issuer: "https://civitas.example", IssuedAt: now, Expiry: now.Add(time.Hour), TTL: 300 * time.Second, List: l})
	if err != nil {
		t.Fatal(err)
	}
	j, err := jose.Parse(string(tok))
	if err != nil || j.Header.Typ != "statuslist+jwt" || j.Header.Kid != "k1" || j.Header.Alg != jose.ES256 || string(j.RawHeader["x5c"]) != `["AA"]` {
		t.Fatalf("header = %+v, %v", j.Header, err)
	}
	got, err := statuslist.Verify(tok, statuslist.Expect{URI: listURI, Key: &key.PublicKey, Issuer: "https://civitas.example", Now: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if got.URI != listURI || !got.IssuedAt.Equal(now) || !got.Expiry.Equal(now.Add(time.Hour)) || got.TTL != 300*time.Second || got.Issuer != "https://civitas.example" {
		t.Fatalf("token = %+v", got)
	}
	for i, want := range map[int]statuslist.Status{0: statuslist.Valid, 7: statuslist.Invalid, 8: statuslist.Suspended, 99: statuslist.Valid} {
		if s, err := got.List.Get(i); err != nil || s != want {
			t.Fatalf("status[%d] = %v, %v", i, s, err)
		}
	}
}

// forge signs a payload of our choosing with the right key: what a buggy
// or hostile issuer could send.
func forge(t *testing.T, key *ecdsa.PrivateKey, typ string, claims map[string]any) []byte {
	t.Helper()
	tok, err := jose.SignJSON(key, jose.Header{Alg: jose.ES256, Typ: typ}, claims)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(tok)
}

func TestVerifyRefuses(t *testing.T) {
	key := newKey(t)
	now := time.Unix(1_800_000_000, 0).UTC()
	good := func() map[string]any {
		return map[string]any{"sub": listURI, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ttl": 300,
			"status_list": map[string]any{"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	valid := forge(t, key, "statuslist+jwt", good())
	parts := strings.Split(string(valid), ".")
	other := forge(t, key, "statuslist+jwt", with("sub", "https://civitas.example/status/other"))
	swapped := parts[0] + "." + strings.Split(string(other), ".")[1] + "." + parts[2]
	bomb := base64.RawURLEncoding.EncodeToString(zlibBytes(t, zlib.BestCompression, make([]byte, statuslist.MaxDecodedSize+1)))

	tests := []struct {
		name  string
		token []byte
		e     statuslist.Expect
		code  kernel.Code
		key   string
	}{
		{"ok/forged helper is sound", valid, statuslist.Expect{}, "", ""},
		{"ok/typ with application/", forge(t, key, "application/statuslist+jwt", good()), statuslist.Expect{}, "", ""},
		{"ok/no exp, no ttl", forge(t, key, "statuslist+jwt", with("exp", nil)), statuslist.Expect{}, "", ""},
		{"fail/tampered payload", []byte(swapped), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/tampered signature", []byte(string(valid[:len(valid)-2]) + "AA"), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/other key", valid, statuslist.Expect{Key: &newKey(t).PublicKey}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/algorithm not allowed", valid, statuslist.Expect{Algs: []string{jose.ES384}}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/wrong sub", other, statuslist.Expect{}, kernel.Invalid, "statuslist.error.wrong_subject"},
		{"fail/expired", forge(t, key, "statuslist+jwt", with("exp", now.Add(-time.Minute).Unix())), statuslist.Expect{}, kernel.Invalid, "statuslist.error.expired"},
		{"fail/issued in the future", forge(t, key, "statuslist+jwt", with("iat", now.Add(time.Hour).Unix())), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/wrong issuer", forge(t, key, "statuslist+jwt", with("iss", "https://other.example")), statuslist.Expect{Issuer: "https://civitas.example"}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/typ JWT", forge(t, key, "JWT", good()), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/no typ", forge(t, key, "", good()), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/no sub", forge(t, key, "statuslist+jwt", with("sub", nil)), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/no iat", forge(t, key, "statuslist+jwt", with("iat", nil)), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/no status_list", forge(t, key, "statuslist+jwt", with("status_list", nil)), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/ttl zero", forge(t, key, "statuslist+jwt", with("ttl", 0)), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/ttl negative", forge(t, key, "statuslist+jwt", with("ttl", -5)), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/ttl a string", forge(t, key, "statuslist+jwt", with("ttl", "300")), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/bits 3", forge(t, key, "statuslist+jwt", with("status_list", map[string]any{"bits": 3, "lst": "eNrbuRgAAhcBXQ"})), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_list"},
		{"fail/signed zlib bomb", forge(t, key, "statuslist+jwt", with("status_list", map[string]any{"bits": 1, "lst": bomb})), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_list"},
		{"fail/not a JWS", []byte("not.a.token"), statuslist.Expect{}, kernel.Invalid, "statuslist.error.bad_token"},
		{"fail/no key", valid, statuslist.Expect{Key: (*ecdsa.PublicKey)(nil)}, kernel.Invalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			if e.Key == nil {
				e.Key = &key.PublicKey
			}
			if k, ok := e.Key.(*ecdsa.PublicKey); ok && k == nil {
				e.Key = nil
			}
			e.URI, e.Now = listURI, now
			got, err := statuslist.Verify(tt.token, e)
			if tt.code == "" {
				if err != nil || got.List == nil {
					t.Fatalf("Verify = %v", err)
				}
				return
			}
			if kernel.ErrorCode(err) != tt.code {
				t.Fatalf("Verify = %v, want %s", err, tt.code)
			}
			if k, _ := kernel.ErrorKey(err); tt.key != "" && k != tt.key {
				t.Fatalf("key = %s, want %s", k, tt.key)
			}
		})
	}
}
