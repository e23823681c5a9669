package oidc

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// PreAuthorizedCodeGrant is the grant type of OpenID4VCI §3.5: a person
// signed in here makes a credential offer with a pre-authorized code, and
// their wallet app redeems it at the token endpoint without logging in.
const PreAuthorizedCodeGrant = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

// Limits of pre-authorized codes.
const (
	preAuthTTL        = 5 * time.Minute
	maxTxCodeFailures = 3 // wrong transaction codes before the code dies
)

// PreAuthorization is what a pre-authorized code grants.
type PreAuthorization struct {
	AccountID string    // whose grant it is: the person signed in
	ACR       string    // the assurance of their login
	AuthTime  time.Time // when they logged in
	// Resource is the URL of the one resource server the access token is
	// good at: its only audience, so that no other API of the provider
	// (userinfo, signing) takes it.
	Resource string
	// Details are the caller's, opaque to the provider (JSON): handed back
	// with the token by VerifyResourceToken.
	Details json.RawMessage
	// TxCode, when set, is the transaction code the person reads from the
	// page and types into the wallet (OpenID4VCI §3.5): a stolen offer
	// alone is then not enough.
	TxCode string
	TTL    time.Duration // default and at most 5 minutes
}

// PreAuthorize makes a single-use pre-authorized code; only its hash is
// stored.
func (p *Provider) PreAuthorize(ctx context.Context, pa PreAuthorization) (string, time.Time, error) {
	if pa.AccountID == "" || pa.Resource == "" || !json.Valid(pa.Details) {
		return "", time.Time{}, errors.New("oidc: pre-authorize: AccountID, Resource and JSON Details are required")
	}
	ttl := pa.TTL
	if ttl <= 0 || ttl > preAuthTTL {
		ttl = preAuthTTL
	}
	code := kernel.NewToken()
	txHash := ""
	if pa.TxCode != "" {
		txHash = hashSecret(code + "|" + pa.TxCode)
	}
	var expires time.Time
	err := p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		expires = tx.Now.Add(ttl)
		return insertPreAuth(ctx, tx, hashSecret(code), pa, txHash, expires)
	})
	if err != nil {
		return "", time.Time{}, kernel.Wrap(err, "oidc: pre-authorize")
	}
	return code, expires, nil
}

// preAuthGrantData is the grant data of a family made by a pre-authorized
// code: the login's, and the caller's details.
type preAuthGrantData struct {
	grantData
	Resource string          `json:"resource"`
	Details  json.RawMessage `json:"details"`
}

// preAuthorizedToken is the token endpoint for the pre-authorized code
// grant. The wallet need not authenticate (its code is the credential); a
// DPoP proof, when sent, binds the access token to the wallet's key.
func (p *Provider) preAuthorizedToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code, txCode := r.PostForm.Get("pre-authorized_code"), r.PostForm.Get("tx_code")
	if code == "" {
		p.writeOAuthError(w, r, oerr(400, "invalid_request", "pre-authorized_code is required"))
		return
	}
	proof, err := p.verifyDPoP(r, p.endpoint("/oauth/token"), "")
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	var fam family
	var gd preAuthGrantData
	var refusal *oauthError
	err = p.db.Batch(ctx, p.clock.Now(), func(tx *db.Tx) error {
		refusal = nil
		c, err := findPreAuth(ctx, tx, hashSecret(code))
		fam.accountID, gd.Resource, gd.ACR = c.accountID, c.resource, c.acr
		switch {
		case errors.Is(err, sql.ErrNoRows):
			refusal = oerr(400, "invalid_grant", "unknown or expired pre-authorized code")
			return nil
		case err != nil:
			return err
		case c.used != 0:
			// A code used twice was copied: what its first use got is revoked.
			refusal = oerr(400, "invalid_grant", "the pre-authorized code was already used; the tokens issued for it are revoked")
			return revokeFamily(ctx, tx, c.familyID, "pre-authorized code replay")
		case c.expires <= kernel.Micros(tx.Now):
			refusal = oerr(400, "invalid_grant", "the pre-authorized code expired")
			return nil
		case c.txHash != "" && txCode == "":
			refusal = oerr(400, "invalid_request", "tx_code is required for this pre-authorized code")
			return nil
		case c.txHash != "" && subtle.ConstantTimeCompare([]byte(hashSecret(code+"|"+txCode)), []byte(c.txHash)) != 1:
			// Kept: the failure counts even though the request fails.
			failures := c.failures + 1
			refusal = oerr(400, "invalid_grant", "wrong tx_code")
			if failures >= maxTxCodeFailures {
				refusal = oerr(400, "invalid_grant", "wrong tx_code too many times; ask for a new offer")
			}
			return failPreAuth(ctx, tx, hashSecret(code), failures, failures >= maxTxCodeFailures)
		}
		if proof != nil {
			fam.jkt = proof.jkt
			if err := recordJTIs(ctx, tx, []jtiRecord{proof.jti}, errReplay); err != nil {
				return err
			}
		}
		gd.AuthTime, gd.Details = c.authTime, json.RawMessage(c.details)
		b, err := json.Marshal(gd)
		if err != nil {
			return err
		}
		fam.id, fam.data = kernel.NewID(), gd.grantData
		if err := spendPreAuth(ctx, tx, hashSecret(code), fam.id); err != nil {
			return err
		}
		// The family lives as long as its one access token: no refresh.
		return insertFamily(ctx, tx, fam, string(b), accessTTL)
	})
	if err == nil && refusal != nil {
		err = refusal
	}
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	resp, err := p.resourceToken(ctx, fam, gd.Resource)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	p.web.JSON(w, r, http.StatusOK, resp)
}

// resourceToken signs an access token whose only audience is resource.
func (p *Provider) resourceToken(ctx context.Context, fam family, resource string) (tokenResponse, error) {
	key, err := p.keys.signer(ctx)
	if err != nil {
		return tokenResponse{}, err
	}
	now := p.clock.Now()
	at := accessClaims{
		Claims: jose.Claims{Issuer: p.issuer, Subject: p.subject(resource, fam.accountID), Audience: jose.Audience{resource},
			IssuedAt: now.Unix(), Expiry: now.Add(accessTTL).Unix(), ID: kernel.NewID()},
		ACR: fam.data.ACR, AuthTime: fam.data.AuthTime, Family: fam.id,
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
	return tokenResponse{AccessToken: access, TokenType: tokenType, ExpiresIn: int(accessTTL / time.Second)}, nil
}

// ResourceToken is an access token verified for a resource server.
type ResourceToken struct {
	TokenInfo
	// Details are those of the PreAuthorization the token was issued for;
	// nil for an ordinary token of the provider (authorization code flow).
	Details json.RawMessage
}

// VerifyResourceToken checks the access token of a request to the
// resource server at resource (its URL): either a token minted for that
// resource alone from a pre-authorized code, or an ordinary token of the
// provider, whose scopes the resource server then checks. Both are checked
// as VerifyAccessToken does (signature, expiry, grant, DPoP binding).
func (p *Provider) VerifyResourceToken(r *http.Request, resource string) (ResourceToken, error) {
	audience := p.issuer
	if _, tok, _ := strings.Cut(r.Header.Get("Authorization"), " "); tok != "" {
		// Only routes the token to its check: nothing here is trusted yet.
		if j, err := jose.Parse(strings.TrimSpace(tok)); err == nil {
			if c, err := j.Claims(); err == nil && slices.Contains(c.Audience, resource) {
				audience = resource
			}
		}
	}
	ti, err := p.verifyAccessToken(r, audience)
	if err != nil || audience == p.issuer {
		return ResourceToken{TokenInfo: ti}, err
	}
	raw, err := findFamilyGrantData(r.Context(), p.db, ti.family)
	if err != nil {
		return ResourceToken{}, kernel.Wrap(err, "oidc: read grant")
	}
	var gd preAuthGrantData
	if err := json.Unmarshal([]byte(raw), &gd); err != nil || gd.Resource != resource {
		return ResourceToken{}, oerr(401, "invalid_token", "the access token is not for this resource")
	}
	return ResourceToken{TokenInfo: ti, Details: gd.Details}, nil
}

// OAuthError returns the protocol error code and its description when err
// is a protocol error for the client (IsOAuthError), for a resource server
// to answer with (RFC 6750 §3).
func OAuthError(err error) (code, description string, ok bool) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		return "", "", false
	}
	return oe.Code, oe.Description, true
}
