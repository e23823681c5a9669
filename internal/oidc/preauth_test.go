package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/oidc"
)

// resourceRequest is a request to the resource server at resource with an
// access token (Bearer) or a DPoP-bound one.
func (e *env) resourceRequest(resource, at, dpop string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, resource, nil)
	if dpop != "" {
		r.Header.Set("Authorization", "DPoP "+at)
		r.Header.Set("DPoP", dpop)
	} else {
		r.Header.Set("Authorization", "Bearer "+at)
	}
	return r
}

func (e *env) preAuthorize(resource, txCode string) string {
	e.t.Helper()
	code, exp, err := e.p.PreAuthorize(context.Background(), oidc.PreAuthorization{AccountID: "acct-1", ACR: kernel.ACRLevel2,
		AuthTime: e.clock.Now(), Resource: resource, Details: json.RawMessage(`{"document":"d1"}`), TxCode: txCode})
	if err != nil || !exp.After(e.clock.Now()) || exp.After(e.clock.Now().Add(5*time.Minute)) {
		e.t.Fatalf("pre-authorize: %v %v", exp, err)
	}
	return code
}

func (e *env) redeem(code, txCode, dpop string) (int, map[string]any) {
	form := url.Values{"grant_type": {oidc.PreAuthorizedCodeGrant}, "pre-authorized_code": {code}, "no_auth": {"1"}}
	if txCode != "" {
		form.Set("tx_code", txCode)
	}
	return e.post("/oauth/token", form, dpop)
}

// TestPreAuthorizedCode: a code is redeemed once, without client
// authentication, for an access token good only at its resource; a second
// use fails and revokes the first one's token; the transaction code is
// required and three wrong ones kill the code; codes expire.
func TestPreAuthorizedCode(t *testing.T) {
	e := newEnv(t)
	resource := e.issuer + "/oid4vci/credential"
	code := e.preAuthorize(resource, "493817")
	if st, out := e.redeem(code, "", ""); st != 400 || out["error"] != "invalid_request" {
		t.Fatalf("without tx_code: %d %v", st, out)
	}
	if st, out := e.redeem(code, "000000", ""); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("wrong tx_code: %d %v", st, out)
	}
	st, tok := e.redeem(code, "493817", "")
	if st != 200 || tok["token_type"] != "Bearer" || tok["refresh_token"] != nil || tok["id_token"] != nil {
		t.Fatalf("redeem: %d %v", st, tok)
	}
	at := tok["access_token"].(string)
	rt, err := e.p.VerifyResourceToken(e.resourceRequest(resource, at, ""), resource)
	if err != nil || rt.AccountID != "acct-1" || string(rt.Details) != `{"document":"d1"}` || rt.ACR != kernel.ACRLevel2 {
		t.Fatalf("resource token: %+v %v", rt, err)
	}
	// Good at its resource only: not at userinfo, nor as an ordinary token.
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("userinfo with a pre-authorized token: %v %v", resp.StatusCode, err)
	}
	if _, err := e.p.VerifyAccessToken(e.resourceRequest(resource, at, "")); err == nil {
		t.Fatal("an API of the provider takes a pre-authorized token")
	}
	if _, err := e.p.VerifyResourceToken(e.resourceRequest(e.issuer+"/other", at, ""), e.issuer+"/other"); err == nil {
		t.Fatal("another resource takes the token")
	}
	// Replay: refused, and the first redemption's token stops working.
	if st, out := e.redeem(code, "493817", ""); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("second redemption: %d %v", st, out)
	}
	if _, err := e.p.VerifyResourceToken(e.resourceRequest(resource, at, ""), resource); err == nil {
		t.Fatal("the token still works after the code was replayed")
	}

	guessed := e.preAuthorize(resource, "111111")
	for i, want := range []string{"invalid_grant", "invalid_grant", "invalid_grant"} {
		if st, out := e.redeem(guessed, "22222"+string(rune('0'+i)), ""); st != 400 || out["error"] != want {
			t.Fatalf("guess %d: %d %v", i, st, out)
		}
	}
	if st, out := e.redeem(guessed, "111111", ""); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("the right code after three wrong ones: %d %v", st, out)
	}

	late := e.preAuthorize(resource, "")
	e.clock.Advance(6 * time.Minute)
	if st, out := e.redeem(late, "", ""); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("expired code: %d %v", st, out)
	}
	if st, out := e.redeem("made-up", "", ""); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("unknown code: %d %v", st, out)
	}

	// With a DPoP proof the token is bound to the wallet's key.
	bound := e.preAuthorize(resource, "")
	st, tok = e.redeem(bound, "", e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", ""))
	if st != 200 || tok["token_type"] != "DPoP" {
		t.Fatalf("DPoP redeem: %d %v", st, tok)
	}
	at = tok["access_token"].(string)
	if _, err := e.p.VerifyResourceToken(e.resourceRequest(resource, at, ""), resource); err == nil {
		t.Fatal("a DPoP-bound token taken as Bearer")
	}
	if _, err := e.p.VerifyResourceToken(e.resourceRequest(resource, at, e.proof(e.dpopKey, "POST", resource, at)), resource); err != nil {
		t.Fatalf("DPoP-bound token with its proof: %v", err)
	}
}

// TestCredentialScopeCodeFlow: a wallet app (a public client) asks for a
// credential scope without openid; the consent screen names what it gets;
// its token carries the scope, and no ID token.
func TestCredentialScopeCodeFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	scope := "civitas_wallet:health_insurance_card"
	if err := e.p.AddScopes(oidc.Scope{Name: scope, OAuthOnly: true, Consent: map[string]string{"vi": "Một bản thẻ BHYT", "en": "A copy of your health insurance card"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.AddScopes(oidc.Scope{Name: scope}); err == nil {
		t.Fatal("a scope added twice")
	}
	const walletApp, cb = "wallet-app", "https://wallet.example/cb"
	if err := e.p.AddClient(ctx, oidc.Client{ID: walletApp, Name: "Wallet app", RedirectURIs: []string{cb}, AuthMethod: oidc.AuthNone}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(e.issuer + "/.well-known/openid-configuration")
	var md struct {
		Grants    []string `json:"grant_types_supported"`
		Scopes    []string `json:"scopes_supported"`
		Anonymous bool     `json:"pre-authorized_grant_anonymous_access_supported"`
	}
	if err := json.Unmarshal([]byte(body), &md); err != nil || resp.StatusCode != 200 || !slices.Contains(md.Grants, oidc.PreAuthorizedCodeGrant) ||
		!slices.Contains(md.Scopes, scope) || !md.Anonymous {
		t.Fatalf("discovery: %s", body)
	}
	e.login(kernel.ACRLevel1)
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {walletApp}, "redirect_uri": {cb}, "scope": {scope}, "state": {"st-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {e.issuer}}
	resp, body = e.get(e.issuer + "/oidc/authorize?" + q.Encode() + "&lang=en")
	if resp.StatusCode != 200 || !strings.Contains(body, "health insurance card") {
		t.Fatalf("consent screen: %d", resp.StatusCode)
	}
	form := url.Values{"decision": {"allow"}}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oidc/consent", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.issuer)
	r2, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	loc, _ := url.Parse(r2.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %d %s", r2.StatusCode, r2.Header.Get("Location"))
	}
	st, tok := e.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb},
		"code_verifier": {verifier}, "client_id": {walletApp}, "no_auth": {"1"}}, "")
	if st != 200 || tok["scope"] != scope || tok["id_token"] != nil {
		t.Fatalf("token: %d %v", st, tok)
	}
	resource := e.issuer + "/oid4vci/credential"
	rt, err := e.p.VerifyResourceToken(e.resourceRequest(resource, tok["access_token"].(string), ""), resource)
	if err != nil || !rt.HasScope(scope) || rt.Details != nil || rt.AccountID != "acct-1" {
		t.Fatalf("resource token: %+v %v", rt, err)
	}
	// A relying party still needs openid; an unknown scope is still dropped.
	q.Set("scope", "profile")
	resp, _ = e.get(e.issuer + "/oidc/authorize?" + q.Encode())
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_scope" {
		t.Fatalf("profile without openid: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
