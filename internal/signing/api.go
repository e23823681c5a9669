package signing

import (
	"context"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pades"
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

// Certificates gives the API a credential's certificate chain and its
// revocation state as the CA knows it: CertValid (not revoked),
// CertRevoked or CertSuspended.
type Certificates interface {
	Chain(ctx context.Context, serial *big.Int) ([]*x509.Certificate, error)
	CertStatus(ctx context.Context, serial *big.Int) (string, error)
}

// A certificate's status as CSC credentials/info reports it.
const (
	CertValid     = "valid"
	CertExpired   = "expired"
	CertRevoked   = "revoked"
	CertSuspended = "suspended"
)

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
//   - a plain REST API (openapi.yaml, served at /api/signing/v1/openapi.yaml):
//     POST /api/signing/v1/requests submits documents' hashes, or PDFs, for
//     the holder to approve on their phone, with an optional callback_url
//     for webhooks; GET /api/signing/v1/requests/{id} polls for the
//     signatures (or, for PDFs, the SAD, once); GET
//     /api/signing/v1/documents/{id} gets a signed PDF again; GET
//     /api/signing/v1/credentials lists the holder's credentials and their
//     capacity; GET and POST /api/signing/v1/webhook-secret[/rotate] give
//     the application its webhook secret;
//   - a Cloud Signature Consortium API v2 subset under /api/csc/v2/: info,
//     credentials/list, credentials/info, credentials/authorize (explicit
//     mode: the holder's one-time code, typed in the application, gives a
//     SAD for exactly the given hashes), signatures/signHash and
//     signatures/signDoc (PDFs, PAdES B-B to B-LTA: the PDFs submitted
//     and approved through the REST API, finished with the SAD the
//     application took when polling). CSC errors are CSC error objects
//     ({"error", "error_description"}) in the caller's language.
func (s *Service) MountAPI(ws *web.Server, tokens Tokens, certs Certificates) {
	a := &api{s: s, web: ws, tokens: tokens, certs: certs}
	ws.ExemptFromCSRF("/api/signing/")
	ws.ExemptFromCSRF("/api/csc/")
	// The HTTP layer's own errors there (an unknown path, a wrong method, an
	// oversized body) take the CSC (OAuth 2.0) form too.
	ws.UseOAuthErrors("/api/csc/")
	ws.HandleFunc("GET /api/signing/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openAPI)
	})
	ws.HandleFunc("POST /api/signing/v1/requests", a.submit)
	ws.HandleFunc("GET /api/signing/v1/requests/{id}", a.result)
	ws.HandleFunc("GET /api/signing/v1/documents/{id}", a.document)
	ws.HandleFunc("GET /api/signing/v1/credentials", a.credentials)
	ws.HandleFunc("GET /api/signing/v1/webhook-secret", a.webhookSecret)
	ws.HandleFunc("POST /api/signing/v1/webhook-secret/rotate", a.rotateWebhookSecret)
	ws.HandleFunc("POST /api/csc/v2/info", a.info)
	ws.HandleFunc("POST /api/csc/v2/credentials/list", a.credentialsList)
	ws.HandleFunc("POST /api/csc/v2/credentials/info", a.credentialsInfo)
	ws.HandleFunc("POST /api/csc/v2/credentials/authorize", a.authorize)
	ws.HandleFunc("POST /api/csc/v2/signatures/signHash", a.signHash)
	ws.HandleFunc("POST /api/csc/v2/signatures/signDoc", a.signDoc)
	if s.MaxFile() > 0 {
		// PDFs travel in base64 inside the JSON.
		ws.AllowUpload("/api/signing/v1/requests", s.jsonLimit())
		ws.AllowUpload("/api/csc/v2/signatures/signDoc", s.jsonLimit())
	}
}

// jsonLimit is the largest JSON body an API call may send: PDFs of MaxFile
// bytes together, in base64, and room around them; 1 MiB without PDFs.
func (s *Service) jsonLimit() int64 {
	return s.MaxFile()/3*4 + 1<<20
}

type failFunc func(http.ResponseWriter, *http.Request, error)

// token verifies the request's access token and its scope; failures are
// problem documents.
func (a *api) token(w http.ResponseWriter, r *http.Request) (Token, bool) {
	return a.verify(w, r, a.web.Error)
}

// cscToken is token for the CSC API: failures are CSC error objects.
func (a *api) cscToken(w http.ResponseWriter, r *http.Request) (Token, bool) {
	return a.verify(w, r, a.cscError)
}

func (a *api) verify(w http.ResponseWriter, r *http.Request, fail failFunc) (Token, bool) {
	t, err := a.tokens.Verify(r)
	if err != nil {
		fail(w, r, err)
		return Token{}, false
	}
	for _, s := range t.Scopes {
		if s == Scope {
			return t, true
		}
	}
	fail(w, r, kernel.E(kernel.Forbidden, "signing.error.scope"))
	return Token{}, false
}

// cscDecode reads the JSON body of a CSC call; an empty body is an empty
// object.
func (a *api) cscDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	return a.decodeWith(w, r, v, 1<<20, a.cscError, true)
}

// decodeWith reads a JSON body of at most limit bytes strictly: unknown
// fields are refused, so a misspelt field is an error the developer sees,
// not a silent default.
func (a *api) decodeWith(w http.ResponseWriter, r *http.Request, v any, limit int64, fail failFunc, emptyOK bool) bool {
	// A body past the limit is a MaxBytesError (413), not a JSON cut short.
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !(emptyOK && errors.Is(err, io.EOF)) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, r, err)
			return false
		}
		fail(w, r, kernel.E(kernel.Invalid, "signing.error.bad_json").WithCause(err))
		return false
	}
	return true
}

// cscError answers a CSC call with a CSC error object: "error", a code of
// the CSC specification (OAuth 2.0's), and "error_description", the
// message in the caller's language, with the request ID to quote. The
// HTTP status is the one the rest of civitas gives the same error.
// Internal errors are logged in full and described generically.
func (a *api) cscError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	rid := kernel.RequestIDFrom(ctx)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		a.web.JSON(w, r, http.StatusRequestEntityTooLarge, map[string]string{"error": "invalid_request",
			"error_description": a.web.T(r, "error.body_too_large", strconv.FormatInt(tooBig.Limit>>20, 10)+" MiB"), "request_id": rid})
		return
	}
	code := kernel.ErrorCode(err)
	key, args := kernel.ErrorKey(err)
	var status int
	var cscCode string
	switch code {
	case kernel.Invalid:
		status, cscCode = http.StatusBadRequest, "invalid_request"
	case kernel.NotFound:
		status, cscCode = http.StatusNotFound, "invalid_request"
	case kernel.Conflict:
		status, cscCode = http.StatusConflict, "invalid_request"
	case kernel.Unauthenticated:
		status, cscCode = http.StatusUnauthorized, "access_denied"
		if key == "signing.error.token" {
			cscCode = "invalid_token"
		}
	case kernel.Forbidden:
		status, cscCode = http.StatusForbidden, "access_denied"
		if key == "signing.error.bad_sad" {
			cscCode = "invalid_request" // CSC: "Invalid parameter SAD"
		}
	case kernel.TooManyRequests:
		status, cscCode = http.StatusTooManyRequests, "temporarily_unavailable"
	case kernel.Unavailable:
		status, cscCode = http.StatusServiceUnavailable, "temporarily_unavailable"
	default:
		status, cscCode, key, args = http.StatusInternalServerError, "server_error", "error.internal", nil
		a.s.o.Logger.ErrorContext(ctx, "signing: CSC request failed", slog.String("request_id", rid), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if !a.web.Catalog().Has(key) {
		key, args = "error."+string(code), nil
	}
	a.web.JSON(w, r, status, map[string]string{"error": cscCode, "error_description": a.web.T(r, key, args...), "request_id": rid})
}

// activeCredential picks the holder's credential: the one named, or their
// own active one (an official's credential is used only when named).
func (a *api) activeCredential(r *http.Request, accountID, id string) (Credential, error) {
	if id != "" {
		return a.s.credential(r.Context(), accountID, id)
	}
	c, err := a.s.personalCredential(r.Context(), accountID)
	if err != nil {
		return Credential{}, errNoCredential()
	}
	return c, nil
}

type apiDocument struct {
	Label            string `json:"label"`
	Hash             string `json:"hash"`              // base64 of a SHA-256 (or SHA-384/512) digest
	PDF              string `json:"pdf"`               // or base64 of a PDF to sign
	ConformanceLevel string `json:"conformance_level"` // of a PDF: Ades-B-B, Ades-B-T, Ades-B-LT (default), Ades-B-LTA
}

// cscLevel names a PAdES level as the CSC API does.
func cscLevel(l pades.Level) string { return "Ades-" + string(l) }

func (a *api) submit(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	var in struct {
		CredentialID string        `json:"credential_id"`
		Description  string        `json:"description"`
		CallbackURL  string        `json:"callback_url"`
		Documents    []apiDocument `json:"documents"`
	}
	if !a.decodeWith(w, r, &in, a.s.jsonLimit(), a.web.Error, false) {
		return
	}
	if in.CallbackURL != "" {
		if err := CheckCallbackURL(in.CallbackURL); err != nil {
			a.web.Error(w, r, err)
			return
		}
	}
	pdfs := 0
	for _, d := range in.Documents {
		if d.PDF != "" {
			pdfs++
		}
	}
	if pdfs > 0 {
		if pdfs != len(in.Documents) {
			a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.mixed_documents"))
			return
		}
		a.submitPDFs(w, r, t, in.CredentialID, in.Description, in.CallbackURL, in.Documents)
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
		if err != nil || d.ConformanceLevel != "" {
			a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.bad_item"))
			return
		}
		items[i] = Item{Label: d.Label, Hash: h}
	}
	q, err := a.s.Submit(r.Context(), Submission{AccountID: t.AccountID, CredentialID: c.ID, Client: t.ClientID, Description: in.Description,
		Items: items, CallbackURL: in.CallbackURL})
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

// submitPDFs is submit for PDFs: each is prepared for the holder's
// signature now, and the answer gives each its ID and the digest the
// holder approves.
func (a *api) submitPDFs(w http.ResponseWriter, r *http.Request, t Token, credentialID, description, callback string, in []apiDocument) {
	docs := make([]PDFDocument, len(in))
	for i, d := range in {
		data, err := base64.StdEncoding.DecodeString(d.PDF)
		if err != nil || d.Hash != "" || !validText(d.Label, 300) {
			a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.bad_pdf_item"))
			return
		}
		docs[i] = PDFDocument{Name: d.Label, Data: data}
		if d.ConformanceLevel != "" {
			l, ok := ParseLevel(d.ConformanceLevel)
			if !ok {
				a.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.level"))
				return
			}
			docs[i].Level = l
		}
	}
	q, err := a.s.SubmitPDFs(r.Context(), PDFSubmission{AccountID: t.AccountID, CredentialID: credentialID, Client: t.ClientID,
		Description: description, CallbackURL: callback, Documents: docs})
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	list, err := a.s.Documents(r.Context(), t.ClientID, t.AccountID, q.ID)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/signing/v1/requests/"+q.ID)
	a.web.JSON(w, r, http.StatusCreated, map[string]any{
		"id": q.ID, "status": q.Status, "expires_at": q.ExpiresAt, "credential_id": q.CredentialID,
		"approve_url": a.web.PublicURL() + "/sign/" + q.ID,
		"documents":   apiDocuments(list),
	})
}

func apiDocuments(list []Document) []map[string]any {
	out := make([]map[string]any, len(list))
	for i, d := range list {
		out[i] = map[string]any{"id": d.ID, "label": d.Name, "hash": base64.StdEncoding.EncodeToString(d.Digest),
			"conformance_level": cscLevel(d.Level), "signed": d.Signed}
	}
	return out
}

func (a *api) result(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	status, items, err := a.s.Results(r.Context(), t.ClientID, id)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	out := map[string]any{"id": id, "status": status}
	docs, err := a.s.Documents(r.Context(), t.ClientID, t.AccountID, id)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	if len(docs) > 0 {
		// PDFs: the documents and, once, the SAD that finishes them with signDoc.
		out["documents"] = apiDocuments(docs)
		if status == RequestApproved {
			sad, expires, err := a.s.HandOff(r.Context(), t.ClientID, t.AccountID, id)
			if err != nil {
				a.web.Error(w, r, err)
				return
			}
			if sad != "" {
				out["sad"], out["sad_expires_at"] = sad, expires
			}
		}
	} else if status == RequestDone {
		docs := make([]map[string]string, len(items))
		for i, it := range items {
			docs[i] = map[string]string{"label": it.Label, "hash": base64.StdEncoding.EncodeToString(it.Hash),
				"signature": base64.StdEncoding.EncodeToString(it.Signature)}
		}
		out["documents"] = docs
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

// document serves one signed PDF of the application's request again.
func (a *api) document(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	name, data, err := a.s.SignedDocument(r.Context(), t.ClientID, t.AccountID, r.PathValue("id"))
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

// apiCapacity is a credential's capacity in the APIs: null for a
// citizen's own.
func apiCapacity(c Capacity) any {
	if !c.Official() {
		return nil
	}
	return map[string]string{"agency_code": c.AgencyCode, "agency_name": c.AgencyName, "title": c.Title}
}

func (a *api) credentials(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	creds, err := a.s.Credentials(r.Context(), t.AccountID)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	out := make([]map[string]any, len(creds))
	for i, c := range creds {
		out[i] = map[string]any{"id": c.ID, "status": c.Status, "serial": c.Serial, "capacity": apiCapacity(c.Capacity)}
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"credentials": out})
}

func (a *api) webhookSecret(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorClient, ID: t.ClientID})
	secret, err := a.s.WebhookSecret(ctx, t.ClientID)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"secret": secret, "header": SignatureHeader, "algorithm": "HMAC-SHA256"})
}

func (a *api) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	t, ok := a.token(w, r)
	if !ok {
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorClient, ID: t.ClientID})
	secret, until, err := a.s.RotateWebhookSecret(ctx, t.ClientID)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	out := map[string]any{"secret": secret, "header": SignatureHeader, "algorithm": "HMAC-SHA256"}
	if !until.IsZero() {
		out["previous_valid_until"] = until
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

// info describes the service (CSC API v2 §11.1); it needs no token.
func (a *api) info(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{
		"specs": "2.0.0.2", "name": "civitas remote signing", "logo": a.web.PublicURL() + "/static/favicon.svg",
		"region": "VN", "lang": "vi", "description": "Holder-approved remote signatures for citizens, officials and agencies",
		"authType": []string{"oauth2code"}, "oauth2": a.web.PublicURL(),
		"methods": []string{"credentials/list", "credentials/info", "credentials/authorize", "signatures/signHash"},
	}
	if a.s.MaxFile() > 0 {
		out["methods"] = []string{"credentials/list", "credentials/info", "credentials/authorize", "signatures/signHash", "signatures/signDoc"}
		out["signature_formats"] = map[string]any{"formats": []string{"P"}}
		out["conformance_levels"] = []string{"Ades-B-B", "Ades-B-T", "Ades-B-LT", "Ades-B-LTA"}
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

func (a *api) credentialsList(w http.ResponseWriter, r *http.Request) {
	t, ok := a.cscToken(w, r)
	if !ok {
		return
	}
	var in struct {
		UserID         string `json:"userID"`
		CredentialInfo bool   `json:"credentialInfo"`
		Certificates   string `json:"certificates"`
		CertInfo       bool   `json:"certInfo"`
		AuthInfo       bool   `json:"authInfo"`
		OnlyValid      bool   `json:"onlyValid"`
		Lang           string `json:"lang"`
		ClientData     string `json:"clientData"`
	}
	if !a.cscDecode(w, r, &in) {
		return
	}
	creds, err := a.s.Credentials(r.Context(), t.AccountID)
	if err != nil {
		a.cscError(w, r, err)
		return
	}
	ids := []string{}
	var infos []map[string]any
	for _, c := range creds {
		if c.Status != CredentialActive {
			continue
		}
		ids = append(ids, c.ID)
		if in.CredentialInfo {
			info, err := a.credentialInfo(r.Context(), c, in.Certificates)
			if err != nil {
				a.cscError(w, r, err)
				return
			}
			info["credentialID"] = c.ID
			infos = append(infos, info)
		}
	}
	out := map[string]any{"credentialIDs": ids}
	if in.CredentialInfo {
		out["credentialInfos"] = infos
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

func (a *api) credentialsInfo(w http.ResponseWriter, r *http.Request) {
	t, ok := a.cscToken(w, r)
	if !ok {
		return
	}
	var in struct {
		CredentialID string `json:"credentialID"`
		Certificates string `json:"certificates"` // none, single, chain
		CertInfo     bool   `json:"certInfo"`
		AuthInfo     bool   `json:"authInfo"`
	}
	if !a.cscDecode(w, r, &in) {
		return
	}
	c, err := a.s.credential(r.Context(), t.AccountID, in.CredentialID)
	if err != nil {
		a.cscError(w, r, err)
		return
	}
	out, err := a.credentialInfo(r.Context(), c, in.Certificates)
	if err != nil {
		a.cscError(w, r, err)
		return
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

// credentialInfo is a credential as CSC credentials/info describes it,
// with one civitas member: "capacity", the post an official's credential
// signs in (null for a citizen's own), which "description" also names.
func (a *api) credentialInfo(ctx context.Context, c Credential, certificates string) (map[string]any, error) {
	sn, _ := new(big.Int).SetString(c.Serial, 16)
	chain, err := a.certs.Chain(ctx, sn)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	certs := []string{}
	switch certificates {
	case "none":
	case "chain":
		for _, cert := range chain {
			certs = append(certs, base64.StdEncoding.EncodeToString(cert.Raw))
		}
	default:
		certs = append(certs, base64.StdEncoding.EncodeToString(leaf.Raw))
	}
	certStatus, err := a.certs.CertStatus(ctx, sn)
	if err != nil {
		return nil, err
	}
	if now := a.s.o.Clock.Now(); certStatus == CertValid && (now.After(leaf.NotAfter) || now.Before(leaf.NotBefore)) {
		certStatus = CertExpired
	}
	status := "enabled"
	if c.Status != CredentialActive || certStatus != CertValid {
		status = "disabled"
	}
	algo := signAlgosOf(leaf.PublicKey)
	description := "civitas " + strings.ToLower(c.Status)
	if c.Capacity.Official() {
		description = c.Capacity.String()
	}
	return map[string]any{
		"key":         map[string]any{"status": status, "algo": algo},
		"cert":        map[string]any{"status": certStatus, "certificates": certs, "issuerDN": leaf.Issuer.String(), "serialNumber": c.Serial, "subjectDN": leaf.Subject.String(), "validFrom": leaf.NotBefore.UTC().Format("20060102150405Z"), "validTo": leaf.NotAfter.UTC().Format("20060102150405Z")},
		"authMode":    "explicit",
		"SCAL":        "2",
		"multisign":   a.s.o.MaxItems,
		"lang":        "vi",
		"description": description,
		"capacity":    apiCapacity(c.Capacity),
	}, nil
}

// authorize is CSC credentials/authorize in explicit mode: the holder typed
// the one-time code into the application, which sends it with the hashes;
// the answer is a SAD for exactly those hashes.
func (a *api) authorize(w http.ResponseWriter, r *http.Request) {
	t, ok := a.cscToken(w, r)
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
	if !a.cscDecode(w, r, &in) {
		return
	}
	if in.NumSignatures != len(in.Hashes) || in.OTP == "" {
		a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.csc_authorize"))
		return
	}
	items := make([]Item, len(in.Hashes))
	for i, h := range in.Hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.bad_item"))
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
		a.cscError(w, r, err)
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: t.AccountID})
	sad, err := a.s.Approve(ctx, t.AccountID, q.ID, in.OTP)
	if err != nil {
		_ = a.s.Refuse(ctx, t.AccountID, q.ID) // a wrong code leaves no request waiting on the phone
		a.cscError(w, r, err)
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

// signDoc is CSC signatures/signDoc for PDFs (signature_format "P",
// conformance_level Ades-B-B to Ades-B-LTA), synchronous. The PDFs must be
// those of the SAD's request, submitted through the REST API and approved
// by the holder on their phone: each prepared once, its byte-range digest
// being what the holder approved. Each is named by "document" (the same
// file, base64) or by "documentID" (a civitas member: the ID the REST API
// gave), all of them, each once. documentDigests is not served: signHash
// does that. The answer is CSC's DocumentWithSignature, in the order asked.
func (a *api) signDoc(w http.ResponseWriter, r *http.Request) {
	t, ok := a.cscToken(w, r)
	if !ok {
		return
	}
	var in struct {
		CredentialID       string          `json:"credentialID"`
		SignatureQualifier string          `json:"signatureQualifier"`
		SAD                string          `json:"SAD"`
		DocumentDigests    json.RawMessage `json:"documentDigests"`
		Documents          []struct {
			Document               string          `json:"document"`
			DocumentID             string          `json:"documentID"`
			SignatureFormat        string          `json:"signature_format"`
			ConformanceLevel       string          `json:"conformance_level"`
			SignAlgo               string          `json:"signAlgo"`
			SignAlgoParams         string          `json:"signAlgoParams"`
			SignedProps            json.RawMessage `json:"signed_props"`
			SignedEnvelopeProperty string          `json:"signed_envelope_property"`
		} `json:"documents"`
		OperationMode        string `json:"operationMode"`
		ValidityPeriod       int    `json:"validity_period"`
		ResponseURI          string `json:"response_uri"`
		ClientData           string `json:"clientData"`
		ReturnValidationInfo bool   `json:"returnValidationInfo"`
	}
	if !a.decodeWith(w, r, &in, a.s.jsonLimit(), a.cscError, false) {
		return
	}
	if len(in.DocumentDigests) > 0 && string(in.DocumentDigests) != "null" {
		a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.document_digests"))
		return
	}
	if in.OperationMode != "" && in.OperationMode != "S" {
		a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.operation_mode"))
		return
	}
	if len(in.Documents) == 0 || in.SAD == "" || in.CredentialID == "" {
		a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.csc_sign_doc"))
		return
	}
	refs := make([]DocumentRef, len(in.Documents))
	for i, d := range in.Documents {
		if d.SignatureFormat != "P" {
			a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.signature_format"))
			return
		}
		if d.ConformanceLevel != "" {
			l, ok := ParseLevel(d.ConformanceLevel)
			if !ok {
				a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.level"))
				return
			}
			refs[i].Level = l
		}
		switch {
		case d.Document != "" && d.DocumentID == "":
			raw, err := base64.StdEncoding.DecodeString(d.Document)
			if err != nil || len(raw) == 0 {
				a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.csc_sign_doc"))
				return
			}
			refs[i].Content = raw
		case d.DocumentID != "" && d.Document == "":
			refs[i].ID = d.DocumentID
		default:
			a.cscError(w, r, kernel.E(kernel.Invalid, "signing.error.csc_sign_doc"))
			return
		}
	}
	start := time.Now()
	signed, err := a.s.SignDocuments(r.Context(), DocumentSigning{Client: t.ClientID, AccountID: t.AccountID, CredentialID: in.CredentialID,
		SAD: in.SAD, Documents: refs})
	if err != nil {
		a.cscError(w, r, err)
		return
	}
	out := make([]string, len(signed))
	for i, pdf := range signed {
		out[i] = base64.StdEncoding.EncodeToString(pdf)
	}
	a.s.o.Logger.InfoContext(r.Context(), "signing: signDoc", slog.String("request_id", kernel.RequestIDFrom(r.Context())),
		slog.String("client", t.ClientID), slog.Int("documents", len(out)), slog.Duration("took", time.Since(start)))
	a.web.JSON(w, r, http.StatusOK, map[string]any{"DocumentWithSignature": out})
}

// signHash is CSC signatures/signHash.
func (a *api) signHash(w http.ResponseWriter, r *http.Request) {
	t, ok := a.cscToken(w, r)
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
	if !a.cscDecode(w, r, &in) {
		return
	}
	hashes := make([][]byte, len(in.Hashes))
	for i, h := range in.Hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			a.cscError(w, r, errBadSAD())
			return
		}
		hashes[i] = raw
	}
	sigs, err := a.s.SignHash(r.Context(), HashSigning{Client: t.ClientID, CredentialID: in.CredentialID, SAD: in.SAD, Hashes: hashes,
		HashOID: in.HashAlgo, SignAlgo: in.SignAlgo})
	if err != nil {
		a.cscError(w, r, err)
		return
	}
	out := make([]string, len(sigs))
	for i, s := range sigs {
		out[i] = base64.StdEncoding.EncodeToString(s)
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"signatures": out})
}
