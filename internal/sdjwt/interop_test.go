package sdjwt

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"civitas/internal/jose"
)

// The interop tests run npm @sd-jwt/sd-jwt-vc (tests/wallet) against this
// package in both directions. They skip when node or the npm packages are
// missing, unless CIVITAS_REQUIRE_NODE is set, as .ci/run does, so that CI
// cannot pass without them.
func walletDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "tests", "wallet")
	msg := ""
	if _, err := exec.LookPath("node"); err != nil {
		msg = "node is not installed; install Node.js 20+, then: cd tests/wallet && npm ci"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "@sd-jwt", "sd-jwt-vc")); err != nil {
		msg = "npm @sd-jwt/sd-jwt-vc is not installed: cd tests/wallet && npm ci"
	}
	if msg != "" {
		if os.Getenv("CIVITAS_REQUIRE_NODE") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// runNode runs a script of tests/wallet with input on standard input and
// returns its standard output, or its standard error as the error.
func runNode(t *testing.T, dir, script string, input any) ([]byte, error) {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node %s: %v", script, ctx.Err())
		}
		return nil, errors.New(strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// statusListJWT is a Token Status List (draft-ietf-oauth-status-list, one
// bit per credential, least significant bit first) with the given indexes
// revoked, signed by the issuer: just enough for the npm verifier to check
// the status claim of our credentials.
func statusListJWT(t *testing.T, f *fixture, uri string, size int, revoked ...int) string {
	t.Helper()
	bits := make([]byte, (size+7)/8)
	for _, i := range revoked {
		bits[i/8] |= 1 << (i % 8)
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	_, _ = w.Write(bits)
	_ = w.Close()
	jwt, err := jose.SignJSON(f.issuer, jose.Header{Alg: jose.ES256, Typ: "statuslist+jwt"}, map[string]any{
		"sub": uri, "iat": f.now.Unix() - 60, "exp": f.now.Unix() + 3600,
		"status_list": map[string]any{"bits": 1, "lst": b64.EncodeToString(z.Bytes())},
	})
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

type npmVerified struct {
	Credential *struct {
		Claims map[string]any `json:"claims"`
	} `json:"credential"`
	Presentation *struct {
		Claims map[string]any `json:"claims"`
		KB     map[string]any `json:"kb"`
	} `json:"presentation"`
}

// TestInteropNPMVerifiesOurs: credentials and presentations issued here are
// accepted by npm @sd-jwt/sd-jwt-vc, which sees exactly the claims our
// Verify sees, and tampering or revocation makes it refuse them.
func TestInteropNPMVerifiesOurs(t *testing.T) {
	dir := walletDir(t)
	f := newFixture(t)
	f.now = time.Now().Truncate(time.Second)
	cred := f.issue(t, cardClaims(), Selective{Paths: [][]string{
		{"sub"}, {"given_name"}, {"family_name"}, {"birthdate"}, {"card_number"}, {"hospital"},
		{"address"}, {"address", "locality"}, {"address", "region"}, {"nationalities", "*"},
	}}, func(o *IssueOptions) { o.Decoys = 3 })
	pres := present(t, cred, f.binding(), "given_name", "birthdate", "address/locality", "nationalities/1")
	issuerJWK, _ := jose.PublicJWK(&f.issuer.PublicKey)
	statusURI := testIssuer + "/status/1"
	valid := statusListJWT(t, f, statusURI, 8192)
	input := func(cred, pres, status string) map[string]any {
		m := map[string]any{"issuer_jwk": issuerJWK, "aud": testAud, "nonce": testNonce, "now": f.now.Unix()}
		if cred != "" {
			m["credential"] = cred
		}
		if pres != "" {
			m["presentation"] = pres
		}
		if status != "" {
			m["status_list_jwt"] = status
		}
		return m
	}

	out, err := runNode(t, dir, "verify.mjs", input(cred, pres, valid))
	if err != nil {
		t.Fatalf("npm verifier refused our credential: %v", err)
	}
	var got npmVerified
	if err := json.Unmarshal(out, &got); err != nil || got.Credential == nil || got.Presentation == nil {
		t.Fatalf("npm output %s: %v", out, err)
	}
	ours, err := Verify(context.Background(), cred, f.verifyOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := asJSON(t, got.Credential.Claims), asJSON(t, ours.Claims); a != b {
		t.Fatalf("credential claims differ\n npm %s\nours %s", a, b)
	}
	oursP, err := Verify(context.Background(), pres, f.verifyOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := asJSON(t, got.Presentation.Claims), asJSON(t, oursP.Claims); a != b {
		t.Fatalf("presented claims differ\n npm %s\nours %s", a, b)
	}
	for _, hidden := range []string{"sub", "family_name", "card_number", "hospital"} {
		if _, ok := got.Presentation.Claims[hidden]; ok {
			t.Errorf("npm sees undisclosed %s", hidden)
		}
	}
	if addr, _ := got.Presentation.Claims["address"].(map[string]any); addr["locality"] != "Hoàn Kiếm" || addr["region"] != nil {
		t.Errorf("npm sees address %v", addr)
	}
	if n := asJSON(t, got.Presentation.Claims["nationalities"]); n != `["FR"]` {
		t.Errorf("npm sees nationalities %s", n)
	}
	t.Logf("npm @sd-jwt/sd-jwt-vc accepted our credential and presentation; it sees %s", asJSON(t, got.Presentation.Claims))

	p, _ := split(cred, Limits{}.withDefaults())
	pp, _ := split(pres, Limits{}.withDefaults())
	forged := func() string {
		raw, _ := b64.DecodeString(p.disclosures[0])
		var arr []any
		_ = json.Unmarshal(raw, &arr)
		arr[len(arr)-1] = "forged"
		return disc(t, arr...)
	}()
	replace := func(s, old, new string) string { return strings.Replace(s, old, new, 1) }
	other := newFixture(t)
	other.now = f.now
	otherCred := other.issue(t, cardClaims(), Selective{}, nil)
	op, _ := split(otherCred, Limits{}.withDefaults())
	for _, tc := range []struct {
		name  string
		input map[string]any
	}{
		{"fail/tampered-disclosure", input(replace(cred, p.disclosures[0], flip(p.disclosures[0], 7)), "", "")},
		{"fail/forged-disclosure-value", input(replace(cred, p.disclosures[0], forged), "", "")},
		{"fail/disclosure-of-another-credential", input(cred+op.disclosures[0]+"~", "", "")},
		{"fail/tampered-issuer-signature", input(flip(p.issuerJWT, len(p.issuerJWT)-4)+cred[len(p.issuerJWT):], "", "")},
		{"fail/tampered-presented-disclosure", input("", replace(pres, pp.disclosures[0], flip(pp.disclosures[0], 9)), "")},
		{"fail/presentation-disclosure-added", input("", pp.presented+p.disclosures[0]+"~"+pp.kb, "")},
		{"fail/kb-wrong-nonce", func() map[string]any { m := input("", pres, ""); m["nonce"] = "replayed"; return m }()},
		{"fail/kb-wrong-audience", func() map[string]any { m := input("", pres, ""); m["aud"] = "https://evil.example"; return m }()},
		{"fail/expired", func() map[string]any {
			m := input(cred, "", "")
			m["now"] = f.now.Add(400 * 24 * time.Hour).Unix()
			return m
		}()},
		{"fail/revoked", input(cred, "", statusListJWT(t, f, statusURI, 8192, 4711))},
		{"fail/status-list-not-signed-by-issuer", input(cred, "", statusListJWT(t, other, statusURI, 8192))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runNode(t, dir, "verify.mjs", tc.input)
			if err == nil {
				t.Fatalf("npm verifier accepted it: %s", out)
			}
			t.Logf("npm verifier refused: %v", err)
		})
	}
}

type npmIssued struct {
	Credential   string    `json:"credential"`
	Presentation string    `json:"presentation"`
	IssuerJWK    jose.JWK  `json:"issuer_jwk"`
	HolderJWK    jose.JWK  `json:"holder_jwk"`
	HolderD      string    `json:"holder_d"`
	Iss          string    `json:"iss"`
	VCT          string    `json:"vct"`
	Aud          string    `json:"aud"`
	Nonce        string    `json:"nonce"`
	Now          int64     `json:"now"`
	Status       StatusRef `json:"status"`
}

// TestInteropNPMIssuesWeVerify: a credential and a presentation made by npm
// @sd-jwt/sd-jwt-vc verify here; we can be the holder of its credential, and
// the npm verifier accepts what we present.
func TestInteropNPMIssuesWeVerify(t *testing.T) {
	dir := walletDir(t)
	out, err := runNode(t, dir, "issue.mjs", map[string]any{})
	if err != nil {
		t.Fatalf("npm issuer: %v", err)
	}
	var in npmIssued
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatal(err)
	}
	issuerKey, err := in.IssuerJWK.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(in.Now, 0)
	opts := VerifyOptions{Key: fixedKey(in.Iss, issuerKey), VCT: in.VCT, Now: now}
	v, err := Verify(context.Background(), in.Credential, opts)
	if err != nil {
		t.Fatalf("npm credential: %v", err)
	}
	want := `{"address":{"country":"VN","locality":"Hoàn Kiếm","region":"Hà Nội","street_address":"12 Lý Thường Kiệt"},` +
		`"birthdate":"1990-04-12","card_number":"HS4010123456789","family_name":"Nguyễn Thị","given_name":"Lan","nationalities":["VN","FR"],"sub":"001190012345"}`
	subject := func(claims map[string]any) string {
		m := make(map[string]any)
		for k, v := range claims {
			switch k {
			case "iss", "vct", "iat", "exp", "cnf", "status":
			default:
				m[k] = v
			}
		}
		return asJSON(t, m)
	}
	if got := subject(v.Claims); got != want {
		t.Fatalf("npm credential claims\n got %s\nwant %s", got, want)
	}
	if v.Status == nil || *v.Status != in.Status || v.Holder == nil || !reflect.DeepEqual(*v.Holder, in.HolderJWK) || v.KeyID != "npm-issuer-1" {
		t.Fatalf("verified %+v", v)
	}

	opts.KeyBinding = &ExpectKeyBinding{Audience: in.Aud, Nonce: in.Nonce}
	vp, err := Verify(context.Background(), in.Presentation, opts)
	if err != nil {
		t.Fatalf("npm presentation: %v", err)
	}
	wantP := `{"address":{"country":"VN","locality":"Hoàn Kiếm","street_address":"12 Lý Thường Kiệt"},"given_name":"Lan","nationalities":["FR"]}`
	if got := subject(vp.Claims); got != wantP || !vp.KeyBound {
		t.Fatalf("npm presentation claims\n got %s\nwant %s", got, wantP)
	}
	wrong := opts
	wrong.KeyBinding = &ExpectKeyBinding{Audience: in.Aud, Nonce: "other"}
	if _, err := Verify(context.Background(), in.Presentation, wrong); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong nonce accepted: %v", err)
	}
	tampered := strings.Replace(in.Credential, "~", "~"+disc(t, "c2FsdA", "given_name", "Mai")+"~", 1)
	if _, err := Verify(context.Background(), tampered, VerifyOptions{Key: opts.Key, Now: now}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("added disclosure accepted: %v", err)
	}

	// We hold the npm credential and present it; the npm verifier checks us.
	d, err := b64.DecodeString(in.HolderD)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(in.Credential)
	if err != nil {
		t.Fatal(err)
	}
	pres, err := s.Present(func(p []string) bool { return strings.Join(p, "/") == "birthdate" },
		&KeyBinding{Signer: holder, Audience: "https://npm-verifier.example", Nonce: "n-42", IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	out, err = runNode(t, dir, "verify.mjs", map[string]any{
		"presentation": pres, "issuer_jwk": in.IssuerJWK, "aud": "https://npm-verifier.example", "nonce": "n-42", "now": in.Now,
	})
	if err != nil {
		t.Fatalf("npm verifier refused our presentation of its credential: %v", err)
	}
	var got npmVerified
	if err := json.Unmarshal(out, &got); err != nil || got.Presentation == nil {
		t.Fatalf("npm output %s: %v", out, err)
	}
	if s := subject(got.Presentation.Claims); s != `{"birthdate":"1990-04-12","nationalities":[]}` {
		t.Fatalf("npm sees %s", s)
	}
}
