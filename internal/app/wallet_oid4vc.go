package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/wallet"
)

// mountOpenID4VC mounts the OpenID4VCI issuer and the OpenID4VP verifier,
// both on the civitas OpenID Provider: the wallet's credential scopes (for
// the authorization code flow), the issuer's metadata, nonce and credential
// endpoints, the verifier's endpoints, and GET /wallet/offer/{id}, where
// the signed-in holder gets a credential offer of one of their documents.
func (a *App) mountOpenID4VC() error {
	cat := a.web.Catalog()
	var scopes []oidc.Scope
	for _, t := range a.wallet.Catalogue().Types() {
		if t.Holder != wallet.HolderPerson {
			continue
		}
		consent := map[string]string{}
		for _, l := range []string{"vi", "en", "ar"} {
			consent[l] = cat.T(l, "oid4vc.consent.credential", t.Name(l))
		}
		scopes = append(scopes, oidc.Scope{Name: wallet.CredentialScope(t.Code), Consent: consent, OAuthOnly: true})
	}
	if err := a.oidc.AddScopes(scopes...); err != nil {
		return err
	}
	a.wallet.MountOpenID4VCI(a.web, credentialGrants{op: a.oidc, id: a.identity, resource: a.wallet.CredentialEndpoint()})
	a.wallet.MountOpenID4VP(a.web)
	a.web.HandleFunc("GET /wallet/offer/{id}", func(w http.ResponseWriter, r *http.Request) {
		offer, err := a.offerDocument(r, r.PathValue("id"), r.URL.Query().Get("tx_code") == "1")
		if err != nil {
			a.web.Error(w, r, err)
			return
		}
		a.web.JSON(w, r, http.StatusOK, offerAnswer{URI: offer.URI, Offer: offer.Object, Configuration: offer.Configuration,
			TxCode: offer.TxCode, ExpiresAt: offer.ExpiresAt})
	})
	return nil
}

// offerAnswer is what GET /wallet/offer/{id} answers: the link to show as a
// QR code, and the transaction code to show beside it (never in the link).
type offerAnswer struct {
	URI           string          `json:"credential_offer_uri"`
	Offer         json.RawMessage `json:"credential_offer"`
	Configuration string          `json:"credential_configuration_id"`
	TxCode        string          `json:"tx_code,omitempty"`
	ExpiresAt     time.Time       `json:"expires_at"`
}

// offerDocument makes a credential offer of the signed-in person's own
// document id (never a child's or an organisation's): a pre-authorized
// code of the OpenID Provider, single use, for five minutes, with a
// transaction code when asked. The wallet pages show its URI as a QR code.
func (a *App) offerDocument(r *http.Request, id string, txCode bool) (wallet.Offer, error) {
	sess, err := a.web.Session(r)
	if err != nil {
		return wallet.Offer{}, err
	}
	if sess.AccountID == "" {
		return wallet.Offer{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	acct, err := a.identity.Account(r.Context(), sess.AccountID)
	if err != nil {
		return wallet.Offer{}, err
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: acct.ID})
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: acct.CitizenID}
	return a.wallet.OfferDocument(ctx, h, id, wallet.OfferOptions{TxCode: txCode, TxCodeDescription: a.web.T(r, "oid4vc.offer.tx_code")},
		func(ctx context.Context, details json.RawMessage, tx string) (string, time.Time, error) {
			return a.oidc.PreAuthorize(ctx, oidc.PreAuthorization{AccountID: acct.ID, ACR: sess.ACR, AuthTime: sess.AuthTime,
				Resource: a.wallet.CredentialEndpoint(), Details: details, TxCode: tx})
		})
}

// credentialGrants verifies the access tokens of credential requests: the
// OpenID Provider's tokens for the credential endpoint (pre-authorized
// codes) or with a credential scope (authorization code flow), for an
// active account, whose person is the holder.
type credentialGrants struct {
	op       *oidc.Provider
	id       *identity.Service
	resource string
}

var _ wallet.CredentialGrants = credentialGrants{}

func (g credentialGrants) CredentialGrant(r *http.Request) (wallet.CredentialGrant, error) {
	rt, err := g.op.VerifyResourceToken(r, g.resource)
	if err != nil {
		if code, desc, ok := oidc.OAuthError(err); ok {
			return wallet.CredentialGrant{}, &wallet.ProtocolError{Status: http.StatusUnauthorized, Code: code, Description: desc}
		}
		return wallet.CredentialGrant{}, err
	}
	acct, err := g.id.Account(r.Context(), rt.AccountID)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && acct.Status != identity.StatusActive {
		return wallet.CredentialGrant{}, &wallet.ProtocolError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the account is not active"}
	}
	if err != nil {
		return wallet.CredentialGrant{}, err
	}
	return wallet.CredentialGrant{AccountID: acct.ID, Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: acct.CitizenID},
		Offer: rt.Details, Scopes: rt.Scopes}, nil
}
