package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
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
	page := f.do("GET", "/?lang=en", gz, "")
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

	js := f.do("GET", "/test/json", gz, "")
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
