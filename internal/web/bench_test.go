package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// The benchmarks run requests in-process through the whole Handler(): every
// middleware, the mux, the templates. Run with -benchmem.

// benchFixture logs as production does: JSON at Info, to nowhere.
func benchFixture(b *testing.B) *fixture {
	return newFixture(b, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) })
}

func benchRequest(b *testing.B, f *fixture, method, target string, headers map[string]string, body string, want int) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var rd *strings.Reader
			req := httptest.NewRequest(method, "http://civitas.test"+target, nil)
			if body != "" {
				rd = strings.NewReader(body)
				req = httptest.NewRequest(method, "http://civitas.test"+target, rd)
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code != want {
				b.Fatalf("%s %s: %d", method, target, w.Code)
			}
		}
	})
}

func BenchmarkHealthz(b *testing.B) {
	f := benchFixture(b)
	b.Logf("db: %s", dbtest.Name())
	benchRequest(b, f, "GET", "/healthz", nil, "", http.StatusOK)
}

func BenchmarkHomePage(b *testing.B) {
	f := benchFixture(b)
	benchRequest(b, f, "GET", "/", map[string]string{"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.8"}, "", http.StatusOK)
}

func BenchmarkNotFound(b *testing.B) {
	f := benchFixture(b)
	benchRequest(b, f, "GET", "/no-such-page", nil, "", http.StatusNotFound)
}

// BenchmarkFormPost is a form submission with a session: one session read
// from the database and both CSRF checks.
func BenchmarkFormPost(b *testing.B) {
	f := benchFixture(b)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest("GET", "http://civitas.test/test/form", nil))
	var cookie string
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	body := w.Body.String()
	i := strings.Index(body, `value="`) + len(`value="`)
	token := body[i : i+tokenLen]
	benchRequest(b, f, "POST", "/test/echo", map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "Sec-Fetch-Site": "same-origin",
	}, "csrf_token="+token+"&x=1", http.StatusOK)
}
