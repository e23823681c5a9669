package oidc

import (
	"context"
	"embed"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// Login is a browser's login, as the Authenticator reports it.
type Login struct {
	AccountID string
	ACR       string
	AMR       []string
	AuthTime  time.Time
	SessionID string
}

// Authenticator is the login side, seen from the provider.
type Authenticator interface {
	// Current returns the browser's login, or an Unauthenticated error.
	Current(r *http.Request) (Login, error)
	// LoginURL is where to send the browser to log in (or step up to acr),
	// coming back to next; force asks for a new login even with a session.
	LoginURL(next, acr string, force bool) string
	SignOut(w http.ResponseWriter, r *http.Request) error
}

// Account is what the provider may tell a relying party about a person.
type Account struct {
	ID, CitizenID, Name, BirthDate, Phone, Email string
	Level                                        int
	Active                                       bool
}

// Directory gives the claims about an account.
type Directory interface {
	Account(ctx context.Context, accountID string) (Account, error)
}

// History is the citizen's usage history.
type History interface {
	Record(ctx context.Context, tx *db.Tx, accountID, kind, clientID string, details map[string]string) error
}

// Options configure a Provider.
type Options struct {
	DB        *db.DB
	Clock     kernel.Clock
	Web       *web.Server
	Issuer    string // the public URL, without a trailing slash
	Box       *sealed.Box
	Authn     Authenticator
	Directory Directory
	History   History
	// UseLog is the data-use log: every release of a person's claims to a
	// relying party is a read of their data by someone else. nil: none.
	UseLog UseLog
	Logger *slog.Logger
}

// UseLog records a read of a person's data by someone else, in the
// caller's transaction (the data-use log the person sees).
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Lifetimes.
const (
	parTTL       = 90 * time.Second
	flowTTL      = 30 * time.Minute
	codeTTL      = 60 * time.Second
	accessTTL    = 5 * time.Minute
	idTokenTTL   = 5 * time.Minute
	familyTTL    = 30 * 24 * time.Hour
	proofWindow  = 60 * time.Second // how old a DPoP proof may be
	proofSkew    = 5 * time.Second  // how far in the future
	assertionMax = 5 * time.Minute  // how far ahead a client assertion may expire
)

// Provider is the OpenID Provider.
type Provider struct {
	db      *db.DB
	clock   kernel.Clock
	web     *web.Server
	issuer  string
	box     *sealed.Box
	authn   Authenticator
	dir     Directory
	history History
	uses    UseLog
	log     *slog.Logger
	pages   *web.Pages
	keys    *keyring
	pairKey []byte
	rot     *rotator // PostgreSQL refresh rotations, grouped

	mu      sync.Mutex
	clients map[string]cachedClient
	scopes  []Scope // scopes added by other capabilities (AddScopes), under mu
}

//go:embed templates/*.html
var templateFS embed.FS

// New builds the provider: it makes the first signing key and the pairwise
// secret when the database has none.
func New(ctx context.Context, o Options) (*Provider, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{db: o.DB, clock: o.Clock, web: o.Web, issuer: o.Issuer, box: o.Box, authn: o.Authn,
		dir: o.Directory, history: o.History, uses: o.UseLog, log: o.Logger, clients: map[string]cachedClient{}}
	p.keys = &keyring{p: p}
	p.rot = newRotator(p)
	if err := p.keys.ensure(ctx); err != nil {
		return nil, err
	}
	var err error
	if p.pairKey, err = p.setting(ctx, "pairwise_secret"); err != nil {
		return nil, err
	}
	return p, nil
}

// Mount registers the provider's routes.
func (p *Provider) Mount() error {
	pages, err := p.web.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	p.pages = pages
	// The back-channel endpoints live under /oauth/: relying parties call
	// them with their own credentials, never with a browser session.
	p.web.ExemptFromCSRF("/oauth/")
	// Every error there is RFC 6749 JSON, those of the HTTP layer too (an
	// oversized body, an unknown path, a wrong method).
	p.web.UseOAuthErrors("/oauth/")
	p.web.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	p.web.HandleFunc("GET /oidc/jwks", p.jwks)
	p.web.HandleFunc("POST /oauth/par", p.par)
	p.web.HandleFunc("GET /oidc/authorize", p.authorize)
	p.web.HandleFunc("GET /oidc/continue", p.continueFlow)
	p.web.HandleFunc("POST /oidc/consent", p.consent)
	p.web.HandleFunc("POST /oauth/token", p.token)
	p.web.HandleFunc("GET /oauth/userinfo", p.userinfo)
	p.web.HandleFunc("POST /oauth/userinfo", p.userinfo)
	p.web.HandleFunc("GET /oidc/logout", p.logoutForm)
	p.web.HandleFunc("POST /oidc/logout", p.logout)
	return nil
}

func (p *Provider) endpoint(path string) string { return p.issuer + path }

// metadata is the discovery document (OpenID Connect Discovery 1.0, RFC 8414).
func (p *Provider) metadata() map[string]any {
	m := map[string]any{
		"issuer":                                           p.issuer,
		"authorization_endpoint":                           p.endpoint("/oidc/authorize"),
		"pushed_authorization_request_endpoint":            p.endpoint("/oauth/par"),
		"token_endpoint":                                   p.endpoint("/oauth/token"),
		"userinfo_endpoint":                                p.endpoint("/oauth/userinfo"),
		"jwks_uri":                                         p.endpoint("/oidc/jwks"),
		"end_session_endpoint":                             p.endpoint("/oidc/logout"),
		"scopes_supported":                                 append(slices.Clone(knownScopes), ownScopes...),
		"claims_supported":                                 []string{"sub", "name", "birthdate", "phone_number", "email", "citizen_id", "acr", "amr", "auth_time", "sid"},
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":                          []string{"pairwise"},
		"id_token_signing_alg_values_supported":            []string{"ES256"},
		"userinfo_signing_alg_values_supported":            []string{"none"},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "none"},
		"token_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"code_challenge_methods_supported":                 []string{"S256"},
		"dpop_signing_alg_values_supported":                proofAlgs,
		"acr_values_supported":                             []string{kernel.ACRLevel1, kernel.ACRLevel2},
		"claims_parameter_supported":                       false,
		"request_parameter_supported":                      false,
		"require_pushed_authorization_requests":            false,
		"authorization_response_iss_parameter_supported":   true,
		"frontchannel_logout_supported":                    false,
		"ui_locales_supported":                             []string{"vi", "en", "ar"},
	}
	p.openID4VCIMetadata(m)
	return m
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	p.web.JSON(w, r, http.StatusOK, p.metadata())
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := p.keys.published(r.Context())
	if err != nil {
		p.web.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	p.web.JSON(w, r, http.StatusOK, set)
}
