package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
	"civitas/internal/jose"
)

// TestClientAdd holds the fixed operator contract:
// civitas client add --data DIR --client-id ID --redirect-uri URI [--secret-stdin | --jwks-file FILE] [--public]
func TestClientAdd(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data", dir}
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(&key.PublicKey)
	set, _ := json.Marshal(jose.JWKSet{Keys: []jose.JWK{jwk}})
	one, _ := json.Marshal(jwk)
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jwks, single, junk := write("jwks.json", set), write("jwk.json", one), write("junk.json", []byte("not json"))
	empty := write("empty.json", []byte(`{"keys": []}`))
	add := func(secret string, args ...string) (int, string, string) {
		t.Helper()
		stdin = strings.NewReader(secret)
		defer func() { stdin = nil }()
		return civitas(t, append(append([]string{"client"}, storage...), args...)...)
	}
	const cb = "https://portal.example/cb"
	longSecret := strings.Repeat("s", 40)
	for _, tt := range []struct {
		name   string
		secret string
		args   []string
		code   int
		want   string
	}{
		{"fail/no subcommand", "", []string{"--client-id", "a", "--redirect-uri", cb, "--public"}, exitUsage, "client add"},
		{"fail/no client id", "", []string{"add", "--redirect-uri", cb, "--public"}, exitUsage, "--client-id and --redirect-uri are required"},
		{"fail/no redirect", "", []string{"add", "--client-id", "a", "--public"}, exitUsage, "--client-id and --redirect-uri are required"},
		{"fail/no auth method", "", []string{"add", "--client-id", "a", "--redirect-uri", cb}, exitUsage, "exactly one of"},
		{"fail/two auth methods", longSecret + "\n", []string{"add", "--client-id", "a", "--redirect-uri", cb, "--public", "--secret-stdin"}, exitUsage, "exactly one of"},
		{"fail/missing jwks file", "", []string{"add", "--client-id", "a", "--redirect-uri", cb, "--jwks-file", filepath.Join(dir, "nope.json")}, exitFailure, "--jwks-file"},
		{"fail/junk jwks file", "", []string{"add", "--client-id", "a", "--redirect-uri", cb, "--jwks-file", junk}, exitUsage, "JWKS"},
		{"fail/empty jwks", "", []string{"add", "--client-id", "a", "--redirect-uri", cb, "--jwks-file", empty}, exitUsage, "JWKS"},
		{"fail/short secret", "short\n", []string{"add", "--client-id", "a", "--redirect-uri", cb, "--secret-stdin"}, exitFailure, "at least"},
		{"fail/http redirect", "", []string{"add", "--client-id", "a", "--redirect-uri", "http://portal.example/cb", "--public"}, exitFailure, "https://"},
		{"fail/fragment", "", []string{"add", "--client-id", "a", "--redirect-uri", cb + "#x", "--public"}, exitFailure, "fragment"},
		{"fail/two hosts", "", []string{"add", "--client-id", "a", "--redirect-uri", cb, "--redirect-uri", "https://other.example/cb", "--public"}, exitFailure, "one host"},
		{"fail/bad client id", "", []string{"add", "--client-id", "has space", "--redirect-uri", cb, "--public"}, exitFailure, "client ID"},
		{"ok/private_key_jwt", "", []string{"add", "--client-id", "portal", "--redirect-uri", cb, "--jwks-file", jwks}, exitOK, "client portal added (private_key_jwt, 1 redirect URIs)"},
		{"ok/one jwk", "", []string{"add", "--client-id", "portal2", "--redirect-uri", cb, "--jwks-file", single}, exitOK, "private_key_jwt"},
		{"ok/secret", longSecret + "\r\n", []string{"add", "--client-id", "partner", "--redirect-uri", cb, "--secret-stdin"}, exitOK, "client_secret_basic"},
		{"ok/public loopback", "", []string{"add", "--client-id", "app", "--redirect-uri", "http://127.0.0.1:8765/cb", "--public"}, exitOK, "none"},
		{"fail/duplicate", "", []string{"add", "--client-id", "portal", "--redirect-uri", cb, "--public"}, exitFailure, "already registered"},
		{"ok/public app of the portal", "", []string{"add", "--client-id", "mobile", "--redirect-uri", "http://127.0.0.1:8766/cb", "--public", "--scope", "portal"}, exitOK, "asks citizens for scopes: portal"},
		{"fail/public with an agency's scope", "", []string{"add", "--client-id", "mobile2", "--redirect-uri", "http://127.0.0.1:8766/cb", "--public", "--scope", "wallet.query"}, exitFailure, "public client"},
	} {
		code, out, errs := add(tt.secret, tt.args...)
		if code != tt.code || !strings.Contains(out+errs, tt.want) {
			t.Errorf("%s: exit %d, %q %q; want exit %d and %q", tt.name, code, out, errs, tt.code, tt.want)
		}
		if strings.Contains(out+errs, longSecret) {
			t.Errorf("%s: the secret was echoed", tt.name)
		}
	}
}

// TestClientAddForAgency: an agency's system is registered with the agency
// it acts for and the scopes it may get for itself (client_credentials);
// it needs no redirect URI, and only an agency of the registry will do.
func TestClientAddForAgency(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	run := func(secret string, args ...string) (int, string) {
		t.Helper()
		stdin = strings.NewReader(secret)
		defer func() { stdin = nil }()
		code, out, errs := civitas(t, append(args, "--data", dir)...)
		return code, out + errs
	}
	if code, out := run("", "demo", "--persons", "50", "--seed", "4"); code != exitOK {
		t.Fatalf("demo: %s", out)
	}
	_, out := run("", "registry", "list", "agencies", "--limit", "500", "--json")
	police := ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a struct{ Code, Kind string }
		_ = json.Unmarshal([]byte(line), &a)
		if a.Kind == "police" && police == "" {
			police = a.Code
		}
	}
	if police == "" {
		t.Fatal("no police agency in the demo")
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(&key.PublicKey)
	set, _ := json.Marshal(jose.JWKSet{Keys: []jose.JWK{jwk}})
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, set, 0o600); err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("q", 40) + "\n"
	for _, tt := range []struct {
		name   string
		secret string
		args   []string
		code   int
		want   string
	}{
		{"ok/an agency's system", "", []string{"client", "add", "--client-id", "police-sys", "--jwks-file", jwks, "--agency", police, "--scope", "wallet.issue", "--scope", "wallet.query"},
			exitOK, "acts for agency \"" + police + "\" with client_credentials, scopes: wallet.issue wallet.query"},
		{"ok/a query-only system", secret, []string{"client", "add", "--client-id", "bank", "--secret-stdin", "--scope", "wallet.query"}, exitOK, "scopes: wallet.query"},
		{"fail/no such agency", "", []string{"client", "add", "--client-id", "x1", "--jwks-file", jwks, "--agency", "NOPE-1", "--scope", "wallet.issue"}, exitFailure, "no agency with this code"},
		{"fail/wallet.issue without agency", secret, []string{"client", "add", "--client-id", "x2", "--secret-stdin", "--scope", "wallet.issue"}, exitFailure, "--agency"},
		{"fail/a public client", "", []string{"client", "add", "--client-id", "x3", "--public", "--agency", police, "--scope", "wallet.query"}, exitFailure, "public client"},
		{"fail/an unknown scope", secret, []string{"client", "add", "--client-id", "x4", "--secret-stdin", "--scope", "openid"}, exitFailure, "wallet.issue, wallet.query and exchange.query"},
		{"ok/an exchange consumer", secret, []string{"client", "add", "--client-id", "hcc-sys", "--secret-stdin", "--agency", police, "--scope", "exchange.query"},
			exitOK, "scopes: exchange.query"},
		{"fail/exchange.query without agency", secret, []string{"client", "add", "--client-id", "x6", "--secret-stdin", "--scope", "exchange.query"}, exitFailure, "--agency"},
		{"fail/no redirect and no scope", secret, []string{"client", "add", "--client-id", "x5", "--secret-stdin", "--agency", police}, exitUsage, "--redirect-uri are required"},
	} {
		code, out := run(tt.secret, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit %d and %q", tt.name, code, out, tt.code, tt.want)
		}
	}
}
