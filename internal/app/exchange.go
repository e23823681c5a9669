package app

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"net/http"
	"strings"
	"sync"
	"time"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/exchange"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// The exchange's adapters: the trust services seal its receipts and
// certify its peer listener, the OpenID Provider verifies its consumers'
// tokens, the e-ID names the person and the guardian of the data-use page
// and the posts of the desk; the wallet writes its holdings queries to its
// log.
var (
	_ exchange.Seals     = exchangeSeals{}
	_ exchange.APITokens = exchangeTokens{}
	_ exchange.Accounts  = exchangeAccounts{}
	_ exchange.Officials = exchangeOfficials{}
	_ exchange.Stamper   = pki.Stamper(nil)
	_ wallet.UseLog      = (*exchange.Service)(nil)
)

// OpenExchange builds the data exchange on the registry and the trust
// services (ca nil: no receipts, for commands that only grant and list).
func OpenExchange(d *db.DB, clock kernel.Clock, reg *registry.Service, ca *pki.Service, cfg config.Config) (*exchange.Service, error) {
	o := exchange.Options{DB: d, Clock: clock, Registry: reg, PublicURL: cfg.PublicURL, PeerAddr: cfg.PeerAddr}
	if ca != nil {
		o.Seals = exchangeSeals{ca}
		o.PeerCerts = &peerCerts{ca: ca, d: d, clock: clock}
	}
	return exchange.New(o)
}

// mountExchange serves the exchange's API, the data-use page and the desk.
func (a *App) mountExchange() error {
	return a.exchange.Mount(a.web, exchange.MountOptions{Tokens: newExchangeTokens(a.oidc, a.clock), Accounts: exchangeAccounts{a.identity},
		Officials: exchangeOfficials{a.identity}})
}

// exchangeSeals signs receipts with the provider agency's seal.
type exchangeSeals struct{ ca *pki.Service }

func (s exchangeSeals) Seal(ctx context.Context, agency string) (crypto.Signer, []*x509.Certificate, error) {
	return s.ca.Seal(ctx, agency)
}

// exchangeTokens verifies consumers' access tokens: tokens they got for
// themselves (client_credentials), bound to their client's agency. An
// agency's system sends one token with thousands of queries; a token
// verified is remembered for tokenMemory, so the signature and the
// provider's two reads are paid once a second per token, not per query.
// The exchange's own grants are read at every query all the same.
type exchangeTokens struct {
	op    *oidc.Provider
	clock kernel.Clock
	mu    *sync.Mutex
	known map[[32]byte]knownToken
}

// tokenMemory is how long a verified token is taken on trust. A client's
// token is revoked only by its expiry (10 minutes) or the client's
// registration changing, which then holds within this time.
const tokenMemory = time.Second

type knownToken struct {
	client exchange.APIClient
	until  time.Time
}

func newExchangeTokens(op *oidc.Provider, clock kernel.Clock) exchangeTokens {
	return exchangeTokens{op: op, clock: clock, mu: &sync.Mutex{}, known: map[[32]byte]knownToken{}}
}

func (t exchangeTokens) Verify(r *http.Request) (exchange.APIClient, error) {
	authz := r.Header.Get("Authorization")
	key := sha256.Sum256([]byte(authz))
	now := t.clock.Now()
	// A DPoP-bound token proves its key per request: never taken on trust.
	remember := strings.HasPrefix(authz, "Bearer ") && r.Header.Get("DPoP") == ""
	if remember {
		t.mu.Lock()
		k, ok := t.known[key]
		t.mu.Unlock()
		if ok && now.Before(k.until) {
			return k.client, nil
		}
	}
	ct, err := t.op.VerifyClientToken(r)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Internal && !oidc.IsOAuthError(err) {
			return exchange.APIClient{}, err
		}
		return exchange.APIClient{}, kernel.E(kernel.Unauthenticated, "walletapi.error.token").WithCause(err)
	}
	c := exchange.APIClient{ID: ct.ClientID, Agency: ct.Agency, Scopes: ct.Scopes}
	if remember {
		t.mu.Lock()
		if len(t.known) >= 4096 {
			clear(t.known) // rare: more live tokens than agencies' systems
		}
		t.known[key] = knownToken{client: c, until: now.Add(tokenMemory)}
		t.mu.Unlock()
	}
	return c, nil
}

// exchangeAccounts names the person of an account and their children.
type exchangeAccounts struct{ id *identity.Service }

func (a exchangeAccounts) CitizenOf(ctx context.Context, accountID string) (string, error) {
	acct, err := a.id.Account(ctx, accountID)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && acct.Status != identity.StatusActive {
		return "", kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	if err != nil {
		return "", err
	}
	return acct.CitizenID, nil
}

func (a exchangeAccounts) Dependents(ctx context.Context, accountID string) ([]exchange.Dependent, error) {
	deps, err := a.id.Dependents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]exchange.Dependent, len(deps))
	for i, d := range deps {
		out[i] = exchange.Dependent{CitizenID: d.Person.CitizenID, Name: d.Person.FullName}
	}
	return out, nil
}

// exchangeOfficials gives the desk an account's posts.
type exchangeOfficials struct{ id *identity.Service }

func (o exchangeOfficials) Posts(ctx context.Context, accountID string) ([]exchange.Post, error) {
	posts, err := o.id.Posts(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]exchange.Post, len(posts))
	for i, p := range posts {
		out[i] = exchange.Post{Agency: p.Agency, Role: p.Role}
	}
	return out, nil
}

// laterUseLog is the data-use log for capabilities built before the
// exchange that keeps it (the e-ID's desk, the OpenID Provider's claims):
// it writes to the exchange once the app has built it.
type laterUseLog struct{ a *App }

var (
	_ identity.UseLog = laterUseLog{}
	_ oidc.UseLog     = laterUseLog{}
)

func (l laterUseLog) Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error {
	if l.a.exchange == nil {
		return kernel.E(kernel.Unavailable, "error.unavailable")
	}
	return l.a.exchange.Record(ctx, tx, u)
}
