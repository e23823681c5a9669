package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// ownScopes are the scopes a client may be registered for and get for its
// own account with the client_credentials grant (RFC 6749 §4.4): what an
// agency's system does as the agency, never anything of a citizen's
// account. wallet.issue issues documents as the client's agency (so it
// needs one); wallet.query asks whether a person holds a document;
// exchange.query queries the registries through the data exchange as the
// client's agency (so it needs one too).
var ownScopes = []string{"wallet.issue", "wallet.query", "exchange.query"}

// scopesNeedingAgency are own scopes only a client bound to an agency may have.
var scopesNeedingAgency = []string{"wallet.issue", "exchange.query"}

// clientTokenTTL is the life of a client's own access token: short, since
// the client can ask again at any time with its credentials.
const clientTokenTTL = 10 * time.Minute

// validateOwnAccess checks a client's agency and own scopes: known scopes
// only, a confidential client only, an agency where a scope needs one.
func (c *Client) validateOwnAccess() error {
	if c.Agency != "" && (len(c.Agency) > 64 || strings.ContainsAny(c.Agency, " \t\r\n")) {
		return kernel.E(kernel.Invalid, "oidcclient.error.bad_agency")
	}
	var seen []string
	for _, s := range c.Scopes {
		if !slices.Contains(ownScopes, s) {
			return kernel.E(kernel.Invalid, "oidcclient.error.bad_scope", s)
		}
		if slices.Contains(scopesNeedingAgency, s) && c.Agency == "" {
			return kernel.E(kernel.Invalid, "oidcclient.error.scope_needs_agency", s)
		}
		if !slices.Contains(seen, s) {
			seen = append(seen, s)
		}
	}
	c.Scopes = seen
	if len(c.Scopes) > 0 && c.AuthMethod == AuthNone {
		return kernel.E(kernel.Invalid, "oidcclient.error.public_client")
	}
	return nil
}

// clientCredentials is the client_credentials grant: a confidential client,
// authenticated by private_key_jwt or client_secret_basic, gets an access
// token for itself with scopes it is registered for (all of them when it
// names none). No refresh token and no ID token: it asks again when the
// token expires. The token belongs to a family of its own (with no account)
// so that VerifyAccessToken treats it as any other, and the grant is
// audited as the client's act.
func (p *Provider) clientCredentials(ctx context.Context, ac *authenticatedClient, proof *dpopProof, jtis []jtiRecord, scope string) (tokenResponse, error) {
	if ac.AuthMethod == AuthNone {
		return tokenResponse{}, oerr(400, "unauthorized_client", "client_credentials is for confidential clients (private_key_jwt or client_secret_basic)")
	}
	if len(ac.Scopes) == 0 {
		return tokenResponse{}, oerr(400, "unauthorized_client", "this client is not registered for the client_credentials grant")
	}
	var scopes []string
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(ac.Scopes, s) {
			return tokenResponse{}, oerr(400, "invalid_scope", "this client is not registered for scope "+s)
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		scopes = ac.Scopes
	}
	fam := family{id: kernel.NewID(), clientID: ac.ID, data: grantData{Scope: strings.Join(scopes, " ")}}
	if proof != nil {
		fam.jkt = proof.jkt
	}
	gd, err := json.Marshal(fam.data)
	if err != nil {
		return tokenResponse{}, kernel.Wrap(err, "oidc: client credentials")
	}
	now := p.clock.Now()
	actx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorClient, ID: ac.ID, OnBehalfOf: agencyActor(ac.Agency)})
	err = p.db.Batch(actx, now, func(tx *db.Tx) error {
		if err := recordJTIs(actx, tx, jtis, errReplay); err != nil {
			return err
		}
		if err := insertFamily(actx, tx, fam, string(gd), clientTokenTTL); err != nil {
			return err
		}
		return audit.Queue(actx, tx, audit.Entry{Action: "oidc.client_credentials", SubjectType: "oidc_client", SubjectID: ac.ID,
			Details: map[string]any{"scope": fam.data.Scope, "agency": ac.Agency, "family": fam.id, "dpop": fam.jkt != ""}})
	})
	if err != nil {
		return tokenResponse{}, err
	}
	key, err := p.keys.signer(ctx)
	if err != nil {
		return tokenResponse{}, err
	}
	// RFC 9068 §2.2: without a resource owner, sub is the client.
	at := accessClaims{
		Claims: jose.Claims{Issuer: p.issuer, Subject: ac.ID, Audience: jose.Audience{p.issuer}, IssuedAt: now.Unix(),
			Expiry: now.Add(clientTokenTTL).Unix(), ID: kernel.NewID()},
		ClientID: ac.ID, Scope: fam.data.Scope, Family: fam.id,
	}
	tokenType := "Bearer"
	if fam.jkt != "" {
		at.Cnf = map[string]string{"jkt": fam.jkt}
		tokenType = "DPoP"
	}
	access, err := jose.SignJSON(key.priv, jose.Header{Alg: "ES256", Typ: "at+jwt", Kid: key.kid}, at)
	if err != nil {
		return tokenResponse{}, kernel.Wrap(err, "oidc: sign access token")
	}
	return tokenResponse{AccessToken: access, TokenType: tokenType, ExpiresIn: int(clientTokenTTL / time.Second), Scope: fam.data.Scope}, nil
}

// agencyActor names the agency a client acts for, as audit records say it.
func agencyActor(code string) string {
	if code == "" {
		return ""
	}
	return "agency:" + code
}

// ClientToken is a verified access token a client got for itself with the
// client_credentials grant.
type ClientToken struct {
	ClientID string
	Agency   string // the agency the client is bound to, or ""
	Scopes   []string
}

// HasScope reports whether the token carries scope.
func (t ClientToken) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// VerifyClientToken checks the access token of an API request as
// VerifyAccessToken does, and that it is a client's own token (not one a
// person granted): the APIs agencies call with their client credentials.
// The agency comes from the client's registration, and the scopes are
// those the client is still registered for.
func (p *Provider) VerifyClientToken(r *http.Request) (ClientToken, error) {
	ti, err := p.VerifyAccessToken(r)
	if err != nil {
		return ClientToken{}, err
	}
	if ti.AccountID != "" || ti.ClientID == "" || ti.Subject != ti.ClientID {
		return ClientToken{}, oerr(401, "invalid_token", "this access token was granted by a person; use a token of the client_credentials grant")
	}
	c, err := p.client(r.Context(), ti.ClientID)
	if errors.Is(err, errUnknownClient) {
		return ClientToken{}, oerr(401, "invalid_token", "the client of this access token is not registered")
	}
	if err != nil {
		return ClientToken{}, err
	}
	var scopes []string
	for _, s := range ti.Scopes {
		if slices.Contains(c.Scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return ClientToken{ClientID: c.ID, Agency: c.Agency, Scopes: scopes}, nil
}
