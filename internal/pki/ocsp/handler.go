package ocsp

import (
	"context"
	"crypto"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/kernel"
)

const (
	contentTypeRequest  = "application/ocsp-request"
	contentTypeResponse = "application/ocsp-response"
)

// handler serves several Responders on one URL.
type handler struct {
	// byID finds the Responder a request names: hash algorithm, issuer
	// name hash and issuer key hash, concatenated.
	byID map[string]*Responder
}

// NewHandler serves OCSP for the CAs of rs on one endpoint: GET
// /{base64 request} (RFC 5019) and POST with an application/ocsp-request
// body. Mount it with http.StripPrefix, so the path it sees is the base64
// request alone. If two Responders answer for the same CA, the first wins.
func NewHandler(rs ...*Responder) http.Handler {
	h := &handler{byID: map[string]*Responder{}}
	for _, r := range rs {
		if r == nil {
			continue
		}
		for i, hash := range certIDHashes {
			key := string(issuerKey(make([]byte, 0, 160), hash, r.ids[i].name, r.ids[i].key))
			if _, dup := h.byID[key]; !dup {
				h.byID[key] = r
			}
		}
	}
	return h
}

func issuerKey(buf []byte, hash crypto.Hash, name, key []byte) []byte {
	buf = append(buf, byte(hash), byte(len(name)))
	buf = append(buf, name...)
	return append(buf, key...)
}

func (h *handler) lookup(req *xocsp.Request) *Responder {
	var buf [160]byte
	// The conversion in the index expression does not allocate.
	return h.byID[string(issuerKey(buf[:0], req.HashAlgorithm, req.IssuerNameHash, req.IssuerKeyHash))]
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var der []byte
	get := false
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		get = true
		der = requestFromPath(r.URL.Path)
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != contentTypeRequest {
				w.Header().Set("Accept-Post", contentTypeRequest)
				http.Error(w, http.StatusText(http.StatusUnsupportedMediaType), http.StatusUnsupportedMediaType)
				return
			}
		}
		if body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest)); err == nil {
			der = body
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if der == nil {
		writeError(w, xocsp.MalformedRequestErrorResponse)
		return
	}
	req, nonce, err := parseRequest(der)
	if err != nil {
		writeError(w, xocsp.MalformedRequestErrorResponse)
		return
	}
	rs := h.lookup(req)
	if rs == nil {
		// RFC 6960 §2.3: not a CA we answer for.
		writeError(w, xocsp.UnauthorizedErrorResponse)
		return
	}
	ctx := r.Context()
	s, err := rs.answer(ctx, req, nonce)
	if err != nil {
		writeError(w, errorResponse(ctx, err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", contentTypeResponse)
	hd.Set("Content-Length", strconv.Itoa(len(s.der)))
	switch {
	case nonce != nil:
		// Made for this request alone; a cache must not give it to another.
		hd.Set("Cache-Control", "no-store")
	case get:
		// RFC 5019 §6: let HTTP caches keep it until nextUpdate.
		maxAge := max(0, int64(s.nextUpdate.Sub(rs.o.Clock())/time.Second))
		hd.Set("Cache-Control", "max-age="+strconv.FormatInt(maxAge, 10)+", public, no-transform, must-revalidate")
		hd.Set("Last-Modified", s.lastModified)
		hd.Set("Expires", s.expires)
		hd.Set("ETag", s.etag)
	}
	_, _ = w.Write(s.der) // a client gone away is not our error
}

// errorResponse picks the OCSP error status for a failed answer, and logs
// what an operator needs: the cause, never the request.
func errorResponse(ctx context.Context, err error) []byte {
	switch {
	case errors.Is(err, context.Canceled):
		return xocsp.TryLaterErrorResponse // the client has gone; nothing to report
	case kernel.ErrorCode(err) == kernel.Unavailable:
		slog.Default().WarnContext(ctx, "ocsp: status unavailable", slog.String("request_id", kernel.RequestIDFrom(ctx)), slog.String("error", err.Error()))
		return xocsp.TryLaterErrorResponse
	case kernel.ErrorCode(err) == kernel.Forbidden:
		return xocsp.UnauthorizedErrorResponse
	case kernel.ErrorCode(err) == kernel.Invalid:
		return xocsp.MalformedRequestErrorResponse
	}
	slog.Default().ErrorContext(ctx, "ocsp: cannot sign", slog.String("request_id", kernel.RequestIDFrom(ctx)), slog.String("error", err.Error()))
	return xocsp.InternalErrorErrorResponse
}

// writeError sends an unsigned OCSP error response: HTTP 200, as RFC 6960
// Appendix A has every OCSP response travel.
func writeError(w http.ResponseWriter, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", contentTypeResponse)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}
