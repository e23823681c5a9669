package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

// Defaults for Options left zero.
const (
	DefaultMaxBodyBytes = 1 << 20 // 1 MiB: forms and JSON; uploads get their own limit when they come
	DefaultSessionIdle  = 2 * time.Hour
	DefaultSessionMax   = 12 * time.Hour
	readyTimeout        = 5 * time.Second
)

// Options configure a Server.
type Options struct {
	DB        *db.DB
	Logger    *slog.Logger
	Clock     kernel.Clock
	PublicURL *url.URL                    // https scheme => Secure cookies + HSTS
	Metrics   *prometheus.Registry        // HTTP metrics are registered here and /metrics serves it
	Catalog   *i18n.Catalog               // nil loads the embedded catalogue
	Ready     func(context.Context) error // /readyz: 200 when nil, 503 otherwise; nil Ready pings DB
	Version   string

	// MaxBodyBytes caps every request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// SessionIdle ends a session unused for this long (default DefaultSessionIdle).
	SessionIdle time.Duration
	// SessionMax ends every session this long after it began, used or not
	// (default DefaultSessionMax).
	SessionMax time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (config.Config.Proxies); none: the connection's address is the client's.
	TrustedProxies []netip.Prefix
	// MetricsToken, when set, is the bearer token a scrape must send:
	// Handler then serves /metrics to those who send it (401 to others),
	// and MetricsHandler asks for it too. Empty: Handler has no /metrics
	// (404), and MetricsHandler, for a listener of its own, asks for
	// nothing.
	MetricsToken string
	// HelpLine is the telephone number of the province's help line, shown
	// in every page's footer; empty: DefaultHelpLine.
	HelpLine string
}

// DefaultHelpLine is the help line printed when Options.HelpLine is empty:
// 1022, the number Vietnamese provinces give their public-service hotline.
const DefaultHelpLine = "1022"

// Server is the shared HTTP layer. Build it with NewServer, add routes with
// Handle, then serve Handler().
type Server struct {
	db      *db.DB
	log     *slog.Logger
	clock   kernel.Clock
	catalog *i18n.Catalog
	ready   func(context.Context) error
	version string
	secure  bool   // the public URL is https: Secure cookies, HSTS, __Host- cookie prefix
	public  string // the public URL without a trailing slash, for absolute links ("" when unknown)
	maxBody int64
	idle    time.Duration
	maxAge  time.Duration
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
	metrics *httpMetrics
	scrape  http.Handler // /metrics behind the operator's token, if any
	assets  *assets
	base    *template.Template // the layout; only ever cloned, never executed
	own     *Pages             // home, error and problem pages
	handler http.Handler
	proxies []netip.Prefix // trusted reverse proxies
	bufs    sync.Pool      // *bytes.Buffer for rendering

	helpLine string // the footer's help line (Options.HelpLine)

	mu        sync.RWMutex
	patterns  map[string]bool   // registered patterns: the only route labels metrics use
	exempt    []string          // path prefixes exempt from CSRF checks and sessions
	oauth     []string          // path prefixes whose errors take the OAuth 2.0 form
	raw       []rawRoute        // prefixes served without the mux's path cleaning
	uploads   map[string]int64  // exact paths allowed larger bodies (uploads), and their limit
	plain     map[string]bool   // exact paths whose answers are never gzipped
	nav       []NavItem         // the service navigation, in order (nav.go)
	homeLinks []HomeLink        // the home page's extra links (nav.go)
	officials OfficialDirectory // who sees the officials' navigation entries (nav.go)
}

// NewServer builds the server: it parses every template and hashes every
// static file now, so a broken template stops start-up rather than a request.
func NewServer(o Options) (*Server, error) {
	if o.DB == nil {
		return nil, errors.New("web: Options.DB is required")
	}
	s := &Server{
		db:       o.DB,
		log:      o.Logger,
		clock:    o.Clock,
		catalog:  o.Catalog,
		ready:    o.Ready,
		version:  o.Version,
		maxBody:  o.MaxBodyBytes,
		idle:     o.SessionIdle,
		maxAge:   o.SessionMax,
		mux:      http.NewServeMux(),
		cop:      http.NewCrossOriginProtection(),
		patterns: make(map[string]bool),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = kernel.SystemClock{}
	}
	if s.catalog == nil {
		c, err := i18n.Load()
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.catalog = c
	}
	if s.ready == nil {
		s.ready = o.DB.Ping
	}
	if s.version == "" {
		s.version = "dev"
	}
	if s.helpLine = o.HelpLine; s.helpLine == "" {
		s.helpLine = DefaultHelpLine
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.idle <= 0 {
		s.idle = DefaultSessionIdle
	}
	if s.maxAge <= 0 {
		s.maxAge = DefaultSessionMax
	}
	if s.idle > s.maxAge {
		s.idle = s.maxAge
	}
	s.proxies = o.TrustedProxies
	if u := o.PublicURL; u != nil && u.Host != "" {
		s.secure = u.Scheme == "https"
		s.public = strings.TrimSuffix(u.String(), "/")
		// Behind a proxy that rewrites Host, the browser's Origin is still the
		// public one; trust it explicitly.
		if err := s.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("web: public URL: %w", err)
		}
	}
	reg := o.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.base, err = s.parseLayout(); err != nil {
		return nil, err
	}
	if s.own, err = s.Pages(ownTemplates(), "templates/*.html"); err != nil {
		return nil, err
	}

	s.Handle("GET /{$}", http.HandlerFunc(s.home))
	s.AddNav(NavItem{Key: "nav.home", Path: "/", Order: 0})
	s.Handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.Handle("GET /readyz", http.HandlerFunc(s.readyz))
	s.scrape = newScrape(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}), o.MetricsToken)
	if o.MetricsToken != "" {
		// Public listener: only with the operator's token.
		s.Handle("GET /metrics", s.scrape)
	}
	s.Handle("GET /static/{file}", http.HandlerFunc(s.static))
	s.Handle("GET /problems/{code}", http.HandlerFunc(s.problemPage))
	s.handler = s.chain()
	return s, nil
}

// Handle registers h for a ServeMux pattern such as "GET /wallet/{id}". Like
// ServeMux.Handle it panics on an invalid or conflicting pattern: that is a
// wiring mistake, found at start-up. The pattern becomes the route label of
// the request metrics.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.mu.Lock()
	s.patterns[pattern] = true
	s.mu.Unlock()
}

// AllowUpload lets requests to the exact path carry bodies up to limit
// bytes instead of MaxBodyBytes: a page or API that takes a file. Each
// handler still reads with care (a temporary file, not memory).
func (s *Server) AllowUpload(path string, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploads == nil {
		s.uploads = map[string]int64{}
	}
	s.uploads[path] = limit
}

// Uncompressed serves the answers of path (exact) as they are, never
// gzipped: for an API asked thousands of times a second whose answers are
// small and mostly signatures and hashes, which gzip barely shrinks, the
// compression (and the client's decompression) costs more CPU than the few
// bytes it saves.
func (s *Server) Uncompressed(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plain == nil {
		s.plain = map[string]bool{}
	}
	s.plain[path] = true
}

func (s *Server) isUncompressed(path string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.plain[path]
}

// bodyLimit is the largest body a request to path may carry.
func (s *Server) bodyLimit(path string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if n, ok := s.uploads[path]; ok {
		return n
	}
	return s.maxBody
}

// rawRoute is a prefix HandleUncleaned registered.
type rawRoute struct {
	prefix string
	h      http.Handler
}

// HandleUncleaned serves every path under prefix with h, before the mux and
// without its path cleaning: the mux answers a path holding "//" or "/./"
// with a redirect to the cleaned path, which breaks protocols that carry
// data in the path, such as OCSP over GET (base64 has "/"). h sees the path
// as the client sent it and checks the method itself. The prefix is the
// route label of the request metrics.
func (s *Server) HandleUncleaned(prefix string, h http.Handler) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") || prefix == "/" {
		panic(fmt.Sprintf("web: uncleaned route %q must be a path prefix like /pki/ocsp/", prefix))
	}
	s.mu.Lock()
	s.raw = append(s.raw, rawRoute{prefix: prefix, h: h})
	s.patterns[prefix] = true
	s.mu.Unlock()
}

// HandleFunc registers a handler function; see Handle.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(h))
}

// ExemptFromCSRF exempts every path under prefix (which must start and end
// with "/", such as "/api/csc/") from the CSRF checks. It is for JSON APIs
// whose clients authenticate with bearer tokens, which a browser never sends
// on its own. To keep that promise the session cookie is ignored on those
// paths: Session reports no session there. It panics on a malformed prefix.
func (s *Server) ExemptFromCSRF(prefix string) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") || prefix == "/" {
		panic(fmt.Sprintf("web: CSRF exemption %q must be a path prefix like /api/x/", prefix))
	}
	s.mu.Lock()
	s.exempt = append(s.exempt, prefix)
	s.mu.Unlock()
}

func (s *Server) isExempt(path string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.exempt {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// UseOAuthErrors makes every error answered under prefix (which must start
// and end with "/", such as "/oauth/") take the JSON form of OAuth 2.0 (RFC
// 6749 §5.2: {"error": ..., "error_description": ...}) instead of an HTML
// page or an RFC 9457 problem: the errors of this layer (an oversized body,
// an unknown path, a wrong method, a panic) and those handlers pass to
// Error. It is for the back-channel endpoints of an authorization server
// and for APIs specified with OAuth errors (the CSC API). It panics on a
// malformed prefix.
func (s *Server) UseOAuthErrors(prefix string) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") || prefix == "/" {
		panic(fmt.Sprintf("web: OAuth error prefix %q must be a path prefix like /oauth/", prefix))
	}
	s.mu.Lock()
	s.oauth = append(s.oauth, prefix)
	s.mu.Unlock()
}

func (s *Server) oauthErrors(path string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.oauth {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// routeLabel bounds metric cardinality: only registered patterns are labels.
func (s *Server) routeLabel(pattern string) string {
	if pattern == "" {
		return unmatched
	}
	s.mu.RLock()
	ok := s.patterns[pattern]
	s.mu.RUnlock()
	if !ok {
		return unmatched
	}
	return pattern
}

// Handler returns the routes wrapped in the middleware chain.
func (s *Server) Handler() http.Handler { return s.handler }

// chain wraps the mux, outermost first: observe (request ID, recovery, access
// log, metrics), security headers, language, body limit, sessions, CSRF.
// Language comes early so that every error page after it is translated.
func (s *Server) chain() http.Handler {
	var h http.Handler = http.HandlerFunc(s.route)
	h = s.csrf(h)
	h = s.sessions(h)
	h = s.limitBody(h)
	h = s.language(h)
	h = s.securityHeaders(h)
	h = s.forwarded(h)
	h = s.compress(h)
	return s.observe(h)
}

// T translates key into the language of the request.
func (s *Server) T(r *http.Request, key string, args ...any) string {
	return s.catalog.T(s.langOf(r), key, args...)
}

// Date writes a calendar day ("2006-01-02") or an instant as the reader
// of the request reads a date (FormatDate); anything else as it is.
func (s *Server) Date(r *http.Request, x any) string {
	t, _, ok := day(x)
	if !ok {
		return toString(x)
	}
	return FormatDate(s.catalog, s.langOf(r), t)
}

// Catalog returns the message catalogue the server translates with.
func (s *Server) Catalog() *i18n.Catalog { return s.catalog }

// PublicURL returns the public URL without a trailing slash, or "" when it
// is unknown. Capabilities bind to it what must name this site, such as the
// WebAuthn relying party of passkeys.
func (s *Server) PublicURL() string { return s.public }

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.own.Render(w, r, http.StatusOK, "home", nil)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writePlain(w, http.StatusOK, "ok\n")
}

// readyz says whether this instance should get traffic. The reason for a
// failure goes to the log, never to the (public) response.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(ctx, "web: not ready", slog.String("request_id", kernel.RequestIDFrom(ctx)), slog.Any("err", err))
		writePlain(w, http.StatusServiceUnavailable, "not ready\n")
		return
	}
	writePlain(w, http.StatusOK, "ready\n")
}

func writePlain(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
