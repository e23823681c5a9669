package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/identity"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/oid4vc"
	"civitas/internal/oidc"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// site is the whole platform serving on 127.0.0.1, with the demo province,
// a person with an account and a health-insurance card in their wallet.
type site struct {
	t         *testing.T
	ctx       context.Context
	a         *App
	base      string
	person    registry.Person
	account   identity.Account
	stranger  identity.Account
	insurance string
	doc       wallet.Detailed
}

func startSite(t *testing.T) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), base: "http://" + ln.Addr().String()}
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), s.base, true, 120
	s.a, err = New(s.ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// A stand-in for the login pages: the test says who is signed in.
	s.a.web.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.a.web.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: kernel.ACRLevel2, AuthTime: time.Now()}); err != nil {
			s.a.web.Error(w, r, err)
		}
	})
	srv := &http.Server{Handler: s.a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = s.a.Close() })

	as, err := s.a.registry.ListAgencies(s.ctx, kernel.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, ag := range as {
		if ag.Kind == registry.SocialInsurance {
			s.insurance = ag.Code
			break
		}
	}
	ps, err := s.a.registry.ListPersons(s.ctx, kernel.Page{Limit: 120})
	if err != nil {
		t.Fatal(err)
	}
	var adults []registry.Person
	for _, p := range ps {
		if p.AgeOn(time.Now()) >= 18 {
			adults = append(adults, p)
		}
	}
	if s.insurance == "" || len(adults) < 2 {
		t.Fatal("the demo has no insurance agency or too few adults")
	}
	s.person = adults[0]
	if s.account, err = s.a.identity.AddAccount(s.ctx, identity.NewAccount{CitizenID: adults[0].CitizenID, Level: 2, Password: "a long test password 1"}); err != nil {
		t.Fatal(err)
	}
	if s.stranger, err = s.a.identity.AddAccount(s.ctx, identity.NewAccount{CitizenID: adults[1].CitizenID, Level: 2, Password: "a long test password 2"}); err != nil {
		t.Fatal(err)
	}
	s.doc, err = s.a.wallet.Issue(s.ctx, wallet.Issuance{Agency: s.insurance, Type: "health_insurance_card",
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: s.person.CitizenID},
		Claims: map[string]any{"card_number": "DN4797912345678", "full_name": s.person.FullName, "birth_date": s.person.BirthDate,
			"sex": string(s.person.Sex), "hospital": "Bệnh viện Đa khoa tỉnh"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// browser returns a client signed in as the account.
func (s *site) browser(accountID string) *http.Client {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(s.base + "/test/login/" + accountID)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return c
}

// offer asks GET /wallet/offer/{id} as the signed-in account.
func (s *site) offer(c *http.Client, docID string, txCode bool) (int, offerAnswer) {
	s.t.Helper()
	u := s.base + "/wallet/offer/" + docID
	if txCode {
		u += "?tx_code=1"
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out offerAnswer
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// call sends a request and decodes the JSON answer.
func (s *site) call(method, path, contentType, body string, header map[string]string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// presentationRequest asks the verifier, over HTTP, for a presentation.
func (s *site) presentationRequest(q oid4vc.PresentationQuery) oid4vc.PresentationRequest {
	s.t.Helper()
	body, _ := json.Marshal(q)
	resp, err := http.Post(s.base+oid4vc.VPRequestsPath, "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out oid4vc.PresentationRequest
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || out.URI == "" {
		s.t.Fatalf("presentation request: %d %v %+v", resp.StatusCode, err, out)
	}
	return out
}

func preAuthCode(t *testing.T, offerURI string) string {
	t.Helper()
	u, err := url.Parse(offerURI)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Grants map[string]map[string]any `json:"grants"`
	}
	if err := json.Unmarshal([]byte(u.Query().Get("credential_offer")), &o); err != nil {
		t.Fatal(err)
	}
	code, _ := o.Grants[oid4vc.PreAuthorizedGrant]["pre-authorized_code"].(string)
	return code
}

func (s *site) redeem(code, txCode string) (int, map[string]any) {
	form := url.Values{"grant_type": {oidc.PreAuthorizedCodeGrant}, "pre-authorized_code": {code}, "tx_code": {txCode}}
	return s.call(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded", form.Encode(), nil)
}

func (s *site) nonce() string {
	s.t.Helper()
	st, out := s.call(http.MethodPost, oid4vc.NoncePath, "", "", nil)
	n, _ := out["c_nonce"].(string)
	if st != 200 || n == "" {
		s.t.Fatalf("nonce: %d %v", st, out)
	}
	return n
}

func (s *site) proof(key *ecdsa.PrivateKey, nonce string) string {
	s.t.Helper()
	jwk, _ := jose.PublicJWK(&key.PublicKey)
	p, err := jose.SignJSON(key, jose.Header{Alg: jose.ES256, Typ: oid4vc.ProofTyp, JWK: &jwk},
		map[string]any{"aud": s.base, "iat": time.Now().Unix(), "nonce": nonce})
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *site) credential(accessToken, configuration, proof string) (int, map[string]any) {
	body, _ := json.Marshal(map[string]any{"credential_configuration_id": configuration, "proofs": map[string][]string{"jwt": {proof}}})
	return s.call(http.MethodPost, oid4vc.CredentialPath, "application/json", string(body), map[string]string{"Authorization": "Bearer " + accessToken})
}

// TestOpenID4VCIOverHTTP: the pre-authorized flow against the real router,
// and what it refuses.
func TestOpenID4VCIOverHTTP(t *testing.T) {
	s := startSite(t)
	holder, stranger := s.browser(s.account.ID), s.browser(s.stranger.ID)
	st, md := s.call(http.MethodGet, oid4vc.IssuerMetaPath, "", "", nil)
	if st != 200 || md["credential_issuer"] != s.base || md["credential_endpoint"] != s.base+oid4vc.CredentialPath {
		t.Fatalf("metadata: %d %v", st, md)
	}
	if st, out := s.offer(stranger, s.doc.ID, false); st != http.StatusNotFound || out.URI != "" {
		t.Fatalf("a stranger offers the document: %d %+v", st, out)
	}
	if st, _ := s.offer(http.DefaultClient, s.doc.ID, false); st != http.StatusUnauthorized {
		t.Fatalf("an offer without a session: %d", st)
	}
	st, offer := s.offer(holder, s.doc.ID, true)
	if st != 200 || !strings.HasPrefix(offer.URI, "openid-credential-offer://?credential_offer=") || len(offer.TxCode) != 6 ||
		strings.Contains(offer.URI, offer.TxCode) || offer.Configuration != "health_insurance_card" {
		t.Fatalf("offer: %d %+v", st, offer)
	}
	code := preAuthCode(t, offer.URI)
	if st, out := s.redeem(code, "999999"); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("a wrong tx_code: %d %v", st, out)
	}
	st, tok := s.redeem(code, offer.TxCode)
	if st != 200 {
		t.Fatalf("token: %d %v", st, tok)
	}
	at := tok["access_token"].(string)
	if st, out := s.redeem(code, offer.TxCode); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("the code redeemed twice: %d %v", st, out)
	}
	// That replay revoked the first token: a new offer for the rest.
	if st, out := s.credential(at, "health_insurance_card", s.proof(newKey(t), s.nonce())); st != 401 || out["error"] != "invalid_token" {
		t.Fatalf("the token of a replayed code: %d %v", st, out)
	}
	_, offer = s.offer(holder, s.doc.ID, false)
	_, tok = s.redeem(preAuthCode(t, offer.URI), "")
	at = tok["access_token"].(string)
	if st, _ := s.call(http.MethodGet, "/oauth/userinfo", "", "", map[string]string{"Authorization": "Bearer " + at}); st != 401 {
		t.Fatalf("userinfo takes a credential token: %d", st)
	}
	key := newKey(t)
	used := s.nonce()
	for _, tc := range []struct {
		name, token, configuration, proof, want string
		status                                  int
	}{
		{"fail/no token", "", "health_insurance_card", s.proof(key, s.nonce()), "invalid_token", 401},
		{"fail/another configuration", at, "driving_licence", s.proof(key, s.nonce()), "invalid_credential_request", 400},
		{"fail/unknown configuration", at, "wizard_licence", s.proof(key, s.nonce()), "unknown_credential_configuration", 400},
		{"fail/made-up nonce", at, "health_insurance_card", s.proof(key, "made-up"), "invalid_nonce", 400},
		{"ok/issued", at, "health_insurance_card", s.proof(key, used), "", 200},
		{"fail/nonce used twice", at, "health_insurance_card", s.proof(key, used), "invalid_nonce", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := s.credential(tc.token, tc.configuration, tc.proof)
			if st != tc.status || tc.want != "" && out["error"] != tc.want {
				t.Fatalf("got %d %v", st, out)
			}
			if tc.want != "" {
				return
			}
			creds, _ := out["credentials"].([]any)
			first, _ := creds[0].(map[string]any)
			cred, _ := first["credential"].(string)
			v, err := sdjwt.Verify(s.ctx, cred, sdjwt.VerifyOptions{Key: s.a.wallet.IssuerKey, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := jose.PublicJWK(&key.PublicKey)
			wt, _ := want.Thumbprint()
			gt, _ := v.Holder.Thumbprint()
			if gt != wt || v.Claims["card_number"] != "DN4797912345678" || v.Claims["full_name"] != s.person.FullName {
				t.Fatalf("credential %+v", v)
			}
		})
	}
	// Revoked: no more copies.
	_, offer = s.offer(holder, s.doc.ID, false)
	_, tok = s.redeem(preAuthCode(t, offer.URI), "")
	if err := s.a.wallet.SetStatus(s.ctx, s.insurance, s.doc.ID, wallet.StatusRevoked, "error"); err != nil {
		t.Fatal(err)
	}
	if st, out := s.credential(tok["access_token"].(string), "health_insurance_card", s.proof(key, s.nonce())); st != 400 || out["error"] != "credential_request_denied" {
		t.Fatalf("a revoked document: %d %v", st, out)
	}
	if st, _ := s.offer(holder, s.doc.ID, false); st != http.StatusConflict {
		t.Fatalf("an offer of a revoked document: %d", st)
	}
}

// TestOpenID4VPOverHTTP: a request made over the API, answered by our own
// holder, read back with its read token only.
func TestOpenID4VPOverHTTP(t *testing.T) {
	s := startSite(t)
	st, req := s.call(http.MethodPost, oid4vc.VPRequestsPath, "application/json", `{"type":"health_insurance_card","claims":["full_name","hospital"],"purpose":"admission"}`, nil)
	if st != http.StatusCreated {
		t.Fatalf("request: %d %v", st, req)
	}
	id, clientID, nonce, read := req["id"].(string), req["client_id"].(string), req["nonce"].(string), req["read_token"].(string)
	u, _ := url.Parse(req["authorization_request_uri"].(string))
	state := u.Query().Get("state")
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: s.person.CitizenID}
	pres, err := s.a.wallet.Present(s.ctx, h, s.doc.ID, []string{"full_name", "hospital"}, clientID, nonce)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := json.Marshal(map[string][]string{"civitas": {pres}})
	bad, _ := json.Marshal(map[string][]string{"civitas": {strings.Replace(pres, "~", "~x", 1)}})
	post := func(vp []byte) (int, map[string]any) {
		return s.call(http.MethodPost, oid4vc.VPResponsePath+id, "application/x-www-form-urlencoded",
			url.Values{"vp_token": {string(vp)}, "state": {state}}.Encode(), nil)
	}
	if st, out := post(bad); st != 400 || out["error"] != "invalid_request" {
		t.Fatalf("tampered: %d %v", st, out)
	}
	if st, out := post(token); st != 200 {
		t.Fatalf("response: %d %v", st, out)
	}
	if st, _ := post(token); st != 400 {
		t.Fatalf("replayed response: %d", st)
	}
	if st, _ := s.call(http.MethodGet, oid4vc.VPRequestsPath+"/"+id, "", "", nil); st != http.StatusNotFound {
		t.Fatalf("result without the read token: %d", st)
	}
	st, res := s.call(http.MethodGet, oid4vc.VPRequestsPath+"/"+id, "", "", map[string]string{"Authorization": "Bearer " + read})
	claims, _ := res["claims"].(map[string]any)
	if st != 200 || res["status"] != oid4vc.VPVerified || len(claims) != 2 || claims["full_name"] != s.person.FullName || res["failures"] != float64(1) {
		t.Fatalf("result: %d %v", st, res)
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// walletNodeDir is tests/wallet with its npm packages, or the test skips
// (fails when CIVITAS_REQUIRE_NODE is set, as .ci/run does).
func walletNodeDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "tests", "wallet")
	msg := ""
	if _, err := exec.LookPath("node"); err != nil {
		msg = "node is not installed; install Node.js 20+, then: cd tests/wallet && npm ci"
	} else {
		for _, pkg := range []string{"openid4vci", "openid4vp"} {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", "@openid4vc", pkg)); err != nil {
				msg = "npm @openid4vc/" + pkg + " is not installed: cd tests/wallet && npm ci"
			}
		}
	}
	if msg != "" {
		if os.Getenv("CIVITAS_REQUIRE_NODE") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

type npmReceived struct {
	Credential    string         `json:"credential"`
	HolderJWK     jose.JWK       `json:"holder_jwk"`
	Configuration string         `json:"configuration"`
	TokenType     string         `json:"token_type"`
	Claims        map[string]any `json:"claims"`
	Presented     map[string]any `json:"presentation_claims"`
	Second        struct {
		Refused bool   `json:"refused"`
		Error   string `json:"error"`
	} `json:"second_redemption"`
	VP struct {
		ClientID       string   `json:"client_id"`
		ClaimsAsked    []string `json:"claims_asked"`
		TamperedStatus int      `json:"tampered_status"`
		Status         int      `json:"status"`
	} `json:"vp"`
}

// TestInteropNPMWalletReceivesCredential: npm @openid4vc/openid4vci, as an
// outside wallet app, takes the holder's offer (with a transaction code and
// a DPoP-bound token), receives the health-insurance card bound to its own
// key with the document's claims and status entry, verifies it with npm
// @sd-jwt/sd-jwt-vc and our published keys, and cannot redeem the code twice.
// Then, with npm @openid4vc/openid4vp, it answers an OpenID4VP request of
// the civitas verifier for two of the card's claims: an altered disclosure
// is refused, the genuine presentation verifies, and the verdict shows
// exactly the two claims.
func TestInteropNPMWalletReceivesCredential(t *testing.T) {
	dir := walletNodeDir(t)
	s := startSite(t)
	_, offer := s.offer(s.browser(s.account.ID), s.doc.ID, true)
	vpReq := s.presentationRequest(oid4vc.PresentationQuery{Type: "health_insurance_card", Claims: []string{"full_name", "hospital"}, Purpose: "hospital admission"})
	in, _ := json.Marshal(map[string]any{"offer": offer.URI, "tx_code": offer.TxCode, "dpop": true, "vp_request": vpReq.URI})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "oid4vci.mjs")
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm wallet: %v\n%s", err, stderr.String())
	}
	var got npmReceived
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("npm output %s: %v", stdout.String(), err)
	}
	v, err := sdjwt.Verify(s.ctx, got.Credential, sdjwt.VerifyOptions{Key: s.a.wallet.IssuerKey, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := sdjwt.Verify(s.ctx, s.doc.Credential, sdjwt.VerifyOptions{Key: s.a.wallet.IssuerKey, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := got.HolderJWK.Thumbprint()
	have, _ := v.Holder.Thumbprint()
	ours, _ := orig.Holder.Thumbprint()
	if want == "" || have != want || ours == want {
		t.Fatalf("bound to %s, the npm wallet's key is %s", have, want)
	}
	if *v.Status != *orig.Status || got.Configuration != "health_insurance_card" || got.TokenType != "DPoP" {
		t.Fatalf("status %+v vs %+v; %s %s", v.Status, orig.Status, got.Configuration, got.TokenType)
	}
	for k, val := range s.doc.Claims {
		if got.Claims[k] != val {
			t.Errorf("claim %s: npm sees %v, the document says %v", k, got.Claims[k], val)
		}
	}
	if len(got.Presented) != 2 {
		t.Errorf("npm presented %v", got.Presented)
	}
	if !got.Second.Refused || got.Second.Error != "invalid_grant" {
		t.Fatalf("second redemption: %+v", got.Second)
	}
	if got.VP.ClientID != vpReq.ClientID || !slices.Equal(got.VP.ClaimsAsked, []string{"full_name", "hospital"}) ||
		got.VP.TamperedStatus != http.StatusBadRequest || got.VP.Status != http.StatusOK {
		t.Fatalf("npm @openid4vc/openid4vp: %+v", got.VP)
	}
	res, err := s.a.oid4vc.PresentationResult(s.ctx, vpReq.ID, vpReq.ReadToken)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != oid4vc.VPVerified || !res.KeyBound || res.Failures != 1 || len(res.Claims) != 2 ||
		res.Claims["full_name"] != s.doc.Claims["full_name"] || res.Claims["hospital"] != s.doc.Claims["hospital"] {
		t.Fatalf("verdict on the npm wallet's presentation: %+v", res)
	}
	// npm @sd-jwt/sd-jwt-vc checks the copy with the status list served
	// now: valid, then refused once the document is revoked.
	set, err := s.a.wallet.JWKS(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	issuerJWK, _ := set.Find(v.KeyID)
	npmVerify := func() error {
		resp, err := http.Get(v.Status.URI)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		in, _ := json.Marshal(map[string]any{"credential": got.Credential, "issuer_jwk": issuerJWK, "status_list_jwt": string(list)})
		cmd := exec.CommandContext(ctx, "node", "verify.mjs")
		var stderr bytes.Buffer
		cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, bytes.NewReader(in), io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			return errors.New(stderr.String())
		}
		return nil
	}
	if err := npmVerify(); err != nil {
		t.Fatalf("npm @sd-jwt/sd-jwt-vc refuses the valid copy: %v", err)
	}
	if err := s.a.wallet.SetStatus(s.ctx, s.insurance, s.doc.ID, wallet.StatusRevoked, "lost"); err != nil {
		t.Fatal(err)
	}
	st, err := s.a.status.Status(s.ctx, strings.TrimPrefix(v.Status.URI, s.base+statuslist.PathPrefix), int(v.Status.Index))
	if err != nil || st != statuslist.Invalid {
		t.Fatalf("status of the copy after revocation: %v %v", st, err)
	}
	err = npmVerify()
	if err == nil {
		t.Fatal("npm @sd-jwt/sd-jwt-vc accepts the copy of a revoked document")
	}
	t.Logf("npm @sd-jwt/sd-jwt-vc refuses the copy once revoked: %s", strings.TrimSpace(err.Error()))
	t.Logf("npm @openid4vc/openid4vci received %s bound to its key %s; npm @sd-jwt/sd-jwt-vc verified it; npm @openid4vc/openid4vp presented it to %s", got.Configuration, want, got.VP.ClientID)
}

// The holder's document page offers "send to a wallet app"; the offer page
// shows the link as a QR code and the transaction code, never in the link.
func TestOfferPage(t *testing.T) {
	s := startSite(t)
	holder, stranger := s.browser(s.account.ID), s.browser(s.stranger.ID)
	get := func(c *http.Client, path string) (int, string) {
		resp, err := c.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(c *http.Client, path string) (int, string) {
		_, page := get(c, "/wallet") // the session's CSRF token
		form := url.Values{}
		if i := strings.Index(page, `name="csrf_token" value="`); i >= 0 {
			rest := page[i+len(`name="csrf_token" value="`):]
			form.Set("csrf_token", rest[:strings.Index(rest, `"`)])
		}
		req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if _, page := get(holder, "/wallet/"+s.doc.ID); !strings.Contains(page, `id="offer-form"`) {
		t.Fatal("the holder's document page has no offer button")
	}
	st, page := post(holder, "/wallet/"+s.doc.ID+"/offer")
	if st != http.StatusOK || !strings.Contains(page, `src="data:image/png;base64,`) || !strings.Contains(page, "openid-credential-offer://") {
		t.Fatalf("offer page: %d", st)
	}
	i := strings.Index(page, `id="offer-tx-code" dir="ltr">`)
	if i < 0 {
		t.Fatal("no transaction code on the offer page")
	}
	tx := page[i+len(`id="offer-tx-code" dir="ltr">`):]
	tx = tx[:strings.Index(tx, "<")]
	if len(tx) != 6 || strings.Contains(page[strings.Index(page, "openid-credential-offer://"):], "tx_code%22%3A%22"+tx) {
		t.Fatalf("transaction code %q, or it is in the link", tx)
	}
	if st, _ := post(stranger, "/wallet/"+s.doc.ID+"/offer"); st != http.StatusNotFound {
		t.Fatalf("a stranger's offer: %d", st)
	}
}
