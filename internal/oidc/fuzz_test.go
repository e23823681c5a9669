package oidc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"civitas/internal/kernel"
)

// FuzzBackChannel sends untrusted input to every parser behind the token,
// PAR and userinfo endpoints: the client assertion and DPoP proof (compact
// JWS, JSON header and claims, embedded JWK), refresh tokens, codes, form
// fields and the Authorization header. Whatever arrives, the answer is a
// machine-readable OAuth error or a success, never a 500 and never a page.
func FuzzBackChannel(f *testing.F) {
	e := newEnv(f)
	e.login(kernel.ACRLevel1)
	uri, verifier, _, _ := e.par(nil)
	_, tok := e.exchange(e.authorize(uri), verifier)
	rt, _ := tok["refresh_token"].(string)
	at, _ := tok["access_token"].(string)
	assertion := e.assertion(e.issuer)
	proof := e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", "")
	f.Add(uint8(0), "refresh_token", rt, assertion, proof)
	f.Add(uint8(0), "authorization_code", "code", assertion, proof)
	f.Add(uint8(0), "refresh_token", "1.x", strings.Replace(assertion, ".", "..", 1), "e30.e30.e30")
	f.Add(uint8(0), "refresh_token", "18446744073709551616.x", `{"alg":"none"}..`, proof+"x")
	f.Add(uint8(1), "code", "S256", assertion, proof)
	f.Add(uint8(2), "DPoP", at, "", e.proof(e.dpopKey, "GET", e.issuer+"/oauth/userinfo", at))
	f.Add(uint8(2), "Bearer", "a.b.c", "", "")
	// Each input runs against the live server in-process: no network flakiness.
	handler := e.srv.Config.Handler
	f.Fuzz(func(t *testing.T, which uint8, a, b, assertion, dpop string) {
		var req *http.Request
		switch which % 3 {
		case 0:
			form := url.Values{"grant_type": {a}, "refresh_token": {b}, "code": {b}, "redirect_uri": {e.redirect},
				"code_verifier": {strings.Repeat("v", 43)}, "client_id": {e.clientID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
			req = httptest.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case 1:
			form := url.Values{"response_type": {a}, "code_challenge_method": {b}, "code_challenge": {b}, "scope": {"openid " + a},
				"redirect_uri": {e.redirect}, "client_id": {e.clientID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
			req = httptest.NewRequest(http.MethodPost, e.issuer+"/oauth/par", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		default:
			req = httptest.NewRequest(http.MethodGet, e.issuer+"/oauth/userinfo", nil)
			req.Header["Authorization"] = []string{a + " " + b}
		}
		if dpop != "" {
			req.Header["Dpop"] = []string{dpop}
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("%s: %d %s", req.URL.Path, res.StatusCode, body)
		}
		if res.StatusCode >= 400 {
			var oe struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(body, &oe); err != nil || oe.Error == "" {
				t.Fatalf("%s: %d without an OAuth error body: %q", req.URL.Path, res.StatusCode, body)
			}
		}
	})
}
