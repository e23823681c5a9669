package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/registry"
)

// TestWalletAPIWiring runs the whole platform: an agency's system gets a
// token from the real token endpoint with its client credentials and
// issues, then queries, through the real router; the officer pages are
// mounted behind the login.
func TestWalletAPIWiring(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", true, 100
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	agencies, err := a.registry.ListAgencies(ctx, kernel.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	police := ""
	for _, ag := range agencies {
		if ag.Kind == registry.Police && police == "" {
			police = ag.Code
		}
	}
	persons, err := a.registry.ListPersons(ctx, kernel.Page{Limit: 1})
	if err != nil || len(persons) == 0 || police == "" {
		t.Fatalf("demo: %v %v", persons, err)
	}
	secret := strings.Repeat("p", 40)
	if err := a.oidc.AddClient(ctx, oidc.Client{ID: "police-sys", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Agency: police,
		Scopes: []string{"wallet.issue", "wallet.query"}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if strings.HasPrefix(body, "grant_type") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("police-sys", secret)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b) + resp.Header.Get("Location")
	}
	st, body := send("POST", "/oauth/token", "", "grant_type=client_credentials&scope=wallet.issue+wallet.query")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || st != http.StatusOK {
		t.Fatalf("token: %d %s", st, body)
	}
	issue := `{"type": "citizen_id_card", "citizen_id": "` + persons[0].CitizenID + `"}`
	holdings := "/api/wallet/v1/holdings?" + url.Values{"citizen_id": {persons[0].CitizenID}, "type": {"citizen_id_card"},
		"purpose": {"kiểm tra hồ sơ"}, "claims": {"full_name"}}.Encode()
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"ok/discovery lists the grant", "GET", "/.well-known/openid-configuration", "", "", 200, "client_credentials"},
		{"ok/openapi", "GET", "/api/wallet/v1/openapi.yaml", "", "", 200, "openapi: 3.1.0"},
		{"ok/issue", "POST", "/api/wallet/v1/documents", tok.AccessToken, issue, 201, `"credential":"`},
		{"ok/query", "GET", holdings, tok.AccessToken, "", 200, `"full_name":"` + persons[0].FullName},
		{"fail/no token", "POST", "/api/wallet/v1/documents", "", issue, 401, "unauthenticated"},
		{"fail/a token of nothing", "POST", "/api/wallet/v1/documents", "x.y.z", issue, 401, "unauthenticated"},
		{"ok/the officer pages are behind the login", "GET", "/officer/wallet", "", "", 303, "/login?next="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := send(tc.method, tc.path, tc.token, tc.body)
			if st != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s", st, body)
			}
		})
	}
}
