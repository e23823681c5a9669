package wallet_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"civitas/internal/registry"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// publicRouter serves what the wallet publishes on the real web layer.
func (e *env) publicRouter() http.Handler {
	e.t.Helper()
	pub, _ := url.Parse(issuer)
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.w.MountPublic(ws)
	return ws.Handler()
}

// TestServeStatusLists: an issued document's status list is served to
// anyone as its signed token, cacheable for what is left of its TTL, with
// an entity tag, gzipped when the client takes it; an unknown list is 404.
func TestServeStatusLists(t *testing.T) {
	e := newEnv(t)
	h := e.publicRouter()
	p := e.person(0)
	insurance := e.agency(registry.SocialInsurance)
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card",
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	var list string
	if err := e.d.QueryRow(e.ctx, `SELECT status_list FROM wallet_documents WHERE id = ?`, doc.ID).Scan(&list); err != nil {
		t.Fatal(err)
	}
	tok, err := e.status.Token(e.ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	path := statuslist.PathPrefix + list
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	etag := rec.Header().Get("ETag")
	ttl := "public, max-age=" + rec.Header().Get("Cache-Control")[len("public, max-age="):]
	tests := []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		status  int
		headers map[string]string
		body    string
	}{
		{"ok/get", "GET", path, nil, 200, map[string]string{
			"Content-Type": "application/statuslist+jwt", "Cache-Control": ttl,
			"Access-Control-Allow-Origin": "*", "ETag": etag}, string(tok)},
		{"ok/not modified", "GET", path, map[string]string{"If-None-Match": etag}, 304, map[string]string{"ETag": etag}, ""},
		{"ok/not modified, weak", "GET", path, map[string]string{"If-None-Match": `"x", W/` + etag}, 304, nil, ""},
		{"ok/modified", "GET", path, map[string]string{"If-None-Match": `"other"`}, 200, nil, string(tok)},
		{"ok/gzip", "GET", path, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"}, 200, map[string]string{
			"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}, string(tok)},
		{"ok/gzip refused", "GET", path, map[string]string{"Accept-Encoding": "gzip;q=0"}, 200, map[string]string{
			"Content-Encoding": ""}, string(tok)},
		{"ok/head", "HEAD", path, nil, 200, map[string]string{"Content-Type": "application/statuslist+jwt"}, ""},
		{"ok/without a session or CSRF token", "GET", path, map[string]string{"Cookie": "civitas_session=garbage"}, 200, nil, string(tok)},
		{"fail/unknown list", "GET", statuslist.PathPrefix + "nosuchlist", nil, 404, nil, ""},
		{"fail/odd id", "GET", statuslist.PathPrefix + "NoSuch%20List", nil, 404, nil, ""},
		{"fail/post", "POST", path, nil, 405, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d %s", rec.Code, rec.Body)
			}
			for k, v := range tt.headers {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			body := rec.Body.Bytes()
			if rec.Header().Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body = %.60s", body)
			}
		})
	}
	// The time left is what is cacheable.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	before := rec.Header().Get("Cache-Control")
	e.clock.Advance(time.Minute)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if got := rec.Header().Get("Cache-Control"); got == before || !strings.HasPrefix(got, "public, max-age=") {
		t.Fatalf("Cache-Control %q, a minute after %q", got, before)
	}
}

// TestServeIssuerMetadata: the issuer's keys and a type's metadata at its vct.
func TestServeIssuerMetadata(t *testing.T) {
	e := newEnv(t)
	h := e.publicRouter()
	p := e.person(0)
	if _, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: e.agency(registry.SocialInsurance), Type: "health_insurance_card",
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}, Claims: healthCard(p)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	st, md := get("/.well-known/jwt-vc-issuer")
	keys, _ := md["jwks"].(map[string]any)["keys"].([]any)
	if st != 200 || md["issuer"] != issuer || len(keys) == 0 {
		t.Fatalf("issuer metadata: %d %v", st, md)
	}
	if st, tm := get("/wallet/types/health_insurance_card"); st != 200 || tm["vct"] != e.w.VCT("health_insurance_card") {
		t.Fatalf("type metadata: %d %v", st, tm)
	}
	if st, _ := get("/wallet/types/wizard_licence"); st != 404 {
		t.Fatalf("an unknown type: %d", st)
	}
}
