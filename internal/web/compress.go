package web

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Pages and JSON answers go out gzipped to clients that accept it: a page of
// 20 kB becomes about 5 kB, which matters on a slow mobile connection.
// Anything else keeps its bytes: PDFs and images are compressed already and
// large downloads are streamed as they are, static files carry their own
// gzip form (static.go). Brotli is not offered: Go's standard library has no
// encoder, and gzip gets most of the gain without a new dependency.

// compressMin is the smallest known body worth compressing; below it the
// gzip header and footer cost more than they save.
const compressMin = 512

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression) // the level is valid
	return zw
}}

// answerCompressible reports whether a Content-Type is one this layer gzips.
func answerCompressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "text/html" || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// compress gzips HTML and JSON answers when the request accepts gzip.
func (s *Server) compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || !acceptsGzip(r) || s.isUncompressed(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w}
		defer cw.close()
		next.ServeHTTP(cw, r)
	})
}

// compressWriter decides at the first WriteHeader (or Write) whether to
// compress, from the headers the handler has set by then.
type compressWriter struct {
	http.ResponseWriter
	decided bool
	zw      *gzip.Writer // nil: the body passes through
}

func (w *compressWriter) decide(status int) {
	if w.decided {
		return
	}
	w.decided = true
	h := w.Header()
	if !answerCompressible(h.Get("Content-Type")) {
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified || h.Get("Content-Encoding") != "" {
		return
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < compressMin {
		return
	}
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	w.zw = gzipPool.Get().(*gzip.Writer)
	w.zw.Reset(w.ResponseWriter)
}

func (w *compressWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 { // informational: the answer is still to come
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.decide(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *compressWriter) Write(b []byte) (int, error) {
	if !w.decided {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.zw != nil {
		return w.zw.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what is compressed so far, for answers that stream.
func (w *compressWriter) Flush() {
	if w.zw != nil {
		_ = w.zw.Flush()
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush() // a writer that cannot flush simply does not
}

func (w *compressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *compressWriter) close() {
	if w.zw != nil {
		_ = w.zw.Close()
		w.zw.Reset(io.Discard)
		gzipPool.Put(w.zw)
		w.zw = nil
	}
}
