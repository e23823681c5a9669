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
	"time"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/exchange"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/registry"
)

// exchangeSite is the whole platform with a consumer registered the way
// `civitas client add --agency CODE --scope exchange.query` does.
type exchangeSite struct {
	t      testing.TB
	a      *App
	srv    *httptest.Server
	secret string
	agency registry.Agency
}

func newExchangeSite(t testing.TB, persons int) *exchangeSite {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), true, persons
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	s := &exchangeSite{t: t, a: a, srv: srv, secret: strings.Repeat("s", 40)}
	agencies, err := a.registry.ListAgencies(ctx, kernel.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, ag := range agencies {
		if ag.Kind == registry.ServiceCentre {
			s.agency = ag
			break
		}
	}
	if err := a.oidc.AddClient(ctx, oidc.Client{ID: "hcc-sys", AuthMethod: oidc.AuthSecretBasic, Secret: s.secret, Agency: s.agency.Code,
		Scopes: []string{exchange.ScopeQuery, "wallet.query"}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// token gets the consumer's access token from the real token endpoint.
func (s *exchangeSite) token(scope string) string {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("hcc-sys", s.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		s.t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

func (s *exchangeSite) send(method, path, token, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestExchangeWiring runs the whole platform: a consumer with a token of
// the real token endpoint queries; a token without the scope is refused;
// the wallet's holdings query lands in the same data-use log; the pages
// are mounted behind the login and the navigation names the data-use page.
func TestExchangeWiring(t *testing.T) {
	s := newExchangeSite(t, 100)
	ctx := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "test"})
	persons, err := s.a.registry.ListPersons(ctx, kernel.Page{Limit: 1})
	if err != nil || len(persons) == 0 {
		t.Fatal(err)
	}
	p := persons[0]
	if _, err := s.a.exchange.Grant(ctx, exchange.GrantRequest{Consumer: "hcc-sys", Service: "population.person",
		Fields: []string{"full_name"}, Basis: "test"}); err != nil {
		t.Fatal(err)
	}
	q := `{"service":"population.person","subject":{"citizen_id":"` + p.CitizenID + `"},"purpose":"administrative_procedure","case_ref":"HS-9"}`
	tok := s.token("exchange.query wallet.query")
	walletOnly := s.token("wallet.query")
	holdings := "/api/wallet/v1/holdings?" + url.Values{"citizen_id": {p.CitizenID}, "type": {"citizen_id_card"}, "purpose": {"kiểm tra hồ sơ"}}.Encode()
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"ok/discovery lists the scope", "GET", "/.well-known/openid-configuration", "", "", 200, "exchange.query"},
		{"ok/a query", "POST", "/api/exchange/v1/query", tok, q, 200, `"full_name":"` + p.FullName + `"`},
		{"fail/a token without the scope", "POST", "/api/exchange/v1/query", walletOnly, q, 403, `"code":"forbidden"`},
		{"fail/no token", "POST", "/api/exchange/v1/query", "", q, 401, `"code":"unauthenticated"`},
		{"ok/the wallet's query", "GET", holdings, tok, "", 200, `"holds":false`},
		{"ok/the purposes", "GET", "/api/exchange/v1/purposes", "", "", 200, `"code":"tax"`},
		{"ok/the OpenAPI document", "GET", "/api/exchange/v1/openapi.json", "", "", 200, `"population.person.v1"`},
		{"ok/the data-use page is behind the login", "GET", "/account/data-use", "", "", 200, `/login`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := s.send(tc.method, tc.path, tc.token, tc.body)
			if st != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %.400s", st, body)
			}
		})
	}
	uses, _, err := s.a.exchange.Uses(ctx, exchange.UseQuery{Subject: p.CitizenID})
	if err != nil || len(uses) != 2 || uses[0].Channel != "wallet.query" || uses[1].Channel != exchange.ChannelExchange ||
		uses[0].ReaderName != s.agency.Name {
		t.Fatalf("%+v %v", uses, err)
	}
	found := false
	for _, n := range s.a.web.NavItems() {
		found = found || n.Key == "nav.exchange" && n.Path == "/account/data-use" && n.Order == 80
	}
	if !found {
		t.Fatal("no navigation entry")
	}
}

// TestEarlierCapabilitiesWriteToTheDataUseLog: the e-ID's desk and the
// OpenID Provider are built before the exchange that keeps the log; their
// reads still land in it, named on the person's page in every language.
func TestEarlierCapabilitiesWriteToTheDataUseLog(t *testing.T) {
	s := newExchangeSite(t, 50)
	ctx := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorClient, ID: "hcc-sys"})
	persons, err := s.a.registry.ListPersons(ctx, kernel.Page{Limit: 1})
	if err != nil || len(persons) == 0 {
		t.Fatal(err)
	}
	p := persons[0]
	if err := s.a.db.Update(ctx, time.Now(), func(tx *db.Tx) error {
		return laterUseLog{s.a}.Record(ctx, tx, kernel.DataUse{Subject: p.CitizenID, ReaderName: "Dịch vụ X", Channel: "oidc.claims",
			Service: "userinfo", Fields: []string{"name"}, Purpose: "service_login"})
	}); err != nil {
		t.Fatal(err)
	}
	uses, _, err := s.a.exchange.Uses(ctx, exchange.UseQuery{Subject: p.CitizenID})
	if err != nil || len(uses) != 1 || uses[0].Channel != "oidc.claims" || uses[0].ReaderID != "hcc-sys" {
		t.Fatalf("%+v %v", uses, err)
	}
	for _, lang := range []string{"vi", "en", "ar"} {
		for _, key := range []string{"exchange.purpose.service_login", "exchange.purpose.identity_verification", "exchange.channel.oidc.claims"} {
			if got := s.a.web.Catalog().T(lang, key); got == key || got == "" {
				t.Errorf("%s: %s untranslated", lang, key)
			}
		}
	}
}
