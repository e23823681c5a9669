package app

import (
	"context"
	"net/http"
	"net/url"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/registry"
	"civitas/internal/web"
)

// oidcLogin is the login side as the OpenID Provider sees it: web sessions
// made by the identity pages.
type oidcLogin struct {
	web *web.Server
	id  *identity.Service
}

var _ oidc.Authenticator = oidcLogin{}

func (o oidcLogin) Current(r *http.Request) (oidc.Login, error) {
	sess, err := o.web.Session(r)
	if err != nil {
		return oidc.Login{}, err
	}
	if sess.AccountID == "" {
		return oidc.Login{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	return oidc.Login{AccountID: sess.AccountID, ACR: sess.ACR, AMR: sess.AMR, AuthTime: sess.AuthTime, SessionID: sess.ID()}, nil
}

func (o oidcLogin) LoginURL(next, acr string, force bool) string {
	q := url.Values{"next": {next}}
	if acr != "" {
		q.Set("acr", acr)
	}
	if force {
		q.Set("force", "1")
	}
	return "/login?" + q.Encode()
}

func (o oidcLogin) SignOut(w http.ResponseWriter, r *http.Request) error { return o.web.SignOut(w, r) }

// oidcDirectory gives the provider the claims: the account and the
// population registry's entry.
type oidcDirectory struct {
	id  *identity.Service
	reg *registry.Service
}

var _ oidc.Directory = oidcDirectory{}

func (d oidcDirectory) Account(ctx context.Context, accountID string) (oidc.Account, error) {
	a, err := d.id.Account(ctx, accountID)
	if err != nil {
		return oidc.Account{}, err
	}
	p, err := d.reg.Person(ctx, a.CitizenID)
	if err != nil {
		return oidc.Account{}, err
	}
	return oidc.Account{ID: a.ID, CitizenID: a.CitizenID, Name: p.FullName, BirthDate: p.BirthDate, Phone: a.Phone,
		Level: a.Level, Active: a.Status == identity.StatusActive}, nil
}

// connectedApps shows the provider's grants on the account page.
type connectedApps struct{ p *oidc.Provider }

var _ identity.Apps = connectedApps{}

func (c connectedApps) Grants(ctx context.Context, accountID string) ([]identity.App, error) {
	gs, err := c.p.Grants(ctx, accountID)
	out := make([]identity.App, len(gs))
	for i, g := range gs {
		out[i] = identity.App{ClientID: g.ClientID, Name: g.Name, Purpose: g.Purpose, Scopes: g.Scopes, GrantedAt: g.GrantedAt}
	}
	return out, err
}

func (c connectedApps) RevokeGrant(ctx context.Context, accountID, clientID string) error {
	return c.p.RevokeGrant(ctx, accountID, clientID)
}
