package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// subject is the pairwise subject identifier of an account for a sector
// (OpenID Connect Core §8.1): different relying parties cannot join their
// records on it.
func (p *Provider) subject(sector, accountID string) string {
	m := hmac.New(sha256.New, p.pairKey)
	m.Write([]byte(sector + "|" + accountID))
	return b64(m.Sum(nil))
}

// tokenResponse is RFC 6749 §5.1 with the ID token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// token is the token endpoint: authorization_code, refresh_token and
// client_credentials grants.
// Each grant is one write transaction: the proofs are verified in memory
// first, then the code or refresh token is spent, the new refresh token
// stored and the single-use IDs recorded together.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	if r.PostForm.Get("grant_type") == PreAuthorizedCodeGrant {
		// OpenID4VCI: the wallet redeeming the code may be anonymous (preauth.go).
		p.preAuthorizedToken(w, r)
		return
	}
	ctx := r.Context()
	endpoint := p.endpoint("/oauth/token")
	ac, err := p.authenticateClient(ctx, r, endpoint)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	proof, err := p.verifyDPoP(r, endpoint, "")
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	jtis := ac.jtis
	if proof != nil {
		jtis = append(jtis, proof.jti)
	}
	var resp tokenResponse
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		resp, err = p.exchangeCode(ctx, ac, proof, jtis, r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
	case "refresh_token":
		resp, err = p.refresh(ctx, ac, proof, jtis, r.PostForm.Get("refresh_token"))
	case "client_credentials":
		resp, err = p.clientCredentials(ctx, ac, proof, jtis, r.PostForm.Get("scope"))
	case "":
		err = oerr(400, "invalid_request", "grant_type is required")
	default:
		err = oerr(400, "unsupported_grant_type", "grant_type must be authorization_code, refresh_token or client_credentials")
	}
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	p.web.JSON(w, r, http.StatusOK, resp)
}

var errReplay = oerr(400, "invalid_dpop_proof", "DPoP proof or client assertion used before (replay)")

// errSpent rolls back a refresh whose token was spent meanwhile.
var errSpent = errors.New("refresh token already spent")

// family is a grant of tokens to one client for one login.
type family struct {
	id, clientID, accountID string
	data                    grantData
	jkt                     string
}

func (p *Provider) exchangeCode(ctx context.Context, ac *authenticatedClient, proof *dpopProof, jtis []jtiRecord, code, redirectURI, verifier string) (tokenResponse, error) {
	if code == "" || verifier == "" {
		return tokenResponse{}, oerr(400, "invalid_request", "code and code_verifier are required")
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return tokenResponse{}, oerr(400, "invalid_grant", "code_verifier must be 43 to 128 characters")
	}
	if p.db.Dialect() == db.Postgres {
		resp, err := p.exchangeInOneStatement(ctx, ac, proof, jtis, code, redirectURI, verifier)
		if !errors.Is(err, errSpent) {
			return resp, err
		}
		// Spent meanwhile, or refused: the transaction below says why (and
		// revokes on replay). The single-use IDs are already recorded.
		jtis = nil
	}
	var fam family
	var nonce, refreshToken string
	replayed := false
	err := p.db.Batch(ctx, p.clock.Now(), func(tx *db.Tx) error {
		c, err := findCode(ctx, tx, hashSecret(code))
		if errors.Is(err, sql.ErrNoRows) {
			return oerr(400, "invalid_grant", "unknown or expired code")
		}
		if err != nil {
			return err
		}
		fam.clientID, fam.accountID, nonce = c.clientID, c.accountID, c.nonce
		if fam.clientID != ac.ID {
			return oerr(400, "invalid_grant", "the code was issued to another client")
		}
		if c.used != 0 {
			// A code used twice was stolen: revoke what the first use got (RFC 6749 §4.1.2).
			replayed = true
			return revokeFamily(ctx, tx, c.familyID, "code replay")
		}
		if c.expires <= kernel.Micros(tx.Now) {
			return oerr(400, "invalid_grant", "the code expired")
		}
		if redirectURI != c.redirectURI {
			return oerr(400, "invalid_grant", "redirect_uri differs from the authorization request")
		}
		sum := sha256.Sum256([]byte(verifier))
		if b64(sum[:]) != c.challenge {
			return oerr(400, "invalid_grant", "code_verifier does not match code_challenge (S256)")
		}
		switch {
		case c.jkt != "" && proof == nil:
			return oerr(400, "invalid_dpop_proof", "the authorization request was bound to a DPoP key: send a DPoP proof")
		case c.jkt != "" && proof.jkt != c.jkt:
			return oerr(400, "invalid_dpop_proof", "the DPoP key differs from the one bound at authorization")
		}
		if proof != nil {
			fam.jkt = proof.jkt
		}
		if err := recordJTIs(ctx, tx, jtis, errReplay); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(c.grantData), &fam.data); err != nil {
			return err
		}
		fam.id = kernel.NewID()
		if err := spendCode(ctx, tx, hashSecret(code), fam.id); err != nil {
			return err
		}
		if err := insertFamily(ctx, tx, fam, c.grantData, familyTTL); err != nil {
			return err
		}
		refreshToken, err = newRefresh(ctx, tx, fam.id)
		return err
	})
	if replayed && err == nil {
		err = oerr(400, "invalid_grant", "the code was already used; the tokens issued for it are revoked")
	}
	if err != nil {
		return tokenResponse{}, err
	}
	resp, err := p.issueTokens(ctx, ac.Client, fam, nonce, true)
	resp.RefreshToken = refreshToken
	return resp, err
}

// exchangeInOneStatement is the code exchange on PostgreSQL in two round
// trips: read the code, check it here, then spend it, create the family and
// its first refresh token in one statement committed without waiting for
// the WAL flush (a crash of the database server loses at most the last
// moments' grants: their clients log in again). Anything unusual (an unknown,
// spent or mismatched code) is errSpent, for the transactional path to
// answer precisely.
func (p *Provider) exchangeInOneStatement(ctx context.Context, ac *authenticatedClient, proof *dpopProof, jtis []jtiRecord, code, redirectURI, verifier string) (tokenResponse, error) {
	c, err := peekCode(ctx, p.db, hashSecret(code))
	sum := sha256.Sum256([]byte(verifier))
	now := p.clock.Now()
	if err != nil || c.clientID != ac.ID || c.used != 0 || c.expires <= kernel.Micros(now) || redirectURI != c.redirectURI ||
		b64(sum[:]) != c.challenge || c.jkt != "" && (proof == nil || proof.jkt != c.jkt) {
		return tokenResponse{}, errSpent
	}
	fam := family{id: kernel.NewID(), clientID: c.clientID, accountID: c.accountID}
	if proof != nil {
		fam.jkt = proof.jkt
	}
	if err := json.Unmarshal([]byte(c.grantData), &fam.data); err != nil {
		return tokenResponse{}, kernel.Wrap(err, "oidc: grant data")
	}
	secret := kernel.NewToken()
	id, err := exchangeCodeRelaxed(ctx, p.db, jtis, hashSecret(code), fam, c.grantData, hashSecret(secret), now)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return tokenResponse{}, errSpent
	case db.IsUniqueViolation(err):
		return tokenResponse{}, errReplay
	case err != nil:
		return tokenResponse{}, kernel.Wrap(err, "oidc: exchange code")
	}
	resp, err := p.issueTokens(ctx, ac.Client, fam, c.nonce, true)
	resp.RefreshToken = strconv.FormatInt(id, 10) + "." + secret
	return resp, err
}

func (p *Provider) refresh(ctx context.Context, ac *authenticatedClient, proof *dpopProof, jtis []jtiRecord, token string) (tokenResponse, error) {
	if token == "" {
		return tokenResponse{}, oerr(400, "invalid_request", "refresh_token is required")
	}
	var fam family
	reused := false
	var newToken string
	unknown := oerr(400, "invalid_grant", "unknown refresh token")
	id, secret, ok := parseRefresh(token)
	if !ok {
		return tokenResponse{}, unknown
	}
	if p.db.Dialect() == db.Postgres {
		// One statement checks and rotates; only a refusal reads further to
		// say why (and to revoke the family on reuse). The single-use IDs are
		// recorded either way, so they are not recorded again below.
		fam, newToken, err := p.rot.rotate(ac.ID, proof, jtis, id, secret)
		if err == nil {
			resp, err := p.issueTokens(ctx, ac.Client, fam, "", false)
			resp.RefreshToken = newToken
			return resp, err
		}
		if !errors.Is(err, errSpent) {
			return tokenResponse{}, err
		}
		jtis = nil
	}
	// Read first, from a reader: the single writer is held only for the
	// three statements that spend the token.
	t, err := findRefresh(ctx, p.db, id)
	fam = t.fam
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return tokenResponse{}, unknown
	case err != nil:
		return tokenResponse{}, kernel.Wrap(err, "oidc: read refresh token")
	case !hmac.Equal([]byte(t.secretHash), []byte(hashSecret(secret))):
		// A wrong secret is not a reuse: guessing ids must not revoke grants.
		return tokenResponse{}, unknown
	case fam.clientID != ac.ID:
		return tokenResponse{}, oerr(400, "invalid_grant", "the refresh token was issued to another client")
	case t.revoked != 0:
		return tokenResponse{}, oerr(400, "invalid_grant", "the refresh token was revoked")
	case t.expires <= kernel.Micros(p.clock.Now()):
		return tokenResponse{}, oerr(400, "invalid_grant", "the refresh token expired; log in again")
	case fam.jkt != "" && proof == nil:
		return tokenResponse{}, oerr(400, "invalid_dpop_proof", "this refresh token is bound to a DPoP key: send a DPoP proof")
	case fam.jkt != "" && proof.jkt != fam.jkt:
		return tokenResponse{}, oerr(400, "invalid_dpop_proof", "the DPoP key differs from the one the refresh token is bound to")
	}
	if err := json.Unmarshal([]byte(t.grantData), &fam.data); err != nil {
		return tokenResponse{}, kernel.Wrap(err, "oidc: grant data")
	}
	if t.used == 0 {
		now := p.clock.Now()
		if p.db.Dialect() == db.Postgres {
			// The statement above refused for a reason this read did not see:
			// the token was spent meanwhile.
			err = errSpent
		} else {
			err = p.db.Batch(ctx, now, func(tx *db.Tx) error {
				if err := recordJTIs(ctx, tx, jtis, errReplay); err != nil {
					return err
				}
				// Spent only if unspent and the family still stands: two requests
				// racing with one token cannot both win.
				n, err := spendRefresh(ctx, tx, id, fam.id)
				if err != nil {
					return err
				}
				if n != 1 {
					return errSpent
				}
				newToken, err = newRefresh(ctx, tx, fam.id)
				return err
			})
		}
		if errors.Is(err, errSpent) {
			reused, err = true, nil
		}
	} else {
		reused = true
	}
	if reused && err == nil {
		err = p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error { return revokeFamily(ctx, tx, fam.id, "refresh token reuse") })
	}
	if reused && err == nil {
		err = oerr(400, "invalid_grant", "the refresh token was already used; every token of this grant is revoked")
	}
	if err != nil {
		return tokenResponse{}, err
	}
	resp, err := p.issueTokens(ctx, ac.Client, fam, "", false)
	resp.RefreshToken = newToken
	return resp, err
}

// newRefresh stores a new refresh token of a family and returns it:
// "<row id>.<secret>". The id finds the row (the newest rows, so a busy
// endpoint writes few pages); only the secret's hash is stored.
func newRefresh(ctx context.Context, tx *db.Tx, familyID string) (string, error) {
	secret := kernel.NewToken()
	id, err := insertRefresh(ctx, tx, hashSecret(secret), familyID)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10) + "." + secret, nil
}

// parseRefresh splits a refresh token into its row id and secret.
func parseRefresh(token string) (id int64, secret string, ok bool) {
	idPart, secret, found := strings.Cut(token, ".")
	if !found || secret == "" || idPart == "" || len(idPart) > 19 || idPart[0] == '+' || idPart[0] == '-' {
		return 0, "", false
	}
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil || id <= 0 {
		return 0, "", false
	}
	return id, secret, true
}

// revokeFamily ends a grant: its refresh tokens stop working and userinfo
// refuses its access tokens.
func revokeFamily(ctx context.Context, tx *db.Tx, familyID, why string) error {
	if familyID == "" {
		return nil
	}
	if err := markFamilyRevoked(ctx, tx, familyID); err != nil {
		return err
	}
	_, err := audit.Append(kernel.WithActor(ctx, kernel.System("oidc")), tx, audit.Entry{Action: "oidc.family.revoke",
		SubjectType: "oidc_family", SubjectID: familyID, Details: map[string]any{"reason": why}})
	return err
}

// accessClaims are the claims of an access token (RFC 9068).
type accessClaims struct {
	jose.Claims
	ClientID string            `json:"client_id"`
	Scope    string            `json:"scope"`
	ACR      string            `json:"acr"`
	AuthTime int64             `json:"auth_time"`
	Family   string            `json:"fam"`
	Cnf      map[string]string `json:"cnf,omitempty"`
}

// issueTokens signs the access token and, on a code exchange, the ID token.
func (p *Provider) issueTokens(ctx context.Context, c *Client, fam family, nonce string, first bool) (tokenResponse, error) {
	key, err := p.keys.signer(ctx)
	if err != nil {
		return tokenResponse{}, err
	}
	now := p.clock.Now()
	sub := p.subject(c.Sector, fam.accountID)
	at := accessClaims{
		Claims: jose.Claims{Issuer: p.issuer, Subject: sub, Audience: jose.Audience{p.issuer}, IssuedAt: now.Unix(),
			Expiry: now.Add(accessTTL).Unix(), ID: kernel.NewID()},
		ClientID: c.ID, Scope: fam.data.Scope, ACR: fam.data.ACR, AuthTime: fam.data.AuthTime, Family: fam.id,
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
	resp := tokenResponse{AccessToken: access, TokenType: tokenType, ExpiresIn: int(accessTTL / time.Second), Scope: fam.data.Scope}
	if first && hasScope(fam.data.Scope, "openid") { // no ID token for a plain OAuth grant (scopes.go)
		sum := sha256.Sum256([]byte(access))
		id := map[string]any{
			"iss": p.issuer, "sub": sub, "aud": c.ID, "azp": c.ID, "iat": now.Unix(), "exp": now.Add(idTokenTTL).Unix(),
			"auth_time": fam.data.AuthTime, "acr": fam.data.ACR, "at_hash": b64(sum[:16]),
		}
		if len(fam.data.AMR) > 0 {
			id["amr"] = fam.data.AMR
		}
		if nonce != "" {
			id["nonce"] = nonce
		}
		if fam.data.SID != "" {
			id["sid"] = fam.data.SID
		}
		if resp.IDToken, err = jose.SignJSON(key.priv, jose.Header{Alg: "ES256", Typ: "JWT", Kid: key.kid}, id); err != nil {
			return tokenResponse{}, kernel.Wrap(err, "oidc: sign ID token")
		}
	}
	return resp, nil
}

// TokenInfo is a verified access token, for the APIs of other capabilities.
type TokenInfo struct {
	AccountID string
	ClientID  string
	Subject   string
	Scopes    []string
	ACR       string
	AuthTime  time.Time
	family    string // the grant's family, for preauth.go
}

// HasScope reports whether the token carries scope.
func (t TokenInfo) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// VerifyAccessToken checks the access token of a resource request: the
// signature, expiry, the grant still standing, and for DPoP-bound tokens a
// fresh proof for this very request and token.
func (p *Provider) VerifyAccessToken(r *http.Request) (TokenInfo, error) {
	return p.verifyAccessToken(r, p.issuer)
}

// verifyAccessToken checks an access token whose aud must hold audience:
// the issuer for the provider's ordinary tokens, a resource's URL for the
// tokens minted for that resource alone (preauth.go).
func (p *Provider) verifyAccessToken(r *http.Request, audience string) (TokenInfo, error) {
	ctx := r.Context()
	authz := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(authz, " ")
	tok = strings.TrimSpace(tok)
	if tok == "" || !(strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP")) {
		return TokenInfo{}, oerr(401, "invalid_token", "send the access token in the Authorization header (DPoP or Bearer)")
	}
	j, err := jose.Parse(tok)
	if err != nil || j.Header.Typ != "at+jwt" {
		return TokenInfo{}, oerr(401, "invalid_token", "not an access token of this provider")
	}
	pub, err := p.keys.verifyKey(ctx, j.Header.Kid)
	if err != nil || j.Verify(pub, "ES256") != nil {
		return TokenInfo{}, oerr(401, "invalid_token", "the access token's signature does not verify")
	}
	var c accessClaims
	if err := json.Unmarshal(j.Payload, &c); err != nil {
		return TokenInfo{}, oerr(401, "invalid_token", "bad access token payload")
	}
	if err := c.Validate(jose.Expect{Issuer: p.issuer, Audience: audience, Now: p.clock.Now(), RequireExpiry: true}); err != nil {
		return TokenInfo{}, oerr(401, "invalid_token", "the access token expired or is not for this provider")
	}
	var proof *dpopProof
	if jkt := c.Cnf["jkt"]; jkt != "" {
		if !strings.EqualFold(scheme, "DPoP") {
			return TokenInfo{}, oerr(401, "invalid_token", "this access token is DPoP-bound: use the DPoP authorization scheme with a proof")
		}
		url := p.issuer + r.URL.Path
		if proof, err = p.verifyDPoP(r, url, tok); err != nil {
			return TokenInfo{}, err
		}
		if proof == nil {
			return TokenInfo{}, oerr(401, "invalid_token", "a DPoP proof is required with this access token")
		}
		if proof.jkt != jkt {
			return TokenInfo{}, oerr(401, "invalid_token", "the DPoP proof's key is not the one the token is bound to")
		}
	} else if strings.EqualFold(scheme, "DPoP") {
		return TokenInfo{}, oerr(401, "invalid_token", "this access token is not DPoP-bound: use the Bearer scheme")
	}
	accountID, revoked, expires, err := findFamilyState(ctx, p.db, c.Family)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (revoked != 0 || expires <= kernel.Micros(p.clock.Now())) {
		return TokenInfo{}, oerr(401, "invalid_token", "the grant of this access token was revoked")
	}
	if err != nil {
		return TokenInfo{}, kernel.Wrap(err, "oidc: read family")
	}
	if proof != nil {
		err := p.spendJTIs(ctx, []jtiRecord{proof.jti}, oerr(401, "invalid_dpop_proof", "DPoP proof used before (replay)"))
		if err != nil {
			return TokenInfo{}, err
		}
	}
	return TokenInfo{AccountID: accountID, ClientID: c.ClientID, Subject: c.Subject, Scopes: strings.Fields(c.Scope),
		ACR: c.ACR, AuthTime: time.Unix(c.AuthTime, 0), family: c.Family}, nil
}

// userinfo returns the claims the grant's scopes allow.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ti, err := p.VerifyAccessToken(r)
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	if ti.AccountID == "" { // a client's own token (client_credentials): nobody's claims
		p.writeOAuthError(w, r, oerr(401, "invalid_token", "this access token is not for a person"))
		return
	}
	a, err := p.dir.Account(r.Context(), ti.AccountID)
	if err != nil || !a.Active {
		p.writeOAuthError(w, r, oerr(401, "invalid_token", "the account is not active"))
		return
	}
	claims := map[string]any{"sub": ti.Subject}
	if ti.HasScope("profile") {
		claims["name"] = a.Name
		claims["birthdate"] = a.BirthDate
	}
	if ti.HasScope("phone") && a.Phone != "" {
		claims["phone_number"] = a.Phone
		claims["phone_number_verified"] = true
	}
	if ti.HasScope("email") && a.Email != "" {
		claims["email"] = a.Email
	}
	if ti.HasScope("citizen_id") {
		claims["citizen_id"] = a.CitizenID
	}
	if err := p.recordClaims(r.Context(), ti, a, claims); err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	p.web.JSON(w, r, http.StatusOK, claims)
}

// recordClaims writes the release of a person's claims to a relying party
// to the data-use log, once per userinfo answer that holds more than the
// pairwise subject: the person sees which service got which claims, when.
func (p *Provider) recordClaims(ctx context.Context, ti TokenInfo, a Account, claims map[string]any) error {
	if p.uses == nil || a.CitizenID == "" {
		return nil
	}
	fields := make([]string, 0, len(claims))
	for k := range claims {
		if k != "sub" && k != "phone_number_verified" {
			fields = append(fields, k)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	slices.Sort(fields)
	c, err := p.client(ctx, ti.ClientID)
	if err != nil {
		return err
	}
	return p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		return p.uses.Record(ctx, tx, kernel.DataUse{Subject: a.CitizenID,
			Reader: kernel.Actor{Kind: kernel.ActorClient, ID: c.ID}, Agency: c.Agency, ReaderName: c.Name,
			Channel: "oidc.claims", Service: "userinfo", Fields: fields, Purpose: "service_login"})
	})
}
