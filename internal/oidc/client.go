package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// Client authentication methods.
const (
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthSecretBasic   = "client_secret_basic"
	AuthNone          = "none" // public clients: PKCE (and DPoP) instead of a secret
)

// MinSecretLength is the shortest client secret accepted: secrets are
// stored as SHA-256, which is safe only for high-entropy secrets.
const MinSecretLength = 32

// Client is a relying party.
type Client struct {
	ID           string
	Name         string
	Purpose      string // why it asks for data, shown on the consent screen
	RedirectURIs []string
	AuthMethod   string
	Secret       string      // client_secret_basic only; stored hashed
	JWKS         jose.JWKSet // private_key_jwt only
	RequirePAR   bool
	Sector       string // pairwise subject sector: the redirect URIs' host
	// Agency is the code of the agency the client acts for on its own
	// account, or "" (see client_credentials.go).
	Agency string
	// Scopes are what the client may get for itself with the
	// client_credentials grant; only confidential clients have any.
	Scopes     []string
	secretHash string
}

// Validate checks a client's registration.
func (c *Client) Validate() error {
	if c.ID == "" || len(c.ID) > 128 || strings.ContainsAny(c.ID, " \t\r\n") {
		return kernel.E(kernel.Invalid, "oidc.error.bad_client_id")
	}
	if len(c.RedirectURIs) == 0 && len(c.Scopes) == 0 {
		// Only a client acting for itself has no use for redirects.
		return kernel.E(kernel.Invalid, "oidc.error.bad_redirect_uri")
	}
	for _, u := range c.RedirectURIs {
		pu, err := url.Parse(u)
		if err != nil || pu.Fragment != "" || pu.Host == "" || (pu.Scheme != "https" && !(pu.Scheme == "http" && isLoopback(pu.Hostname()))) {
			return kernel.E(kernel.Invalid, "oidc.error.bad_redirect_uri")
		}
		if c.Sector == "" {
			c.Sector = pu.Host
		} else if c.Sector != pu.Host {
			return kernel.E(kernel.Invalid, "oidc.error.mixed_hosts")
		}
	}
	switch c.AuthMethod {
	case AuthSecretBasic:
		if len(c.Secret) < MinSecretLength {
			return kernel.E(kernel.Invalid, "oidc.error.short_secret", MinSecretLength)
		}
	case AuthPrivateKeyJWT:
		if len(c.JWKS.Keys) == 0 {
			return kernel.E(kernel.Invalid, "oidc.error.no_jwks")
		}
		for _, k := range c.JWKS.Keys {
			if _, err := k.PublicKey(); err != nil {
				return kernel.E(kernel.Invalid, "oidc.error.no_jwks")
			}
		}
	case AuthNone:
	default:
		return kernel.E(kernel.Invalid, "oidc.error.bad_auth_method")
	}
	if err := c.validateOwnAccess(); err != nil {
		return err
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	return nil
}

// isLoopback allows http redirect URIs for native apps and development only
// on the loopback interface (RFC 8252 §7.3).
func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// AddClient registers a relying party.
func (p *Provider) AddClient(ctx context.Context, c Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	secret := ""
	if c.AuthMethod == AuthSecretBasic {
		secret = hashSecret(c.Secret)
	}
	return p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		err := insertClient(ctx, tx, &c, secret)
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "oidc.error.client_exists")
		}
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "oidc.client.add", SubjectType: "oidc_client", SubjectID: c.ID,
			Details: map[string]any{"auth_method": c.AuthMethod, "redirect_uris": c.RedirectURIs, "require_par": c.RequirePAR,
				"agency": c.Agency, "scopes": c.Scopes}})
		return err
	})
}

type cachedClient struct {
	c      *Client
	loaded time.Time
}

const clientCacheTTL = 30 * time.Second

// client returns a registered client, from a short-lived cache.
func (p *Provider) client(ctx context.Context, id string) (*Client, error) {
	now := p.clock.Now()
	p.mu.Lock()
	cc, ok := p.clients[id]
	p.mu.Unlock()
	if ok && now.Sub(cc.loaded) < clientCacheTTL && !now.Before(cc.loaded) {
		if cc.c == nil {
			return nil, errUnknownClient
		}
		return cc.c, nil
	}
	c, err := findClient(ctx, p.db, id)
	if errors.Is(err, sql.ErrNoRows) {
		c = nil
	} else if err != nil {
		return nil, kernel.Wrap(err, "oidc: read client")
	}
	p.mu.Lock()
	if len(p.clients) > 10000 {
		p.clients = map[string]cachedClient{}
	}
	p.clients[id] = cachedClient{c: c, loaded: now}
	p.mu.Unlock()
	if c == nil {
		return nil, errUnknownClient
	}
	return c, nil
}

var errUnknownClient = errors.New("unknown client")

// oauthError is an error of the OAuth protocol: a code from RFC 6749 and
// friends, and a precise description for the developer of the client.
type oauthError struct {
	Status      int
	Code        string
	Description string
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oerr(status int, code, desc string) *oauthError {
	return &oauthError{Status: status, Code: code, Description: desc}
}

// IsOAuthError reports whether err is a protocol error for the client (an
// invalid token, a bad request), as opposed to a failure of the provider.
func IsOAuthError(err error) bool {
	var oe *oauthError
	return errors.As(err, &oe)
}

// parseForm reads the form body of a back-channel request. A body over the
// limit is refused with 413, still in the protocol's JSON.
func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" && (ct != "" || r.ContentLength != 0) {
		// A JSON body would be ignored, and the error would then name a
		// missing parameter rather than the mistake.
		return oerr(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	err := r.ParseForm()
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return oerr(http.StatusRequestEntityTooLarge, "invalid_request", "the body is larger than "+strconv.FormatInt(tooBig.Limit, 10)+" bytes")
	}
	return oerr(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
}

// writeOAuthError answers a back-channel request with RFC 6749 §5.2 JSON.
func (p *Provider) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		p.web.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if oe.Code == "invalid_client" && r.Header.Get("Authorization") != "" && strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
		h.Set("WWW-Authenticate", `Basic realm="civitas"`)
	}
	if oe.Code == "invalid_dpop_proof" || oe.Code == "invalid_token" && strings.HasPrefix(r.Header.Get("Authorization"), "DPoP ") {
		h.Set("WWW-Authenticate", `DPoP error="`+oe.Code+`", algs="`+strings.Join(proofAlgs, " ")+`"`)
	} else if oe.Code == "invalid_token" {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	p.web.JSON(w, r, oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Description})
}

// assertionAlgs are the signature algorithms accepted in client assertions.
var assertionAlgs = []string{"ES256", "ES384", "PS256", "RS256", "EdDSA"}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// authenticatedClient is a client that proved who it is on this request,
// with the single-use IDs to record in the request's transaction.
type authenticatedClient struct {
	*Client
	jtis []jtiRecord
}

type jtiRecord struct {
	hash    string
	expires time.Time
}

// authenticateClient checks the client authentication of a back-channel
// request (token, PAR) against the client's registered method.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, audiences ...string) (*authenticatedClient, error) {
	form := r.PostForm
	basicID, basicSecret, hasBasic := r.BasicAuth()
	id := form.Get("client_id")
	assertion := form.Get("client_assertion")
	switch {
	case hasBasic:
		if u, err := url.QueryUnescape(basicID); err == nil {
			basicID = u
		}
		if s, err := url.QueryUnescape(basicSecret); err == nil {
			basicSecret = s
		}
		if id != "" && id != basicID {
			return nil, oerr(401, "invalid_client", "client_id in the body differs from the Basic authentication")
		}
		id = basicID
	case assertion != "":
		if form.Get("client_assertion_type") != assertionType {
			return nil, oerr(401, "invalid_client", "client_assertion_type must be "+assertionType)
		}
		if id == "" {
			if j, err := jose.Parse(assertion); err == nil {
				if c, err := j.Claims(); err == nil {
					id = c.Subject
				}
			}
		}
	}
	if id == "" {
		return nil, oerr(401, "invalid_client", "no client authentication and no client_id")
	}
	c, err := p.client(ctx, id)
	if errors.Is(err, errUnknownClient) {
		return nil, oerr(401, "invalid_client", "unknown client_id")
	}
	if err != nil {
		return nil, err
	}
	ac := &authenticatedClient{Client: c}
	switch c.AuthMethod {
	case AuthSecretBasic:
		secret := basicSecret
		if !hasBasic {
			secret = form.Get("client_secret")
		}
		if secret == "" {
			return nil, oerr(401, "invalid_client", "this client authenticates with client_secret_basic")
		}
		if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(c.secretHash)) != 1 {
			return nil, oerr(401, "invalid_client", "wrong client secret")
		}
	case AuthPrivateKeyJWT:
		if assertion == "" {
			return nil, oerr(401, "invalid_client", "this client authenticates with private_key_jwt: send client_assertion")
		}
		rec, err := p.verifyAssertion(c, assertion, audiences)
		if err != nil {
			return nil, err
		}
		ac.jtis = append(ac.jtis, rec)
	case AuthNone:
		if hasBasic || assertion != "" || form.Get("client_secret") != "" {
			return nil, oerr(401, "invalid_client", "this public client has no credentials to send")
		}
	}
	return ac, nil
}

// verifyAssertion checks a private_key_jwt client assertion (RFC 7523).
func (p *Provider) verifyAssertion(c *Client, assertion string, audiences []string) (jtiRecord, error) {
	bad := func(why string) (jtiRecord, error) {
		return jtiRecord{}, oerr(401, "invalid_client", "client_assertion: "+why)
	}
	j, err := jose.Parse(assertion)
	if err != nil {
		return bad("not a compact JWS")
	}
	verified := false
	for _, k := range c.JWKS.Keys {
		if j.Header.Kid != "" && k.Kid != "" && k.Kid != j.Header.Kid {
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			continue
		}
		if j.Verify(pub, assertionAlgs...) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return bad("signature does not verify with any registered key of the client")
	}
	cl, err := j.Claims()
	if err != nil {
		return bad("payload is not a claims set")
	}
	now := p.clock.Now()
	switch {
	case cl.Issuer != c.ID || cl.Subject != c.ID:
		return bad("iss and sub must both be the client_id")
	case cl.Expiry == 0:
		return bad("exp is required")
	case cl.ID == "":
		return bad("jti is required")
	case time.Unix(cl.Expiry, 0).After(now.Add(assertionMax)):
		return bad("exp is more than 5 minutes ahead")
	}
	audOK := false
	for _, a := range cl.Audience {
		if a == p.issuer || slices.Contains(audiences, a) {
			audOK = true
		}
	}
	if !audOK {
		return bad("aud must be the issuer " + p.issuer + " or this endpoint's URL")
	}
	if err := cl.Validate(jose.Expect{Now: now, Leeway: proofSkew, RequireExpiry: true}); err != nil {
		return bad(strings.TrimPrefix(err.Error(), "jose: invalid token: "))
	}
	return jtiRecord{hash: hashSecret("assertion|" + c.ID + "|" + cl.ID), expires: time.Unix(cl.Expiry, 0).Add(proofSkew)}, nil
}

// recordJTIs stores single-use IDs in tx, in one statement; a second use is
// a replay.
func recordJTIs(ctx context.Context, tx *db.Tx, recs []jtiRecord, replay *oauthError) error {
	err := insertJTIs(ctx, tx, recs)
	if db.IsUniqueViolation(err) {
		return replay
	}
	return err
}

// spendJTIs records single-use IDs on their own. On PostgreSQL that is one
// statement without waiting for the WAL flush: after a crash of the database
// server a proof of the last moments could be replayed within its few
// seconds of validity, and a replayed proof still needs its access token.
func (p *Provider) spendJTIs(ctx context.Context, recs []jtiRecord, replay *oauthError) error {
	if p.db.Dialect() != db.Postgres {
		return p.db.Batch(ctx, p.clock.Now(), func(tx *db.Tx) error { return recordJTIs(ctx, tx, recs, replay) })
	}
	err := insertJTIsRelaxed(ctx, p.db, recs)
	if db.IsUniqueViolation(err) {
		return replay
	}
	return err
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
