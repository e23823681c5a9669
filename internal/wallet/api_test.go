package wallet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"civitas/internal/i18n"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/sealed"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// apiTokens is the app's adapter: the provider's client tokens.
type apiTokens struct{ op *oidc.Provider }

func (t apiTokens) Verify(r *http.Request) (wallet.APIClient, error) {
	ct, err := t.op.VerifyClientToken(r)
	if err != nil {
		return wallet.APIClient{}, kernel.E(kernel.Unauthenticated, "walletapi.error.token").WithCause(err)
	}
	return wallet.APIClient{ID: ct.ClientID, Agency: ct.Agency, Scopes: ct.Scopes}, nil
}

// apiOfficials gives posts by account ID.
type apiOfficials map[string][]wallet.OfficialPost

func (o apiOfficials) Posts(_ context.Context, accountID string) ([]wallet.OfficialPost, error) {
	return o[accountID], nil
}

// apiEnv is the wallet behind the real router: the web server with the
// OpenID Provider, the API and the officer pages, served over HTTP.
type apiEnv struct {
	*env
	url  string
	op   *oidc.Provider
	offs apiOfficials
}

const apiSecret = "an-agency-secret-of-forty-characters-00"

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	h := &apiEnv{env: newEnv(t), offs: apiOfficials{}}
	srv := httptest.NewUnstartedServer(nil)
	h.url = "http://" + srv.Listener.Addr().String()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse(h.url)
	ws, err := web.NewServer(web.Options{DB: h.d, Clock: h.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	box, _ := sealed.New(make([]byte, sealed.KeySize))
	h.op, err = oidc.New(h.ctx, oidc.Options{DB: h.d, Clock: h.clock, Web: ws, Issuer: h.url, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.op.Mount(); err != nil {
		t.Fatal(err)
	}
	h.w.MountAPI(ws, apiTokens{h.op})
	if err := h.w.MountOfficer(ws, h.offs); err != nil {
		t.Fatal(err)
	}
	// The login pages are another capability's: here a test route signs in.
	ws.HandleFunc("GET /test/login", func(w http.ResponseWriter, r *http.Request) {
		sess, err := ws.StartLogin(w, r, web.Login{AccountID: r.URL.Query().Get("account"), ACR: r.URL.Query().Get("acr"), AuthTime: h.clock.Now()})
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		w.Header().Set("X-Test-CSRF", sess.CSRFToken) // what the session's forms carry
		w.WriteHeader(http.StatusNoContent)
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return h
}

// addClient registers an agency's system with client_secret_basic.
func (h *apiEnv) addClient(id, agency string, scopes ...string) {
	h.t.Helper()
	if err := h.op.AddClient(h.ctx, oidc.Client{ID: id, AuthMethod: oidc.AuthSecretBasic, Secret: apiSecret, Agency: agency, Scopes: scopes}); err != nil {
		h.t.Fatal(err)
	}
}

// token gets a client's own access token from the token endpoint.
func (h *apiEnv) token(id string) string {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, apiSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		h.t.Fatalf("token for %s: %d %v", id, resp.StatusCode, err)
	}
	return out.AccessToken
}

// call sends a request; headers come in pairs.
func (h *apiEnv) call(method, path, token, body string, headers ...string) (int, http.Header, string) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// apiScenario is one HTTP exchange and what its answer must and must not say.
type apiScenario struct {
	name    string
	method  string
	path    string
	token   string
	body    string
	headers []string
	status  int
	want    []string
	notWant []string
}

func (h *apiEnv) run(t *testing.T, scs []apiScenario) {
	t.Helper()
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			st, hdr, body := h.call(sc.method, sc.path, sc.token, sc.body, sc.headers...)
			if st != sc.status {
				t.Fatalf("status %d, want %d: %s", st, sc.status, body)
			}
			if st >= 500 {
				t.Fatalf("a server error: %s", body)
			}
			for _, w := range sc.want {
				if !strings.Contains(body, w) && !strings.Contains(fmt.Sprint(hdr), w) {
					t.Errorf("the answer lacks %q: %s", w, body)
				}
			}
			for _, w := range sc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("the answer has %q: %s", w, body)
				}
			}
		})
	}
}

func apiJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAPI(t *testing.T) {
	h := newAPIEnv(t)
	police, insurance, tax := h.agency(registry.Police), h.agency(registry.SocialInsurance), h.agency(registry.Tax)
	h.addClient("police-sys", police, wallet.ScopeIssue, wallet.ScopeQuery)
	h.addClient("insurance-sys", insurance, wallet.ScopeIssue, wallet.ScopeQuery)
	h.addClient("insurance-query", insurance, wallet.ScopeQuery)
	h.addClient("tax-sys", tax, wallet.ScopeIssue)
	h.addClient("bank", "", wallet.ScopeQuery)
	// One agency's system authenticates with private_key_jwt.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(&key.PublicKey)
	if err := h.op.AddClient(h.ctx, oidc.Client{ID: "police-jwt", AuthMethod: oidc.AuthPrivateKeyJWT, JWKS: jose.JWKSet{Keys: []jose.JWK{jwk}},
		Agency: police, Scopes: []string{wallet.ScopeIssue}}); err != nil {
		t.Fatal(err)
	}
	assertion, _ := jose.SignJSON(key, jose.Header{Alg: "ES256", Typ: "JWT"}, jose.Claims{Issuer: "police-jwt", Subject: "police-jwt",
		Audience: jose.Audience{h.url + "/oauth/token"}, Expiry: h.clock.Now().Add(time.Minute).Unix(), ID: kernel.NewID()})
	st, _, body := h.call(http.MethodPost, "/oauth/token", "", "", "Content-Type", "application/x-www-form-urlencoded")
	if st != http.StatusBadRequest && st != http.StatusUnauthorized {
		t.Fatalf("token endpoint without a body: %d %s", st, body)
	}
	req, _ := http.NewRequest(http.MethodPost, h.url+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var jwtTok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&jwtTok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("private_key_jwt token: %d", resp.StatusCode)
	}
	pol, ins, insQ, taxT, bank := h.token("police-sys"), h.token("insurance-sys"), h.token("insurance-query"), h.token("tax-sys"), h.token("bank")
	p, other := h.person(0), h.person(1)
	b := h.business()
	card := apiJSON(map[string]any{"type": "health_insurance_card", "citizen_id": p.CitizenID, "claims": healthCard(p)})

	h.run(t, []apiScenario{
		{name: "ok/openapi document", method: "GET", path: "/api/wallet/v1/openapi.yaml", status: 200, want: []string{"openapi: 3.1.0", "/documents:batch", "/holdings"}},
		{name: "ok/issue with claims", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: card, status: 201,
			want: []string{`"type":"health_insurance_card"`, `"citizen_id":"` + p.CitizenID, `"credential":"ey`, `"status":"valid"`, `"agency":"` + insurance}},
		{name: "ok/issue from the registry with private_key_jwt", method: "POST", path: "/api/wallet/v1/documents", token: jwtTok.AccessToken,
			body: apiJSON(map[string]any{"type": "citizen_id_card", "citizen_id": other.CitizenID}), status: 201, want: []string{`"type":"citizen_id_card"`}},
		{name: "ok/the types the agency may issue", method: "GET", path: "/api/wallet/v1/types", token: ins, status: 200,
			want: []string{`"agency":"` + insurance, "health_insurance_card", `"labels"`}, notWant: []string{"citizen_id_card"}},
		{name: "fail/a type of another agency's kind", method: "POST", path: "/api/wallet/v1/documents", token: taxT,
			body: apiJSON(map[string]any{"type": "citizen_id_card", "citizen_id": p.CitizenID}), status: 403,
			want: []string{`"code":"forbidden"`, "application/problem+json"}},
		{name: "fail/the other agency's kind, in English", method: "POST", path: "/api/wallet/v1/documents", token: taxT, headers: []string{"Accept-Language", "en"},
			body: apiJSON(map[string]any{"type": "health_insurance_card", "citizen_id": p.CitizenID, "claims": healthCard(p)}), status: 403,
			want: []string{"This agency may not issue this type of document."}},
		{name: "fail/no token", method: "POST", path: "/api/wallet/v1/documents", body: card, status: 401, want: []string{`Bearer error="invalid_token"`, `"code":"unauthenticated"`}},
		{name: "fail/not a token", method: "POST", path: "/api/wallet/v1/documents", token: "not-a-token", body: card, status: 401},
		{name: "fail/wrong scope", method: "POST", path: "/api/wallet/v1/documents", token: bank, body: card, status: 403, want: []string{"insufficient_scope", "wallet.issue"}},
		{name: "fail/an agency's query-only client issues", method: "POST", path: "/api/wallet/v1/documents", token: insQ, body: card, status: 403},
		{name: "fail/an issuing client queries", method: "GET", path: "/api/wallet/v1/holdings?" + url.Values{"citizen_id": {p.CitizenID}, "type": {"health_insurance_card"}, "purpose": {"checking an application"}}.Encode(),
			token: taxT, status: 403},
		{name: "fail/malformed JSON", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: `{"type": "health_insurance_card",`, status: 400, want: []string{`"code":"invalid"`}},
		{name: "fail/an unknown field", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: `{"type": "health_insurance_card", "citizen_id": "` + p.CitizenID + `", "holder": "x"}`, status: 400},
		{name: "fail/data after the object", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: card + card, status: 400},
		{name: "fail/a JSON array", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: `[` + card + `]`, status: 400},
		{name: "fail/both holders", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: apiJSON(map[string]any{"type": "health_insurance_card", "citizen_id": p.CitizenID, "reg_number": b.RegNumber, "claims": healthCard(p)}), status: 400},
		{name: "fail/no holder", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: `{"type": "health_insurance_card"}`, status: 400},
		{name: "fail/no type", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: `{"citizen_id": "` + p.CitizenID + `"}`, status: 400},
		{name: "fail/no such type", method: "POST", path: "/api/wallet/v1/documents", token: ins, body: `{"type": "wizard_licence", "citizen_id": "` + p.CitizenID + `"}`, status: 404},
		{name: "fail/a malformed citizen ID", method: "POST", path: "/api/wallet/v1/documents", token: pol, body: `{"type": "citizen_id_card", "citizen_id": "12ab"}`, status: 400},
		{name: "fail/nobody with that citizen ID", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: apiJSON(map[string]any{"type": "health_insurance_card", "citizen_id": "001099000001", "claims": healthCard(p)}), status: 404},
		{name: "fail/a number for a text claim", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: `{"type": "health_insurance_card", "citizen_id": "` + p.CitizenID + `", "claims": {"card_number": 12, "full_name": "A", "birth_date": "2000-01-01", "sex": "F", "hospital": "H"}}`, status: 400},
		{name: "fail/an object for a claim", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: `{"type": "health_insurance_card", "citizen_id": "` + p.CitizenID + `", "claims": {"card_number": {"a": [1, 2]}, "full_name": "A", "birth_date": "2000-01-01", "sex": "F", "hospital": "H"}}`, status: 400},
		{name: "fail/a date that is not one", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: `{"type": "health_insurance_card", "citizen_id": "` + p.CitizenID + `", "claims": {"card_number": "X", "full_name": "A", "birth_date": "31/12/2000", "sex": "F", "hospital": "H"}}`, status: 400},
		{name: "fail/claims that are not an object", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: `{"type": "health_insurance_card", "citizen_id": "` + p.CitizenID + `", "claims": "all"}`, status: 400},
		{name: "fail/a person's type to an organisation", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: apiJSON(map[string]any{"type": "health_insurance_card", "reg_number": b.RegNumber, "claims": healthCard(p)}), status: 400},
		{name: "fail/replaces a document that is not there", method: "POST", path: "/api/wallet/v1/documents", token: ins,
			body: apiJSON(map[string]any{"type": "health_insurance_card", "citizen_id": p.CitizenID, "claims": healthCard(p), "replaces": "nope"}), status: 404},
		{name: "fail/a batch of nothing", method: "POST", path: "/api/wallet/v1/documents:batch", token: ins, body: `{"documents": []}`, status: 400},
		{name: "fail/a batch too big", method: "POST", path: "/api/wallet/v1/documents:batch", token: ins,
			body: `{"documents": [` + strings.TrimSuffix(strings.Repeat(`{},`, wallet.MaxBatch+1), ",") + `]}`, status: 400, want: []string{"1000"}},
		{name: "fail/a batch without a token", method: "POST", path: "/api/wallet/v1/documents:batch", body: `{"documents": [` + card + `]}`, status: 401},
		{name: "fail/a status change without a token", method: "POST", path: "/api/wallet/v1/documents/x/status", body: `{"status": "revoked", "reason": "lost"}`, status: 401},
	})

	// A batch with mixed results: each item succeeds or fails alone.
	items := []string{
		card,
		apiJSON(map[string]any{"type": "citizen_id_card", "citizen_id": p.CitizenID}),           // not the insurance's kind
		`{"type": "health_insurance_card", "citizen_id": "` + p.CitizenID + `", "claims": "x"}`, // not an issuance
		apiJSON(map[string]any{"type": "health_insurance_card", "citizen_id": other.CitizenID, "claims": healthCard(other)}),
		`{"type": "health_insurance_card", "citizen_id": "` + p.CitizenID + `", "claims": {}}`, // required claims missing
	}
	st, _, body = h.call(http.MethodPost, "/api/wallet/v1/documents:batch", ins, `{"documents": [`+strings.Join(items, ",")+`]}`, "Accept-Language", "en")
	var batch struct {
		Issued, Failed int
		Results        []struct {
			Index    int
			Document *struct{ ID, Credential string }
			Error    *struct {
				Status int
				Code   string
				Detail string
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &batch); err != nil || st != http.StatusOK {
		t.Fatalf("batch: %d %s", st, body)
	}
	wantStatus := []int{0, 403, 400, 0, 400}
	if batch.Issued != 2 || batch.Failed != 3 || len(batch.Results) != len(items) {
		t.Fatalf("batch: %s", body)
	}
	for i, r := range batch.Results {
		switch {
		case r.Index != i:
			t.Errorf("result %d has index %d", i, r.Index)
		case wantStatus[i] == 0 && (r.Document == nil || r.Document.Credential == "" || r.Error != nil):
			t.Errorf("item %d: %+v", i, r)
		case wantStatus[i] != 0 && (r.Error == nil || r.Error.Status != wantStatus[i] || r.Error.Detail == "" || r.Document != nil):
			t.Errorf("item %d: want %d, got %+v", i, wantStatus[i], r.Error)
		}
	}
	if d := batch.Results[4].Error; d == nil || !strings.Contains(d.Detail, "required") {
		t.Errorf("a missing claim, in English: %+v", d)
	}

	// Status changes: by the issuing agency only.
	st, _, body = h.call(http.MethodPost, "/api/wallet/v1/documents", ins, card)
	var doc struct{ ID, Credential string }
	if err := json.Unmarshal([]byte(body), &doc); err != nil || st != http.StatusCreated {
		t.Fatalf("issue: %d %s", st, body)
	}
	if _, err := sdjwt.Verify(h.ctx, doc.Credential, sdjwt.VerifyOptions{Key: h.w.IssuerKey, Now: h.clock.Now()}); err != nil {
		t.Fatalf("the credential of the API does not verify: %v", err)
	}
	statusPath := "/api/wallet/v1/documents/" + doc.ID + "/status"
	query := func(token, citizenID, purpose, claims string) string {
		v := url.Values{"citizen_id": {citizenID}, "type": {"health_insurance_card"}, "purpose": {purpose}}
		if claims != "" {
			v.Set("claims", claims)
		}
		return "/api/wallet/v1/holdings?" + v.Encode()
	}
	purpose := "Hồ sơ hưởng chế độ ốm đau số 123"
	nobody := h.person(5)
	h.run(t, []apiScenario{
		{name: "fail/status change by another agency", method: "POST", path: statusPath, token: pol, body: `{"status": "revoked", "reason": "error"}`, status: 404},
		{name: "fail/an unknown status", method: "POST", path: statusPath, token: ins, body: `{"status": "lost", "reason": "other"}`, status: 400},
		{name: "fail/an unknown reason", method: "POST", path: statusPath, token: ins, body: `{"status": "suspended", "reason": "because"}`, status: 400},
		{name: "fail/status of a document that is not there", method: "POST", path: "/api/wallet/v1/documents/nope/status", token: ins, body: `{"status": "revoked", "reason": "error"}`, status: 404},
		{name: "ok/the issuing agency reads its document, without the credential", method: "GET", path: "/api/wallet/v1/documents/" + doc.ID, token: ins, status: 200,
			want: []string{`"id":"` + doc.ID, `"status":"valid"`, `"citizen_id":"` + p.CitizenID, `"issued_at"`}, notWant: []string{"credential", p.FullName, "hospital"}},
		{name: "fail/another agency's document is not found", method: "GET", path: "/api/wallet/v1/documents/" + doc.ID, token: pol, status: 404},
		{name: "fail/a document read without a token", method: "GET", path: "/api/wallet/v1/documents/" + doc.ID, status: 401},
		{name: "ok/suspend", method: "POST", path: statusPath, token: ins, body: `{"status": "suspended", "reason": "investigation"}`, status: 200, want: []string{`"status":"suspended"`}},
		{name: "ok/the read shows the suspension", method: "GET", path: "/api/wallet/v1/documents/" + doc.ID, token: ins, status: 200, want: []string{`"status":"suspended"`}},
		{name: "ok/one card suspended, another still held", method: "GET", path: query(ins, p.CitizenID, purpose, ""), token: ins, status: 200, want: []string{`"holds":true`}},
		{name: "ok/reinstate", method: "POST", path: statusPath, token: ins, body: `{"status": "valid", "reason": "other"}`, status: 200},
		{name: "ok/a public agency is told the claims asked", method: "GET", path: query(ins, p.CitizenID, purpose, "full_name,hospital"), token: ins, status: 200,
			want:    []string{`"holds":true`, `"full_name":"` + p.FullName, `"hospital"`, `"issued_by":"` + insurance, `"expires_at"`, `"query_id"`},
			notWant: []string{"card_number", "birth_date"}},
		{name: "ok/another agency too", method: "GET", path: query(pol, p.CitizenID, purpose, "full_name"), token: pol, status: 200, want: []string{`"full_name"`}},
		{name: "ok/anyone else only yes or no", method: "GET", path: query(bank, p.CitizenID, "mở tài khoản ngân hàng", "full_name"), token: bank, status: 200,
			want: []string{`"holds":true`, `"claims_withheld":true`}, notWant: []string{p.FullName, "issued_by", "expires_at"}},
		{name: "ok/no document of that type", method: "GET", path: query(ins, nobody.CitizenID, purpose, "full_name"), token: ins, status: 200,
			want: []string{`"holds":false`}, notWant: []string{"claims"}},
		{name: "fail/a query without purpose", method: "GET", path: "/api/wallet/v1/holdings?" + url.Values{"citizen_id": {p.CitizenID}, "type": {"health_insurance_card"}}.Encode(), token: ins, status: 400},
		{name: "fail/a purpose too short", method: "GET", path: query(ins, p.CitizenID, "ab", ""), token: ins, status: 400},
		{name: "fail/a purpose too long", method: "GET", path: query(ins, p.CitizenID, strings.Repeat("x", 201), ""), token: ins, status: 400},
		{name: "fail/a claim the type has not", method: "GET", path: query(ins, p.CitizenID, purpose, "blood"), token: ins, status: 400},
		{name: "fail/a malformed citizen ID", method: "GET", path: query(ins, "12", purpose, ""), token: ins, status: 400},
		{name: "fail/a repeated parameter", method: "GET", path: query(ins, p.CitizenID, purpose, "") + "&type=citizen_id_card", token: ins, status: 400},
		{name: "ok/an organisation asked about by its enterprise code", method: "GET", path: "/api/wallet/v1/holdings?" + url.Values{"reg_number": {b.RegNumber}, "type": {"business_registration"}, "purpose": {purpose}}.Encode(), token: ins, status: 200,
			want: []string{`"holds":`, `"type":"business_registration"`}},
		{name: "fail/a person and an organisation at once", method: "GET", path: "/api/wallet/v1/holdings?" + url.Values{"citizen_id": {p.CitizenID}, "reg_number": {b.RegNumber}, "type": {"business_registration"}, "purpose": {purpose}}.Encode(), token: ins, status: 400},
		{name: "fail/an organisation's type", method: "GET", path: "/api/wallet/v1/holdings?" + url.Values{"citizen_id": {p.CitizenID}, "type": {"business_registration"}, "purpose": {purpose}}.Encode(), token: ins, status: 400},
		{name: "ok/revoke", method: "POST", path: statusPath, token: ins, body: `{"status": "revoked", "reason": "error"}`, status: 200},
		{name: "fail/revoked stays revoked", method: "POST", path: statusPath, token: ins, body: `{"status": "valid", "reason": "other"}`, status: 409},
	})

	// Revoke every health card of p: the query then answers no.
	for _, d := range apiDocuments(t, h, p.CitizenID) {
		if d.Type == "health_insurance_card" && d.Status != wallet.StatusRevoked {
			if st, _, body := h.call(http.MethodPost, "/api/wallet/v1/documents/"+d.ID+"/status", ins, `{"status": "revoked", "reason": "withdrawn"}`); st != http.StatusOK {
				t.Fatalf("revoke %s: %d %s", d.ID, st, body)
			}
		}
	}
	h.clock.Advance(time.Second) // the last query is the newest
	h.run(t, []apiScenario{{name: "ok/a revoked document is not held", method: "GET", path: query(ins, p.CitizenID, purpose, "full_name"), token: ins, status: 200,
		want: []string{`"holds":false`}, notWant: []string{p.FullName}}})

	// Every query is recorded for the holder and audited, with its purpose
	// and answer; the values of claims never.
	qs, err := h.w.QueriesAbout(h.ctx, wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}, 0)
	if err != nil || len(qs) < 5 {
		t.Fatalf("queries recorded: %d %v", len(qs), err)
	}
	if last := qs[0]; last.Answer || last.Purpose != purpose || last.Requester.ID != "insurance-sys" || last.Requester.Agency != insurance {
		t.Fatalf("last query: %+v", last)
	}
	var n int
	if err := h.d.QueryRow(h.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.query' AND subject_id = ? AND purpose <> '' AND details LIKE '%"answer":"%'
		AND details NOT LIKE ?`, p.CitizenID, "%"+p.FullName+"%").Scan(&n); err != nil || n != len(qs) {
		t.Fatalf("audited queries: %d of %d, %v", n, len(qs), err)
	}
	if err := h.d.QueryRow(h.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.issue' AND actor_kind = 'client' AND actor_id = 'insurance-sys'
		AND on_behalf_of = ?`, "agency:"+insurance).Scan(&n); err != nil || n != 4 {
		t.Fatalf("issuances audited as the client's for its agency: %d %v", n, err)
	}

	// Tokens expire after ten minutes.
	h.clock.Advance(10*time.Minute + time.Second)
	h.run(t, []apiScenario{{name: "fail/an expired token", method: "GET", path: "/api/wallet/v1/types", token: ins, status: 401}})
}

func apiDocuments(t *testing.T, h *apiEnv, citizenID string) []wallet.Document {
	t.Helper()
	ds, err := h.w.Documents(h.ctx, wallet.Holder{Kind: wallet.HolderPerson, ID: citizenID}, true)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestHolds is the query as the portal calls it in process.
func TestHolds(t *testing.T) {
	e := newEnv(t)
	insurance := e.agency(registry.SocialInsurance)
	p := e.person(0)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	portal := wallet.Requester{Kind: kernel.ActorSystem, ID: "portal", Agency: insurance}
	anyone := wallet.Requester{Kind: kernel.ActorClient, ID: "bank"}
	q := func(r wallet.Requester, purpose string, claims ...string) wallet.Query {
		return wallet.Query{CitizenID: p.CitizenID, Type: "health_insurance_card", Purpose: purpose, Claims: claims, Requester: r}
	}
	for _, tc := range []struct {
		name  string
		q     wallet.Query
		code  kernel.Code
		holds bool
		told  bool
	}{
		{"ok/an agency, claims asked", q(portal, "thủ tục hưởng BHYT", "hospital"), "", true, true},
		{"ok/an agency, no claims asked", q(portal, "thủ tục hưởng BHYT"), "", true, false},
		{"ok/anyone else, claims asked", q(anyone, "open an account", "hospital"), "", true, false},
		{"fail/no purpose", q(portal, "  "), kernel.Invalid, false, false},
		{"fail/a purpose with a control character", q(portal, "abc\x00def"), kernel.Invalid, false, false},
		{"fail/nobody asks", q(wallet.Requester{}, "thủ tục"), kernel.Invalid, false, false},
		{"fail/no type", wallet.Query{CitizenID: p.CitizenID, Purpose: "thủ tục", Requester: portal}, kernel.Invalid, false, false},
		{"fail/no such type", wallet.Query{CitizenID: p.CitizenID, Type: "nope", Purpose: "thủ tục", Requester: portal}, kernel.NotFound, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.w.Holds(e.ctx, tc.q)
			if tc.code != "" {
				if kernel.ErrorCode(err) != tc.code {
					t.Fatalf("got %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil || got.Holds != tc.holds || (got.Claims["hospital"] != nil) != tc.told || got.QueryID == "" {
				t.Fatalf("%+v %v", got, err)
			}
			if tc.told && (len(got.Claims) != 1 || got.Agency != insurance || !got.ExpiresAt.Equal(doc.ExpiresAt)) {
				t.Fatalf("told: %+v", got)
			}
			if !tc.told && len(tc.q.Claims) > 0 && !got.Withheld {
				t.Fatal("claims withheld without saying so")
			}
		})
	}
	// An organisation, by its enterprise code: holds its business
	// registration (issued from the business registry), told to an agency.
	b := e.business()
	org := wallet.Holder{Kind: wallet.HolderOrganisation, ID: b.RegNumber}
	if _, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: e.agency(registry.PeopleCommittee), Type: "business_registration", Holder: org}); err != nil {
		t.Fatal(err)
	}
	got, err := e.w.Holds(e.ctx, wallet.Query{RegNumber: b.RegNumber, Type: "business_registration", Purpose: "đấu thầu gói số 7", Claims: []string{"name"}, Requester: portal})
	if err != nil || !got.Holds || got.Claims["name"] != b.Name {
		t.Fatalf("an organisation's registration: %+v %v", got, err)
	}
	if recs, err := e.w.QueriesAbout(e.ctx, org, 10); err != nil || len(recs) != 1 || recs[0].Purpose != "đấu thầu gói số 7" {
		t.Fatalf("the organisation's history of queries: %+v %v", recs, err)
	}
	for name, bad := range map[string]wallet.Query{
		"a person's type asked of an organisation": {RegNumber: b.RegNumber, Type: "health_insurance_card", Purpose: "thủ tục", Requester: portal},
		"both a person and an organisation":        {CitizenID: p.CitizenID, RegNumber: b.RegNumber, Type: "business_registration", Purpose: "thủ tục", Requester: portal},
		"a malformed enterprise code":              {RegNumber: "12345", Type: "business_registration", Purpose: "thủ tục", Requester: portal},
	} {
		if _, err := e.w.Holds(e.ctx, bad); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Expired: not held.
	e.clock.Advance(366 * 24 * time.Hour)
	if got, err := e.w.Holds(e.ctx, q(portal, "thủ tục hưởng BHYT")); err != nil || got.Holds {
		t.Fatalf("an expired card: %+v %v", got, err)
	}
}
