package oid4vc

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// CredentialGrant is what the access token of a credential request grants,
// as the OpenID Provider verified it.
type CredentialGrant struct {
	AccountID string // the person's account: the actor of the issuance
	CitizenID string // whose documents: the person the token was issued for
	// Offer holds the details of a pre-authorized offer (OfferDocument);
	// nil for a token of the authorization code flow.
	Offer json.RawMessage
	// Scopes are the token's scopes (authorization code flow): a
	// CredentialScope names a type the app may receive.
	Scopes []string
}

// CredentialGrants verifies the access token of a credential request. A
// token that is missing, invalid or not for the credential endpoint is a
// *ProtocolError (401 invalid_token); other errors are the verifier's. The
// OpenID Provider's adapter is in app.
type CredentialGrants interface {
	CredentialGrant(r *http.Request) (CredentialGrant, error)
}

// credentialRequest is a credential request (§8.2).
type credentialRequest struct {
	ConfigurationID string                     `json:"credential_configuration_id"`
	Identifier      string                     `json:"credential_identifier"`
	Format          string                     `json:"format"`
	Proof           *singleProof               `json:"proof"`
	Proofs          map[string]json.RawMessage `json:"proofs"`
	Encryption      json.RawMessage            `json:"credential_response_encryption"`
}

// singleProof is the proof parameter of drafts before 1.0, still sent by
// some wallet apps.
type singleProof struct {
	ProofType string `json:"proof_type"`
	JWT       string `json:"jwt"`
}

// MountIssuer serves the credential issuer: its metadata, the nonce
// endpoint and the credential endpoint (the last two take no session and
// no CSRF token: wallet apps call them with the OpenID Provider's tokens).
func (s *Service) MountIssuer(ws *web.Server, grants CredentialGrants) {
	ws.ExemptFromCSRF("/oid4vci/")
	cat := ws.Catalog()
	names := map[string]string{}
	for _, l := range languages {
		names[l] = cat.T(l, "oid4vc.issuer.name")
	}
	metadata := s.CredentialIssuerMetadata(names)
	ws.HandleFunc("GET "+IssuerMetaPath, func(w http.ResponseWriter, r *http.Request) {
		ws.JSON(w, r, http.StatusOK, metadata)
	})
	ws.HandleFunc("POST "+NoncePath, func(w http.ResponseWriter, r *http.Request) {
		n, err := s.NewNonce(r.Context())
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		ws.JSON(w, r, http.StatusOK, map[string]string{"c_nonce": n}) // JSON answers with no-store
	})
	ws.HandleFunc("POST "+CredentialPath, func(w http.ResponseWriter, r *http.Request) {
		cred, err := s.credential(r, grants)
		if err != nil {
			s.protocolError(ws, w, r, err)
			return
		}
		ws.JSON(w, r, http.StatusOK, map[string]any{"credentials": []map[string]string{{"credential": cred}}})
	})
}

// credential answers a credential request: the grant, the request, the
// document it names, the proof, then a copy bound to the proven key.
func (s *Service) credential(r *http.Request, grants CredentialGrants) (string, error) {
	g, err := grants.CredentialGrant(r)
	if err != nil {
		return "", err
	}
	// The actor is the token's person: a wallet app calls without a session.
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: g.AccountID})
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return "", perr(400, "invalid_credential_request", "the body must be application/json")
	}
	var req credentialRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		return "", perr(400, "invalid_credential_request", "the body is not a credential request")
	}
	switch {
	case len(req.Encryption) > 0 && string(req.Encryption) != "null":
		return "", perr(400, "invalid_encryption_parameters", "credential response encryption is not supported")
	case req.Identifier != "":
		return "", perr(400, "invalid_credential_request", "credential_identifier is not issued here: send credential_configuration_id")
	case req.ConfigurationID == "":
		return "", perr(400, "invalid_credential_request", "credential_configuration_id is required")
	}
	proof, err := req.onlyProof()
	if err != nil {
		return "", err
	}
	if t, ok := s.types[req.ConfigurationID]; !ok || !t.Person {
		return "", perr(400, "unknown_credential_configuration", "no credential configuration "+req.ConfigurationID)
	}
	docID, err := s.grantedDocument(r, g, req.ConfigurationID)
	if err != nil {
		return "", err
	}
	key, err := s.CheckProof(ctx, proof)
	if err != nil {
		return "", err
	}
	cred, err := s.o.Wallet.IssueCopy(ctx, g.CitizenID, docID, key)
	switch kernel.ErrorCode(err) {
	case "":
		return cred, nil
	case kernel.NotFound, kernel.Conflict:
		return "", perr(400, "credential_request_denied", "the document is no longer valid")
	}
	return "", err
}

// onlyProof is the request's one proof of type jwt, from proofs (1.0) or
// proof (earlier drafts).
func (req credentialRequest) onlyProof() (string, error) {
	switch {
	case req.Proof != nil && req.Proofs != nil:
		return "", perr(400, "invalid_credential_request", "send proofs or proof, not both")
	case req.Proof != nil:
		if req.Proof.ProofType != "jwt" || req.Proof.JWT == "" {
			return "", perr(400, "invalid_proof", "the proof must be of type jwt")
		}
		return req.Proof.JWT, nil
	case req.Proofs == nil:
		return "", perr(400, "invalid_proof", "a proof of possession of the wallet's key is required (proofs.jwt)")
	}
	var jwts []string
	if raw, ok := req.Proofs["jwt"]; !ok || len(req.Proofs) != 1 || json.Unmarshal(raw, &jwts) != nil {
		return "", perr(400, "invalid_proof", "proofs must hold one proof of type jwt")
	}
	if len(jwts) != 1 || jwts[0] == "" {
		return "", perr(400, "invalid_proof", "send exactly one proof: batch issuance is not supported")
	}
	return jwts[0], nil
}

// grantedDocument is the document the grant gives for the configuration:
// the offered one, or (authorization code flow) the holder's newest valid
// document of the type its scope names.
func (s *Service) grantedDocument(r *http.Request, g CredentialGrant, configuration string) (string, error) {
	if len(g.Offer) > 0 {
		var o offerDetails
		if err := json.Unmarshal(g.Offer, &o); err != nil || o.Document == "" {
			return "", perr(401, "invalid_token", "the access token is not for a credential offer")
		}
		if o.Configuration != configuration {
			return "", perr(400, "invalid_credential_request", "the offer was for credential configuration "+o.Configuration)
		}
		return o.Document, nil
	}
	if !slices.Contains(g.Scopes, CredentialScope(configuration)) {
		return "", perr(403, "insufficient_scope", "the access token does not carry scope "+CredentialScope(configuration))
	}
	d, err := s.o.Wallet.NewestValid(r.Context(), g.CitizenID, configuration)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return "", perr(400, "credential_request_denied", "the holder has no valid document of this type")
	}
	if err != nil {
		return "", err
	}
	return d.ID, nil
}

// protocolError answers with the protocol's JSON error (§8.3.1, RFC 6750
// §3); anything else is the server's failure, logged by web.Error.
func (s *Service) protocolError(ws *web.Server, w http.ResponseWriter, r *http.Request, err error) {
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		ws.Error(w, r, err)
		return
	}
	s.o.Logger.DebugContext(r.Context(), "oid4vc: request refused", slog.String("request_id", kernel.RequestIDFrom(r.Context())),
		slog.String("error", pe.Code))
	if pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden {
		scheme := "Bearer"
		if strings.HasPrefix(r.Header.Get("Authorization"), "DPoP ") {
			scheme = "DPoP"
		}
		w.Header().Set("WWW-Authenticate", scheme+` error="`+pe.Code+`"`)
	}
	ws.JSON(w, r, pe.Status, map[string]string{"error": pe.Code, "error_description": pe.Description})
}
