package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return string(out)
}

func TestCompressPagesAndJSONNotPDFs(t *testing.T) {
	f := newFixture(t)
	pdf := bytes.Repeat([]byte("%PDF-1.7 stream of a large signed document\n"), 4000)
	f.srv.HandleFunc("GET /test/pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		for i := 0; i < len(pdf); i += 16 << 10 { // streamed in pieces, flushed
			_, _ = w.Write(pdf[i:min(i+16<<10, len(pdf))])
			_ = http.NewResponseController(w).Flush()
		}
	})
	f.srv.HandleFunc("GET /test/json", func(w http.ResponseWriter, r *http.Request) {
		f.srv.JSON(w, r, http.StatusOK, map[string]string{"text": strings.Repeat("một câu dài ", 200)})
	})
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br"}

	plain := f.do("GET", "/?lang=en", nil, "")
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatal("a client that did not ask got a compressed page")
	}
	page := f.do("GET", "/?lang=en", map[string]string{"Accept-Encoding": "gzip, deflate"}, "")
	if page.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(page.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("home page headers: %v", page.Header())
	}
	if page.Header().Get("Content-Length") != "" {
		t.Error("a compressed page kept the uncompressed Content-Length")
	}
	if got := gunzip(t, page.Body.Bytes()); got != plain.Body.String() {
		t.Error("the gzipped page differs from the plain one")
	}
	t.Logf("home page: %d bytes, %d gzipped", plain.Body.Len(), page.Body.Len())
	if page.Body.Len()*2 > plain.Body.Len() {
		t.Errorf("home page gzipped to %d of %d bytes", page.Body.Len(), plain.Body.Len())
	}

	js := f.do("GET", "/test/json", map[string]string{"Accept-Encoding": "gzip"}, "")
	if js.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(gunzip(t, js.Body.Bytes()), "một câu dài") {
		t.Fatalf("JSON answer not gzipped: %v", js.Header())
	}
	problem := f.do("GET", "/no-such-page", map[string]string{"Accept-Encoding": "gzip", "Accept": "application/problem+json"}, "")
	if problem.Code != http.StatusNotFound {
		t.Fatalf("problem: %d", problem.Code)
	}
	if problem.Header().Get("Content-Encoding") == "gzip" {
		gunzip(t, problem.Body.Bytes())
	}

	doc := f.do("GET", "/test/pdf", gz, "")
	if doc.Header().Get("Content-Encoding") != "" || !bytes.Equal(doc.Body.Bytes(), pdf) {
		t.Fatalf("a PDF was changed on the way: %v, %d bytes", doc.Header(), doc.Body.Len())
	}
	if !doc.Flushed {
		t.Error("the PDF was not streamed")
	}

	refused := f.do("GET", "/?lang=en", map[string]string{"Accept-Encoding": "gzip;q=0"}, "")
	if refused.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	head := f.do("HEAD", "/?lang=en", gz, "")
	if head.Header().Get("Content-Encoding") != "" || head.Body.Len() != 0 {
		t.Errorf("HEAD: %v, %d bytes", head.Header(), head.Body.Len())
	}
}

func TestUncompressedPathKeepsItsBytes(t *testing.T) {
	f := newFixture(t)
	body := strings.Repeat(`{"receipt":"eyJhbGciOiJFUzI1NiJ9"}`, 100)
	for _, p := range []string{"/test/api-whole", "/test/api-zipped"} {
		f.srv.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		})
	}
	f.srv.Uncompressed("/test/api-whole")
	gz := map[string]string{"Accept-Encoding": "gzip"}
	plain := f.do("GET", "/test/api-whole", gz, "")
	if plain.Header().Get("Content-Encoding") != "" || plain.Body.String() != body {
		t.Fatalf("an uncompressed path was changed: %v, %d bytes", plain.Header(), plain.Body.Len())
	}
	zipped := f.do("GET", "/test/api-zipped", gz, "")
	if zipped.Header().Get("Content-Encoding") != "gzip" || gunzip(t, zipped.Body.Bytes()) != body {
		t.Fatalf("the path beside it was not gzipped: %v", zipped.Header())
	}
}

func unbrotli(t *testing.T, b []byte) string {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("not brotli: %v", err)
	}
	return string(out)
}

// Brotli when offered, gzip otherwise, nothing when neither is acceptable;
// Accept-Encoding's q-values decide, and every answer that could have been
// compressed varies on Accept-Encoding.
func TestCompressBrotli(t *testing.T) {
	f := newFixture(t)
	plain := f.do("GET", "/?lang=en", map[string]string{"Accept-Encoding": "identity"}, "").Body.String()
	for _, tc := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", "br"},
		{"br", "br"},
		{"gzip", "gzip"},
		{"gzip, br;q=0", "gzip"},
		{"br;q=0, gzip;q=0.5", "gzip"},
		{"br;q=0.5, gzip;q=1", "gzip"},
		{"br;q=1, gzip;q=0.5", "br"},
		{"BR; Q=0.8, GZIP; q=0.8", "br"},
		{"*", "br"},
		{"*;q=0.5, br;q=0", "gzip"},
		{"br;q=0", ""},
		{"br;q=nonsense", ""},
		{"deflate", ""},
		{"", ""},
	} {
		res := f.do("GET", "/?lang=en", map[string]string{"Accept-Encoding": tc.accept}, "")
		if got := res.Header().Get("Content-Encoding"); got != tc.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
			continue
		}
		if !strings.Contains(res.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: no Vary: Accept-Encoding (%v)", tc.accept, res.Header())
		}
		var body string
		switch tc.want {
		case "br":
			body = unbrotli(t, res.Body.Bytes())
		case "gzip":
			body = gunzip(t, res.Body.Bytes())
		default:
			body = res.Body.String()
		}
		if body != plain {
			t.Errorf("Accept-Encoding %q: the page decoded differs from the plain one", tc.accept)
		}
	}
	br := f.do("GET", "/?lang=en", map[string]string{"Accept-Encoding": "br"}, "")
	gz := f.do("GET", "/?lang=en", map[string]string{"Accept-Encoding": "gzip"}, "")
	t.Logf("home page: %d bytes, %d gzipped, %d with brotli", len(plain), gz.Body.Len(), br.Body.Len())
	if br.Body.Len()*2 > len(plain) {
		t.Errorf("home page compressed with brotli to %d of %d bytes", br.Body.Len(), len(plain))
	}

	// A drawing (a map, a chart) is text: compressed too.
	svg := `<svg xmlns="http://www.w3.org/2000/svg">` + strings.Repeat(`<path d="M 10 10 L 20 20 L 30 10 Z" fill="#ccc"/>`, 300) + `</svg>`
	f.srv.HandleFunc("GET /test/map.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = io.WriteString(w, svg)
	})
	f.h = f.srv.Handler()
	for _, enc := range []string{"br", "gzip"} {
		res := f.do("GET", "/test/map.svg", map[string]string{"Accept-Encoding": enc}, "")
		got := res.Body.String()
		if res.Header().Get("Content-Encoding") != enc {
			t.Errorf("SVG with %s: Content-Encoding %q", enc, res.Header().Get("Content-Encoding"))
		} else if enc == "br" {
			got = unbrotli(t, res.Body.Bytes())
		} else {
			got = gunzip(t, res.Body.Bytes())
		}
		if got != svg {
			t.Errorf("SVG with %s: the drawing decoded differs", enc)
		}
	}

	// JSON, data for programs that ask at high rates, takes gzip when the
	// client takes it (cheaper than Brotli at the pages' level), br only
	// from a client that takes br alone.
	jsonDoc := `{"items":[` + strings.Repeat(`{"code":"BIRTH-01","name":"Đăng ký khai sinh","fee":0},`, 40) + `{}]}`
	f.srv.HandleFunc("GET /test/data.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, jsonDoc)
	})
	f.h = f.srv.Handler()
	for _, tc := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", "gzip"},
		{"br;q=1, gzip;q=0.5", "gzip"},
		{"br", "br"},
		{"gzip;q=0, br", "br"},
	} {
		res := f.do("GET", "/test/data.json", map[string]string{"Accept-Encoding": tc.accept}, "")
		var got string
		switch enc := res.Header().Get("Content-Encoding"); {
		case enc != tc.want:
			t.Errorf("JSON with Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, enc, tc.want)
			continue
		case enc == "br":
			got = unbrotli(t, res.Body.Bytes())
		default:
			got = gunzip(t, res.Body.Bytes())
		}
		if got != jsonDoc {
			t.Errorf("JSON with Accept-Encoding %q: the document decoded differs", tc.accept)
		}
	}

	// A large PDF on an uncompressed path streams as it is, br offered or not.
	pdf := bytes.Repeat([]byte("%PDF-1.7 stream of a large signed document\n"), 4000)
	f.srv.HandleFunc("GET /test/big.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		for i := 0; i < len(pdf); i += 16 << 10 {
			_, _ = w.Write(pdf[i:min(i+16<<10, len(pdf))])
			_ = http.NewResponseController(w).Flush()
		}
	})
	f.srv.Uncompressed("/test/big.pdf")
	f.h = f.srv.Handler()
	doc := f.do("GET", "/test/big.pdf", map[string]string{"Accept-Encoding": "br, gzip"}, "")
	if doc.Header().Get("Content-Encoding") != "" || !bytes.Equal(doc.Body.Bytes(), pdf) || !doc.Flushed {
		t.Fatalf("the PDF was changed or not streamed: %v, %d bytes, flushed %v", doc.Header(), doc.Body.Len(), doc.Flushed)
	}
}
