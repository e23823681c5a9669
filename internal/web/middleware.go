package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

// contentSecurityPolicy allows nothing inline and nothing from elsewhere:
// every script and style comes from our own /static files.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// permissionsPolicy switches off the powerful browser features nobody uses
// yet. The wallet's QR scanner (camera) and the feedback map (geolocation)
// will have to allow them for their own pages when they arrive.
const permissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), " +
	"microphone=(), payment=(), usb=()"

const (
	headerRequestID = "X-Request-ID"
	headerCSRF      = "X-CSRF-Token"
	formCSRF        = "csrf_token"
	langCookie      = "lang"
	maxRequestIDLen = 64
)

type langKey struct{}
type infoKey struct{}

// requestInfo is shared by the layers of one request: the inner ones fill
// it, the outermost reads it when the response is done. It is needed because
// every r.WithContext makes a new *http.Request, so the mux's r.Pattern is
// not visible to the layers outside it.
type requestInfo struct {
	route string // a registered pattern, or unmatched
	wrote bool   // the response header has been sent
}

func infoFrom(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{route: unmatched}
}

// LangFrom returns the language chosen for the request in ctx, or the
// default language.
func LangFrom(ctx context.Context) string {
	if l, ok := ctx.Value(langKey{}).(string); ok {
		return l
	}
	return i18n.Default
}

// langOf returns the request's language, negotiating it when the language
// layer has not run (a panic recovered outside it).
func (s *Server) langOf(r *http.Request) string {
	if l, ok := r.Context().Value(langKey{}).(string); ok {
		return l
	}
	return negotiate(r)
}

func negotiate(r *http.Request) string {
	var c string
	if ck, err := r.Cookie(langCookie); err == nil {
		c = ck.Value
	}
	return i18n.Negotiate(queryLang(r), c, r.Header.Get("Accept-Language"))
}

// queryLang returns the ?lang= parameter without parsing the whole query
// string on the many requests that have none.
func queryLang(r *http.Request) string {
	if !strings.Contains(r.URL.RawQuery, "lang=") {
		return ""
	}
	return r.URL.Query().Get("lang")
}

// observe gives the request its ID, recovers from panics, and records the
// access log line and the metrics when the response is done.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(headerRequestID)
		if !validRequestID(id) {
			id = kernel.NewID()
		}
		w.Header().Set(headerRequestID, id)
		info := &requestInfo{route: unmatched}
		ctx := context.WithValue(kernel.WithRequestID(r.Context(), id), infoKey{}, info)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w, info: info}
		abort := false
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { // the handler's way to drop the connection quietly
					abort = true
				} else {
					s.log.ErrorContext(ctx, "web: panic", slog.String("request_id", id),
						slog.String("route", info.route), slog.String("panic", fmt.Sprint(p)),
						slog.String("stack", string(debug.Stack())))
					if info.wrote {
						abort = true // half a page is out; cutting the connection says so
					} else {
						// Drop whatever the handler set (a Content-Disposition, a cookie)
						// before showing the error page.
						clear(w.Header())
						w.Header().Set(headerRequestID, id)
						s.setSecurityHeaders(w.Header(), r)
						s.renderError(sw, r, http.StatusInternalServerError, "internal", "error.internal", nil)
					}
				}
			}
			s.done(r, sw, info, start)
			if abort {
				panic(http.ErrAbortHandler)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// done writes the access log line and the metrics. It logs the route
// pattern, never the path or query, which can carry personal data.
func (s *Server) done(r *http.Request, sw *statusWriter, info *requestInfo, start time.Time) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(start)
	method := methodLabel(r.Method)
	s.metrics.observe(info.route, method, status, d)
	level := slog.LevelInfo
	switch info.route {
	case "GET /healthz", "GET /readyz", "GET /metrics":
		level = slog.LevelDebug // probes and scrapes every few seconds would drown the log
	}
	s.log.LogAttrs(r.Context(), level, "http request",
		slog.String("method", method),
		slog.String("route", info.route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int64("bytes", sw.bytes),
		slog.String("request_id", kernel.RequestIDFrom(r.Context())),
	)
}

// validRequestID accepts an incoming ID only when it is short and plain, so
// it is safe to echo, log and show.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.setSecurityHeaders(w.Header(), r)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) setSecurityHeaders(h http.Header, r *http.Request) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // for browsers older than frame-ancestors
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", permissionsPolicy)
	// HSTS only over TLS: sent over plain HTTP it is ignored at best, and a
	// developer on http://localhost must not pin their browser to https.
	if s.secure || r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=63072000")
	}
}

// language puts the negotiated language in the context and remembers an
// explicit ?lang= choice in a cookie, so the choice sticks on later pages.
func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := negotiate(r)
		if chosen, ok := i18n.Match(queryLang(r)); ok {
			if old, err := r.Cookie(langCookie); err != nil || old.Value != chosen {
				http.SetCookie(w, &http.Cookie{
					Name: langCookie, Value: chosen, Path: "/", MaxAge: 365 * 24 * 3600,
					HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
				})
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, lang)))
	})
}

// limitBody refuses a declared oversized body at once and caps the rest, so
// a slow or endless upload cannot hold memory or a worker.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.bodyLimit(r.URL.Path)
		if r.ContentLength > limit {
			s.Error(w, r, &http.MaxBytesError{Limit: limit})
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// errCSRF is the one answer to every failed CSRF check: the reader learns
// that the form is stale, an attacker learns nothing about which check failed.
// Errors here are built by functions, not held in package variables, so no
// caller can change a shared one.
func errCSRF() *kernel.Error { return kernel.E(kernel.Forbidden, "error.csrf") }

// csrf checks every unsafe request twice: the browser's own Fetch Metadata
// and Origin headers (http.CrossOriginProtection), and a synchronizer token
// from the session sent back in the csrf_token form field or the
// X-CSRF-Token header. The first stops cross-site forms in modern browsers;
// the second also covers old browsers and same-site attackers.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) || s.isExempt(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if err := s.cop.Check(r); err != nil {
			s.log.DebugContext(r.Context(), "web: cross-origin request refused", slog.String("request_id", kernel.RequestIDFrom(r.Context())))
			s.Error(w, r, errCSRF().WithCause(err))
			return
		}
		token := r.Header.Get(headerCSRF)
		if token == "" {
			var err error
			if token, err = formToken(r, s.maxBody); err != nil {
				s.Error(w, r, err)
				return
			}
		}
		sess, err := s.Session(r)
		if err != nil {
			if kernel.ErrorCode(err) == kernel.Unauthenticated {
				err = errCSRF().WithCause(err)
			}
			s.Error(w, r, err)
			return
		}
		if !equalTokens(token, sess.CSRFToken) {
			s.Error(w, r, errCSRF())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// formToken reads csrf_token from a form body. Other bodies (JSON) must use
// the header, so they are never parsed here.
func formToken(r *http.Request, maxMemory int64) (string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
	case "multipart/form-data":
		err = r.ParseMultipartForm(maxMemory)
	default:
		return "", nil
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", mbe
		}
		return "", kernel.E(kernel.Invalid, "error.invalid").WithCause(fmt.Errorf("web: parse form: %w", err))
	}
	return r.PostForm.Get(formCSRF), nil
}

// safeMethod lists the methods that must not change state, as
// http.CrossOriginProtection does.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// route runs the mux and replaces its plain-text 404 and 405 answers with
// our own translated pages or problem documents.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	raw := s.raw
	s.mu.RUnlock()
	for _, rr := range raw {
		if strings.HasPrefix(r.URL.Path, rr.prefix) {
			infoFrom(r.Context()).route = rr.prefix
			rr.h.ServeHTTP(w, r)
			return
		}
	}
	mw := &muxErrorWriter{ResponseWriter: w, r: r}
	defer func() { infoFrom(r.Context()).route = s.routeLabel(r.Pattern) }()
	s.mux.ServeHTTP(mw, r)
	switch mw.caught {
	case http.StatusNotFound:
		s.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
	case http.StatusMethodNotAllowed:
		s.Error(w, r, errMethodNotAllowed()) // the mux has set Allow
	}
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	info   *requestInfo
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx informational headers are not the answer
		w.status = code
		w.info.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.info.wrote = true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
		w.info.wrote = true
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// muxErrorWriter swallows the mux's own 404 and 405 responses. They are
// recognised by the empty r.Pattern: the mux sets the pattern before it
// calls any registered handler, whose own 404s pass through untouched.
type muxErrorWriter struct {
	http.ResponseWriter
	r      *http.Request
	caught int
}

func (w *muxErrorWriter) WriteHeader(code int) {
	if w.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		w.caught = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *muxErrorWriter) Write(b []byte) (int, error) {
	if w.caught != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *muxErrorWriter) Flush() {
	if w.caught == 0 {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

func (w *muxErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
