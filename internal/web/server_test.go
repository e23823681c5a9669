package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

// fixture is a real server on a fresh test database, with a few extra
// routes that exercise the middleware.
type fixture struct {
	srv      *Server
	h        http.Handler
	db       *db.DB
	clock    *kernel.ManualClock
	reg      *prometheus.Registry
	logs     *syncBuffer
	readyErr error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const secret = "s3cret-detail-/var/lib/civitas" // must never reach a response

var testPages = fstest.MapFS{
	"form.html":      {Data: []byte(`{{define "title"}}Form{{end}}{{define "content"}}<form method="post" action="/test/echo">{{.CSRFField}}<button>{{.T "error.back_home"}}</button></form>{{end}}`)},
	"plain.html":     {Data: []byte(`{{define "content"}}<p>{{.Data}}</p>{{end}}`)},
	"_part.html":     {Data: []byte(`{{define "part"}}<em>{{$.T "app.name"}}</em>{{end}}`)},
	"uses_part.html": {Data: []byte(`{{define "content"}}{{range .Data}}{{template "part" $}}{{.}}{{end}}{{end}}`)},
}

func newFixture(t testing.TB, edit ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{
		db:    dbtest.Open(t),
		clock: kernel.NewManualClock(time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)),
		reg:   prometheus.NewRegistry(),
		logs:  &syncBuffer{},
	}
	o := Options{
		DB:        f.db,
		Logger:    slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:     f.clock,
		PublicURL: &url.URL{Scheme: "http", Host: "civitas.test"},
		Metrics:   f.reg,
		Ready:     func(context.Context) error { return f.readyErr },
		Version:   "1.2.3-test",
	}
	for _, e := range edit {
		e(&o)
	}
	srv, err := NewServer(o)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	pages, err := srv.Pages(testPages, "*.html")
	if err != nil {
		t.Fatalf("Pages: %v", err)
	}
	// Two services mounted, as capabilities add them: the home page's cards
	// follow (TestHomeLinksOnlyToWhatExists).
	srv.AddNav(NavItem{Key: "nav.signing", Path: "/account/signing", Order: 30})
	srv.AddNav(NavItem{Key: "nav.portal", Path: "/portal", Order: 10})
	srv.HandleFunc("GET /test/panic", func(http.ResponseWriter, *http.Request) { panic("boom " + secret) })
	srv.HandleFunc("GET /test/internal", func(w http.ResponseWriter, r *http.Request) {
		srv.Error(w, r, kernel.Wrap(errors.New(secret), "test: load"))
	})
	srv.HandleFunc("GET /test/conflict", func(w http.ResponseWriter, r *http.Request) {
		srv.Error(w, r, kernel.E(kernel.Conflict, "error.conflict"))
	})
	srv.HandleFunc("GET /test/form", func(w http.ResponseWriter, r *http.Request) { pages.Render(w, r, http.StatusOK, "form", nil) })
	srv.HandleFunc("GET /test/plain", func(w http.ResponseWriter, r *http.Request) {
		pages.Render(w, r, http.StatusOK, "plain", r.URL.Query().Get("v"))
	})
	srv.HandleFunc("GET /test/part", func(w http.ResponseWriter, r *http.Request) {
		pages.Render(w, r, http.StatusOK, "uses_part", []string{"a", "b"})
	})
	srv.HandleFunc("GET /test/nopage", func(w http.ResponseWriter, r *http.Request) { pages.Render(w, r, http.StatusOK, "nope", nil) })
	echo := func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			srv.Error(w, r, err)
			return
		}
		srv.JSON(w, r, http.StatusOK, map[string]any{"posted": true, "len": len(b), "form": r.PostForm.Get("x")})
	}
	srv.HandleFunc("POST /test/echo", echo)
	srv.HandleFunc("POST /api/v1/echo", echo)
	srv.HandleFunc("POST /api/bearer/echo", echo)
	srv.ExemptFromCSRF("/api/bearer/")
	srv.HandleFunc("GET /api/v1/thing/{id}", func(w http.ResponseWriter, r *http.Request) {
		srv.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
	})
	srv.HandleFunc("GET /test/actor", func(w http.ResponseWriter, r *http.Request) {
		a := kernel.ActorFrom(r.Context())
		srv.JSON(w, r, http.StatusOK, map[string]string{"kind": string(a.Kind), "id": a.ID})
	})
	srv.HandleFunc("GET /test/session", func(w http.ResponseWriter, r *http.Request) {
		sess, err := srv.Session(r)
		if err != nil {
			srv.Error(w, r, err)
			return
		}
		srv.JSON(w, r, http.StatusOK, map[string]string{"account": sess.AccountID})
	})
	srv.HandleFunc("POST /test/login", func(w http.ResponseWriter, r *http.Request) {
		before := kernel.ActorFrom(r.Context())
		if _, err := srv.RenewSession(w, r, r.PostForm.Get("account")); err != nil {
			srv.Error(w, r, err)
			return
		}
		after := kernel.ActorFrom(r.Context())
		srv.JSON(w, r, http.StatusOK, map[string]any{"ok": true, "before": before.Kind, "after": after.ID})
	})
	srv.HandleFunc("POST /test/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := srv.SignOut(w, r); err != nil {
			srv.Error(w, r, err)
			return
		}
		srv.JSON(w, r, http.StatusOK, map[string]bool{"ok": true})
	})
	f.srv, f.h = srv, srv.Handler()
	return f
}

func (f *fixture) do(method, target string, headers map[string]string, body string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://civitas.test"+target, r)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// session starts a session the way a browser does — by opening a page with
// a form — and returns its cookie and CSRF token.
func (f *fixture) session(t *testing.T) (cookie, token string) {
	t.Helper()
	w := f.do("GET", "/test/form", nil, "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /test/form = %d", w.Code)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	m := regexp.MustCompile(`name="csrf_token" value="([a-z2-7]+)"`).FindStringSubmatch(w.Body.String())
	if cookie == "" || m == nil {
		t.Fatalf("no session cookie or token in form page: %v\n%s", w.Header(), w.Body)
	}
	return cookie, m[1]
}

type scenario struct {
	name        string
	method, url string
	headers     map[string]string
	body        string
	status      int
	contains    []string
	notContains []string
	header      map[string]string // expected header values; "" means absent
}

func (sc scenario) run(t *testing.T, f *fixture) *httptest.ResponseRecorder {
	t.Helper()
	method := sc.method
	if method == "" {
		method = "GET"
	}
	w := f.do(method, sc.url, sc.headers, sc.body)
	body := w.Body.String()
	if w.Code != sc.status {
		t.Errorf("%s %s: status %d, want %d\n%s", method, sc.url, w.Code, sc.status, body)
	}
	for _, s := range sc.contains {
		if !strings.Contains(body, s) {
			t.Errorf("%s %s: body lacks %q\n%s", method, sc.url, s, body)
		}
	}
	for _, s := range sc.notContains {
		if strings.Contains(body, s) {
			t.Errorf("%s %s: body contains %q", method, sc.url, s)
		}
	}
	for k, v := range sc.header {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s %s: header %s = %q, want %q", method, sc.url, k, got, v)
		}
	}
	if rid := w.Header().Get("X-Request-ID"); rid == "" {
		t.Errorf("%s %s: no X-Request-ID", method, sc.url)
	}
	return w
}

var leaks = []string{secret, "goroutine", ".go:", "panic"}

func TestHomeLinksOnlyToWhatExists(t *testing.T) {
	f := newFixture(t)
	res := f.do("GET", "/?lang=en", nil, "")
	body := res.Body.String()
	for _, want := range []string{`href="/register" id="start"`, `href="/account/signing"`, `href="/portal"`, `href="/login"`,
		`id="help-line"`, `href="tel:1022"`} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %s", want)
		}
	}
	// Wallet, feedback and learning are not mounted here: no card, no link.
	for _, absent := range []string{`href="/wallet"`, `href="/feedback"`, `href="/learning"`, `id="wallet"`} {
		if strings.Contains(body, absent) {
			t.Errorf("home page offers %s, which is not mounted", absent)
		}
	}
	// The help is in the footer of every page, not only the home page.
	if res := f.do("GET", "/no-such-page", nil, ""); !strings.Contains(res.Body.String(), `id="help-line"`) {
		t.Error("the error page lacks the help line")
	}
}

func TestScenarios(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("x", DefaultMaxBodyBytes+1)
	tests := []scenario{
		{name: "ok/home vi by default", url: "/", status: 200,
			contains: []string{`<html lang="vi" dir="ltr">`, "Dịch vụ công ngay trên điện thoại của bạn", "Chữ ký số cá nhân miễn phí",
				"đăng ký khai sinh", `href="#main"`, `id="main"`, "1.2.3-test", `hreflang="ar"`, `aria-current="true">Tiếng Việt`},
			header: map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Language": "vi", "Cache-Control": "no-store", "Set-Cookie": ""}},
		{name: "ok/home en by query", url: "/?lang=en", status: 200,
			contains: []string{`<html lang="en" dir="ltr">`, "Public services on your phone", `aria-current="true">English`},
			header:   map[string]string{"Set-Cookie": "lang=en; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"}},
		{name: "ok/home ar is right to left", url: "/?lang=ar", status: 200,
			contains: []string{`<html lang="ar" dir="rtl">`, "الخدمات العامة على هاتفك", `aria-current="true">العربية`}},
		{name: "ok/accept-language", url: "/", headers: map[string]string{"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"}, status: 200,
			contains: []string{`<html lang="en" dir="ltr">`}, header: map[string]string{"Set-Cookie": ""}},
		{name: "ok/accept-language q-values", url: "/", headers: map[string]string{"Accept-Language": "fr, en;q=0.3, ar;q=0.8"}, status: 200,
			contains: []string{`<html lang="ar" dir="rtl">`}},
		{name: "ok/cookie beats accept-language", url: "/", headers: map[string]string{"Cookie": "lang=ar", "Accept-Language": "en"}, status: 200,
			contains: []string{`<html lang="ar" dir="rtl">`}},
		{name: "ok/query beats cookie", url: "/?lang=en", headers: map[string]string{"Cookie": "lang=ar"}, status: 200,
			contains: []string{`<html lang="en"`}},
		{name: "ok/switcher keeps other parameters", url: "/test/plain?v=hello&lang=en", status: 200,
			contains: []string{"<p>hello</p>", `href="?lang=ar&amp;v=hello"`}},
		{name: "ok/template data is escaped", url: "/test/plain?v=%3Cscript%3Ealert(1)%3C/script%3E", status: 200,
			contains: []string{"&lt;script&gt;"}, notContains: []string{"<script>"}},
		{name: "ok/partials and $.T", url: "/test/part", status: 200, contains: []string{"<em>civitas</em>a<em>civitas</em>b"}},
		{name: "fail/unsupported lang query ignored", url: "/?lang=fr", status: 200,
			contains: []string{`<html lang="vi"`}, header: map[string]string{"Set-Cookie": ""}},
		{name: "ok/healthz", url: "/healthz", status: 200, contains: []string{"ok"}},
		{name: "ok/readyz", url: "/readyz", status: 200, contains: []string{"ready"}},
		{name: "ok/problem type page", url: "/problems/not_found?lang=en", status: 200, contains: []string{"Page not found", "HTTP status: 404"}},
		{name: "ok/problem type page with limit", url: "/problems/body_too_large?lang=en", status: 200, contains: []string{"The limit is 1 MB."}},
		{name: "fail/unknown problem type", url: "/problems/nope", status: 404},

		{name: "fail/unknown route is a translated page", url: "/no-such-page?lang=en", status: 404,
			contains: []string{`<html lang="en"`, "Page not found", "We could not find the page", "Request ID:", "Go to the home page"},
			header:   map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "fail/unknown route in vi", url: "/no-such-page", status: 404, contains: []string{"Không tìm thấy trang", "Mã yêu cầu:"}},
		{name: "fail/unknown route in ar", url: "/no-such-page?lang=ar", status: 404, contains: []string{`dir="rtl"`, "الصفحة غير موجودة"}},
		{name: "fail/incoming request ID echoed", url: "/no-such-page", headers: map[string]string{"X-Request-ID": "abc-DEF-123"}, status: 404,
			contains: []string{"abc-DEF-123"}, header: map[string]string{"X-Request-ID": "abc-DEF-123"}},
		{name: "fail/bad incoming request ID replaced", url: "/no-such-page", headers: map[string]string{"X-Request-ID": "<x>"}, status: 404,
			notContains: []string{"&lt;x&gt;"}},
		{name: "fail/unsafe method on a GET route is checked for CSRF first", method: "DELETE", url: "/healthz", headers: map[string]string{"Sec-Fetch-Site": "same-origin"}, status: 403},
		{name: "fail/method not allowed on safe method", method: "OPTIONS", url: "/healthz?lang=en", status: 405,
			contains: []string{"Request not accepted", "This page does not accept"}, header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "fail/api 404 is problem json", url: "/api/v1/nothing-here?lang=en", status: 404,
			contains: []string{`"type":"http://civitas.test/problems/not_found"`, `"title":"Page not found"`, `"status":404`,
				`"instance":"/api/v1/nothing-here"`, `"code":"not_found"`, `"request_id":"`},
			header: map[string]string{"Content-Type": "application/problem+json"}},
		{name: "fail/api handler 404 is problem json", url: "/api/v1/thing/42", status: 404,
			contains: []string{`"code":"not_found"`, `"detail":"Không tìm thấy trang hoặc nội dung bạn cần."`}},
		{name: "fail/accept json gets problem json", url: "/no-such-page", headers: map[string]string{"Accept": "application/json"}, status: 404,
			contains: []string{`"status":404`}, header: map[string]string{"Content-Type": "application/problem+json"}},
		{name: "fail/browser accept gets html", url: "/no-such-page",
			headers: map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, status: 404,
			header: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "fail/panic is a 500 page without the panic", url: "/test/panic?lang=en", status: 500,
			contains: []string{"Something went wrong", "Request ID:"}, notContains: leaks},
		{name: "fail/internal error shows the generic message", url: "/test/internal", status: 500,
			contains: []string{"Đã có lỗi ở phía chúng tôi"}, notContains: leaks},
		{name: "fail/coded error keeps its status", url: "/test/conflict?lang=en", status: 409, contains: []string{"This has just changed"}},
		{name: "fail/missing page is internal", url: "/test/nopage", status: 500, notContains: []string{"nope"}},
		{name: "fail/post without token", method: "POST", url: "/test/echo?lang=en", body: "x=1",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 403,
			contains: []string{"This form has expired", "Request ID:"}},
		{name: "fail/post cross-site", method: "POST", url: "/test/echo", body: "x=1",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "fail/post from another origin (old browser)", method: "POST", url: "/test/echo", body: "x=1",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, status: 403},
		{name: "fail/api post without token is problem json", method: "POST", url: "/api/v1/echo", body: "{}",
			headers: map[string]string{"Content-Type": "application/json"}, status: 403,
			contains: []string{`"code":"forbidden"`}, header: map[string]string{"Content-Type": "application/problem+json"}},
		{name: "ok/exempt bearer api needs no token", method: "POST", url: "/api/bearer/echo", body: "{}",
			headers: map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, status: 200, contains: []string{`"posted":true`}},
		{name: "fail/oversized body with length", method: "POST", url: "/test/echo?lang=en", body: big,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 413,
			contains: []string{"What you sent is too large. The limit is 1 MB."}},
		{name: "fail/oversized body on exempt api", method: "POST", url: "/api/bearer/echo", body: big, status: 413,
			contains: []string{`"code":"body_too_large"`, `"status":413`}},
		{name: "fail/metrics are not public without a token", url: "/metrics", status: 404,
			notContains: []string{"civitas_http_request_duration_seconds_bucket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, f) })
	}

	// The logs name routes, not paths or query strings, and the panic and
	// internal error were logged in full with their request IDs.
	logs := f.logs.String()
	for _, never := range []string{"no-such-page", "v=hello", "lang=en", "<script>", "nothing-here"} {
		if strings.Contains(logs, never) {
			t.Errorf("logs contain %q", never)
		}
	}
	for _, want := range []string{`"route":"GET /{$}"`, `"route":"unmatched"`, `"msg":"web: panic"`, "boom " + secret, `"msg":"web: request failed"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
}

func TestRequestIDInPanicLog(t *testing.T) {
	f := newFixture(t)
	w := f.do("GET", "/test/panic", map[string]string{"X-Request-ID": "trace-42"}, "")
	if w.Code != 500 || !strings.Contains(w.Body.String(), "trace-42") {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
	found := false
	for line := range strings.SplitSeq(f.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"web: panic"`) && strings.Contains(line, `"request_id":"trace-42"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("panic not logged with its request ID:\n%s", f.logs)
	}
}

func TestOversizedChunkedBody(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxBodyBytes = 64 })
	cookie, token := f.session(t)
	req := httptest.NewRequest("POST", "http://civitas.test/test/echo", io.MultiReader(strings.NewReader("csrf_token="+token+"&x="), strings.NewReader(strings.Repeat("y", 200))))
	req.ContentLength = -1 // as a chunked upload: no declared length
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Accept-Language", "en")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "The limit is 64 B.") {
		t.Fatalf("status %d\n%s", w.Code, w.Body)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	cookie, token := f.session(t)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range form {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	wrong := kernel.NewToken()
	tests := []scenario{
		{name: "ok/form token", method: "POST", url: "/test/echo", body: "csrf_token=" + token + "&x=hi", headers: form, status: 200,
			contains: []string{`"form":"hi"`}},
		{name: "ok/form token same-origin fetch metadata", method: "POST", url: "/test/echo", body: "csrf_token=" + token,
			headers: with(map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://civitas.test"}), status: 200},
		{name: "ok/header token for our own script", method: "POST", url: "/api/v1/echo", body: `{"a":1}`,
			headers: map[string]string{"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": token}, status: 200},
		{name: "ok/multipart form", method: "POST", url: "/test/echo",
			body:    "--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + token + "\r\n--B--\r\n",
			headers: map[string]string{"Content-Type": "multipart/form-data; boundary=B", "Cookie": cookie}, status: 200},
		{name: "fail/no token", method: "POST", url: "/test/echo", body: "x=1", headers: form, status: 403},
		{name: "fail/wrong token", method: "POST", url: "/test/echo", body: "csrf_token=" + wrong, headers: form, status: 403},
		{name: "fail/token in the query string does not count", method: "POST", url: "/test/echo?csrf_token=" + token, body: "x=1", headers: form, status: 403},
		{name: "fail/token without its session", method: "POST", url: "/test/echo", body: "csrf_token=" + token,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 403},
		{name: "fail/token with another session", method: "POST", url: "/test/echo", body: "csrf_token=" + token,
			headers: with(map[string]string{"Cookie": sessionCookie + "=" + kernel.NewToken()}), status: 403},
		{name: "fail/valid token cross-site", method: "POST", url: "/test/echo", body: "csrf_token=" + token,
			headers: with(map[string]string{"Sec-Fetch-Site": "cross-site"}), status: 403},
		{name: "fail/valid token same-site (a sibling subdomain)", method: "POST", url: "/test/echo", body: "csrf_token=" + token,
			headers: with(map[string]string{"Sec-Fetch-Site": "same-site"}), status: 403},
		{name: "fail/valid token foreign origin", method: "POST", url: "/test/echo", body: "csrf_token=" + token,
			headers: with(map[string]string{"Origin": "http://evil.test"}), status: 403},
		{name: "fail/json body token is not read", method: "POST", url: "/api/v1/echo", body: `{"csrf_token":"` + token + `"}`,
			headers: map[string]string{"Content-Type": "application/json", "Cookie": cookie}, status: 403},
		{name: "fail/malformed form", method: "POST", url: "/test/echo", body: "csrf_token=%zz",
			headers: form, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, f) })
	}
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name      string
		public    string
		tls       bool
		wantHSTS  bool
		wantCName string
	}{
		{"ok/http public URL: no HSTS", "http://civitas.test", false, false, sessionCookie},
		{"ok/https public URL: HSTS", "https://civitas.test", false, true, secureSessionCookie},
		{"ok/direct TLS: HSTS", "http://civitas.test", true, true, sessionCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.public)
			f := newFixture(t, func(o *Options) { o.PublicURL = u })
			for _, target := range []string{"/", "/no-such-page", "/healthz", "/test/panic"} {
				scheme := "http"
				if tt.tls {
					scheme = "https" // httptest sets r.TLS for https targets
				}
				req := httptest.NewRequest("GET", scheme+"://civitas.test"+target, nil)
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, req)
				h := w.Header()
				want := map[string]string{
					"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
					"X-Content-Type-Options":  "nosniff",
					"Referrer-Policy":         "same-origin",
					"X-Frame-Options":         "DENY",
				}
				for k, v := range want {
					if h.Get(k) != v {
						t.Errorf("%s: %s = %q, want %q", target, k, h.Get(k), v)
					}
				}
				if !strings.Contains(h.Get("Permissions-Policy"), "camera=()") {
					t.Errorf("%s: Permissions-Policy = %q", target, h.Get("Permissions-Policy"))
				}
				if got := h.Get("Strict-Transport-Security") != ""; got != tt.wantHSTS {
					t.Errorf("%s: HSTS present = %v, want %v", target, got, tt.wantHSTS)
				}
			}
			// The session cookie's flags.
			w := f.do("GET", "/test/form", nil, "")
			var c *http.Cookie
			for _, ck := range w.Result().Cookies() {
				if ck.Name == tt.wantCName {
					c = ck
				}
			}
			if c == nil {
				t.Fatalf("no %s cookie in %v", tt.wantCName, w.Header().Values("Set-Cookie"))
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != (tt.public[:5] == "https") || !validToken(c.Value) {
				t.Errorf("cookie flags: %+v", c)
			}
		})
	}
}

func TestStatic(t *testing.T) {
	f := newFixture(t)
	cssURL, err := f.srv.assets.url("app.css")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^/static/app\.[0-9a-f]{16}\.css$`).MatchString(cssURL) {
		t.Fatalf("css url %q", cssURL)
	}
	home := f.do("GET", "/", nil, "").Body.String()
	if !strings.Contains(home, `href="`+cssURL+`"`) {
		t.Errorf("home page does not link %s", cssURL)
	}
	tests := []scenario{
		{name: "ok/hashed css", url: cssURL, status: 200, contains: []string{"--brand"},
			header: map[string]string{"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "text/css; charset=utf-8", "Content-Encoding": ""}},
		{name: "ok/gzip when accepted", url: cssURL, headers: map[string]string{"Accept-Encoding": "gzip, br"}, status: 200,
			header: map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}},
		{name: "ok/not gzip when refused", url: cssURL, headers: map[string]string{"Accept-Encoding": "gzip;q=0"}, status: 200,
			header: map[string]string{"Content-Encoding": ""}},
		{name: "ok/revalidation", url: cssURL, headers: map[string]string{"If-None-Match": f.srv.assets.byName["app.css"].etag}, status: 304},
		{name: "fail/wrong hash", url: "/static/app.0000000000000000.css", status: 404, header: map[string]string{"Cache-Control": "no-store"}},
		{name: "fail/unhashed name", url: "/static/app.css", status: 404},
		{name: "fail/traversal", url: "/static/..%2fserver.go", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, f) })
	}
}

func TestReadyz(t *testing.T) {
	f := newFixture(t)
	f.readyErr = errors.New("db: ping: dial tcp 10.0.0.7:5432: " + secret)
	w := (scenario{url: "/readyz", status: 503, notContains: []string{secret, "10.0.0.7", "dial"}}).run(t, f)
	if strings.TrimSpace(w.Body.String()) != "not ready" {
		t.Errorf("body %q", w.Body)
	}
	if !strings.Contains(f.logs.String(), "10.0.0.7") {
		t.Error("the reason was not logged")
	}
	f.readyErr = nil
	(scenario{url: "/readyz", status: 200}).run(t, f)
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.do("GET", "/", nil, "")
	f.do("GET", "/", nil, "")
	f.do("GET", "/no-such-page/"+kernel.NewID(), nil, "")
	f.do("GET", "/test/panic", nil, "")
	f.do("BREW", "/", nil, "")
	w := httptest.NewRecorder()
	f.srv.MetricsHandler().ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:9100/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{
		`civitas_http_requests_total{code="200",method="GET",route="GET /{$}"} 2`,
		`civitas_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`civitas_http_requests_total{code="500",method="GET",route="GET /test/panic"} 1`,
		`civitas_http_requests_total{code="403",method="OTHER",route="unmatched"} 1`,
		`civitas_http_request_duration_seconds_count{method="GET",route="GET /{$}"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "no-such-page") {
		t.Error("an unmatched path became a label")
	}
	// One registry cannot take a second server's metrics: fail at start-up.
	_, err := NewServer(Options{DB: f.db, Metrics: f.reg})
	if err == nil || !strings.HasPrefix(err.Error(), "web: ") {
		t.Errorf("second server on one registry: %v", err)
	}
}

func TestJSON(t *testing.T) {
	f := newFixture(t)
	f.srv.HandleFunc("GET /test/json", func(w http.ResponseWriter, r *http.Request) {
		f.srv.JSON(w, r, http.StatusCreated, map[string]string{"a": "<b>"})
	})
	f.srv.HandleFunc("GET /test/badjson", func(w http.ResponseWriter, r *http.Request) {
		f.srv.JSON(w, r, http.StatusOK, map[string]any{"f": func() {}})
	})
	w := (scenario{url: "/test/json", status: 201, contains: []string{`{"a":"\u003cb\u003e"}`},
		header: map[string]string{"Content-Type": "application/json; charset=utf-8"}}).run(t, f)
	var m map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m["a"] != "<b>" {
		t.Errorf("decode: %v %v", m, err)
	}
	(scenario{url: "/test/badjson", headers: map[string]string{"Accept": "application/json"}, status: 500,
		contains: []string{`"code":"internal"`}, notContains: []string{"func()"}}).run(t, f)
}

func TestProblemDocument(t *testing.T) {
	f := newFixture(t)
	w := f.do("GET", "/api/v1/missing", map[string]string{"Accept-Language": "ar", "X-Request-ID": "rid-1"}, "")
	var p map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type": "http://civitas.test/problems/not_found", "title": "الصفحة غير موجودة", "status": float64(404),
		"detail": "لم نعثر على الصفحة أو المحتوى الذي طلبته.", "instance": "/api/v1/missing", "code": "not_found", "request_id": "rid-1",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	if len(p) != len(want) {
		t.Errorf("unexpected members: %v", p)
	}
}

func TestStatusMapping(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		err    error
		status int
		key    string
	}{
		{"ok/invalid", kernel.E(kernel.Invalid, "error.invalid"), 400, "error.invalid"},
		{"ok/unauthenticated", kernel.E(kernel.Unauthenticated, "error.unauthenticated"), 401, "error.unauthenticated"},
		{"ok/forbidden", kernel.E(kernel.Forbidden, "error.forbidden"), 403, "error.forbidden"},
		{"ok/not found wrapped", errors.Join(errors.New("ctx"), kernel.E(kernel.NotFound, "error.not_found")), 404, "error.not_found"},
		{"ok/conflict", kernel.E(kernel.Conflict, "error.conflict"), 409, "error.conflict"},
		{"ok/too many", kernel.E(kernel.TooManyRequests, "error.too_many_requests"), 429, "error.too_many_requests"},
		{"ok/unavailable", kernel.E(kernel.Unavailable, "error.unavailable"), 503, "error.unavailable"},
		{"ok/internal", kernel.Wrap(errors.New("x"), "y"), 500, "error.internal"},
		{"ok/plain error is internal", errors.New("x"), 500, "error.internal"},
		{"ok/body too large", &http.MaxBytesError{Limit: 2048}, 413, "error.body_too_large"},
		{"ok/method not allowed", errMethodNotAllowed(), 405, "error.method_not_allowed"},
		{"fail/untranslated key falls back", kernel.E(kernel.Forbidden, "error.no.such.key"), 403, "error.forbidden"},
		{"fail/unknown code is internal", &kernel.Error{Code: "teapot", Key: "error.invalid"}, 500, "error.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.srv.classify(tt.err)
			if got.status != tt.status || got.key != tt.key {
				t.Errorf("classify = %d %s, want %d %s", got.status, got.key, tt.status, tt.key)
			}
		})
	}
}

func TestNewServerOptions(t *testing.T) {
	if _, err := NewServer(Options{}); err == nil {
		t.Error("no DB accepted")
	}
	d := dbtest.Open(t)
	s, err := NewServer(Options{DB: d}) // everything else defaults
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 200 {
		t.Errorf("default Ready (DB ping) = %d", w.Code)
	}
	defer func() {
		if recover() == nil {
			t.Error("a bad CSRF exemption was accepted")
		}
	}()
	s.ExemptFromCSRF("/api") // no trailing slash: would also exempt /apiary
}

func TestTranslationsOfErrorPages(t *testing.T) {
	// Every problem code has a title and a message in every language.
	f := newFixture(t)
	cat := f.srv.catalog
	for _, code := range []string{"invalid", "unauthenticated", "forbidden", "not_found", "conflict",
		"too_many_requests", "unavailable", "internal", codeBodyTooLarge, codeMethodNotAllowed} {
		for _, key := range []string{"error." + code, "error.title." + code} {
			if !cat.Has(key) {
				t.Errorf("catalogue lacks %s", key)
			}
		}
		if _, ok := problemStatus(code); !ok {
			t.Errorf("no status for %s", code)
		}
	}
	for _, l := range cat.Langs() {
		if l.Code == i18n.Default {
			continue
		}
		if cat.T(l.Code, "error.title.not_found") == cat.T(i18n.Default, "error.title.not_found") {
			t.Errorf("%s error title is not translated", l.Code)
		}
	}
}

// A route registered with HandleUncleaned gets the path as sent, "//" and
// all, where the mux would redirect to the cleaned path; other routes keep
// the mux's cleaning.
func TestHandleUncleaned(t *testing.T) {
	f := newFixture(t)
	f.srv.ExemptFromCSRF("/raw/")
	f.srv.HandleUncleaned("/raw/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
	}))
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/raw/MEow//AB+c/=", "GET /raw/MEow//AB+c/="},
		{"GET", "/raw/./x/../y", "GET /raw/./x/../y"},
		{"POST", "/raw/", "POST /raw/"},
	} {
		rec := f.do(tt.method, tt.path, nil, "")
		if rec.Code != http.StatusOK || rec.Body.String() != tt.want {
			t.Errorf("%s %s: %d %q, want %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.want)
		}
	}
	if rec := f.do("GET", "/test//plain", nil, ""); rec.Code/100 != 3 {
		t.Errorf("other routes are no longer cleaned: %d", rec.Code)
	}
	for _, bad := range []string{"raw/", "/raw", "/"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("HandleUncleaned(%q) did not panic", bad)
				}
			}()
			f.srv.HandleUncleaned(bad, http.NotFoundHandler())
		}()
	}
}

// An upload path takes bodies up to its own limit; every other path keeps
// MaxBodyBytes.
func TestAllowUpload(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxBodyBytes = 64 })
	f.srv.AllowUpload("/api/bearer/echo", 1000)
	post := func(path string, n int) int {
		req := httptest.NewRequest("POST", "http://civitas.test"+path, strings.NewReader(strings.Repeat("y", n)))
		req.Header.Set("Content-Type", "application/octet-stream")
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		return w.Code
	}
	if st := post("/api/bearer/echo", 900); st != http.StatusOK {
		t.Errorf("900 B to the upload path: %d", st)
	}
	if st := post("/api/bearer/echo", 1001); st != http.StatusRequestEntityTooLarge {
		t.Errorf("1001 B to the upload path: %d", st)
	}
	if st := post("/api/bearer/echo/", 100); st == http.StatusOK {
		t.Errorf("another path took more than MaxBodyBytes: %d", st)
	}
}
