package app

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"civitas/internal/kernel"
	"civitas/internal/oid4vc"
	"civitas/internal/wallet"
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

// TestPresentationRequestsOnTheRealWallet: our holder answers a request → verified, with
// the asked claims only; a wrong nonce, another verifier, an altered
// presentation or a wrong state is refused and the request waits; a second
// answer is refused; a revoked document or a claim left out fails it.
func TestPresentationRequestsOnTheRealWallet(t *testing.T) {
	s := startSite(t)
	insurance, p, doc := s.insurance, s.person, s.doc
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	vp, w := s.a.oid4vc, s.a.wallet
	ask := oid4vc.PresentationQuery{Type: "health_insurance_card", Claims: []string{"full_name", "hospital"}, Purpose: "admission"}
	req, err := vp.RequestPresentation(s.ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	q := requestParams(t, req.URI)
	if q.Get("client_id") != "redirect_uri:"+s.base+"/oid4vp/response/"+req.ID || q.Get("response_uri") != s.base+"/oid4vp/response/"+req.ID ||
		q.Get("response_mode") != "direct_post" || q.Get("response_type") != "vp_token" || q.Get("nonce") != req.Nonce || q.Get("state") == "" {
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
		dcql.Credentials[0].Meta.VCT[0] != w.VCT("health_insurance_card") || len(dcql.Credentials[0].Claims) != 2 {
		t.Fatalf("dcql %s: %v", q.Get("dcql_query"), err)
	}
	state := q.Get("state")
	present := func(aud, nonce string, claims ...string) string {
		t.Helper()
		pres, err := w.Present(s.ctx, h, doc.ID, claims, aud, nonce)
		if err != nil {
			t.Fatal(err)
		}
		return pres
	}
	good := present(req.ClientID, req.Nonce, "full_name", "hospital")
	other, err := vp.RequestPresentation(s.ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	spare, err := vp.RequestPresentation(s.ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id, token, state string
	}{
		{"fail/wrong nonce", req.ID, vpToken(present(req.ClientID, "replayed-nonce", "full_name", "hospital")), state},
		{"fail/bound to another request", req.ID, vpToken(present(other.ClientID, other.Nonce, "full_name", "hospital")), state},
		{"fail/altered", req.ID, vpToken(strings.Replace(good, "~", "~x", 1)), state},
		{"fail/not bound to its holder", spare.ID, vpToken(doc.Credential), requestParams(t, spare.URI).Get("state")},
		{"fail/wrong state", req.ID, vpToken(good), "other-state"},
		{"fail/not a DCQL response", spare.ID, good, requestParams(t, spare.URI).Get("state")},
		{"fail/no such request", "nope", vpToken(good), state},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := vp.ReceivePresentation(s.ctx, tc.id, tc.token, tc.state)
			if pe, ok := err.(*oid4vc.ProtocolError); !ok || pe.Status != 400 {
				t.Fatalf("got %v", err)
			}
		})
	}
	res, err := vp.PresentationResult(s.ctx, req.ID, req.ReadToken)
	if err != nil || res.Status != oid4vc.VPPending || res.Failures != 4 || res.Claims != nil {
		t.Fatalf("after refusals: %+v %v", res, err)
	}
	if err := vp.ReceivePresentation(s.ctx, req.ID, vpToken(good), state); err != nil {
		t.Fatal(err)
	}
	res, err = vp.PresentationResult(s.ctx, req.ID, req.ReadToken)
	if err != nil || res.Status != oid4vc.VPVerified || !res.KeyBound || res.Agency != insurance || res.Document != wallet.StatusValid ||
		len(res.Claims) != 2 || res.Claims["full_name"] != p.FullName || res.Claims["hospital"] != "Bệnh viện Đa khoa tỉnh" {
		t.Fatalf("verified: %+v %v", res, err)
	}
	if err := vp.ReceivePresentation(s.ctx, req.ID, vpToken(good), state); err == nil {
		t.Fatal("a second answer (replay) was taken")
	}
	if _, err := vp.PresentationResult(s.ctx, req.ID, other.ReadToken); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("read with another request's token: %v", err)
	}
	if _, err := vp.PresentationResult(s.ctx, req.ID, ""); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("read without a token: %v", err)
	}

	// A claim left out, then a revoked document: genuine, and failed.
	partial, _ := vp.RequestPresentation(s.ctx, ask)
	ps := requestParams(t, partial.URI).Get("state")
	if err := vp.ReceivePresentation(s.ctx, partial.ID, vpToken(present(partial.ClientID, partial.Nonce, "full_name")), ps); err != nil {
		t.Fatal(err)
	}
	if res, _ := vp.PresentationResult(s.ctx, partial.ID, partial.ReadToken); res.Status != oid4vc.VPFailed || res.Claims != nil || !strings.Contains(res.Error, "hospital") {
		t.Fatalf("a claim left out: %+v", res)
	}
	otherState := requestParams(t, other.URI).Get("state")
	pres := present(other.ClientID, other.Nonce, "full_name", "hospital")
	if err := w.SetStatus(s.ctx, insurance, doc.ID, wallet.StatusRevoked, "error"); err != nil {
		t.Fatal(err)
	}
	if err := vp.ReceivePresentation(s.ctx, other.ID, vpToken(pres), otherState); err != nil {
		t.Fatal(err)
	}
	if res, _ := vp.PresentationResult(s.ctx, other.ID, other.ReadToken); res.Status != oid4vc.VPFailed || res.Document != wallet.StatusRevoked || res.Claims != nil {
		t.Fatalf("a revoked document: %+v", res)
	}

	// Garbage from a stranger who saw the link ends a request only after five tries.
	spam, _ := vp.RequestPresentation(s.ctx, ask)
	for i := range 5 {
		if err := vp.ReceivePresentation(s.ctx, spam.ID, `{"civitas":["x~"]}`, "s"); err == nil {
			t.Fatalf("garbage %d taken", i)
		}
	}
	if res, _ := vp.PresentationResult(s.ctx, spam.ID, spam.ReadToken); res.Status != oid4vc.VPFailed || res.Failures != 5 {
		t.Fatalf("after five refusals: %+v", res)
	}
	var n int
	if err := s.a.db.QueryRow(s.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.oid4vp.verify' AND details NOT LIKE ?`,
		"%"+p.FullName+"%").Scan(&n); err != nil || n != 4 {
		t.Fatalf("verdicts audited without claims: %d %v", n, err)
	}
	for _, bad := range []oid4vc.PresentationQuery{
		{Type: "wizard_licence", Claims: []string{"full_name"}},
		{Type: "health_insurance_card"},
		{Type: "health_insurance_card", Claims: []string{"blood"}},
		{Type: "health_insurance_card", Claims: []string{"full_name", "full_name"}},
	} {
		if _, err := vp.RequestPresentation(s.ctx, bad); err == nil {
			t.Errorf("request %+v made", bad)
		}
	}
}
