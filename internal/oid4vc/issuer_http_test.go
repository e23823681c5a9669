package oid4vc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"civitas/internal/jose"
	"civitas/internal/oid4vc"
	"civitas/internal/web"
)

// fakeGrants stands in for the OpenID Provider: the bearer token names a
// grant; any other token is invalid.
type fakeGrants map[string]oid4vc.CredentialGrant

func (g fakeGrants) CredentialGrant(r *http.Request) (oid4vc.CredentialGrant, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if grant, found := g[tok]; ok && found {
		return grant, nil
	}
	return oid4vc.CredentialGrant{}, &oid4vc.ProtocolError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "unknown token"}
}

// router serves the issuer and the verifier on the real web layer.
func (e *env) router(grants oid4vc.CredentialGrants) http.Handler {
	e.t.Helper()
	pub, _ := url.Parse(issuer)
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.s.MountIssuer(ws, grants)
	e.s.MountVerifier(ws)
	return ws.Handler()
}

// TestCredentialEndpoint: a wallet app with a token for an offer, or with
// a credential scope, receives a copy bound to the key it proved; what the
// token, the request or the proof lacks is refused with the protocol's
// error, and no copy is made.
func TestCredentialEndpoint(t *testing.T) {
	e := newEnv(t)
	const holder, stranger = "001080000001", "001080000002"
	e.w.add(holder, oid4vc.Document{ID: "doc-1", Type: "health_insurance_card", Agency: "BHXH", Valid: true})
	e.w.add(holder, oid4vc.Document{ID: "doc-old", Type: "health_insurance_card", Agency: "BHXH", Valid: false})
	offer := func(doc, conf string) json.RawMessage {
		b, _ := json.Marshal(map[string]string{"document": doc, "credential_configuration_id": conf})
		return b
	}
	h := e.router(fakeGrants{
		"offer":          {AccountID: "acc-1", CitizenID: holder, Offer: offer("doc-1", "health_insurance_card")},
		"offer-old":      {AccountID: "acc-1", CitizenID: holder, Offer: offer("doc-old", "health_insurance_card")},
		"offer-other":    {AccountID: "acc-1", CitizenID: holder, Offer: offer("doc-1", "business_registration")},
		"offer-garbled":  {AccountID: "acc-1", CitizenID: holder, Offer: json.RawMessage(`{"doc":1}`)},
		"stolen-offer":   {AccountID: "acc-2", CitizenID: stranger, Offer: offer("doc-1", "health_insurance_card")},
		"scope":          {AccountID: "acc-1", CitizenID: holder, Scopes: []string{"openid", oid4vc.CredentialScope("health_insurance_card")}},
		"scope-none":     {AccountID: "acc-1", CitizenID: holder, Scopes: []string{"openid"}},
		"scope-stranger": {AccountID: "acc-2", CitizenID: stranger, Scopes: []string{oid4vc.CredentialScope("health_insurance_card")}},
	})
	call := func(method, path, token, contentType, body string) (*httptest.ResponseRecorder, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec, out
	}
	if rec, md := call("GET", oid4vc.IssuerMetaPath, "", "", ""); rec.Code != 200 || md["credential_endpoint"] != issuer+oid4vc.CredentialPath {
		t.Fatalf("metadata: %d %v", rec.Code, md)
	}
	key := newKey(t)
	jwk, _ := jose.PublicJWK(&key.PublicKey)
	jkt, _ := jwk.Thumbprint()
	proof := func() string {
		t.Helper()
		rec, out := call("POST", oid4vc.NoncePath, "", "", "")
		n, _ := out["c_nonce"].(string)
		if rec.Code != 200 || n == "" {
			t.Fatalf("nonce: %d %v", rec.Code, out)
		}
		return proofOf(t, key, n, e.clock.Now(), nil)
	}
	request := func(conf string) string {
		b, _ := json.Marshal(map[string]any{"credential_configuration_id": conf, "proofs": map[string][]string{"jwt": {proof()}}})
		return string(b)
	}
	for _, tc := range []struct {
		name, token, contentType string
		body                     func() string
		status                   int
		code                     string // the protocol's error, or "" for a credential
	}{
		{"ok/offered document", "offer", "application/json", func() string { return request("health_insurance_card") }, 200, ""},
		{"ok/by scope, the newest valid", "scope", "application/json", func() string { return request("health_insurance_card") }, 200, ""},
		{"ok/proof of an earlier draft", "offer", "application/json", func() string {
			return `{"credential_configuration_id":"health_insurance_card","proof":{"proof_type":"jwt","jwt":"` + proof() + `"}}`
		}, 200, ""},
		{"fail/no token", "", "application/json", func() string { return request("health_insurance_card") }, 401, "invalid_token"},
		{"fail/not JSON", "offer", "application/x-www-form-urlencoded", func() string { return "a=b" }, 400, "invalid_credential_request"},
		{"fail/garbled JSON", "offer", "application/json", func() string { return "{" }, 400, "invalid_credential_request"},
		{"fail/no configuration", "offer", "application/json", func() string { return `{"proofs":{"jwt":["a.b.c"]}}` }, 400, "invalid_credential_request"},
		{"fail/credential identifier", "offer", "application/json", func() string {
			return `{"credential_identifier":"x","credential_configuration_id":"health_insurance_card"}`
		}, 400, "invalid_credential_request"},
		{"fail/response encryption", "offer", "application/json", func() string {
			return `{"credential_configuration_id":"health_insurance_card","credential_response_encryption":{"alg":"ECDH-ES"}}`
		}, 400, "invalid_encryption_parameters"},
		{"fail/unknown configuration", "offer", "application/json", func() string { return request("wizard_licence") }, 400, "unknown_credential_configuration"},
		{"fail/an organisation's type", "offer-other", "application/json", func() string { return request("business_registration") }, 400, "unknown_credential_configuration"},
		{"fail/no proof", "offer", "application/json", func() string { return `{"credential_configuration_id":"health_insurance_card"}` }, 400, "invalid_proof"},
		{"fail/bad proof", "offer", "application/json", func() string {
			return `{"credential_configuration_id":"health_insurance_card","proofs":{"jwt":["a.b.c"]}}`
		}, 400, "invalid_proof"},
		{"fail/token of no offer", "offer-garbled", "application/json", func() string { return request("health_insurance_card") }, 401, "invalid_token"},
		{"fail/without the scope", "scope-none", "application/json", func() string { return request("health_insurance_card") }, 403, "insufficient_scope"},
		{"fail/no valid document", "scope-stranger", "application/json", func() string { return request("health_insurance_card") }, 400, "credential_request_denied"},
		{"fail/offered document no longer valid", "offer-old", "application/json", func() string { return request("health_insurance_card") }, 400, "credential_request_denied"},
		{"fail/another person's offer", "stolen-offer", "application/json", func() string { return request("health_insurance_card") }, 400, "credential_request_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.w.copies)
			rec, out := call("POST", oid4vc.CredentialPath, tc.token, tc.contentType, tc.body())
			if rec.Code != tc.status {
				t.Fatalf("status %d %s", rec.Code, rec.Body)
			}
			if tc.code != "" {
				if out["error"] != tc.code || len(e.w.copies) != before {
					t.Fatalf("error %v, %d copies made", out, len(e.w.copies)-before)
				}
				if tc.status == 401 || tc.status == 403 {
					if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer error="`+tc.code+`"` {
						t.Fatalf("WWW-Authenticate %q", got)
					}
				}
				return
			}
			creds, _ := out["credentials"].([]any)
			if len(creds) != 1 || creds[0].(map[string]any)["credential"] != "copy:doc-1:"+jkt || len(e.w.copies) != before+1 {
				t.Fatalf("credentials %v", out)
			}
		})
	}
}
