package web

import (
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"

	"github.com/andybalholm/brotli"
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

// BenchmarkCompressHomePage compares what the compression layer costs and
// gives on the home page (English): gzip at its level, Brotli at the level
// the layer uses, and Brotli's neighbouring levels for the choice of
// brotliLevel. "B/page" is the compressed size, "cpu-ns/op" the CPU time of
// one page (the thread's, so other processes on the cores do not count).
// go test -run '^$' -bench BenchmarkCompressHomePage -benchtime 2000x ./internal/web/
func BenchmarkCompressHomePage(b *testing.B) {
	f := benchFixture(b)
	page := f.do("GET", "/?lang=en", nil, "").Body.Bytes()
	run := func(name string, zw encoder) {
		b.Run(name, func(b *testing.B) {
			var out countWriter
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			runtime.LockOSThread() // threadCPU measures this thread
			defer runtime.UnlockOSThread()
			cpu := threadCPU()
			for b.Loop() {
				out = 0
				zw.Reset(&out)
				_, _ = zw.Write(page)
				_ = zw.Close()
			}
			b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(out), "B/page")
		})
	}
	run("gzip-6", gzipPool.Get().(*gzip.Writer))
	run(fmt.Sprintf("br-%d-served", brotliLevel), brotliPool.Get().(*brotli.Writer))
	for level := 2; level <= 6; level++ {
		if level != brotliLevel {
			run(fmt.Sprintf("br-%d", level), brotli.NewWriterLevel(io.Discard, level))
		}
	}
}

// countWriter counts the bytes written to it.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
