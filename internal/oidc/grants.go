package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// Grant is a relying party a citizen gave data to.
type Grant struct {
	ClientID  string
	Name      string
	Purpose   string
	Scopes    []string
	GrantedAt time.Time
}

// Grants lists the relying parties an account consented to.
func (p *Provider) Grants(ctx context.Context, accountID string) ([]Grant, error) {
	gs, err := listGrants(ctx, p.db, accountID)
	if err != nil {
		return nil, kernel.Wrap(err, "oidc: grants")
	}
	return gs, nil
}

// RevokeGrant withdraws an account's consent to a client and revokes every
// token the client holds for the account.
func (p *Provider) RevokeGrant(ctx context.Context, accountID, clientID string) error {
	return p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		n, err := deleteGrant(ctx, tx, accountID, clientID)
		if err != nil {
			return err
		}
		if n == 0 {
			return kernel.E(kernel.NotFound, "oidc.error.no_grant")
		}
		if err := revokeClientFamilies(ctx, tx, accountID, clientID); err != nil {
			return err
		}
		if p.history != nil {
			if err := p.history.Record(ctx, tx, accountID, "consent.revoked", clientID, nil); err != nil {
				return err
			}
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "oidc.consent.revoke", SubjectType: "account", SubjectID: accountID,
			Details: map[string]any{"client": clientID}})
		return err
	})
}

// Cleanup deletes expired requests, flows, codes, families with their
// refresh tokens, and single-use IDs past their window.
func (p *Provider) Cleanup(ctx context.Context) (int64, error) {
	var n int64
	err := p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		var err error
		n, err = deleteExpired(ctx, tx)
		return err
	})
	if err != nil {
		return 0, kernel.Wrap(err, "oidc: cleanup")
	}
	return n, nil
}

type logoutData struct {
	Client   string
	ClientID string
	Redirect string
	State    string
	SignedIn bool
}

// logoutForm is the end-session endpoint (RP-initiated logout 1.0): it asks
// the user to confirm, because a link alone must not sign anybody out.
func (p *Provider) logoutForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, key := p.logoutRequest(r, q.Get("id_token_hint"), q.Get("client_id"), q.Get("post_logout_redirect_uri"), q.Get("state"))
	if key != "" {
		p.pageError(w, r, key)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "logout", d)
}

func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	d, key := p.logoutRequest(r, "", r.PostFormValue("client_id"), r.PostFormValue("post_logout_redirect_uri"), r.PostFormValue("state"))
	if key != "" {
		p.pageError(w, r, key)
		return
	}
	if err := p.authn.SignOut(w, r); err != nil {
		p.web.Error(w, r, err)
		return
	}
	if d.Redirect == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := url.Values{}
	if d.State != "" {
		v.Set("state", d.State)
	}
	http.Redirect(w, r, withQuery(d.Redirect, v), http.StatusSeeOther)
}

// logoutRequest validates the logout parameters: a post-logout redirect
// must be registered for the client the ID token hint names.
func (p *Provider) logoutRequest(r *http.Request, hint, clientID, redirect, state string) (logoutData, string) {
	d := logoutData{State: state}
	if hint != "" {
		j, err := jose.Parse(hint)
		if err != nil {
			return d, "oidc.error.bad_id_token_hint"
		}
		pub, err := p.keys.verifyKey(r.Context(), j.Header.Kid)
		if err != nil || j.Verify(pub, "ES256") != nil {
			return d, "oidc.error.bad_id_token_hint"
		}
		c, err := j.Claims()
		if err != nil || c.Issuer != p.issuer || len(c.Audience) == 0 {
			return d, "oidc.error.bad_id_token_hint"
		}
		if clientID != "" && clientID != c.Audience[0] {
			return d, "oidc.error.bad_id_token_hint"
		}
		clientID = c.Audience[0]
	}
	if clientID != "" {
		c, err := p.client(r.Context(), clientID)
		if err != nil {
			return d, "oidc.error.unknown_client"
		}
		d.Client, d.ClientID = c.Name, c.ID
		// Post-logout redirect URIs are the client's registered redirect URIs.
		if redirect != "" && !slices.Contains(c.RedirectURIs, redirect) {
			return d, "oidc.error.redirect_mismatch"
		}
		d.Redirect = redirect
	} else if redirect != "" {
		return d, "oidc.error.redirect_mismatch"
	}
	_, err := p.authn.Current(r)
	d.SignedIn = err == nil
	return d, ""
}
