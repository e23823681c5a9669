package oidc_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"civitas/internal/web"
)

// TestBackChannelErrors: whatever goes wrong on /oauth/ — a body over the
// limit, declared or streamed, a wrong method, an unknown path, a body that
// is not a form — the answer is RFC 6749 error JSON, never a page.
func TestBackChannelErrors(t *testing.T) {
	e := newEnv(t)
	big := "grant_type=authorization_code&code=" + strings.Repeat("x", web.DefaultMaxBodyBytes)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, ctype, body string
		chunked                         bool
		status                          int
		code                            string
	}{
		{"fail/token body over the limit", "POST", "/oauth/token", form, big, false, 413, "invalid_request"},
		{"fail/token body over the limit, streamed", "POST", "/oauth/token", form, big, true, 413, "invalid_request"},
		{"fail/par body over the limit", "POST", "/oauth/par", form, big, false, 413, "invalid_request"},
		{"fail/par body over the limit, streamed", "POST", "/oauth/par", form, big, true, 413, "invalid_request"},
		{"fail/token GET", "GET", "/oauth/token", "", "", false, 405, "invalid_request"},
		{"fail/token PUT", "PUT", "/oauth/token", form, "grant_type=x", false, 405, "invalid_request"},
		{"fail/par GET", "GET", "/oauth/par", "", "", false, 405, "invalid_request"},
		{"fail/userinfo DELETE", "DELETE", "/oauth/userinfo", "", "", false, 405, "invalid_request"},
		{"fail/unknown back-channel path", "GET", "/oauth/nothing", "", "", false, 404, "invalid_request"},
		{"fail/unknown back-channel path, POST", "POST", "/oauth/introspect", form, "token=x", false, 404, "invalid_request"},
		{"fail/token JSON body", "POST", "/oauth/token", "application/json", `{"grant_type":"authorization_code"}`, false, 400, "invalid_request"},
		{"fail/token malformed JSON body", "POST", "/oauth/token", "application/json", `{"grant_type":`, false, 400, "invalid_request"},
		{"fail/par JSON body", "POST", "/oauth/par", "application/json", `{"client_id":"rp1"}`, false, 400, "invalid_request"},
		{"fail/token malformed form", "POST", "/oauth/token", form, "grant_type=%zz", false, 400, "invalid_request"},
		{"fail/token body without a type", "POST", "/oauth/token", "", "grant_type=client_credentials", false, 400, "invalid_request"},
		{"fail/token empty form", "POST", "/oauth/token", form, "", false, 401, "invalid_client"},
		{"fail/token unknown grant", "POST", "/oauth/token", form, "grant_type=password&client_id=rp1", false, 401, "invalid_client"},
		{"fail/par without client", "POST", "/oauth/par", form, "response_type=code", false, 401, "invalid_client"},
		{"fail/userinfo without token", "GET", "/oauth/userinfo", "", "", false, 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // hides the length: sent chunked
				}
			}
			req, _ := http.NewRequest(tt.method, e.issuer+tt.path, body)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			req.Header.Set("Accept", "text/html") // a browser's preference changes nothing here
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tt.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Fatalf("Content-Type %q\n%s", ct, b)
			}
			var out map[string]any
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, b)
			}
			if out["error"] != tt.code || out["error_description"] == "" {
				t.Errorf("error %v, want %q", out, tt.code)
			}
			for _, k := range slices.Collect(maps.Keys(out)) {
				if k != "error" && k != "error_description" && k != "request_id" {
					t.Errorf("unexpected member %q", k)
				}
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
}
