package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"civitas/internal/kernel"
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

// FuzzPasskeyFinish feeds the finish endpoints' request parsing whatever a
// browser may post: the request object, the credential the WebAuthn library
// reads from it, and the passkey name. None may panic; every refusal is a
// 400 (Invalid) with its message; an accepted request keeps its promises.
func FuzzPasskeyFinish(f *testing.F) {
	flow := kernel.NewToken()
	cd := func(typ string) string {
		return b64url([]byte(`{"type":"` + typ + `","challenge":"AAAAAAAAAAAAAAAAAAAAAA","origin":"http://civitas.test"}`))
	}
	rp := sha256.Sum256([]byte("civitas.test"))
	authData := append(rp[:], 0x05, 0, 0, 0, 1)
	cose, _ := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: bytes.Repeat([]byte{1}, 32), -3: bytes.Repeat([]byte{2}, 32)})
	attested := append(append(append(append([]byte{}, authData[:32]...), 0x45, 0, 0, 0, 1), make([]byte, 16)...), 0, 4, 1, 2, 3, 4)
	att, _ := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": append(attested, cose...)})
	create := `{"id":"AQIDBA","rawId":"AQIDBA","type":"public-key","response":{"clientDataJSON":"` + cd("webauthn.create") +
		`","attestationObject":"` + b64url(att) + `","transports":["internal"]}}`
	get := `{"id":"AQIDBA","rawId":"AQIDBA","type":"public-key","clientExtensionResults":{},"response":{"clientDataJSON":"` +
		cd("webauthn.get") + `","authenticatorData":"` + b64url(authData) + `","signature":"MEUCIQ","userHandle":"YWJj"}}`
	for _, s := range []string{
		`{"flow":"` + flow + `","name":"My phone","credential":` + create + `}`,
		`{"flow":"` + flow + `","next":"/account","acr":"level2","credential":` + get + `}`,
		`{"flow":"` + flow + `","credential":{}}`, `{"flow":"` + flow + `","credential":{"id":"","response":{}}}`,
		`{not json`, `null`, `[]`, `{"flow":1}`, `{"flow":"` + flow + `","credential":{}} trailing`, "\x00", `{"name":"\u0000\u200b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		refused := func(what string, err error) {
			if err != nil && kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("%s: %v is not a 400", what, err)
			}
		}
		// The library's parsers see the body itself as well as the credential inside it.
		_, err := parseCreation(body)
		refused("parseCreation(body)", err)
		_, err = parseAssertion(body)
		refused("parseAssertion(body)", err)
		req, err := parsePasskeyFinish(body)
		if err != nil {
			refused("parsePasskeyFinish", err)
			return
		}
		if !validFlow(req.Flow) || len(req.Credential) == 0 || req.Credential[0] != '{' {
			t.Fatalf("accepted %q", body)
		}
		if c, err := parseCreation(req.Credential); err == nil && c == nil {
			t.Fatal("parseCreation: no error and no credential")
		} else {
			refused("parseCreation", err)
		}
		if a, err := parseAssertion(req.Credential); err == nil && a == nil {
			t.Fatal("parseAssertion: no error and no assertion")
		} else {
			refused("parseAssertion", err)
		}
		if n, err := passkeyName(req.Name); err == nil {
			if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxPasskeyName || n != strings.TrimSpace(n) || strings.ContainsFunc(n, unicode.IsControl) {
				t.Fatalf("passkeyName(%q) = %q", req.Name, n)
			}
		} else {
			refused("passkeyName", err)
		}
		_ = safeNext(req.Next, "/account")
		_ = wantACR(req.ACR)
	})
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
