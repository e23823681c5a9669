package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"
)

// RFC 7515 Appendix A.3: an ES256 JWS and its key, written by others.
const (
	rfc7515Token = "eyJhbGciOiJFUzI1NiJ9." +
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ." +
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	rfc7515X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
	rfc7515Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
	// RFC 7638 §3.1: an RSA key and its published thumbprint.
	rfc7638N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)

func TestRFC7515ES256Vector(t *testing.T) {
	jwk := JWK{Kty: "EC", Crv: "P-256", X: rfc7515X, Y: rfc7515Y}
	pub, err := jwk.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	j, err := Parse(rfc7515Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Verify(pub, ES256); err != nil {
		t.Fatalf("RFC 7515 A.3 vector did not verify: %v", err)
	}
	c, err := j.Claims()
	if err != nil || c.Issuer != "joe" || c.Expiry != 1300819380 {
		t.Fatalf("claims = %+v, %v", c, err)
	}
	if err := c.Validate(Expect{Issuer: "joe", Now: time.Unix(1300819300, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(Expect{Issuer: "joe", Now: time.Unix(1300819500, 0)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired vector accepted: %v", err)
	}
	// One flipped bit in the signature must fail.
	bad := rfc7515Token[:len(rfc7515Token)-1] + "A"
	j2, err := Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := j2.Verify(pub, ES256); err == nil {
		t.Fatal("tampered signature verified")
	}
}

func TestRFC7638Thumbprint(t *testing.T) {
	got, err := JWK{Kty: "RSA", N: rfc7638N, E: "AQAB", Kid: "2011-04-29", Alg: "RS256"}.Thumbprint()
	if err != nil {
		t.Fatal(err)
	}
	if got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint = %s", got)
	}
}

func keys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]crypto.Signer{ES256: ec, ES384: ec384, RS256: rs, PS256: rs, EdDSA: ed}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for alg, k := range keys(t) {
		t.Run("ok/"+alg, func(t *testing.T) {
			jwk, err := PublicJWK(k.Public())
			if err != nil {
				t.Fatal(err)
			}
			tok, err := SignJSON(k, Header{Alg: alg, Typ: "JWT", Kid: "k1", Extra: map[string]any{"x5c": []string{"AA"}, "alg": "none"}},
				Claims{Issuer: "https://id.example", Subject: "s", Audience: Audience{"rp"}, Expiry: 2000000000})
			if err != nil {
				t.Fatal(err)
			}
			j, err := Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			if j.Header.Alg != alg || j.Header.Kid != "k1" || string(j.RawHeader["x5c"]) != `["AA"]` {
				t.Fatalf("header = %+v %s", j.Header, j.RawHeader["x5c"])
			}
			pub, err := jwk.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Verify(pub, alg); err != nil {
				t.Fatal(err)
			}
			c, _ := j.Claims()
			if err := c.Validate(Expect{Issuer: "https://id.example", Audience: "rp", Now: time.Unix(1900000000, 0), RequireExpiry: true}); err != nil {
				t.Fatal(err)
			}
			if got, _ := AlgFor(k.Public()); alg != RS256 && got != alg {
				t.Fatalf("AlgFor = %s", got)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	ks := keys(t)
	ec := ks[ES256]
	tok, _ := SignJSON(ec, Header{Alg: ES256}, Claims{Subject: "a"})
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]
	none := b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	rsTok, _ := SignJSON(ks[RS256], Header{Alg: RS256}, Claims{Subject: "a"})
	tests := []struct {
		name  string
		token string
		key   crypto.PublicKey
		algs  []string
	}{
		{"fail/other key", tok, other.Public(), []string{ES256}},
		{"fail/payload swapped", forged, ec.Public(), []string{ES256}},
		{"fail/alg not allowed", tok, ec.Public(), []string{RS256}},
		{"fail/alg none", none, ec.Public(), []string{ES256, "none"}},
		{"fail/RSA token against EC key", rsTok, ec.Public(), []string{RS256, ES256}},
		{"fail/EC token against RSA key", tok, ks[RS256].Public(), []string{RS256, ES256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse(tt.token)
			if err != nil {
				return // refusing to parse is refusing too
			}
			if err := j.Verify(tt.key, tt.algs...); !errors.Is(err, ErrInvalid) {
				t.Fatalf("verify = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tok := range []string{
		"", "a", "a.b", "a.b.c.d", "!!.e30.", "e30.!!.", "e30.e30.!!",
		b64.EncodeToString([]byte(`[1]`)) + ".e30.",
		b64.EncodeToString([]byte(`{}`)) + ".e30.",
		b64.EncodeToString([]byte(`{"alg":"ES256","crit":["exp"]}`)) + ".e30.",
		strings.Repeat("a", MaxTokenSize+1),
	} {
		if _, err := Parse(tok); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%.40q) = %v, want ErrInvalid", tok, err)
		}
	}
}

func TestJWKRefuses(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallJWK, _ := PublicJWK(&small.PublicKey)
	for name, j := range map[string]JWK{
		"fail/point off curve": {Kty: "EC", Crv: "P-256", X: rfc7515X, Y: rfc7515X},
		"fail/short x":         {Kty: "EC", Crv: "P-256", X: "AAAA", Y: rfc7515Y},
		"fail/unknown curve":   {Kty: "EC", Crv: "P-521", X: rfc7515X, Y: rfc7515Y},
		"fail/weak RSA":        smallJWK,
		"fail/unknown kty":     {Kty: "oct"},
		"fail/bad Ed25519":     {Kty: "OKP", Crv: "Ed25519", X: "AAAA"},
	} {
		if _, err := j.PublicKey(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestClaimsValidate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name string
		c    Claims
		e    Expect
		ok   bool
	}{
		{"ok/within leeway", Claims{Expiry: now.Unix() - 20}, Expect{Now: now, Leeway: 30 * time.Second}, true},
		{"fail/expired", Claims{Expiry: now.Unix() - 31}, Expect{Now: now, Leeway: 30 * time.Second}, false},
		{"fail/not yet", Claims{NotBefore: now.Unix() + 60}, Expect{Now: now}, false},
		{"fail/issued in future", Claims{IssuedAt: now.Unix() + 60}, Expect{Now: now}, false},
		{"fail/wrong audience", Claims{Audience: Audience{"a", "b"}}, Expect{Now: now, Audience: "c"}, false},
		{"ok/one of audiences", Claims{Audience: Audience{"a", "b"}}, Expect{Now: now, Audience: "b"}, true},
		{"fail/no exp required", Claims{}, Expect{Now: now, RequireExpiry: true}, false},
		{"fail/too old", Claims{IssuedAt: now.Unix() - 120}, Expect{Now: now, MaxAge: time.Minute}, false},
		{"fail/max age without iat", Claims{}, Expect{Now: now, MaxAge: time.Minute}, false},
		{"fail/wrong issuer", Claims{Issuer: "x"}, Expect{Now: now, Issuer: "y"}, false},
	}
	for _, tt := range tests {
		if err := tt.c.Validate(tt.e); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(rfc7515Token)
	f.Add("e30.e30.")
	f.Add("a.b.c")
	pub, _ := JWK{Kty: "EC", Crv: "P-256", X: rfc7515X, Y: rfc7515Y}.PublicKey()
	f.Fuzz(func(t *testing.T, tok string) {
		j, err := Parse(tok)
		if err != nil {
			return
		}
		_ = j.Verify(pub, ES256, RS256, EdDSA)
		_, _ = j.Claims()
		if j.Header.JWK != nil {
			_, _ = j.Header.JWK.PublicKey()
			_, _ = j.Header.JWK.Thumbprint()
		}
	})
}

// BenchmarkES256 compares our JWS signing and verification with the raw
// ECDSA P-256 operations they wrap.
func BenchmarkES256(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := []byte(`{"iss":"https://id.example","sub":"abc","aud":"rp","exp":2000000000,"iat":1900000000}`)
	digest := make([]byte, 32)
	b.Run("raw-sign", func(b *testing.B) {
		for b.Loop() {
			_, _ = ecdsa.SignASN1(rand.Reader, k, digest)
		}
	})
	b.Run("jws-sign", func(b *testing.B) {
		for b.Loop() {
			_, _ = Sign(k, Header{Alg: ES256, Kid: "k"}, payload)
		}
	})
	sig, _ := ecdsa.SignASN1(rand.Reader, k, digest)
	b.Run("raw-verify", func(b *testing.B) {
		for b.Loop() {
			ecdsa.VerifyASN1(&k.PublicKey, digest, sig)
		}
	})
	tok, _ := Sign(k, Header{Alg: ES256, Kid: "k"}, payload)
	b.Run("jws-parse-verify", func(b *testing.B) {
		for b.Loop() {
			j, err := Parse(tok)
			if err != nil || j.Verify(&k.PublicKey, ES256) != nil {
				b.Fatal("verify failed")
			}
		}
	})
}

func TestSignEncodedIsSign(t *testing.T) {
	for alg, k := range keys(t) {
		h := Header{Alg: alg, Typ: "x+jwt", Kid: "k1", Extra: map[string]any{"x5c": []string{"AA", "BB"}}}
		eh, err := EncodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		payload := []byte(`{"a":"b"}`)
		tok, err := SignEncoded(k, eh, payload)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := Sign(k, h, payload)
		if err != nil {
			t.Fatal(err)
		}
		if strings.SplitN(tok, ".", 3)[0] != strings.SplitN(ref, ".", 3)[0] || strings.SplitN(tok, ".", 3)[1] != strings.SplitN(ref, ".", 3)[1] {
			t.Fatalf("%s: SignEncoded's header or payload differs from Sign's", alg)
		}
		j, err := Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Verify(k.Public(), alg); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if string(j.RawHeader["x5c"]) != `["AA","BB"]` || j.Header.Typ != "x+jwt" {
			t.Fatalf("%s: header %s", alg, j.RawHeader)
		}
	}
	if _, err := SignEncoded(nil, EncodedHeader{}, nil); err == nil {
		t.Fatal("signed under no header")
	}
}
