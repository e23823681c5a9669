package oid4vc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/oid4vc"
	"civitas/internal/statuslist"
)

func vpToken(pres string) string {
	b, _ := json.Marshal(map[string][]string{"civitas": {pres}})
	return string(b)
}

// requestParams reads an openid4vp:// request link.
func requestParams(t *testing.T, uri string) url.Values {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "openid4vp" {
		t.Fatalf("request URI %q: %v", uri, err)
	}
	return u.Query()
}

// TestPresentationRequests: a presentation for the request → verified,
// with the asked claims only; one bound to another nonce or verifier,
// unreadable, not bound at all or for another state is refused and the
// request waits; a second answer is refused; a revoked document, another
// type or a claim left out fails it; garbage ends it after five tries.
// (internal/app runs the same on the real wallet's presentations.)
func TestPresentationRequests(t *testing.T) {
	e := newEnv(t)
	ask := oid4vc.PresentationQuery{Type: "health_insurance_card", Claims: []string{"full_name", "hospital"}, Purpose: "admission"}
	req, err := e.s.RequestPresentation(e.ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	q := requestParams(t, req.URI)
	if q.Get("client_id") != "redirect_uri:"+issuer+"/oid4vp/response/"+req.ID || q.Get("response_uri") != issuer+"/oid4vp/response/"+req.ID ||
		q.Get("response_mode") != "direct_post" || q.Get("response_type") != "vp_token" || q.Get("nonce") != req.Nonce || q.Get("state") == "" ||
		req.ClientID != e.s.ClientIDFor(req.ID) || !req.ExpiresAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("request %v", q)
	}
	var dcql struct {
		Credentials []struct {
			ID     string `json:"id"`
			Format string `json:"format"`
			Meta   struct {
				VCT []string `json:"vct_values"`
			} `json:"meta"`
			Claims []struct {
				Path []string `json:"path"`
			} `json:"claims"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(q.Get("dcql_query")), &dcql); err != nil || len(dcql.Credentials) != 1 || dcql.Credentials[0].Format != "dc+sd-jwt" ||
		dcql.Credentials[0].Meta.VCT[0] != issuer+"/wallet/types/health_insurance_card" || len(dcql.Credentials[0].Claims) != 2 {
		t.Fatalf("dcql %s: %v", q.Get("dcql_query"), err)
	}
	state := q.Get("state")
	claims := map[string]any{"full_name": "Nguyễn Văn An", "hospital": "Bệnh viện Đa khoa tỉnh"}
	present := func(aud, nonce string, keep ...string) string {
		p := fakePresentation{Audience: aud, Nonce: nonce, Type: "health_insurance_card", Agency: "BHXH", Claims: map[string]any{}, Status: statuslist.Valid}
		for _, c := range keep {
			p.Claims[c] = claims[c]
		}
		return fakePresent(p)
	}
	good := present(req.ClientID, req.Nonce, "full_name", "hospital")
	other, err := e.s.RequestPresentation(e.ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	spare, err := e.s.RequestPresentation(e.ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id, token, state string
	}{
		{"fail/wrong nonce", req.ID, vpToken(present(req.ClientID, "replayed-nonce", "full_name", "hospital")), state},
		{"fail/bound to another request", req.ID, vpToken(present(other.ClientID, other.Nonce, "full_name", "hospital")), state},
		{"fail/altered", req.ID, vpToken(strings.Replace(good, "~", "~x", 1)), state},
		{"fail/not bound to its holder", spare.ID, vpToken(present("", "", "full_name", "hospital")), requestParams(t, spare.URI).Get("state")},
		{"fail/wrong state", req.ID, vpToken(good), "other-state"},
		{"fail/not a DCQL response", spare.ID, good, requestParams(t, spare.URI).Get("state")},
		{"fail/no such request", "nope", vpToken(good), state},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.s.ReceivePresentation(e.ctx, tc.id, tc.token, tc.state)
			if pe, ok := err.(*oid4vc.ProtocolError); !ok || pe.Status != 400 {
				t.Fatalf("got %v", err)
			}
		})
	}
	res, err := e.s.PresentationResult(e.ctx, req.ID, req.ReadToken)
	if err != nil || res.Status != oid4vc.VPPending || res.Failures != 4 || res.Claims != nil {
		t.Fatalf("after refusals: %+v %v", res, err)
	}
	if err := e.s.ReceivePresentation(e.ctx, req.ID, vpToken(good), state); err != nil {
		t.Fatal(err)
	}
	res, err = e.s.PresentationResult(e.ctx, req.ID, req.ReadToken)
	if err != nil || res.Status != oid4vc.VPVerified || !res.KeyBound || res.Agency != "BHXH" || res.Document != "valid" || res.IssuedAt == nil ||
		len(res.Claims) != 2 || res.Claims["full_name"] != claims["full_name"] || res.Claims["hospital"] != claims["hospital"] {
		t.Fatalf("verified: %+v %v", res, err)
	}
	if err := e.s.ReceivePresentation(e.ctx, req.ID, vpToken(good), state); err == nil {
		t.Fatal("a second answer (replay) was taken")
	}
	if _, err := e.s.PresentationResult(e.ctx, req.ID, other.ReadToken); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("read with another request's token: %v", err)
	}
	if _, err := e.s.PresentationResult(e.ctx, req.ID, ""); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("read without a token: %v", err)
	}

	// Genuine presentations that do not meet the request fail it, and show nothing.
	for _, tc := range []struct {
		name   string
		change func(p *fakePresentation)
		want   string // in the reason
	}{
		{"fail/a claim left out", func(p *fakePresentation) { delete(p.Claims, "hospital") }, "hospital"},
		{"fail/revoked", func(p *fakePresentation) { p.Status = statuslist.Invalid }, "revoked"},
		{"fail/suspended", func(p *fakePresentation) { p.Status = statuslist.Suspended }, "suspended"},
		{"fail/another type", func(p *fakePresentation) { p.Type = "business_registration" }, "another type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.s.RequestPresentation(e.ctx, ask)
			if err != nil {
				t.Fatal(err)
			}
			p := fakePresentation{Audience: r.ClientID, Nonce: r.Nonce, Type: "health_insurance_card", Agency: "BHXH",
				Claims: map[string]any{"full_name": "x", "hospital": "y"}, Status: statuslist.Valid}
			tc.change(&p)
			if err := e.s.ReceivePresentation(e.ctx, r.ID, vpToken(fakePresent(p)), requestParams(t, r.URI).Get("state")); err != nil {
				t.Fatal(err)
			}
			res, err := e.s.PresentationResult(e.ctx, r.ID, r.ReadToken)
			if err != nil || res.Status != oid4vc.VPFailed || res.Claims != nil || !strings.Contains(res.Error, tc.want) {
				t.Fatalf("%+v %v", res, err)
			}
		})
	}

	// Garbage from a stranger who saw the link ends a request only after five tries.
	spam, _ := e.s.RequestPresentation(e.ctx, ask)
	for i := range 5 {
		if err := e.s.ReceivePresentation(e.ctx, spam.ID, `{"civitas":["x~"]}`, "s"); err == nil {
			t.Fatalf("garbage %d taken", i)
		}
	}
	if res, _ := e.s.PresentationResult(e.ctx, spam.ID, spam.ReadToken); res.Status != oid4vc.VPFailed || res.Failures != 5 {
		t.Fatalf("after five refusals: %+v", res)
	}
	// An expired request takes no answer.
	late, _ := e.s.RequestPresentation(e.ctx, ask)
	e.clock.Advance(11 * time.Minute)
	if err := e.s.ReceivePresentation(e.ctx, late.ID, vpToken(present(late.ClientID, late.Nonce, "full_name", "hospital")), requestParams(t, late.URI).Get("state")); err == nil {
		t.Fatal("an expired request took an answer")
	}
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.oid4vp.verify' AND details NOT LIKE ?`,
		"%Nguyễn%").Scan(&n); err != nil || n != 6 {
		t.Fatalf("verdicts audited without claims: %d %v", n, err)
	}
	if n, err := e.s.Cleanup(e.ctx); err != nil || n < 8 {
		t.Fatalf("cleanup of expired requests: %d %v", n, err)
	}
	if _, err := e.s.PresentationResult(e.ctx, req.ID, req.ReadToken); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a request cleaned up: %v", err)
	}
	for _, bad := range []oid4vc.PresentationQuery{
		{Type: "wizard_licence", Claims: []string{"full_name"}},
		{Type: "health_insurance_card"},
		{Type: "health_insurance_card", Claims: []string{"blood"}},
		{Type: "health_insurance_card", Claims: []string{"full_name", "full_name"}},
	} {
		if _, err := e.s.RequestPresentation(e.ctx, bad); kernel.ErrorCode(err) == "" {
			t.Errorf("request %+v made", bad)
		}
	}
}

// TestVerifierOverHTTP: a verifier makes a request, the wallet app answers
// it by direct_post, and only the read token reads the verdict.
func TestVerifierOverHTTP(t *testing.T) {
	e := newEnv(t)
	h := e.router(fakeGrants{})
	do := func(method, path, contentType, body, token string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	if st, _ := do("POST", oid4vc.VPRequestsPath, "text/plain", `{}`, ""); st != http.StatusBadRequest {
		t.Fatalf("a request not in JSON: %d", st)
	}
	st, r := do("POST", oid4vc.VPRequestsPath, "application/json", `{"type":"health_insurance_card","claims":["full_name"]}`, "")
	id, _ := r["id"].(string)
	read, _ := r["read_token"].(string)
	if st != http.StatusCreated || id == "" || read == "" {
		t.Fatalf("request: %d %v", st, r)
	}
	state := requestParams(t, r["authorization_request_uri"].(string)).Get("state")
	if st, _ := do("POST", oid4vc.VPResponsePath+id, "application/x-www-form-urlencoded", "error=access_denied", ""); st != http.StatusOK {
		t.Fatalf("a declined request: %d", st)
	}
	if st, out := do("POST", oid4vc.VPResponsePath+id, "application/x-www-form-urlencoded", url.Values{"vp_token": {"x"}, "state": {state}}.Encode(), ""); st != 400 || out["error"] != "invalid_request" {
		t.Fatalf("garbage: %d %v", st, out)
	}
	pres := fakePresent(fakePresentation{Audience: r["client_id"].(string), Nonce: r["nonce"].(string), Type: "health_insurance_card", Agency: "BHXH",
		Claims: map[string]any{"full_name": "An"}, Status: statuslist.Valid})
	if st, out := do("POST", oid4vc.VPResponsePath+id, "application/x-www-form-urlencoded", url.Values{"vp_token": {vpToken(pres)}, "state": {state}}.Encode(), ""); st != 200 {
		t.Fatalf("answer: %d %v", st, out)
	}
	if st, _ := do("GET", oid4vc.VPRequestsPath+"/"+id, "", "", ""); st != http.StatusNotFound {
		t.Fatalf("read without the token: %d", st)
	}
	st, res := do("GET", oid4vc.VPRequestsPath+"/"+id, "", "", read)
	if claims, _ := res["claims"].(map[string]any); st != 200 || res["status"] != oid4vc.VPVerified || claims["full_name"] != "An" || res["failures"] != float64(1) {
		t.Fatalf("result: %d %v", st, res)
	}
}
