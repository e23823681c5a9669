package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"civitas/internal/kernel"
)

// Problem codes beyond the kernel's: HTTP-level failures no service raises.
const (
	codeBodyTooLarge     = "body_too_large"
	codeMethodNotAllowed = "method_not_allowed"
	unmatched            = "unmatched"
)

// problemStatus maps every problem code to its HTTP status. It is a function
// so the table cannot be changed at run time.
func problemStatus(code string) (int, bool) {
	switch kernel.Code(code) {
	case kernel.Invalid:
		return http.StatusBadRequest, true
	case kernel.Unauthenticated:
		return http.StatusUnauthorized, true
	case kernel.Forbidden:
		return http.StatusForbidden, true
	case kernel.NotFound:
		return http.StatusNotFound, true
	case kernel.Conflict:
		return http.StatusConflict, true
	case kernel.TooManyRequests:
		return http.StatusTooManyRequests, true
	case kernel.Unavailable:
		return http.StatusServiceUnavailable, true
	case kernel.Internal:
		return http.StatusInternalServerError, true
	}
	switch code {
	case codeBodyTooLarge:
		return http.StatusRequestEntityTooLarge, true
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed, true
	}
	return 0, false
}

// httpError is a failure of the HTTP exchange itself rather than of a service.
type httpError struct {
	code string
	key  string
}

func (e *httpError) Error() string { return "web: " + e.code }

func errMethodNotAllowed() error {
	return &httpError{code: codeMethodNotAllowed, key: "error.method_not_allowed"}
}

// failure is what the reader is told about an error.
type failure struct {
	status int
	code   string
	key    string
	args   []any
}

func (s *Server) classify(err error) failure {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return failure{http.StatusRequestEntityTooLarge, codeBodyTooLarge, "error.body_too_large", []any{byteSize(mbe.Limit)}}
	}
	var he *httpError
	if errors.As(err, &he) {
		st, _ := problemStatus(he.code)
		return failure{st, he.code, he.key, nil}
	}
	code := string(kernel.ErrorCode(err))
	st, ok := problemStatus(code)
	if !ok { // a code this layer does not know is a bug: treat it as internal
		return failure{http.StatusInternalServerError, string(kernel.Internal), "error.internal", nil}
	}
	key, args := kernel.ErrorKey(err)
	if !s.catalog.Has(key) {
		s.log.Warn("web: error key missing from the catalogue", slog.String("key", key))
		key, args = "error."+code, nil
	}
	return failure{st, code, key, args}
}

// byteSize writes a limit for people: "1 MB", "512 KB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// Error answers the request with err: an HTML page in the reader's language
// with the request ID, an RFC 9457 problem document for /api/ paths and
// clients that prefer JSON, or OAuth 2.0 error JSON under the prefixes given
// to UseOAuthErrors. The status comes from the error's kernel code.
// Internal errors are logged in full with the request ID; the reader only
// ever sees the generic message.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		err = kernel.E(kernel.Internal, "error.internal")
	}
	f := s.classify(err)
	ctx := r.Context()
	rid := kernel.RequestIDFrom(ctx)
	if f.status >= 500 {
		s.log.ErrorContext(ctx, "web: request failed", slog.String("request_id", rid),
			slog.String("route", infoFrom(ctx).route), slog.Int("status", f.status), slog.Any("err", err))
	} else {
		s.log.DebugContext(ctx, "web: request refused", slog.String("request_id", rid),
			slog.Int("status", f.status), slog.String("code", f.code))
	}
	if infoFrom(ctx).wrote {
		return // the answer has begun; a second one would only corrupt it
	}
	s.renderError(w, r, f.status, f.code, f.key, f.args)
}

// renderError writes the error answer without logging; the caller has.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, code, key string, args []any) {
	lang := s.langOf(r)
	title := s.catalog.T(lang, "error.title."+code)
	detail := s.catalog.T(lang, key, args...)
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Content-Disposition")
	h.Del("ETag")
	h.Del("Last-Modified")
	h.Del("Content-Encoding")
	if s.oauthErrors(r.URL.Path) {
		s.writeOAuthError(w, r, status, code, key, args)
		return
	}
	if wantsJSON(r) {
		p := problem{
			Type:      s.problemType(code),
			Title:     title,
			Status:    status,
			Detail:    detail,
			Instance:  r.URL.Path,
			Code:      code,
			RequestID: kernel.RequestIDFrom(r.Context()),
		}
		b, _ := json.Marshal(p) // strings and an int: cannot fail
		h.Set("Content-Type", "application/problem+json")
		h.Set("Content-Language", lang)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
		return
	}
	if err := s.own.render(w, r, status, "error", errorPage{Title: title, Message: detail, Status: status}); err != nil {
		// The error page itself failed: say the minimum in plain text.
		s.log.ErrorContext(r.Context(), "web: error page failed", slog.String("request_id", kernel.RequestIDFrom(r.Context())), slog.Any("err", err))
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "%s\n%s\n%s %s\n", title, detail, s.catalog.T(lang, "error.request_id"), kernel.RequestIDFrom(r.Context()))
	}
}

// writeOAuthError writes the error in the form of OAuth 2.0 (RFC 6749
// §5.2): "error", one of its codes, and "error_description", which must be
// ASCII and is therefore in English, with the request ID to quote.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, status int, code, key string, args []any) {
	h := w.Header()
	h.Set("Content-Language", "en")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="civitas"`)
	}
	s.JSON(w, r, status, map[string]string{
		"error":             oauthCode(status),
		"error_description": oauthDescription(s.catalog.T("en", key, args...)),
		"request_id":        kernel.RequestIDFrom(r.Context()),
	})
}

// oauthCode names the OAuth 2.0 error code (RFC 6749 §5.2, RFC 6750 §3.1)
// closest to an HTTP-level failure.
func oauthCode(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_client"
	case status == http.StatusForbidden:
		return "access_denied"
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return "temporarily_unavailable"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request"
}

// oauthDescription keeps to the characters RFC 6749 allows in an
// error_description: printable ASCII without '"' and '\'.
func oauthDescription(s string) string {
	b := make([]byte, 0, len(s))
	for _, c := range s {
		switch {
		case c == '"' || c == '\\' || c == '\u2018' || c == '\u2019' || c == '\u201c' || c == '\u201d':
			b = append(b, '\'')
		case c >= 0x20 && c <= 0x7e:
			b = append(b, byte(c))
		case c == '\u2013' || c == '\u2014':
			b = append(b, '-')
		}
	}
	return string(b)
}

// errorPage is the data of templates/error.html.
type errorPage struct {
	Title   string
	Message string
	Status  int
}

// problem is an RFC 9457 problem details document, with two extension
// members: the stable machine-readable code and the request ID to quote.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
}

// problemType is the problem's type URI. It resolves to a page that explains
// the code, as RFC 9457 recommends.
func (s *Server) problemType(code string) string {
	return s.public + "/problems/" + code
}

// problemPage explains a problem type to a person who follows its URI.
func (s *Server) problemPage(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	status, ok := problemStatus(code)
	if !ok {
		s.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	lang := s.langOf(r)
	s.own.Render(w, r, http.StatusOK, "problem", errorPage{
		Title:   s.catalog.T(lang, "error.title."+code),
		Message: s.catalog.T(lang, "error."+code, byteSize(s.maxBody)),
		Status:  status,
	})
}

// wantsJSON says whether the answer should be JSON: always under /api/, and
// elsewhere when the Accept header ranks JSON above HTML.
func wantsJSON(r *http.Request) bool {
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		return true
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false
	}
	var qJSON, qHTML float64
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch {
		case mt == "application/json" || mt == "application/problem+json":
			qJSON = max(qJSON, q)
		case mt == "text/html" || mt == "application/xhtml+xml":
			qHTML = max(qHTML, q)
		}
	}
	return qJSON > qHTML
}

// JSON writes v as a JSON response with the given status. It encodes into a
// buffer first, so an encoding error still becomes a clean 500.
func (s *Server) JSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true) // keeps "<" out of responses a browser might sniff
	if err := enc.Encode(v); err != nil {
		s.Error(w, r, kernel.Wrap(err, "web: encode json"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
