package oidc_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// newOwnEnv is newEnv with the database at hand and a resource route,
// GET /api/test/client, that answers what VerifyClientToken says of the
// request's token: what an API of another capability sees.
func newOwnEnv(t *testing.T) (*env, *db.DB) {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	e := &env{t: t, authn: &fakeLogin{}, history: &history{}, clientID: "rp1", redirect: "https://rp.example/cb",
		clock: kernel.NewManualClock(time.Now())}
	e.srv = httptest.NewUnstartedServer(nil)
	e.issuer = "http://" + e.srv.Listener.Addr().String()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse(e.issuer)
	ws, err := web.NewServer(web.Options{DB: d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	box, _ := sealed.New(bytes.Repeat([]byte{9}, sealed.KeySize))
	e.p, err = oidc.New(ctx, oidc.Options{DB: d, Clock: e.clock, Web: ws, Issuer: e.issuer, Box: box, Authn: e.authn, Directory: directory{}, History: e.history})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Mount(); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /api/test/client", func(w http.ResponseWriter, r *http.Request) {
		ct, err := e.p.VerifyClientToken(r)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"client": ct.ClientID, "agency": ct.Agency, "scopes": ct.Scopes})
	})
	e.srv.Config.Handler = ws.Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.rpKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.dpopKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(&e.rpKey.PublicKey)
	jwk.Kid = "rp-key-1"
	if err := e.p.AddClient(ctx, oidc.Client{ID: e.clientID, Name: "Cổng dịch vụ công", RedirectURIs: []string{e.redirect},
		AuthMethod: oidc.AuthPrivateKeyJWT, JWKS: jose.JWKSet{Keys: []jose.JWK{jwk}}}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e, d
}

// resource calls GET /api/test/client with a token (and a DPoP proof
// when key is given).
func (e *env) resource(token string, key *ecdsa.PrivateKey) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/api/test/client", nil)
	if key != nil {
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", e.proof(key, "GET", e.issuer+"/api/test/client", token))
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// basic posts a form to the token endpoint with client_secret_basic.
func (e *env) basic(id, secret string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestOwnClientRegistration(t *testing.T) {
	e, _ := newOwnEnv(t)
	ctx := context.Background()
	jwk, _ := jose.PublicJWK(&e.rpKey.PublicKey)
	keys := jose.JWKSet{Keys: []jose.JWK{jwk}}
	secret := strings.Repeat("k", 40)
	for _, tc := range []struct {
		name string
		c    oidc.Client
		code kernel.Code
	}{
		{"ok/an agency's system, no redirect URI", oidc.Client{ID: "police-sys", AuthMethod: oidc.AuthPrivateKeyJWT, JWKS: keys, Agency: "CA-HN", Scopes: []string{"wallet.issue", "wallet.query", "wallet.issue"}}, ""},
		{"ok/a query-only client without agency", oidc.Client{ID: "bank", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Scopes: []string{"wallet.query"}}, ""},
		{"fail/a public client acting for itself", oidc.Client{ID: "pub", AuthMethod: oidc.AuthNone, Agency: "CA-HN", Scopes: []string{"wallet.query"}}, kernel.Invalid},
		{"fail/a scope of a person's grant", oidc.Client{ID: "x1", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Scopes: []string{"openid"}}, kernel.Invalid},
		{"fail/wallet.issue without agency", oidc.Client{ID: "x2", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Scopes: []string{"wallet.issue"}}, kernel.Invalid},
		{"fail/an agency code with a space", oidc.Client{ID: "x3", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Agency: "CA HN", Scopes: []string{"wallet.query"}}, kernel.Invalid},
		{"fail/neither redirect URIs nor scopes", oidc.Client{ID: "x4", AuthMethod: oidc.AuthSecretBasic, Secret: secret}, kernel.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.p.AddClient(ctx, tc.c)
			if got := kernel.ErrorCode(err); tc.code != "" && got != tc.code || tc.code == "" && err != nil {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
		})
	}
}

func TestClientCredentialsGrant(t *testing.T) {
	e, d := newOwnEnv(t)
	ctx := context.Background()
	agencyKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(&agencyKey.PublicKey)
	secret := strings.Repeat("s", 40)
	for _, c := range []oidc.Client{
		{ID: "police-sys", AuthMethod: oidc.AuthPrivateKeyJWT, JWKS: jose.JWKSet{Keys: []jose.JWK{jwk}}, Agency: "CA-HN", Scopes: []string{"wallet.issue", "wallet.query"}},
		{ID: "bank", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Scopes: []string{"wallet.query"}},
		{ID: "app", AuthMethod: oidc.AuthNone, RedirectURIs: []string{"http://127.0.0.1:8765/cb"}},
	} {
		if err := e.p.AddClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	assertion := func(id string, key *ecdsa.PrivateKey) string {
		tok, err := jose.SignJSON(key, jose.Header{Alg: "ES256", Typ: "JWT"}, jose.Claims{Issuer: id, Subject: id, Audience: jose.Audience{e.issuer + "/oauth/token"},
			Expiry: e.clock.Now().Add(time.Minute).Unix(), IssuedAt: e.clock.Now().Unix(), ID: kernel.NewID()})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	withKey := func(scope string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {assertion("police-sys", agencyKey)}}
		if scope != "" {
			f.Set("scope", scope)
		}
		return f
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	replayed := withKey("")
	if st, out := e.post("/oauth/token", replayed, ""); st != http.StatusOK {
		t.Fatalf("first use of the assertion: %d %v", st, out)
	}
	for _, tc := range []struct {
		name   string
		send   func() (int, map[string]any)
		status int
		want   string // the scope granted, or the OAuth error
	}{
		{"ok/private_key_jwt, every registered scope", func() (int, map[string]any) { return e.post("/oauth/token", withKey(""), "") }, 200, "wallet.issue wallet.query"},
		{"ok/private_key_jwt, one scope", func() (int, map[string]any) { return e.post("/oauth/token", withKey("wallet.query"), "") }, 200, "wallet.query"},
		{"ok/client_secret_basic", func() (int, map[string]any) { return e.basic("bank", secret, cc) }, 200, "wallet.query"},
		{"fail/public client", func() (int, map[string]any) {
			return e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "no_auth": {"1"}}, "")
		}, 400, "unauthorized_client"},
		{"fail/wrong secret", func() (int, map[string]any) { return e.basic("bank", strings.Repeat("x", 40), cc) }, 401, "invalid_client"},
		{"fail/no client authentication", func() (int, map[string]any) {
			return e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "no_auth": {"1"}}, "")
		}, 401, "invalid_client"},
		{"fail/scope not registered", func() (int, map[string]any) {
			f := url.Values{"grant_type": {"client_credentials"}, "scope": {"wallet.issue"}}
			return e.basic("bank", secret, f)
		}, 400, "invalid_scope"},
		{"fail/a person's scope", func() (int, map[string]any) { return e.post("/oauth/token", withKey("openid wallet.issue"), "") }, 400, "invalid_scope"},
		{"fail/a client not registered for the grant", func() (int, map[string]any) {
			return e.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "") // rp1, with its assertion
		}, 400, "unauthorized_client"},
		{"fail/a replayed client assertion", func() (int, map[string]any) { return e.post("/oauth/token", replayed, "") }, 400, "invalid_dpop_proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := tc.send()
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, out)
			}
			if st != http.StatusOK {
				if out["error"] != tc.want {
					t.Fatalf("error %v, want %s", out["error"], tc.want)
				}
				return
			}
			if out["scope"] != tc.want || out["token_type"] != "Bearer" || out["expires_in"] != float64(600) {
				t.Fatalf("token response: %v", out)
			}
			if _, ok := out["refresh_token"]; ok {
				t.Fatal("a refresh token with client_credentials")
			}
			if _, ok := out["id_token"]; ok {
				t.Fatal("an ID token with client_credentials")
			}
		})
	}

	// The token works at an API: it names the client, its agency and scopes.
	_, out := e.post("/oauth/token", withKey(""), "")
	at := out["access_token"].(string)
	st, who := e.resource(at, nil)
	if st != http.StatusOK || who["client"] != "police-sys" || who["agency"] != "CA-HN" || len(who["scopes"].([]any)) != 2 {
		t.Fatalf("resource: %d %v", st, who)
	}
	// Not at userinfo: nobody's account is behind it.
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("userinfo with a client's token: %v", err)
	}
	// DPoP-bound when the client sends a proof.
	st, out = e.post("/oauth/token", withKey("wallet.query"), e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", ""))
	if st != http.StatusOK || out["token_type"] != "DPoP" {
		t.Fatalf("DPoP: %d %v", st, out)
	}
	bound := out["access_token"].(string)
	if st, _ := e.resource(bound, e.dpopKey); st != http.StatusOK {
		t.Fatalf("DPoP-bound token with its proof: %d", st)
	}
	if st, _ := e.resource(bound, nil); st != http.StatusUnauthorized {
		t.Fatalf("DPoP-bound token as Bearer: %d", st)
	}
	// A person's token is not a client's own token.
	e.login(kernel.ACRLevel1)
	uri, verifier, _, _ := e.par(nil)
	_, tok := e.exchange(e.authorize(uri), verifier)
	if st, out := e.resource(tok["access_token"].(string), e.dpopKey); st != http.StatusUnauthorized || !strings.Contains(out["error"].(string), "granted by a person") {
		t.Fatalf("a person's token as a client's: %d %v", st, out)
	}
	// Expired after ten minutes.
	e.clock.Advance(10*time.Minute + time.Second)
	if st, _ := e.resource(at, nil); st != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", st)
	}
	// Every grant is audited as the client's act, for its agency.
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'oidc.client_credentials' AND actor_kind = 'client'
		AND actor_id = 'police-sys' AND on_behalf_of = 'agency:CA-HN'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("audited grants of police-sys: %d %v", n, err)
	}
	// Discovery lists the grant and the scopes.
	resp, err := http.Get(e.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md struct {
		Grants []string `json:"grant_types_supported"`
		Scopes []string `json:"scopes_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(md.Grants, " "), "client_credentials") || !strings.Contains(strings.Join(md.Scopes, " "), "wallet.issue") {
		t.Fatalf("discovery: %+v", md)
	}
}
