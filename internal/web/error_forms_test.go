package web

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"civitas/internal/kernel"
)

// TestErrorForms: every error this layer answers takes the form of the
// path it answers on — OAuth 2.0 JSON under a UseOAuthErrors prefix, RFC
// 9457 problems under /api/, pages elsewhere — whether it comes from the
// body limit, the mux (unknown path, wrong method), the CSRF checks, a
// handler's Error or a panic.
func TestErrorForms(t *testing.T) {
	f := newFixture(t)
	f.srv.UseOAuthErrors("/oauth/")
	f.srv.ExemptFromCSRF("/oauth/")
	echo := func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			f.srv.Error(w, r, err)
			return
		}
		f.srv.JSON(w, r, http.StatusOK, map[string]bool{"ok": true})
	}
	f.srv.HandleFunc("POST /oauth/test", echo)
	f.srv.HandleFunc("GET /oauth/boom", func(http.ResponseWriter, *http.Request) { panic("boom " + secret) })
	f.srv.HandleFunc("GET /oauth/internal", func(w http.ResponseWriter, r *http.Request) {
		f.srv.Error(w, r, kernel.Wrap(io.ErrUnexpectedEOF, secret))
	})
	f.srv.HandleFunc("GET /oauth/refused", func(w http.ResponseWriter, r *http.Request) {
		f.srv.Error(w, r, kernel.E(kernel.Unauthenticated, "error.unauthenticated"))
	})
	f.srv.HandleFunc("GET /api/v1/boom", func(http.ResponseWriter, *http.Request) { panic("boom " + secret) })
	f.srv.HandleFunc("POST /api/bearer/big", echo)
	f.srv.AllowUpload("/api/bearer/big", 4<<10)

	big := strings.Repeat("x", DefaultMaxBodyBytes+1)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	const (
		oauth   = "oauth"
		problem = "problem"
		page    = "page"
	)
	tests := []struct {
		name, method, url string
		headers           map[string]string
		body              string
		chunked           bool
		status            int
		form              string
		code              string // OAuth error or problem code
		allow             string
	}{
		{name: "fail/oauth oversized body", method: "POST", url: "/oauth/test", body: big, headers: form, status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/oauth oversized chunked body", method: "POST", url: "/oauth/test", body: big, chunked: true, headers: form, status: 413, form: oauth, code: "invalid_request"},
		{name: "fail/oauth wrong method", method: "GET", url: "/oauth/test", status: 405, form: oauth, code: "invalid_request", allow: "POST"},
		{name: "fail/oauth unsafe wrong method", method: "PUT", url: "/oauth/test", body: "{}", status: 405, form: oauth, code: "invalid_request", allow: "POST"},
		{name: "fail/oauth unknown path", method: "GET", url: "/oauth/nothing-here", status: 404, form: oauth, code: "invalid_request"},
		{name: "fail/oauth unknown path, html preferred", method: "GET", url: "/oauth/nothing-here",
			headers: map[string]string{"Accept": "text/html"}, status: 404, form: oauth, code: "invalid_request"},
		{name: "fail/oauth panic", method: "GET", url: "/oauth/boom", status: 500, form: oauth, code: "server_error"},
		{name: "fail/oauth internal error", method: "GET", url: "/oauth/internal", status: 500, form: oauth, code: "server_error"},
		{name: "fail/oauth unauthenticated", method: "GET", url: "/oauth/refused", status: 401, form: oauth, code: "invalid_client"},
		{name: "fail/oauth description stays ASCII in Vietnamese", method: "GET", url: "/oauth/nothing-here?lang=vi",
			headers: map[string]string{"Accept-Language": "vi"}, status: 404, form: oauth, code: "invalid_request"},

		{name: "fail/api oversized body", method: "POST", url: "/api/bearer/echo", body: big, status: 413, form: problem, code: "body_too_large"},
		{name: "fail/api oversized chunked body", method: "POST", url: "/api/bearer/echo", body: big, chunked: true, status: 413, form: problem, code: "body_too_large"},
		{name: "fail/api oversized upload", method: "POST", url: "/api/bearer/big", body: strings.Repeat("y", 5<<10), status: 413, form: problem, code: "body_too_large"},
		{name: "ok/api upload within its limit", method: "POST", url: "/api/bearer/big", body: strings.Repeat("y", 3<<10), status: 200},
		{name: "fail/api wrong method", method: "GET", url: "/api/bearer/echo", status: 405, form: problem, code: "method_not_allowed", allow: "POST"},
		{name: "fail/api unknown path", method: "GET", url: "/api/nothing/here", status: 404, form: problem, code: "not_found"},
		{name: "fail/api unknown path, html preferred", method: "GET", url: "/api/nothing/here",
			headers: map[string]string{"Accept": "text/html"}, status: 404, form: problem, code: "not_found"},
		{name: "fail/api panic", method: "GET", url: "/api/v1/boom", status: 500, form: problem, code: "internal"},
		{name: "fail/api csrf without token", method: "POST", url: "/api/v1/echo", body: "{}",
			headers: map[string]string{"Content-Type": "application/json"}, status: 403, form: problem, code: "forbidden"},
		{name: "fail/api csrf cross-site", method: "POST", url: "/api/v1/echo", body: "{}",
			headers: map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, status: 403, form: problem, code: "forbidden"},
		{name: "fail/api csrf malformed form", method: "POST", url: "/api/v1/echo", body: "csrf_token=%zz", headers: form, status: 400, form: problem, code: "invalid"},

		{name: "fail/page oversized body", method: "POST", url: "/test/echo", body: big, headers: form, status: 413, form: page},
		{name: "fail/page unknown path", method: "GET", url: "/nothing-here", status: 404, form: page},
		{name: "fail/page panic", method: "GET", url: "/test/panic", status: 500, form: page},
		{name: "fail/page csrf", method: "POST", url: "/test/echo", body: "x=1", headers: form, status: 403, form: page},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://civitas.test"+tt.url, strings.NewReader(tt.body))
			if tt.chunked {
				req.ContentLength = -1
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d\n%s", w.Code, tt.status, body)
			}
			for _, leak := range leaks {
				if strings.Contains(body, leak) {
					t.Errorf("body leaks %q", leak)
				}
			}
			if tt.allow != "" && w.Header().Get("Allow") != tt.allow {
				t.Errorf("Allow = %q, want %q", w.Header().Get("Allow"), tt.allow)
			}
			ct := w.Header().Get("Content-Type")
			var m map[string]any
			switch tt.form {
			case oauth:
				if ct != "application/json; charset=utf-8" {
					t.Fatalf("Content-Type %q\n%s", ct, body)
				}
				if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, body)
				}
				if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, []string{"error", "error_description", "request_id"}) {
					t.Errorf("members %v", keys)
				}
				desc, _ := m["error_description"].(string)
				if m["error"] != tt.code || desc == "" || m["request_id"] != w.Header().Get("X-Request-ID") {
					t.Errorf("OAuth error %v, want error %q", m, tt.code)
				}
				for _, c := range []byte(desc) {
					if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
						t.Errorf("error_description has %q, outside RFC 6749's set: %q", c, desc)
					}
				}
				if w.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
				}
			case problem:
				if ct != "application/problem+json" {
					t.Fatalf("Content-Type %q\n%s", ct, body)
				}
				if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, body)
				}
				if m["code"] != tt.code || m["status"] != float64(tt.status) || m["type"] != "http://civitas.test/problems/"+tt.code ||
					m["title"] == "" || m["detail"] == "" || m["request_id"] != w.Header().Get("X-Request-ID") {
					t.Errorf("problem %v, want code %q", m, tt.code)
				}
			case page:
				if ct != "text/html; charset=utf-8" || !strings.Contains(body, "<html") {
					t.Errorf("not a page: %q\n%s", ct, body)
				}
			}
		})
	}
}

// TestMetricsAccess: /metrics is never public. Without a token the main
// handler has no such route and the metrics listener's handler asks for
// nothing; with one, both ask for it.
func TestMetricsAccess(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef-metrics"
	open := newFixture(t)
	guarded := newFixture(t, func(o *Options) { o.MetricsToken = token })
	open.do("GET", "/", nil, "") // something to count
	guarded.do("GET", "/", nil, "")
	type check struct {
		name   string
		h      http.Handler
		method string
		path   string
		authz  string
		status int
	}
	tests := []check{
		{"fail/no token: not on the main handler", open.h, "GET", "/metrics", "", 404},
		{"fail/no token: a bearer token changes nothing", open.h, "GET", "/metrics", "Bearer " + token, 404},
		{"ok/no token: the metrics listener serves it", open.srv.MetricsHandler(), "GET", "/metrics", "", 200},
		{"ok/no token: HEAD on the metrics listener", open.srv.MetricsHandler(), "HEAD", "/metrics", "", 200},
		{"fail/metrics listener serves nothing else", open.srv.MetricsHandler(), "GET", "/", "", 404},
		{"fail/metrics listener serves no pages", open.srv.MetricsHandler(), "GET", "/healthz", "", 404},
		{"fail/metrics listener wrong method", open.srv.MetricsHandler(), "POST", "/metrics", "", 405},
		{"ok/token on the main handler", guarded.h, "GET", "/metrics", "Bearer " + token, 200},
		{"ok/token scheme is case-insensitive", guarded.h, "GET", "/metrics", "bearer " + token, 200},
		{"fail/token missing on the main handler", guarded.h, "GET", "/metrics", "", 401},
		{"fail/token wrong on the main handler", guarded.h, "GET", "/metrics", "Bearer " + token[:len(token)-1] + "X", 401},
		{"fail/token prefix only", guarded.h, "GET", "/metrics", "Bearer " + token[:10], 401},
		{"fail/token as Basic", guarded.h, "GET", "/metrics", "Basic " + token, 401},
		{"ok/token on the metrics listener", guarded.srv.MetricsHandler(), "GET", "/metrics", "Bearer " + token, 200},
		{"fail/token missing on the metrics listener", guarded.srv.MetricsHandler(), "GET", "/metrics", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://civitas.test"+tt.path, nil)
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d\n%s", w.Code, tt.status, w.Body)
			}
			has := strings.Contains(w.Body.String(), "go_goroutines") || strings.Contains(w.Body.String(), "civitas_http_request")
			if tt.method == "GET" && has != (tt.status == 200) {
				t.Errorf("metrics in the body: %v with status %d", has, tt.status)
			}
			if tt.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %v", w.Header())
			}
		})
	}
}
