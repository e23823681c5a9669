package signing_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/signing"
	"civitas/internal/web"
)

// tokens reads "Bearer ACCOUNT CLIENT SCOPE..." — the real provider's
// verification is tested in internal/oidc; here it is who calls.
type tokens struct{}

func (tokens) Verify(r *http.Request) (signing.Token, error) {
	f := strings.Fields(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if len(f) < 2 {
		return signing.Token{}, kernel.E(kernel.Unauthenticated, "signing.error.token")
	}
	return signing.Token{AccountID: f[0], ClientID: f[1], Scopes: f[2:]}, nil
}

type chains struct{ e *env }

func (c chains) Chain(ctx context.Context, serial *big.Int) ([]*x509.Certificate, error) {
	return c.e.ca.Chain(ctx, serial)
}

// CertStatus asks the CA, as app does.
func (c chains) CertStatus(ctx context.Context, serial *big.Int) (string, error) {
	for _, ca := range pki.IssuingCAs {
		st, err := c.e.ca.Status(ctx, ca, serial)
		if err != nil {
			return "", err
		}
		switch {
		case st.State == pki.Revoked && st.Reason == pki.ReasonHold:
			return signing.CertSuspended, nil
		case st.State == pki.Revoked:
			return signing.CertRevoked, nil
		case st.State == pki.Good:
			return signing.CertValid, nil
		}
	}
	return "", kernel.E(kernel.NotFound, "pki.error.no_certificate")
}

type client struct {
	t     *testing.T
	url   string
	token string
}

func (c client) call(method, path string, in any) (int, map[string]any) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, body)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// callRaw is call returning the body as it came.
func (c client) callRaw(method, path string, in any) (int, http.Header, []byte) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, body)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestAPIs(t *testing.T) {
	e := newEnv(t)
	cred := e.active(1)
	cat, _ := i18n.Load()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.s.MountAPI(ws, tokens{}, chains{e})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	defer srv.Close()
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}

	if st, _ := (client{t: t, url: srv.URL}).call("POST", "/api/csc/v2/credentials/list", map[string]any{}); st != http.StatusUnauthorized {
		t.Fatalf("no token: %d", st)
	}
	if st, _ := (client{t: t, url: srv.URL, token: "acct-01 portal openid"}).call("POST", "/api/csc/v2/credentials/list", map[string]any{}); st != http.StatusForbidden {
		t.Fatalf("no signing scope: %d", st)
	}
	if resp, err := http.Get(srv.URL + "/api/signing/v1/openapi.yaml"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.yaml: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.HasPrefix(b, []byte("openapi: 3.1.0")) {
			t.Fatal("openapi.yaml is not the OpenAPI 3.1 document")
		}
	}
	if st, out := (client{t: t, url: srv.URL}).call("POST", "/api/csc/v2/info", map[string]any{}); st != http.StatusOK || out["specs"] == nil {
		t.Fatalf("info: %d %v", st, out)
	}
	st, out := app.call("POST", "/api/csc/v2/credentials/list", map[string]any{})
	if ids, _ := out["credentialIDs"].([]any); st != http.StatusOK || len(ids) != 1 || ids[0] != cred.ID {
		t.Fatalf("credentials/list: %d %v", st, out)
	}
	if st, _ := (client{t: t, url: srv.URL, token: "acct-02 portal signing"}).call("POST", "/api/csc/v2/credentials/info", map[string]any{"credentialID": cred.ID}); st != http.StatusNotFound {
		t.Fatalf("another holder's credential: %d", st)
	}
	st, out = app.call("POST", "/api/csc/v2/credentials/info", map[string]any{"credentialID": cred.ID, "certificates": "chain"})
	certs, _ := out["cert"].(map[string]any)["certificates"].([]any)
	if st != http.StatusOK || len(certs) != 3 {
		t.Fatalf("credentials/info: %d %v", st, out)
	}
	der, _ := base64.StdEncoding.DecodeString(certs[0].(string))
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := app.call("POST", "/api/csc/v2/credentials/info", map[string]any{"credentialID": cred.ID, "bogus": 1}); st != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", st)
	}

	// CSC explicit mode: the one-time code with the hashes gives a SAD.
	items := hashes(2, "csc")
	hs := []string{b64(items[0].Hash), b64(items[1].Hash)}
	auth := map[string]any{"credentialID": cred.ID, "numSignatures": 2, "hashes": hs, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "description": "Hợp đồng", "OTP": "999999"}
	if st, _ := app.call("POST", "/api/csc/v2/credentials/authorize", auth); st != http.StatusUnauthorized {
		t.Fatalf("authorize with a wrong code: %d", st)
	}
	if p, _ := e.s.Pending(e.ctx, "acct-01"); len(p) != 0 {
		t.Fatal("a failed authorize left a request waiting on the phone")
	}
	auth["OTP"] = goodCode
	st, out = app.call("POST", "/api/csc/v2/credentials/authorize", auth)
	sad, _ := out["SAD"].(string)
	if st != http.StatusOK || sad == "" {
		t.Fatalf("authorize: %d %v", st, out)
	}
	sign := map[string]any{"credentialID": cred.ID, "SAD": sad, "hashes": hs, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"}
	if st, _ := (client{t: t, url: srv.URL, token: "acct-01 another-app signing"}).call("POST", "/api/csc/v2/signatures/signHash", sign); st != http.StatusForbidden {
		t.Fatalf("another application with the SAD: %d", st)
	}
	st, out = app.call("POST", "/api/csc/v2/signatures/signHash", sign)
	sigs, _ := out["signatures"].([]any)
	if st != http.StatusOK || len(sigs) != 2 {
		t.Fatalf("signHash: %d %v", st, out)
	}
	for i, s := range sigs {
		raw, _ := base64.StdEncoding.DecodeString(s.(string))
		if !ecdsa.VerifyASN1(leaf.PublicKey.(*ecdsa.PublicKey), items[i].Hash, raw) {
			t.Fatalf("signature %d does not verify with the certificate credentials/info gave", i)
		}
	}
	if st, _ := app.call("POST", "/api/csc/v2/signatures/signHash", sign); st != http.StatusForbidden {
		t.Fatalf("replayed SAD: %d", st)
	}

	// REST: submit, the holder approves on the phone, the application polls.
	docs := []map[string]string{{"label": "Tờ khai khai sinh", "hash": b64(hashes(1, "rest")[0].Hash)}}
	st, out = app.call("POST", "/api/signing/v1/requests", map[string]any{"description": "Đăng ký khai sinh", "documents": docs})
	id, _ := out["id"].(string)
	if st != http.StatusCreated || id == "" || !strings.HasSuffix(out["approve_url"].(string), "/sign/"+id) {
		t.Fatalf("submit: %d %v", st, out)
	}
	if st, out := app.call("GET", "/api/signing/v1/requests/"+id, nil); st != http.StatusOK || out["status"] != "pending" || out["documents"] != nil {
		t.Fatalf("poll before approval: %d %v", st, out)
	}
	if st, _ := (client{t: t, url: srv.URL, token: "acct-01 another-app signing"}).call("GET", "/api/signing/v1/requests/"+id, nil); st != http.StatusNotFound {
		t.Fatalf("another application polls: %d", st)
	}
	if err := e.s.ApproveAndSign(e.ctx, "acct-01", id, goodCode); err != nil {
		t.Fatal(err)
	}
	st, out = app.call("GET", "/api/signing/v1/requests/"+id, nil)
	got, _ := out["documents"].([]any)
	if st != http.StatusOK || out["status"] != "done" || len(got) != 1 || got[0].(map[string]any)["signature"] == "" {
		t.Fatalf("poll after approval: %d %v", st, out)
	}
	if st, _ := app.call("POST", "/api/signing/v1/requests", map[string]any{"description": "x", "documents": []map[string]string{{"label": "a", "hash": "%%%"}}}); st != http.StatusBadRequest {
		t.Fatalf("bad hash: %d", st)
	}
}

// A leader approves a stack of 40 decisions once: one request of 40
// labelled hashes, one approval, one signHash of all 40 with its SAD (in
// another order), every signature verifiable and audited, the SAD then
// spent.
func TestLeaderApprovesBatch(t *testing.T) {
	e := newEnv(t)
	cred := e.active(1)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	items := hashes(40, "leader")
	docs := make([]map[string]string, len(items))
	for i, it := range items {
		docs[i] = map[string]string{"label": it.Label, "hash": b64(it.Hash)}
	}
	st, out := app.call("POST", "/api/signing/v1/requests", map[string]any{"description": "Quyết định tháng 5 của UBND", "documents": docs})
	id, _ := out["id"].(string)
	if st != http.StatusCreated {
		t.Fatalf("submit: %d %v", st, out)
	}
	holder := login(t, srv, "acct-01", "level2")
	if _, page := holder.get("/sign/" + id); !strings.Contains(page, "Quyết định số 40/QĐ-UBND") || !strings.Contains(page, "Quyết định số 1/QĐ-UBND") {
		t.Fatal("the holder does not see every decision")
	}
	sad, err := e.s.Approve(kernel.WithActor(e.ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: "acct-01"}), "acct-01", id, goodCode)
	if err != nil {
		t.Fatal(err)
	}
	order := make([]string, len(items))
	for i := range items {
		order[i] = b64(items[len(items)-1-i].Hash)
	}
	sign := map[string]any{"credentialID": cred.ID, "SAD": sad, "hashes": order, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"}
	if st, _ := app.call("POST", "/api/csc/v2/signatures/signHash", map[string]any{"credentialID": cred.ID, "SAD": sad, "hashes": order[:39]}); st != http.StatusForbidden {
		t.Fatalf("39 of 40: %d", st)
	}
	st, out = app.call("POST", "/api/csc/v2/signatures/signHash", sign)
	sigs, _ := out["signatures"].([]any)
	if st != http.StatusOK || len(sigs) != 40 {
		t.Fatalf("signHash: %d %v", st, out)
	}
	sn, _ := new(big.Int).SetString(cred.Serial, 16)
	_, cert, _ := e.ca.HolderSigner(e.ctx, sn)
	for i, s := range sigs {
		raw, _ := base64.StdEncoding.DecodeString(s.(string))
		if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), items[len(items)-1-i].Hash, raw) {
			t.Fatalf("signature %d does not verify", i)
		}
	}
	// What the application reads back later: each decision with its own
	// signature (40 items are stored two statements' worth at a time).
	_, stored, err := e.s.Results(e.ctx, "portal", id)
	if err != nil || len(stored) != 40 {
		t.Fatalf("results: %d %v", len(stored), err)
	}
	for i, it := range stored {
		if it.Label != items[i].Label || !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), items[i].Hash, it.Signature) {
			t.Fatalf("stored item %d (%s) does not verify", i, it.Label)
		}
	}
	if e.count("signing.sign") != 40 || e.count("signing.request.approve") != 1 {
		t.Fatalf("%d signatures and %d approvals audited", e.count("signing.sign"), e.count("signing.request.approve"))
	}
	if st, _ := app.call("POST", "/api/csc/v2/signatures/signHash", sign); st != http.StatusForbidden {
		t.Fatalf("the SAD signed twice: %d", st)
	}
	_, out = app.call("GET", "/api/signing/v1/requests/"+id, nil)
	if got, _ := out["documents"].([]any); out["status"] != "done" || len(got) != 40 {
		t.Fatalf("poll: %v", out)
	}
}
