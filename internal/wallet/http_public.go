package wallet

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"civitas/internal/statuslist"
	"civitas/internal/web"
)

// MountPublic serves what anyone may read, without a session: the status
// lists of the documents (GET /status/{list}), the issuer metadata with the
// agencies' keys (GET /.well-known/jwt-vc-issuer) and each type's metadata
// at its vct (GET /wallet/types/{code}).
func (s *Service) MountPublic(ws *web.Server) {
	// Relying parties come without a session: the lists are exempt from
	// CSRF (and the cookie is ignored).
	ws.ExemptFromCSRF(statuslist.PathPrefix)
	ws.HandleFunc("GET "+statuslist.PathPrefix+"{list}", func(w http.ResponseWriter, r *http.Request) {
		s.serveStatusList(ws, w, r)
	})
	ws.HandleFunc("GET /.well-known/jwt-vc-issuer", func(w http.ResponseWriter, r *http.Request) {
		md, err := s.Metadata(r.Context())
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		ws.JSON(w, r, http.StatusOK, md)
	})
	ws.HandleFunc("GET /wallet/types/{code}", func(w http.ResponseWriter, r *http.Request) {
		md, err := s.TypeMetadata(r.PathValue("code"))
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		ws.JSON(w, r, http.StatusOK, md)
	})
}

// serveStatusList answers with a list's Status List Token as
// application/statuslist+jwt, cacheable for what remains of its TTL, to
// anyone (CORS, as the draft asks, since it is public and signed), gzipped
// for clients that take it, and 404 for a list the wallet does not hold.
func (s *Service) serveStatusList(ws *web.Server, w http.ResponseWriter, r *http.Request) {
	p, err := s.o.Status.Published(r.Context(), r.PathValue("list"))
	if err != nil {
		ws.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(p.MaxAge/time.Second)))
	h.Set("ETag", p.ETag)
	h.Set("Access-Control-Allow-Origin", "*")
	if etagMatches(r.Header.Get("If-None-Match"), p.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", statuslist.MediaType)
	h.Set("Vary", "Accept-Encoding")
	body := p.Token
	if p.Gzipped != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = p.Gzipped
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for v := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(v), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q, _ := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			return q == "" || strings.Trim(q, "0.") != "" // "q=0", "q=0.000" refuse it
		}
	}
	return false
}

// etagMatches reports whether an If-None-Match header names etag (or is "*").
func etagMatches(header, etag string) bool {
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}
