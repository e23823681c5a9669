package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/registry"
	"civitas/internal/web"
)

// endless is a body that never ends: a streamed (chunked) upload larger
// than any limit, which only the limit stops.
type endless struct{ prefix string }

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.prefix)
	e.prefix = e.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = 'A'
	}
	return len(p), nil
}

// TestAPIErrorForms runs the whole router: on the OAuth back channel
// (/oauth/) and the CSC API (/api/csc/) every error is RFC 6749 JSON, on
// the other JSON APIs (/api/) an RFC 9457 problem — an oversized body (declared, or streamed past the limit),
// a wrong method, an unknown path, a body that is not the JSON expected —
// never an HTML page.
func TestAPIErrorForms(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", true, 100
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	walletToken := agencyToken(t, a, srv.URL)
	signingToken := personToken(t, a, srv.URL, "openid signing")

	const (
		oauth   = "oauth"
		problem = "problem"
	)
	form := "application/x-www-form-urlencoded"
	tooLarge := func(limit int64) int64 { return limit + 1 }
	tests := []struct {
		name, method, path, ctype, token, body string
		declared                               int64  // a Content-Length over the limit, with no body behind it
		stream                                 string // a streamed body: this prefix, then bytes without end
		status                                 int
		form                                   string
		code                                   string
	}{
		{name: "fail/token declared over the limit", method: "POST", path: "/oauth/token", ctype: form, declared: tooLarge(web.DefaultMaxBodyBytes), status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/token streamed over the limit", method: "POST", path: "/oauth/token", ctype: form, stream: "grant_type=authorization_code&code=", status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/token wrong method", method: "GET", path: "/oauth/token", status: 405, form: oauth, code: "invalid_request"},
		{name: "fail/token malformed JSON", method: "POST", path: "/oauth/token", ctype: "application/json", body: `{"grant_type":`, status: 400, form: oauth, code: "invalid_request"},
		{name: "fail/par declared over the limit", method: "POST", path: "/oauth/par", ctype: form, declared: tooLarge(web.DefaultMaxBodyBytes), status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/par streamed over the limit", method: "POST", path: "/oauth/par", ctype: form, stream: "client_id=x&state=", status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/par wrong method", method: "DELETE", path: "/oauth/par", status: 405, form: oauth, code: "invalid_request"},
		{name: "fail/par malformed JSON", method: "POST", path: "/oauth/par", ctype: "application/json", body: `{"client_id"`, status: 400, form: oauth, code: "invalid_request"},
		{name: "fail/oauth unknown path", method: "GET", path: "/oauth/revoke", status: 404, form: oauth, code: "invalid_request"},

		{name: "fail/signing declared over the limit", method: "POST", path: "/api/signing/v1/requests", ctype: "application/json", token: signingToken,
			declared: tooLarge(a.signing.MaxFile()/3*4 + 1<<20), status: 413, form: problem, code: "body_too_large"},
		{name: "fail/signing streamed over the limit", method: "POST", path: "/api/signing/v1/requests", ctype: "application/json", token: signingToken,
			stream: `{"documents":[{"pdf":"`, status: 413, form: problem, code: "body_too_large"},
		{name: "fail/signing wrong method", method: "PUT", path: "/api/signing/v1/requests", status: 405, form: problem, code: "method_not_allowed"},
		{name: "fail/signing unknown path", method: "GET", path: "/api/signing/v1/nothing", status: 404, form: problem, code: "not_found"},
		{name: "fail/signing malformed JSON", method: "POST", path: "/api/signing/v1/requests", ctype: "application/json", token: signingToken,
			body: `{"documents":[`, status: 400, form: problem, code: "invalid"},
		{name: "fail/signing without a token", method: "POST", path: "/api/signing/v1/requests", ctype: "application/json",
			body: `{}`, status: 401, form: problem, code: "unauthenticated"},

		{name: "fail/csc declared over the limit", method: "POST", path: "/api/csc/v2/credentials/list", ctype: "application/json", token: signingToken,
			declared: tooLarge(web.DefaultMaxBodyBytes), status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/csc streamed over the limit", method: "POST", path: "/api/csc/v2/credentials/list", ctype: "application/json", token: signingToken,
			stream: `{"clientData":"`, status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/csc wrong method", method: "GET", path: "/api/csc/v2/credentials/list", status: 405, form: oauth, code: "invalid_request"},
		{name: "fail/csc unknown path", method: "POST", path: "/api/csc/v2/credentials/nothing", ctype: "application/json", body: "{}", status: 404, form: oauth, code: "invalid_request"},
		{name: "fail/csc malformed JSON", method: "POST", path: "/api/csc/v2/credentials/list", ctype: "application/json", token: signingToken,
			body: `{"maxResults":`, status: 400, form: oauth, code: "invalid_request"},

		{name: "fail/wallet declared over the limit", method: "POST", path: "/api/wallet/v1/documents", ctype: "application/json", token: walletToken,
			declared: tooLarge(web.DefaultMaxBodyBytes), status: 413, form: problem, code: "body_too_large"},
		{name: "fail/wallet streamed over the limit", method: "POST", path: "/api/wallet/v1/documents", ctype: "application/json", token: walletToken,
			stream: `{"type":"`, status: 413, form: problem, code: "body_too_large"},
		{name: "fail/wallet batch streamed over its limit", method: "POST", path: "/api/wallet/v1/documents:batch", ctype: "application/json", token: walletToken,
			stream: `{"documents":[{"type":"`, status: 413, form: problem, code: "body_too_large"},
		{name: "fail/wallet wrong method", method: "DELETE", path: "/api/wallet/v1/documents", status: 405, form: problem, code: "method_not_allowed"},
		{name: "fail/wallet unknown path", method: "GET", path: "/api/wallet/v1/nothing", status: 404, form: problem, code: "not_found"},
		{name: "fail/wallet malformed JSON", method: "POST", path: "/api/wallet/v1/documents", ctype: "application/json", token: walletToken,
			body: `{"type":`, status: 400, form: problem, code: "invalid"},

		{name: "fail/verify declared over the limit", method: "POST", path: "/api/verify/v1", ctype: "application/pdf",
			declared: tooLarge(20<<20 + 64<<10), status: 413, form: problem, code: "body_too_large"},
		{name: "fail/verify streamed over the limit", method: "POST", path: "/api/verify/v1", ctype: "application/pdf",
			stream: "%PDF-1.7\n", status: 413, form: problem, code: "body_too_large"},
		{name: "fail/verify wrong method", method: "GET", path: "/api/verify/v1", status: 405, form: problem, code: "method_not_allowed"},
		{name: "fail/verify unknown path", method: "POST", path: "/api/verify/v2", ctype: "application/pdf", body: "%PDF", status: 404, form: problem, code: "not_found"},
		{name: "fail/verify malformed JSON", method: "POST", path: "/api/verify/v1", ctype: "application/json", body: `{"pdf":`, status: 400, form: problem, code: "invalid"},
		{name: "fail/api unknown path", method: "GET", path: "/api/nothing", status: 404, form: problem, code: "not_found"},
	}
	h := a.Handler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.stream != "" {
				body = &endless{prefix: tt.stream}
			}
			req := httptest.NewRequest(tt.method, "http://civitas.test"+tt.path, body)
			switch {
			case tt.declared > 0:
				req.ContentLength = tt.declared
			case tt.stream != "":
				req.ContentLength = -1
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			req.Header.Set("Accept", "text/html,application/xhtml+xml") // as a browser would: the path decides
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			b := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d\n%.500s", w.Code, tt.status, b)
			}
			var m map[string]any
			ct := w.Header().Get("Content-Type")
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatalf("not JSON (%s): %v\n%.500s", ct, err, b)
			}
			switch tt.form {
			case oauth:
				if ct != "application/json; charset=utf-8" || m["error"] != tt.code || m["error_description"] == "" {
					t.Errorf("OAuth error %s %v, want error %q", ct, m, tt.code)
				}
			case problem:
				if ct != "application/problem+json" || m["code"] != tt.code || m["status"] != float64(tt.status) {
					t.Errorf("problem %s %v, want code %q", ct, m, tt.code)
				}
			}
		})
	}
}

// agencyToken registers an agency's system and returns its own access
// token for the wallet API (client credentials).
func agencyToken(t *testing.T, a *App, base string) string {
	t.Helper()
	ctx := context.Background()
	agencies, err := a.registry.ListAgencies(ctx, kernel.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	agency := ""
	for _, ag := range agencies {
		if ag.Kind == registry.Police {
			agency = ag.Code
			break
		}
	}
	secret := strings.Repeat("s", 40)
	if err := a.oidc.AddClient(ctx, oidc.Client{ID: "errors-agency", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Agency: agency,
		Scopes: []string{"wallet.issue"}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("errors-agency", secret)
	return accessToken(t, req)
}

// personToken logs a demo person in through the real pages and returns
// the access token a public relying party gets for scope.
func personToken(t *testing.T, a *App, base, scope string) string {
	t.Helper()
	ctx := context.Background()
	persons, err := a.registry.ListPersons(ctx, kernel.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	citizen := ""
	for _, p := range persons {
		if p.BirthDate >= "1960" && p.BirthDate <= "2000" {
			citizen = p.CitizenID
			break
		}
	}
	const password = "error forms password"
	if _, err := a.identity.AddAccount(ctx, identity.NewAccount{CitizenID: citizen, Level: 1, Password: password}); err != nil {
		t.Fatal(err)
	}
	const redirect = "http://127.0.0.1/cb"
	if err := a.oidc.AddClient(ctx, oidc.Client{ID: "errors-rp", AuthMethod: oidc.AuthNone, RedirectURIs: []string{redirect}}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hidden := regexp.MustCompile(`name="(csrf_token|flow|next|acr)" value="([^"]*)"`)
	page := func(resp *http.Response, err error) (*http.Response, url.Values) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		v := url.Values{}
		for _, m := range hidden.FindAllStringSubmatch(string(b), -1) {
			v.Set(m[1], m[2])
		}
		return resp, v
	}
	verifier := kernel.NewToken()
	sum := sha256.Sum256([]byte(verifier))
	authorize := base + "/oidc/authorize?" + url.Values{"client_id": {"errors-rp"}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	resp, _ := page(browser.Get(authorize))
	_, login := page(browser.Get(base + resp.Header.Get("Location")))
	login.Set("username", citizen)
	login.Set("password", password)
	resp, _ = page(browser.PostForm(base+"/login", login))
	resp, consent := page(browser.Get(base + resp.Header.Get("Location")))
	if resp.StatusCode != http.StatusOK || consent.Get("flow") == "" {
		t.Fatalf("no consent screen: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	consent.Set("decision", "allow")
	resp, _ = page(browser.PostForm(base+"/oidc/consent", consent))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
		"client_id": {"errors-rp"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return accessToken(t, req)
}

func accessToken(t *testing.T, req *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}
