package oidc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// authRequest is a validated authorization request.
type authRequest struct {
	ClientID    string `json:"client_id"`
	RedirectURI string `json:"redirect_uri"`
	Scope       string `json:"scope"`
	State       string `json:"state,omitempty"`
	Nonce       string `json:"nonce,omitempty"`
	Challenge   string `json:"code_challenge"`
	ACR         string `json:"acr"`
	Prompt      string `json:"prompt,omitempty"`
	MaxAge      int64  `json:"max_age"` // -1: none
	DPoPJKT     string `json:"dpop_jkt,omitempty"`
	Started     int64  `json:"started"` // Unix µs the flow began
	// Consented is set once the user allowed on this flow's consent
	// screen: prompt=consent is then answered, and asking again would
	// never end.
	Consented bool `json:"consented,omitempty"`
}

func (a *authRequest) scopes() []string { return strings.Fields(a.Scope) }

func (a *authRequest) prompt(v string) bool { return slices.Contains(strings.Fields(a.Prompt), v) }

// knownScopes are the scopes a client may ask for; others are dropped.
var knownScopes = []string{"openid", "profile", "phone", "email", "citizen_id", "offline_access", "signing"}

func acrRank(acr string) int {
	switch acr {
	case kernel.ACRLevel2:
		return 2
	case kernel.ACRLevel1:
		return 1
	}
	return 0
}

// pageError renders an error the browser's user sees, never a redirect: the
// request cannot be trusted to name where to send them.
func (p *Provider) pageError(w http.ResponseWriter, r *http.Request, key string) {
	p.web.Error(w, r, kernel.E(kernel.Invalid, key))
}

// checkClientRedirect validates client_id and redirect_uri, the two
// parameters that decide whether errors may be redirected.
func (p *Provider) checkClientRedirect(ctx context.Context, clientID, redirectURI string) (*Client, string, error) {
	if clientID == "" {
		return nil, "oidc.error.no_client_id", nil
	}
	c, err := p.client(ctx, clientID)
	if errors.Is(err, errUnknownClient) {
		return nil, "oidc.error.unknown_client", nil
	}
	if err != nil {
		return nil, "", err
	}
	if redirectURI == "" && len(c.RedirectURIs) == 1 {
		redirectURI = c.RedirectURIs[0]
	}
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		return nil, "oidc.error.redirect_mismatch", nil
	}
	return c, redirectURI, nil
}

// parseRequest validates the remaining parameters of an authorization
// request for client c; its errors go back to the redirect URI.
func (p *Provider) parseRequest(q url.Values, c *Client, redirectURI string) (*authRequest, *oauthError) {
	for k, v := range q {
		if len(v) > 1 {
			return nil, oerr(400, "invalid_request", "parameter "+k+" appears more than once")
		}
	}
	req := &authRequest{ClientID: c.ID, RedirectURI: redirectURI, State: q.Get("state"), Nonce: q.Get("nonce"),
		Prompt: q.Get("prompt"), MaxAge: -1, DPoPJKT: q.Get("dpop_jkt"), ACR: kernel.ACRLevel1}
	if len(req.State) > 1024 || len(req.Nonce) > 512 {
		return nil, oerr(400, "invalid_request", "state or nonce is too long")
	}
	if q.Get("request") != "" {
		return nil, oerr(400, "request_not_supported", "request objects are not supported; use pushed authorization requests")
	}
	if rt := q.Get("response_type"); rt != "code" {
		return nil, oerr(400, "unsupported_response_type", "response_type must be code")
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return nil, oerr(400, "invalid_request", "response_mode must be query")
	}
	var scopes []string
	for _, s := range strings.Fields(q.Get("scope")) {
		if (slices.Contains(knownScopes, s) || p.addedScope(s) != nil) && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	// A wallet asking for credentials (OpenID4VCI) is an OAuth client, not
	// a relying party: it may leave openid out (scopes.go).
	if !slices.Contains(scopes, "openid") && !p.oauthOnly(scopes) {
		return nil, oerr(400, "invalid_scope", "scope must include openid")
	}
	req.Scope = strings.Join(scopes, " ")
	switch m := q.Get("code_challenge_method"); {
	case q.Get("code_challenge") == "":
		return nil, oerr(400, "invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
	case m != "S256":
		return nil, oerr(400, "invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
	}
	req.Challenge = q.Get("code_challenge")
	if len(req.Challenge) != 43 {
		return nil, oerr(400, "invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the verifier")
	}
	for _, acr := range strings.Fields(q.Get("acr_values")) {
		if acrRank(acr) > acrRank(req.ACR) {
			req.ACR = acr
		}
	}
	if ma := q.Get("max_age"); ma != "" {
		n, err := strconv.ParseInt(ma, 10, 64)
		if err != nil || n < 0 {
			return nil, oerr(400, "invalid_request", "max_age must be a number of seconds")
		}
		req.MaxAge = n
	}
	for _, pr := range strings.Fields(req.Prompt) {
		if !slices.Contains([]string{"none", "login", "consent", "select_account"}, pr) {
			return nil, oerr(400, "invalid_request", "unknown prompt value "+pr)
		}
	}
	if req.prompt("none") && len(strings.Fields(req.Prompt)) > 1 {
		return nil, oerr(400, "invalid_request", "prompt=none cannot be combined with other values")
	}
	return req, nil
}

// redirectError sends the browser back to the client with an error.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, req *authRequest, oe *oauthError) {
	v := url.Values{"error": {oe.Code}, "error_description": {oe.Description}, "iss": {p.issuer}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	http.Redirect(w, r, withQuery(req.RedirectURI, v), http.StatusSeeOther)
}

func withQuery(base string, v url.Values) string {
	u, _ := url.Parse(base) // registered URIs were parsed at registration
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// par is the pushed authorization request endpoint (RFC 9126).
func (p *Provider) par(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	ctx := r.Context()
	ac, err := p.authenticateClient(ctx, r, p.endpoint("/oauth/par"), p.endpoint("/oauth/token"))
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	if r.PostForm.Get("request_uri") != "" {
		p.writeOAuthError(w, r, oerr(400, "invalid_request", "request_uri is not allowed in a pushed request"))
		return
	}
	redirectURI := r.PostForm.Get("redirect_uri")
	if !slices.Contains(ac.RedirectURIs, redirectURI) {
		p.writeOAuthError(w, r, oerr(400, "invalid_request", "redirect_uri is not registered for this client"))
		return
	}
	req, oe := p.parseRequest(r.PostForm, ac.Client, redirectURI)
	if oe != nil {
		p.writeOAuthError(w, r, oe)
		return
	}
	proof, err := p.verifyDPoP(r, p.endpoint("/oauth/par"), "")
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	if proof != nil {
		if req.DPoPJKT != "" && req.DPoPJKT != proof.jkt {
			p.writeOAuthError(w, r, oerr(400, "invalid_dpop_proof", "dpop_jkt differs from the key of the DPoP proof"))
			return
		}
		req.DPoPJKT = proof.jkt
		ac.jtis = append(ac.jtis, proof.jti)
	}
	token := kernel.NewToken()
	params, _ := json.Marshal(req)
	err = p.db.Batch(ctx, p.clock.Now(), func(tx *db.Tx) error {
		if err := recordJTIs(ctx, tx, ac.jtis, oerr(400, "invalid_request", "client assertion or DPoP proof used before (replay)")); err != nil {
			return err
		}
		return insertRequest(ctx, tx, kindPAR, hashSecret(token), ac.ID, string(params), parTTL)
	})
	if err != nil {
		p.writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	p.web.JSON(w, r, http.StatusCreated, map[string]any{"request_uri": requestURIPrefix + token, "expires_in": int(parTTL / time.Second)})
}

// authorize is the authorization endpoint.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	var req *authRequest
	if ru := q.Get("request_uri"); ru != "" {
		var key string
		var err error
		req, key, err = p.takePAR(ctx, q.Get("client_id"), ru)
		if err != nil {
			p.web.Error(w, r, err)
			return
		}
		if key != "" {
			p.pageError(w, r, key)
			return
		}
	} else {
		c, redirectURI, err := p.checkClientRedirect(ctx, q.Get("client_id"), q.Get("redirect_uri"))
		if err != nil {
			p.web.Error(w, r, err)
			return
		}
		if c == nil {
			p.pageError(w, r, redirectURI)
			return
		}
		var oe *oauthError
		req, oe = p.parseRequest(q, c, redirectURI)
		if oe == nil && c.RequirePAR {
			oe = oerr(400, "invalid_request", "this client must use pushed authorization requests")
		}
		if oe != nil {
			p.redirectError(w, r, &authRequest{RedirectURI: redirectURI, State: q.Get("state")}, oe)
			return
		}
	}
	req.Started = kernel.Micros(p.clock.Now())
	// The flow is stored only when the browser must leave (login, consent):
	// a logged-in user who already consented gets the code at once.
	p.proceed(w, r, "", req)
}

// takePAR redeems a request_uri once. A non-empty key names a page error.
func (p *Provider) takePAR(ctx context.Context, clientID, requestURI string) (*authRequest, string, error) {
	token, ok := strings.CutPrefix(requestURI, requestURIPrefix)
	if !ok || clientID == "" {
		return nil, "oidc.error.bad_request_uri", nil
	}
	var params, owner string
	var found bool
	err := p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		var err error
		owner, params, err = findRequest(ctx, tx, kindPAR, hashSecret(token), tx.Now)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = deleteRequest(ctx, tx, hashSecret(token))
		return err
	})
	if err != nil {
		return nil, "", kernel.Wrap(err, "oidc: take PAR")
	}
	if !found || owner != clientID {
		return nil, "oidc.error.bad_request_uri", nil
	}
	var req authRequest
	if err := json.Unmarshal([]byte(params), &req); err != nil {
		return nil, "", kernel.Wrap(err, "oidc: PAR params")
	}
	return &req, "", nil
}

func (p *Provider) saveFlow(ctx context.Context, req *authRequest) (string, error) {
	token := kernel.NewToken()
	params, _ := json.Marshal(req)
	err := p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		return insertRequest(ctx, tx, kindFlow, hashSecret(token), req.ClientID, string(params), flowTTL)
	})
	if err != nil {
		return "", kernel.Wrap(err, "oidc: save flow")
	}
	return token, nil
}

func (p *Provider) loadFlow(ctx context.Context, token string) (*authRequest, error) {
	_, params, err := findRequest(ctx, p.db, kindFlow, hashSecret(token), p.clock.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.E(kernel.Invalid, "oidc.error.flow_expired")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "oidc: load flow")
	}
	var req authRequest
	if err := json.Unmarshal([]byte(params), &req); err != nil {
		return nil, kernel.Wrap(err, "oidc: flow params")
	}
	return &req, nil
}

// continueFlow is where the login page sends the browser back.
func (p *Provider) continueFlow(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("flow")
	req, err := p.loadFlow(r.Context(), token)
	if err != nil {
		p.web.Error(w, r, err)
		return
	}
	p.proceed(w, r, token, req)
}

// proceed moves a flow on: login (or step-up), consent, code. token names
// the stored flow, or is "" when it is not stored yet.
func (p *Provider) proceed(w http.ResponseWriter, r *http.Request, token string, req *authRequest) {
	ctx := r.Context()
	stored := func() bool {
		if token != "" {
			return true
		}
		var err error
		if token, err = p.saveFlow(ctx, req); err != nil {
			p.web.Error(w, r, err)
			return false
		}
		return true
	}
	login, err := p.authn.Current(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		p.web.Error(w, r, err)
		return
	}
	force := req.prompt("login")
	// A login made since the flow began answers prompt=login and max_age
	// (OpenID Connect Core §3.1.2.1), however long the user took over it:
	// comparing with the clock alone would send max_age=0 back to the
	// login page for ever.
	fresh := err == nil && !login.AuthTime.Before(kernel.FromMicros(req.Started).Truncate(time.Second))
	needLogin := err != nil || acrRank(login.ACR) < acrRank(req.ACR)
	if !needLogin && force && !fresh {
		needLogin = true
	}
	if !needLogin && req.MaxAge >= 0 && !fresh && p.clock.Now().Sub(login.AuthTime) > time.Duration(req.MaxAge)*time.Second {
		needLogin, force = true, true
	}
	var acct Account
	if !needLogin {
		acct, err = p.dir.Account(ctx, login.AccountID)
		if err != nil && kernel.ErrorCode(err) != kernel.NotFound {
			p.web.Error(w, r, err)
			return
		}
		needLogin = err != nil || !acct.Active
	}
	if needLogin {
		if req.prompt("none") {
			p.redirectError(w, r, req, oerr(400, "login_required", "the user must log in (at "+req.ACR+")"))
			return
		}
		if stored() {
			http.Redirect(w, r, p.authn.LoginURL("/oidc/continue?flow="+url.QueryEscape(token), req.ACR, force), http.StatusSeeOther)
		}
		return
	}
	granted, err := p.granted(ctx, login.AccountID, req.ClientID)
	if err != nil {
		p.web.Error(w, r, err)
		return
	}
	if req.prompt("consent") && !req.Consented || !covers(granted, req.scopes()) {
		if req.prompt("none") {
			p.redirectError(w, r, req, oerr(400, "consent_required", "the user has not consented to scope "+req.Scope))
			return
		}
		if stored() {
			p.renderConsent(w, r, token, req, acct)
		}
		return
	}
	p.issueCode(w, r, token, req, login)
}

func covers(granted, wanted []string) bool {
	for _, s := range wanted {
		if s != "openid" && s != "offline_access" && !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}

// granted returns the scopes an account granted a client.
func (p *Provider) granted(ctx context.Context, accountID, clientID string) ([]string, error) {
	scope, err := findGrantScope(ctx, p.db, accountID, clientID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, kernel.Wrap(err, "oidc: read grant")
	}
	return strings.Fields(scope), nil
}

type consentData struct {
	Flow    string
	Client  string
	Purpose string
	Claims  []string
	Level2  bool
}

// scopeClaims names, per scope, the catalogue key that says what it shares.
var scopeClaims = map[string]string{
	"openid":     "oidc.consent.claim.sub",
	"profile":    "oidc.consent.claim.profile",
	"phone":      "oidc.consent.claim.phone",
	"email":      "oidc.consent.claim.email",
	"citizen_id": "oidc.consent.claim.citizen_id",
}

func (p *Provider) renderConsent(w http.ResponseWriter, r *http.Request, token string, req *authRequest, _ Account) {
	c, err := p.client(r.Context(), req.ClientID)
	if err != nil {
		p.web.Error(w, r, kernel.E(kernel.Invalid, "oidc.error.unknown_client"))
		return
	}
	d := consentData{Flow: token, Client: c.Name, Purpose: c.Purpose, Level2: kernel.AtLeastLevel2(req.ACR)}
	for _, s := range req.scopes() {
		if key, ok := scopeClaims[s]; ok {
			d.Claims = append(d.Claims, p.web.T(r, key))
		} else if sc := p.addedScope(s); sc != nil {
			d.Claims = append(d.Claims, sc.consent(r))
		}
	}
	p.pages.Render(w, r, http.StatusOK, "consent", d)
}

// consent records the user's answer on the consent screen.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PostFormValue("flow")
	req, err := p.loadFlow(ctx, token)
	if err != nil {
		p.web.Error(w, r, err)
		return
	}
	login, err := p.authn.Current(r)
	if err != nil {
		http.Redirect(w, r, "/oidc/continue?flow="+url.QueryEscape(token), http.StatusSeeOther)
		return
	}
	if r.PostFormValue("decision") != "allow" {
		_ = p.dropFlow(ctx, token)
		p.redirectError(w, r, req, oerr(400, "access_denied", "the user declined"))
		return
	}
	req.Consented = true
	params, _ := json.Marshal(req)
	// The acting person is the session's, which the web layer names.
	err = p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		// The flow remembers the answer, should it pass the login page again.
		n, err := updateFlow(ctx, tx, hashSecret(token), string(params))
		if err != nil {
			return err
		}
		if n != 1 {
			return kernel.E(kernel.Invalid, "oidc.error.flow_expired")
		}
		old, err := findGrantScope(ctx, tx, login.AccountID, req.ClientID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = insertGrant(ctx, tx, login.AccountID, req.ClientID, req.Scope)
		case err == nil:
			merged := strings.Fields(old)
			for _, s := range req.scopes() {
				if !slices.Contains(merged, s) {
					merged = append(merged, s)
				}
			}
			err = updateGrantScope(ctx, tx, login.AccountID, req.ClientID, strings.Join(merged, " "))
		}
		if err != nil {
			return err
		}
		if p.history != nil {
			if err := p.history.Record(ctx, tx, login.AccountID, "consent.given", req.ClientID, map[string]string{"scope": req.Scope}); err != nil {
				return err
			}
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "oidc.consent.give", SubjectType: "account", SubjectID: login.AccountID,
			Details: map[string]any{"client": req.ClientID, "scope": req.Scope}})
		return err
	})
	if err != nil {
		p.web.Error(w, r, err)
		return
	}
	p.proceed(w, r, token, req)
}

func (p *Provider) dropFlow(ctx context.Context, token string) error {
	return p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		_, err := deleteRequest(ctx, tx, hashSecret(token))
		return err
	})
}

// grantData is what a code or a token family carries about the login.
type grantData struct {
	Scope    string   `json:"scope"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr,omitempty"`
	AuthTime int64    `json:"auth_time"`
	SID      string   `json:"sid,omitempty"`
}

// issueCode ends the flow with an authorization code.
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, token string, req *authRequest, login Login) {
	ctx := r.Context() // the acting person is the session's, which the web layer names
	code := kernel.NewToken()
	gd, _ := json.Marshal(grantData{Scope: req.Scope, ACR: login.ACR, AMR: login.AMR, AuthTime: login.AuthTime.Unix(), SID: login.SessionID})
	err := p.db.Batch(ctx, p.clock.Now(), func(tx *db.Tx) error {
		if token != "" {
			n, err := deleteRequest(ctx, tx, hashSecret(token))
			if err != nil {
				return err
			}
			if n != 1 {
				return kernel.E(kernel.Invalid, "oidc.error.flow_expired")
			}
		}
		if err := insertCode(ctx, tx, hashSecret(code), codeRow{clientID: req.ClientID, accountID: login.AccountID, grantData: string(gd),
			redirectURI: req.RedirectURI, challenge: req.Challenge, nonce: req.Nonce, jkt: req.DPoPJKT,
			expires: kernel.Micros(tx.Now.Add(codeTTL))}); err != nil {
			return err
		}
		if p.history == nil {
			return nil
		}
		return p.history.Record(ctx, tx, login.AccountID, "app.login", req.ClientID, map[string]string{"scope": req.Scope, "acr": login.ACR})
	})
	if err != nil {
		p.web.Error(w, r, err)
		return
	}
	v := url.Values{"code": {code}, "iss": {p.issuer}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	http.Redirect(w, r, withQuery(req.RedirectURI, v), http.StatusSeeOther)
}
