package web

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// Pages, JSON answers and SVG drawings go out compressed to clients that accept it: a page
// of 20 kB becomes about 5 kB, which matters on a slow mobile connection.
// Pages and drawings go out with Brotli (br) when the client offers it, gzip
// otherwise; JSON goes out with gzip when the client takes gzip (br only for
// a client that takes br alone). Accept-Encoding's q-values are honoured
// (q=0 refuses an encoding; the higher q wins, br on a tie). Anything else
// keeps its bytes: PDFs and images are compressed already and large
// downloads are streamed as they are, static files carry their own gzip
// form (static.go).

// brotliLevel is Brotli's quality for pages. This pure-Go encoder pays a
// fixed cost per answer that dominates on pages of a few kB: levels 2 and 3
// cost about what gzip's default (6) does but give 5 to 10 % MORE bytes, so
// they would be no reason to offer br at all; level 4 matches gzip's bytes at
// about twice its CPU; level 5 saves 10 to 13 % at two and a half to three
// times — about 0.1 ms more a page, a few per cent of building it, for a
// tenth fewer bytes on a citizen's slow connection (BenchmarkCompressHomePage,
// docs/benchmarks.md). JSON answers, which machines ask for at high rates,
// take gzip when it is accepted: there CPU counts more than bytes.
const brotliLevel = 5

// compressMin is the smallest known body worth compressing; below it the
// gzip header and footer cost more than they save.
const compressMin = 512

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression) // the level is valid
	return zw
}}

var brotliPool = sync.Pool{New: func() any {
	return brotli.NewWriterLevel(io.Discard, brotliLevel)
}}

// encoder is a compressing writer of either kind.
type encoder interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

// encodingFor picks the answer's Content-Encoding from Accept-Encoding:
// "br", "gzip" or "" (none accepted), and whether gzip is acceptable at all.
// An encoding named without q has q=1; "*" stands for those not named.
func encodingFor(r *http.Request) (enc string, gzipOK bool) {
	qBr, qGzip, qAny := -1.0, -1.0, -1.0
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // a q-value that is not one refuses rather than guesses
				}
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(enc)) {
		case "br":
			qBr = q
		case "gzip", "x-gzip":
			qGzip = max(qGzip, q)
		case "*":
			qAny = q
		}
	}
	if qBr < 0 {
		qBr = qAny
	}
	if qGzip < 0 {
		qGzip = qAny
	}
	switch {
	case qBr > 0 && qBr >= qGzip:
		return "br", qGzip > 0
	case qGzip > 0:
		return "gzip", true
	}
	return "", false
}

// answerCompressible reports whether a Content-Type is one this layer
// compresses, and whether it is a page or drawing (people wait for those)
// rather than data for a program.
func answerCompressible(contentType string) (ok, page bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, false
	}
	// SVG is text, and the maps and charts drawn on the server are the
	// heaviest part of the pages that show them (a district map: 45 kB, a
	// tenth of that compressed).
	page = mt == "text/html" || mt == "image/svg+xml"
	return page || mt == "application/json" || strings.HasSuffix(mt, "+json"), page
}

// compress compresses HTML and JSON answers, with Brotli or gzip, when the
// request accepts either.
func (s *Server) compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || s.isUncompressed(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		enc, gzipOK := encodingFor(r)
		if enc == "" {
			// Still vary: a cache must not hand this plain answer to a
			// client that accepts compression.
			next.ServeHTTP(&compressWriter{ResponseWriter: w}, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w, encoding: enc, gzipOK: gzipOK}
		defer cw.close()
		next.ServeHTTP(cw, r)
	})
}

// compressWriter decides at the first WriteHeader (or Write) whether to
// compress, from the headers the handler has set by then.
type compressWriter struct {
	http.ResponseWriter
	decided  bool
	encoding string  // "br", "gzip", or "" to pass the body through
	gzipOK   bool    // the client takes gzip too
	zw       encoder // nil: the body passes through
}

func (w *compressWriter) decide(status int) {
	if w.decided {
		return
	}
	w.decided = true
	h := w.Header()
	ok, page := answerCompressible(h.Get("Content-Type"))
	if !ok {
		return
	}
	if w.encoding == "br" && !page && w.gzipOK {
		w.encoding = "gzip"
	}
	h.Add("Vary", "Accept-Encoding")
	if w.encoding == "" || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified || h.Get("Content-Encoding") != "" {
		return
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < compressMin {
		return
	}
	h.Del("Content-Length")
	h.Set("Content-Encoding", w.encoding)
	if w.encoding == "br" {
		w.zw = brotliPool.Get().(*brotli.Writer)
	} else {
		w.zw = gzipPool.Get().(*gzip.Writer)
	}
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
		if w.encoding == "br" {
			brotliPool.Put(w.zw)
		} else {
			gzipPool.Put(w.zw)
		}
		w.zw = nil
	}
}
