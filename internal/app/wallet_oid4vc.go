package app

import (
	"context"
	"crypto"
	"encoding/json"
	"net/http"
	"time"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oid4vc"
	"civitas/internal/oidc"
	"civitas/internal/sdjwt"
	"civitas/internal/sealed"
	"civitas/internal/wallet"
)

// mountOpenID4VC mounts the OpenID4VCI issuer and the OpenID4VP verifier,
// both on the civitas OpenID Provider: the wallet's credential scopes (for
// the authorization code flow), the issuer's metadata, nonce and credential
// endpoints, the verifier's endpoints, and GET /wallet/offer/{id}, where
// the signed-in holder gets a credential offer of one of their documents.
func (a *App) mountOpenID4VC(box *sealed.Box) error {
	var err error
	a.oid4vc, err = oid4vc.New(oid4vc.Options{DB: a.db, Clock: a.clock, Box: box, Issuer: a.cfg.PublicURL,
		Wallet: oid4vcWallet{w: a.wallet, clock: a.clock}, Logger: a.log})
	if err != nil {
		return err
	}
	cat := a.web.Catalog()
	var scopes []oidc.Scope
	for _, t := range a.oid4vc.Types() {
		if !t.Person {
			continue
		}
		consent := map[string]string{}
		for l, name := range t.Names {
			consent[l] = cat.T(l, "oid4vc.consent.credential", name)
		}
		scopes = append(scopes, oidc.Scope{Name: oid4vc.CredentialScope(t.Code), Consent: consent, OAuthOnly: true})
	}
	if err := a.oidc.AddScopes(scopes...); err != nil {
		return err
	}
	a.oid4vc.MountIssuer(a.web, credentialGrants{op: a.oidc, id: a.identity, resource: a.oid4vc.CredentialEndpoint()})
	a.oid4vc.MountVerifier(a.web)
	a.web.HandleFunc("GET /wallet/offer/{id}", func(w http.ResponseWriter, r *http.Request) {
		offer, err := a.offer(r, r.PathValue("id"), r.URL.Query().Get("tx_code") == "1")
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

// offer makes a credential offer of the signed-in person's own document id
// (never a child's or an organisation's): a pre-authorized code of the
// OpenID Provider, single use, for five minutes, with a transaction code
// when asked. The session middleware names the person as the actor.
func (a *App) offer(r *http.Request, id string, txCode bool) (oid4vc.Offer, error) {
	sess, err := a.web.Session(r)
	if err != nil {
		return oid4vc.Offer{}, err
	}
	if sess.AccountID == "" {
		return oid4vc.Offer{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	acct, err := a.identity.Account(r.Context(), sess.AccountID)
	if err != nil {
		return oid4vc.Offer{}, err
	}
	return a.oid4vc.OfferDocument(r.Context(), acct.CitizenID, id, oid4vc.OfferOptions{TxCode: txCode, TxCodeDescription: a.web.T(r, "oid4vc.offer.tx_code")},
		func(ctx context.Context, details json.RawMessage, tx string) (string, time.Time, error) {
			return a.oidc.PreAuthorize(ctx, oidc.PreAuthorization{AccountID: acct.ID, ACR: sess.ACR, AuthTime: sess.AuthTime,
				Resource: a.oid4vc.CredentialEndpoint(), Details: details, TxCode: tx})
		})
}

// offerDocument is offer as the wallet's pages show it (wallet.OfferFunc).
func (a *App) offerDocument(r *http.Request, id string, txCode bool) (wallet.Offer, error) {
	o, err := a.offer(r, id, txCode)
	if err != nil {
		return wallet.Offer{}, err
	}
	return wallet.Offer{URI: o.URI, TxCode: o.TxCode, ExpiresAt: o.ExpiresAt}, nil
}

// oid4vcWallet gives OpenID4VC the wallet: its types, a person's
// documents, copies bound to a wallet app's key, and the check of a
// presented document.
type oid4vcWallet struct {
	w     *wallet.Service
	clock kernel.Clock
}

var _ oid4vc.Wallet = oid4vcWallet{}

// walletLanguages are those the types' names and labels are given in.
var walletLanguages = []string{"vi", "en", "ar"}

func (o oid4vcWallet) Types() []oid4vc.Type {
	var out []oid4vc.Type
	for _, t := range o.w.Catalogue().Types() {
		ot := oid4vc.Type{Code: t.Code, VCT: o.w.VCT(t.Code), Person: t.Holder == wallet.HolderPerson, Names: map[string]string{}}
		for _, l := range walletLanguages {
			ot.Names[l] = t.Name(l)
		}
		for _, c := range t.Claims {
			oc := oid4vc.Claim{Name: c.Name, Required: c.Required, Labels: map[string]string{}}
			for _, l := range walletLanguages {
				oc.Labels[l] = t.Label(c.Name, l)
			}
			ot.Claims = append(ot.Claims, oc)
		}
		out = append(out, ot)
	}
	return out
}

func person(citizenID string) wallet.Holder {
	return wallet.Holder{Kind: wallet.HolderPerson, ID: citizenID}
}

func (o oid4vcWallet) document(d wallet.Document) oid4vc.Document {
	return oid4vc.Document{ID: d.ID, Type: d.Type, Agency: d.Agency, Valid: d.Valid(o.clock.Now())}
}

func (o oid4vcWallet) Document(ctx context.Context, citizenID, id string) (oid4vc.Document, error) {
	d, err := o.w.Document(ctx, person(citizenID), id)
	if err != nil {
		return oid4vc.Document{}, err
	}
	return o.document(d.Document), nil
}

func (o oid4vcWallet) NewestValid(ctx context.Context, citizenID, typeCode string) (oid4vc.Document, error) {
	d, err := o.w.NewestValid(ctx, person(citizenID), typeCode)
	if err != nil {
		return oid4vc.Document{}, err
	}
	return o.document(d), nil
}

func (o oid4vcWallet) IssueCopy(ctx context.Context, citizenID, id string, key crypto.PublicKey) (string, error) {
	cred, _, err := o.w.IssueCopy(ctx, person(citizenID), id, key)
	return cred, err
}

func (o oid4vcWallet) Verify(ctx context.Context, presentation string, kb *sdjwt.ExpectKeyBinding) (oid4vc.Presented, error) {
	v, err := o.w.Verify(ctx, presentation, kb)
	if err != nil {
		return oid4vc.Presented{}, err
	}
	return oid4vc.Presented{Type: v.Type.Code, Agency: v.Agency, Claims: v.Claims, IssuedAt: v.IssuedAt, ExpiresAt: v.ExpiresAt,
		Status: v.Status, KeyBound: v.KeyBound}, nil
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

var _ oid4vc.CredentialGrants = credentialGrants{}

func (g credentialGrants) CredentialGrant(r *http.Request) (oid4vc.CredentialGrant, error) {
	rt, err := g.op.VerifyResourceToken(r, g.resource)
	if err != nil {
		if code, desc, ok := oidc.OAuthError(err); ok {
			return oid4vc.CredentialGrant{}, &oid4vc.ProtocolError{Status: http.StatusUnauthorized, Code: code, Description: desc}
		}
		return oid4vc.CredentialGrant{}, err
	}
	acct, err := g.id.Account(r.Context(), rt.AccountID)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && acct.Status != identity.StatusActive {
		return oid4vc.CredentialGrant{}, &oid4vc.ProtocolError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "the account is not active"}
	}
	if err != nil {
		return oid4vc.CredentialGrant{}, err
	}
	return oid4vc.CredentialGrant{AccountID: acct.ID, CitizenID: acct.CitizenID, Offer: rt.Details, Scopes: rt.Scopes}, nil
}
