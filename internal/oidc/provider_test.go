package oidc_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// fakeLogin stands in for the identity pages: the test says who is logged in.
type fakeLogin struct {
	mu    sync.Mutex
	login *oidc.Login
}

func (f *fakeLogin) set(l *oidc.Login) { f.mu.Lock(); f.login = l; f.mu.Unlock() }

func (f *fakeLogin) Current(*http.Request) (oidc.Login, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.login == nil {
		return oidc.Login{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	return *f.login, nil
}

func (f *fakeLogin) LoginURL(next, acr string, force bool) string {
	q := url.Values{"next": {next}, "acr": {acr}}
	if force {
		q.Set("force", "1")
	}
	return "/login?" + q.Encode()
}

func (f *fakeLogin) SignOut(http.ResponseWriter, *http.Request) error { f.set(nil); return nil }

type directory struct{}

func (directory) Account(_ context.Context, id string) (oidc.Account, error) {
	return oidc.Account{ID: id, CitizenID: "099190000001", Name: "Nguyễn Thị Lan", BirthDate: "1990-01-01", Phone: "0912345678", Level: 2, Active: true}, nil
}

type history struct {
	mu    sync.Mutex
	kinds []string
}

func (h *history) Record(_ context.Context, _ *db.Tx, _, kind, _ string, _ map[string]string) error {
	h.mu.Lock()
	h.kinds = append(h.kinds, kind)
	h.mu.Unlock()
	return nil
}

// uses is the data-use log as the provider writes to it.
type uses struct {
	mu  sync.Mutex
	got []kernel.DataUse
}

func (u *uses) Record(_ context.Context, _ *db.Tx, d kernel.DataUse) error {
	u.mu.Lock()
	u.got = append(u.got, d)
	u.mu.Unlock()
	return nil
}

// env is a running provider with one private_key_jwt relying party.
type env struct {
	t        testing.TB
	p        *oidc.Provider
	srv      *httptest.Server
	issuer   string
	authn    *fakeLogin
	history  *history
	uses     *uses
	clock    *kernel.ManualClock
	rpKey    *ecdsa.PrivateKey
	dpopKey  *ecdsa.PrivateKey
	browser  *http.Client
	clientID string
	redirect string
	account  string // who e.login logs in
}

func newEnv(t testing.TB) *env {
	ctx := context.Background()
	d := dbtest.Open(t)
	e := &env{t: t, authn: &fakeLogin{}, history: &history{}, uses: &uses{}, clientID: "rp1", redirect: "https://rp.example/cb", account: "acct-1"}
	e.clock = kernel.NewManualClock(time.Now())
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
	e.p, err = oidc.New(ctx, oidc.Options{DB: d, Clock: e.clock, Web: ws, Issuer: e.issuer, Box: box, Authn: e.authn, Directory: directory{}, History: e.history, UseLog: e.uses})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Mount(); err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = ws.Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.rpKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.dpopKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(&e.rpKey.PublicKey)
	jwk.Kid = "rp-key-1"
	if err := e.p.AddClient(ctx, oidc.Client{ID: e.clientID, Name: "Cổng dịch vụ công", Purpose: "apply for services", RedirectURIs: []string{e.redirect},
		AuthMethod: oidc.AuthPrivateKeyJWT, JWKS: jose.JWKSet{Keys: []jose.JWK{jwk}}}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *env) login(acr string) {
	e.authn.set(&oidc.Login{AccountID: e.account, ACR: acr, AMR: []string{"pwd", "otp"}, AuthTime: e.clock.Now(), SessionID: "sid-1"})
}

func (e *env) assertion(aud string) string {
	tok, err := jose.SignJSON(e.rpKey, jose.Header{Alg: "ES256", Kid: "rp-key-1", Typ: "JWT"}, jose.Claims{
		Issuer: e.clientID, Subject: e.clientID, Audience: jose.Audience{aud}, Expiry: e.clock.Now().Add(time.Minute).Unix(),
		IssuedAt: e.clock.Now().Unix(), ID: kernel.NewID()})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) proof(key *ecdsa.PrivateKey, method, target, accessToken string) string {
	jwk, _ := jose.PublicJWK(&key.PublicKey)
	claims := map[string]any{"htm": method, "htu": target, "iat": e.clock.Now().Unix(), "jti": kernel.NewID()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	tok, err := jose.SignJSON(key, jose.Header{Alg: "ES256", Typ: "dpop+jwt", JWK: &jwk}, claims)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// post sends a back-channel form with the client's assertion and a DPoP proof.
func (e *env) post(path string, form url.Values, dpop string) (int, map[string]any) {
	e.t.Helper()
	if form.Get("client_assertion") == "" && form.Get("no_auth") == "" {
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", e.assertion(e.issuer))
	}
	form.Del("no_auth")
	req, _ := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if dpop != "" {
		req.Header.Set("DPoP", dpop)
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

func pkce() (verifier, challenge string) {
	verifier = kernel.NewToken()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (e *env) par(extra url.Values) (string, string, int, map[string]any) {
	verifier, challenge := pkce()
	form := url.Values{"response_type": {"code"}, "client_id": {e.clientID}, "redirect_uri": {e.redirect},
		"scope": {"openid profile citizen_id"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		form[k] = v
	}
	st, out := e.post("/oauth/par", form, e.proof(e.dpopKey, "POST", e.issuer+"/oauth/par", ""))
	uri, _ := out["request_uri"].(string)
	return uri, verifier, st, out
}

func (e *env) get(target string) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.browser.Get(target)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hidden = regexp.MustCompile(`name="(csrf_token|flow)" value="([^"]+)"`)

// consentAllow answers the consent screen in body with "allow" and
// returns the answer and its body.
func (e *env) consentAllow(body string) (*http.Response, string) {
	e.t.Helper()
	form := url.Values{"decision": {"allow"}}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oidc/consent", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.issuer)
	resp, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// authorize runs the browser part and returns the code.
func (e *env) authorize(requestURI string) string {
	e.t.Helper()
	resp, body := e.get(e.issuer + "/oidc/authorize?" + url.Values{"client_id": {e.clientID}, "request_uri": {requestURI}}.Encode())
	if resp.StatusCode == http.StatusOK { // the consent screen
		resp, _ = e.consentAllow(body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("code") == "" {
		e.t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != "st-1" || loc.Query().Get("iss") != e.issuer {
		e.t.Fatalf("authorization response lacks state or iss: %s", loc)
	}
	return loc.Query().Get("code")
}

func (e *env) exchange(code, verifier string) (int, map[string]any) {
	return e.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect},
		"code_verifier": {verifier}}, e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", ""))
}

func (e *env) userinfo(at string, key *ecdsa.PrivateKey) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "DPoP "+at)
	req.Header.Set("DPoP", e.proof(key, "GET", e.issuer+"/oauth/userinfo", at))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestCodeFlowWithPARDPoPAndPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.login(kernel.ACRLevel2)
	uri, verifier, st, out := e.par(url.Values{"acr_values": {kernel.ACRLevel2}})
	if st != http.StatusCreated || !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("PAR: %d %v", st, out)
	}
	code := e.authorize(uri)
	st, tok := e.exchange(code, verifier)
	if st != http.StatusOK || tok["token_type"] != "DPoP" {
		t.Fatalf("token: %d %v", st, tok)
	}
	// An independent verifier (go-oidc) accepts the ID token via discovery and JWKS.
	prov, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := prov.Verifier(&gooidc.Config{ClientID: e.clientID, SupportedSigningAlgs: []string{"ES256"},
		Now: e.clock.Now}).Verify(ctx, tok["id_token"].(string))
	if err != nil {
		t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	var claims struct {
		ACR   string   `json:"acr"`
		AMR   []string `json:"amr"`
		Nonce string   `json:"nonce"`
		SID   string   `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.ACR != kernel.ACRLevel2 || claims.Nonce != "n-1" || claims.SID != "sid-1" {
		t.Fatalf("ID token claims: %+v %v", claims, err)
	}
	if idt.Subject == "acct-1" || len(idt.Subject) != 43 {
		t.Fatalf("sub %q is not pairwise", idt.Subject)
	}
	if err := idt.VerifyAccessToken(tok["access_token"].(string)); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	at := tok["access_token"].(string)
	st, ui := e.userinfo(at, e.dpopKey)
	if st != http.StatusOK || ui["sub"] != idt.Subject || ui["name"] != "Nguyễn Thị Lan" || ui["citizen_id"] != "099190000001" {
		t.Fatalf("userinfo: %d %v", st, ui)
	}
	if _, ok := ui["phone_number"]; ok {
		t.Fatal("userinfo gives the phone without the phone scope")
	}
	// The release of the claims is in the person's data-use log, once.
	if len(e.uses.got) != 1 || e.uses.got[0].Subject != "099190000001" || e.uses.got[0].Channel != "oidc.claims" ||
		e.uses.got[0].Reader.ID != e.clientID || e.uses.got[0].Purpose != "service_login" ||
		strings.Join(e.uses.got[0].Fields, ",") != "birthdate,citizen_id,name" {
		t.Fatalf("data-use log: %+v", e.uses.got)
	}
	// The token is bound to the DPoP key: another key, or Bearer, fails.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if st, _ := e.userinfo(at, other); st != http.StatusUnauthorized {
		t.Fatalf("userinfo with another DPoP key: %d", st)
	}
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("DPoP-bound token as Bearer: %d", resp.StatusCode)
	}
	// Code replay fails and revokes what the code gave.
	if st, out := e.exchange(code, verifier); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("code replay: %d %v", st, out)
	}
	if st, _ := e.userinfo(at, e.dpopKey); st != http.StatusUnauthorized {
		t.Fatalf("access token still works after code replay: %d", st)
	}
	if len(e.uses.got) != 1 {
		t.Fatalf("refused userinfo calls are in the data-use log: %+v", e.uses.got)
	}
	if len(e.history.kinds) < 2 || e.history.kinds[0] != "consent.given" || e.history.kinds[1] != "app.login" {
		t.Fatalf("history = %v", e.history.kinds)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t)
	e.login(kernel.ACRLevel1)
	uri, verifier, _, _ := e.par(nil)
	_, tok := e.exchange(e.authorize(uri), verifier)
	rt1 := tok["refresh_token"].(string)
	refresh := func(rt string, key *ecdsa.PrivateKey) (int, map[string]any) {
		return e.post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}},
			e.proof(key, "POST", e.issuer+"/oauth/token", ""))
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if st, out := refresh(rt1, other); st != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
		t.Fatalf("refresh with another DPoP key: %d %v", st, out)
	}
	// A guessed or forged token is unknown, and guessing cannot revoke the
	// grant of the row it names.
	id, _, _ := strings.Cut(rt1, ".")
	for _, bad := range []string{id + ".not-the-secret", id, "." + rt1, "-" + rt1, "99999999999999999999." + rt1, "x"} {
		if st, out := refresh(bad, e.dpopKey); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Fatalf("refresh with %q: %d %v", bad, st, out)
		}
	}
	st, tok2 := refresh(rt1, e.dpopKey)
	if st != http.StatusOK || tok2["refresh_token"] == rt1 || tok2["access_token"] == "" {
		t.Fatalf("refresh: %d %v", st, tok2)
	}
	rt2 := tok2["refresh_token"].(string)
	// Reusing the rotated token revokes the whole family, rt2 included.
	if st, out := refresh(rt1, e.dpopKey); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("reuse: %d %v", st, out)
	}
	if st, out := refresh(rt2, e.dpopKey); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("refresh after family revoked: %d %v", st, out)
	}
	if st, _ := e.userinfo(tok2["access_token"].(string), e.dpopKey); st != http.StatusUnauthorized {
		t.Fatalf("access token of a revoked family: %d", st)
	}
}

func TestProtocolAttacks(t *testing.T) {
	e := newEnv(t)
	e.login(kernel.ACRLevel1)
	// PKCE downgrade: plain, or none at all.
	for _, extra := range []url.Values{{"code_challenge_method": {"plain"}}, {"code_challenge": {""}}} {
		if _, _, st, out := e.par(extra); st != http.StatusBadRequest || out["error"] != "invalid_request" {
			t.Fatalf("PKCE downgrade %v: %d %v", extra, st, out)
		}
	}
	// A redirect URI the client did not register: refused at PAR, and an error page (never a redirect) at authorize.
	if _, _, st, _ := e.par(url.Values{"redirect_uri": {"https://evil.example/cb"}}); st != http.StatusBadRequest {
		t.Fatalf("PAR with foreign redirect_uri: %d", st)
	}
	_, challenge := pkce()
	resp, _ := e.get(e.issuer + "/oidc/authorize?" + url.Values{"client_id": {e.clientID}, "redirect_uri": {"https://evil.example/cb"},
		"response_type": {"code"}, "scope": {"openid"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("authorize with foreign redirect_uri: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A request_uri is single use.
	uri, verifier, _, _ := e.par(nil)
	code := e.authorize(uri)
	if resp, _ := e.get(e.issuer + "/oidc/authorize?" + url.Values{"client_id": {e.clientID}, "request_uri": {uri}}.Encode()); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("request_uri reuse: %d", resp.StatusCode)
	}
	// Wrong verifier.
	if st, out := e.exchange(code, verifier+"x"); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("wrong verifier: %d %v", st, out)
	}
	// DPoP proof replay, wrong htu, stale iat; client assertion replay and wrong audience.
	form := func() url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nothing"}}
	}
	uri, verifier, _, _ = e.par(nil)
	code = e.authorize(uri)
	proof := e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", "")
	st, tok := e.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect},
		"code_verifier": {verifier}}, proof)
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %v", st, tok)
	}
	if st, out := e.post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, proof); st != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
		t.Fatalf("DPoP proof replay: %d %v", st, out)
	}
	if st, out := e.post("/oauth/token", form(), e.proof(e.dpopKey, "POST", e.issuer+"/oauth/par", "")); st != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
		t.Fatalf("wrong htu: %d %v", st, out)
	}
	stale := e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", "")
	e.clock.Advance(2 * time.Minute)
	if st, out := e.post("/oauth/token", form(), stale); st != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
		t.Fatalf("stale proof: %d %v", st, out)
	}
	e.clock.Advance(-2 * time.Minute)
	assertion := e.assertion(e.issuer)
	withAssertion := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_assertion": {assertion},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
	}
	st, tok2 := e.post("/oauth/token", withAssertion(tok["refresh_token"].(string)), e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", ""))
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %v", st, tok2)
	}
	if st, out := e.post("/oauth/token", withAssertion(tok2["refresh_token"].(string)), e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", "")); st != http.StatusBadRequest || !strings.Contains(out["error_description"].(string), "replay") {
		t.Fatalf("assertion replay: %d %v", st, out)
	}
	f := form()
	f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	f.Set("client_assertion", e.assertion("https://elsewhere.example"))
	if st, out := e.post("/oauth/token", f, ""); st != http.StatusUnauthorized || out["error"] != "invalid_client" {
		t.Fatalf("assertion for another audience: %d %v", st, out)
	}
	f.Set("no_auth", "1")
	f.Del("client_assertion")
	f.Del("client_assertion_type")
	f.Set("client_id", e.clientID)
	if st, out := e.post("/oauth/token", f, ""); st != http.StatusUnauthorized || out["error"] != "invalid_client" {
		t.Fatalf("no client authentication: %d %v", st, out)
	}
}

func TestStepUpAndPromptNone(t *testing.T) {
	e := newEnv(t)
	// Nobody logged in and prompt=none: login_required back to the client.
	uri, _, _, _ := e.par(url.Values{"prompt": {"none"}})
	resp, _ := e.get(e.issuer + "/oidc/authorize?" + url.Values{"client_id": {e.clientID}, "request_uri": {uri}}.Encode())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "login_required" || !strings.HasPrefix(loc.String(), e.redirect) {
		t.Fatalf("prompt=none: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A level-1 login asked for level 2 goes to the login page to step up, never gets a code.
	e.login(kernel.ACRLevel1)
	uri, verifier, _, _ := e.par(url.Values{"acr_values": {kernel.ACRLevel2}})
	resp, _ = e.get(e.issuer + "/oidc/authorize?" + url.Values{"client_id": {e.clientID}, "request_uri": {uri}}.Encode())
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Path != "/login" || loc.Query().Get("acr") != kernel.ACRLevel2 {
		t.Fatalf("step-up: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// After stepping up, the same flow continues to a level-2 code.
	e.login(kernel.ACRLevel2)
	resp, body := e.get(e.issuer + loc.Query().Get("next"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "consent-allow") {
		t.Fatalf("continue after step-up: %d", resp.StatusCode)
	}
	_ = verifier
}

func TestDiscoveryAndKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	jwks := func() []string {
		resp, err := http.Get(e.issuer + "/oidc/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set jose.JWKSet
		_ = json.NewDecoder(resp.Body).Decode(&set)
		var kids []string
		for _, k := range set.Keys {
			kids = append(kids, k.Kid)
		}
		return kids
	}
	first := jwks()
	if len(first) != 1 {
		t.Fatalf("jwks = %v", first)
	}
	if err := e.p.RotateKeys(ctx); err != nil || len(jwks()) != 1 {
		t.Fatalf("a young key was rotated: %v", jwks())
	}
	e.clock.Advance(29*24*time.Hour + time.Minute)
	if err := e.p.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if kids := jwks(); len(kids) != 2 {
		t.Fatalf("successor not published ahead: %v", kids)
	}
	e.clock.Advance(24*time.Hour + time.Minute) // the successor signs now; the old key stays published
	if kids := jwks(); len(kids) != 2 {
		t.Fatalf("old key left too early: %v", kids)
	}
	e.clock.Advance(24*time.Hour + time.Minute)
	if kids := jwks(); len(kids) != 1 || kids[0] == first[0] {
		t.Fatalf("old key still published: %v", kids)
	}
	resp, err := http.Get(e.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	if meta["issuer"] != e.issuer || meta["pushed_authorization_request_endpoint"] != e.issuer+"/oauth/par" {
		t.Fatalf("discovery: %v", meta)
	}
}

// Concurrent refreshes, as a busy relying party sends them: distinct
// grants all rotate (on PostgreSQL several share one statement), and one
// token sent twice at once is a reuse however the two race: at most one
// succeeds and the grant ends.
func TestConcurrentRefresh(t *testing.T) {
	e := newEnv(t)
	e.login(kernel.ACRLevel1)
	const grants = 12
	tokens := make([]string, grants)
	for i := range tokens {
		uri, verifier, _, _ := e.par(nil)
		_, tok := e.exchange(e.authorize(uri), verifier)
		tokens[i] = tok["refresh_token"].(string)
	}
	c := benchClient()
	refresh := func(rt string) (int, map[string]any) {
		return e.rawPost(c, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}},
			e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", ""))
	}
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		next := make([]string, grants)
		status := make([]int, grants)
		for i := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, out := refresh(tokens[i])
				status[i] = st
				next[i], _ = out["refresh_token"].(string)
			}()
		}
		wg.Wait()
		for i := range tokens {
			if status[i] != http.StatusOK || next[i] == "" || next[i] == tokens[i] {
				t.Fatalf("round %d grant %d: %d %q", round, i, status[i], next[i])
			}
		}
		tokens = next
	}
	// The same token twice at once.
	var wg sync.WaitGroup
	status := make([]int, 2)
	for i := range status {
		wg.Add(1)
		go func() { defer wg.Done(); status[i], _ = refresh(tokens[0]) }()
	}
	wg.Wait()
	ok := 0
	for _, st := range status {
		if st == http.StatusOK {
			ok++
		} else if st != http.StatusBadRequest {
			t.Fatalf("double use: %v", status)
		}
	}
	if ok > 1 {
		t.Fatalf("one token rotated twice: %v", status)
	}
	if st, out := refresh(tokens[0]); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("after double use: %d %v", st, out)
	}
	// The other grants are untouched.
	if st, out := refresh(tokens[1]); st != http.StatusOK {
		t.Fatalf("another grant after a reuse elsewhere: %d %v", st, out)
	}
}
