package signing

import (
	"context"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed openapi.yaml
var openAPI []byte

// Token is a verified access token of the civitas OpenID Provider: whose
// account, which application.
type Token struct {
	AccountID string
	ClientID  string
	Scopes    []string
}

// Tokens verifies the access token of an API request (Bearer or DPoP).
type Tokens interface {
	Verify(r *http.Request) (Token, error)
}

// Certificates gives the API a credential's certificate chain.
type Certificates interface {
	Chain(ctx context.Context, serial *big.Int) ([]*x509.Certificate, error)
}

// Scope is what an application asks the holder for to use these APIs.
const Scope = "signing"

type api struct {
	s      *Service
	web    *web.Server
	tokens Tokens
	certs  Certificates
}

// MountAPI serves the APIs for applications, authorised with access tokens
// carrying the "signing" scope:
//
//   - a plain REST API (openapi.yaml, served at /api/signing/v1/openapi.yaml): POST /api/signing/v1/requests
//     submits documents' hashes for the holder to approve on their phone,
//     GET /api/signing/v1/requests/{id} polls for the signatures;
//   - a Cloud Signature Consortium API v2 subset under /api/csc/v2/: info,
//     credentials/list, credentials/info, credentials/authorize (explicit
//     mode: the holder's one-time code, typed in the application, gives a
//     SAD for exactly the given hashes) and signatures/signHash.
func (s *Service) MountAPI(ws *web.Server, tokens Tokens, certs Certificates) {
	a := &api{s: s, web: ws, tokens: tokens, certs: certs}
	ws.ExemptFromCSRF("/api/signing/")
	ws.ExemptFromCSRF("/api/csc/")
	ws.HandleFunc("GET /api/signing/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openAPI)
	})
	ws.HandleFunc("POST /api/signing/v1/requests", a.submit)
	ws.HandleFunc("GET /api/signing/v1/requests/{id}", a.result)
	ws.HandleFunc("POST /api/csc/v2/info", a.info)
	ws.HandleFunc("POST /api/csc/v2/credentials/list", a.credentialsList)
	ws.HandleFunc("POST /api/csc/v2/credentials/info", a.credentialsInfo)
	ws.HandleFunc("POST /api/csc/v2/credentials/authorize", a.authorize)
	ws.HandleFunc("POST /api/csc/v2/signatures/signHash", a.signHash)
}

// token verifies the request's access token and its scope.
func (a *api) token(w http.ResponseWriter, r *http.Request) (Token, bool) {
	t, err := a.tokens.Verify(r)
	if err != nil {
		a.web.Error(w, r, err)
		return Token{}, false
	}
	for _, s := range t.Scopes {
		if s == Scope {
			return t, true
		}
	}
	a.web.Error(w, r, kernel.E(kernel.Forbidden, "signing.error.scope"))
	return Token{}, false
}

// decode reads a JSON body strictly: unknown fields are refused, so a
// misspelt field is an error the developer sees, not a silent default.
func (a *api) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.bad_json").WithCause(err))
		return false
	}
	return true
}

// activeCredential picks the holder's credential: the one named, or the
// only active one.
func (a *api) activeCredential(r *http.Request, accountID, id string) (Credential, error) {
	if id != "" {
		return a.s.credential(r.Context(), accountID, id)
	}
	creds, err := a.s.Credentials(r.Context(), accountID)
	if err != nil {
		return Credential{}, err
	}
	for _, c := range creds {
		if c.Status == CredentialActive {
			return c, nil
		}
	}
	return Credential{}, errNoCredential()
}

type apiDocument struct {
	Label string `json:"label"`
	Hash  string `json:"hash"` // base64 of a SHA-256 (or SHA-384/512) digest
}

func (a *api) submit(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	var in struct {
		CredentialID string        `json:"credential_id"`
		Description  string        `json:"description"`
		Documents    []apiDocument `json:"documents"`
	}
	if !a.decode(w, r, &in) {
		return
	}
	c, err := a.activeCredential(r, t.AccountID, in.CredentialID)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	items := make([]Item, len(in.Documents))
	for i, d := range in.Documents {
		h, err := base64.StdEncoding.DecodeString(d.Hash)
		if err != nil {
			a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.bad_item"))
			return
		}
		items[i] = Item{Label: d.Label, Hash: h}
	}
	q, err := a.s.Submit(r.Context(), Submission{AccountID: t.AccountID, CredentialID: c.ID, Client: t.ClientID, Description: in.Description, Items: items})
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/signing/v1/requests/"+q.ID)
	a.web.JSON(w, r, http.StatusCreated, map[string]any{
		"id": q.ID, "status": q.Status, "expires_at": q.ExpiresAt,
		"approve_url": a.web.PublicURL() + "/sign/" + q.ID, // where the holder approves, on their phone
	})
}

func (a *api) result(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	status, items, err := a.s.Results(r.Context(), t.ClientID, r.PathValue("id"))
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	out := map[string]any{"id": r.PathValue("id"), "status": status}
	if status == RequestDone {
		docs := make([]map[string]string, len(items))
		for i, it := range items {
			docs[i] = map[string]string{"label": it.Label, "hash": base64.StdEncoding.EncodeToString(it.Hash),
				"signature": base64.StdEncoding.EncodeToString(it.Signature)}
		}
		out["documents"] = docs
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

// info describes the service (CSC API v2 §11.1); it needs no token.
func (a *api) info(w http.ResponseWriter, r *http.Request) {
	a.web.JSON(w, r, http.StatusOK, map[string]any{
		"specs": "2.0.0.2", "name": "civitas remote signing", "logo": a.web.PublicURL() + "/static/favicon.svg",
		"region": "VN", "lang": "vi", "description": "Holder-approved remote signatures for citizens, officials and agencies",
		"authType": []string{"oauth2code"}, "oauth2": a.web.PublicURL(),
		"methods": []string{"credentials/list", "credentials/info", "credentials/authorize", "signatures/signHash"},
	})
}

func (a *api) credentialsList(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	creds, err := a.s.Credentials(r.Context(), t.AccountID)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	ids := []string{}
	for _, c := range creds {
		if c.Status == CredentialActive {
			ids = append(ids, c.ID)
		}
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"credentialIDs": ids})
}

func (a *api) credentialsInfo(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	var in struct {
		CredentialID string `json:"credentialID"`
		Certificates string `json:"certificates"` // none, single, chain
		CertInfo     bool   `json:"certInfo"`
		AuthInfo     bool   `json:"authInfo"`
	}
	if !a.decode(w, r, &in) {
		return
	}
	c, err := a.s.credential(r.Context(), t.AccountID, in.CredentialID)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	sn, _ := new(big.Int).SetString(c.Serial, 16)
	chain, err := a.certs.Chain(r.Context(), sn)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	leaf := chain[0]
	certs := []string{}
	switch in.Certificates {
	case "none":
	case "chain":
		for _, cert := range chain {
			certs = append(certs, base64.StdEncoding.EncodeToString(cert.Raw))
		}
	default:
		certs = append(certs, base64.StdEncoding.EncodeToString(leaf.Raw))
	}
	status := "enabled"
	if c.Status != CredentialActive {
		status = "disabled"
	}
	algo := []string{"1.2.840.10045.4.3.2"} // ecdsa-with-SHA256
	if leaf.PublicKeyAlgorithm == x509.RSA {
		algo = []string{"1.2.840.113549.1.1.11"} // sha256WithRSAEncryption
	}
	out := map[string]any{
		"key":         map[string]any{"status": status, "algo": algo},
		"cert":        map[string]any{"status": "valid", "certificates": certs, "issuerDN": leaf.Issuer.String(), "serialNumber": c.Serial, "subjectDN": leaf.Subject.String(), "validFrom": leaf.NotBefore.UTC().Format("20060102150405Z"), "validTo": leaf.NotAfter.UTC().Format("20060102150405Z")},
		"authMode":    "explicit",
		"SCAL":        "2",
		"multisign":   a.s.o.MaxItems,
		"lang":        "vi",
		"description": "civitas " + strings.ToLower(c.Status),
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

// authorize is CSC credentials/authorize in explicit mode: the holder typed
// the one-time code into the application, which sends it with the hashes;
// the answer is a SAD for exactly those hashes.
func (a *api) authorize(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	var in struct {
		CredentialID     string   `json:"credentialID"`
		NumSignatures    int      `json:"numSignatures"`
		Hashes           []string `json:"hashes"`
		HashAlgorithmOID string   `json:"hashAlgorithmOID"`
		Description      string   `json:"description"`
		OTP              string   `json:"OTP"`
		ClientData       string   `json:"clientData"`
	}
	if !a.decode(w, r, &in) {
		return
	}
	if in.NumSignatures != len(in.Hashes) || in.OTP == "" {
		a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.csc_authorize"))
		return
	}
	items := make([]Item, len(in.Hashes))
	for i, h := range in.Hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.bad_item"))
			return
		}
		items[i] = Item{Label: documentLabel(in.Description, i, len(in.Hashes)), Hash: raw}
	}
	desc := in.Description
	if desc == "" {
		desc = t.ClientID
	}
	q, err := a.s.Submit(r.Context(), Submission{AccountID: t.AccountID, CredentialID: in.CredentialID, Client: t.ClientID, Description: desc, Items: items})
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: t.AccountID})
	sad, err := a.s.Approve(ctx, t.AccountID, q.ID, in.OTP)
	if err != nil {
		_ = a.s.Refuse(ctx, t.AccountID, q.ID) // a wrong code leaves no request waiting on the phone
		a.web.Error(w, r, err)
		return
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"SAD": sad, "expiresIn": int(a.s.o.SADTTL.Seconds())})
}

func documentLabel(desc string, i, n int) string {
	if desc == "" {
		desc = "Document"
	}
	if n == 1 {
		return desc
	}
	return desc + " (" + strconv.Itoa(i+1) + "/" + strconv.Itoa(n) + ")"
}

// signHash is CSC signatures/signHash.
func (a *api) signHash(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	var in struct {
		CredentialID string   `json:"credentialID"`
		SAD          string   `json:"SAD"`
		Hashes       []string `json:"hashes"`
		HashAlgo     string   `json:"hashAlgorithmOID"`
		SignAlgo     string   `json:"signAlgo"`
		ClientData   string   `json:"clientData"`
	}
	if !a.decode(w, r, &in) {
		return
	}
	hashes := make([][]byte, len(in.Hashes))
	for i, h := range in.Hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			a.web.Error(w, r, errBadSAD())
			return
		}
		hashes[i] = raw
	}
	sigs, err := a.s.SignHash(r.Context(), HashSigning{Client: t.ClientID, CredentialID: in.CredentialID, SAD: in.SAD, Hashes: hashes})
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	out := make([]string, len(sigs))
	for i, s := range sigs {
		out[i] = base64.StdEncoding.EncodeToString(s)
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"signatures": out})
}
