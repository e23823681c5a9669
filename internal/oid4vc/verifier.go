package oid4vc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
)

// OpenID for Verifiable Presentations 1.0: civitas as a verifier that asks
// a wallet app outside it for a presentation of a document of one of its
// types (a DCQL query), with response mode direct_post and the
// redirect_uri client identifier prefix: the client_id is the response
// URI, the request is not signed, and the wallet's key binding names that
// client_id as its audience.

// Paths of the verifier's endpoints.
const (
	VPRequestsPath = "/oid4vp/requests"
	VPResponsePath = "/oid4vp/response/"
	// VPScheme starts an authorization request link for a wallet app.
	VPScheme = "openid4vp://"
)

// Presentation request statuses.
const (
	VPPending  = "pending"
	VPVerified = "verified"
	VPFailed   = "failed"
)

// Limits of presentation requests.
const (
	vpRequestTTL  = 10 * time.Minute
	maxVPFailures = 5         // refused responses before the request fails
	dcqlID        = "civitas" // the one credential query's id
	maxVPClaims   = 64
)

// PresentationQuery is what a verifier asks for: a document type and the
// claims to disclose, and why.
type PresentationQuery struct {
	Type    string   `json:"type"`
	Claims  []string `json:"claims"`
	Purpose string   `json:"purpose"`
}

// PresentationRequest is a request made: the link for the wallet app and
// the secret to read its result with.
type PresentationRequest struct {
	ID          string          `json:"id"`
	URI         string          `json:"authorization_request_uri"` // openid4vp://?...
	ClientID    string          `json:"client_id"`
	ResponseURI string          `json:"response_uri"`
	Nonce       string          `json:"nonce"`
	DCQL        json.RawMessage `json:"dcql_query"`
	ReadToken   string          `json:"read_token"` // reads the result: only for whoever made the request
	ExpiresAt   time.Time       `json:"expires_at"`
}

// PresentationResult is the verdict on a request.
type PresentationResult struct {
	ID        string         `json:"id"`
	Status    string         `json:"status"` // pending, verified, failed
	Type      string         `json:"type"`
	Agency    string         `json:"agency,omitempty"`
	Claims    map[string]any `json:"claims,omitempty"` // only the claims asked for, when verified
	Document  string         `json:"document_status,omitempty"`
	KeyBound  bool           `json:"key_bound"`
	IssuedAt  *time.Time     `json:"issued_at,omitempty"`
	Expires   *time.Time     `json:"document_expires_at,omitempty"`
	Error     string         `json:"error,omitempty"` // why the last response was refused, or the request failed
	Failures  int            `json:"failures"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// ClientIDFor is the verifier's client_id for a request: the redirect_uri
// prefix and the request's response URI.
func (s *Service) ClientIDFor(id string) string { return "redirect_uri:" + s.responseURI(id) }

func (s *Service) responseURI(id string) string { return s.o.Issuer + VPResponsePath + id }

func hashRead(t string) string {
	sum := sha256.Sum256([]byte("oid4vp.read|" + t))
	return hex.EncodeToString(sum[:])
}

// RequestPresentation makes an OpenID4VP authorization request for a
// document of q.Type disclosing q.Claims, good for vpRequestTTL.
func (s *Service) RequestPresentation(ctx context.Context, q PresentationQuery) (PresentationRequest, error) {
	t, ok := s.types[q.Type]
	if !ok {
		return PresentationRequest{}, kernel.E(kernel.NotFound, "wallet.error.no_type")
	}
	if len(q.Claims) == 0 || len(q.Claims) > maxVPClaims {
		return PresentationRequest{}, kernel.E(kernel.Invalid, "wallet.error.no_claims")
	}
	seen := map[string]bool{}
	for _, c := range q.Claims {
		if !slices.ContainsFunc(t.Claims, func(cs Claim) bool { return cs.Name == c }) {
			return PresentationRequest{}, kernel.E(kernel.Invalid, "wallet.error.claim_unknown", c)
		}
		if seen[c] {
			return PresentationRequest{}, kernel.E(kernel.Invalid, "oid4vc.error.claim_twice", c)
		}
		seen[c] = true
	}
	if r := []rune(q.Purpose); len(r) > 200 {
		q.Purpose = string(r[:200])
	}
	id, nonce, state, read := kernel.NewToken(), kernel.NewToken(), kernel.NewToken(), kernel.NewToken()
	claims := make([]map[string]any, len(q.Claims))
	for i, c := range q.Claims {
		claims[i] = map[string]any{"path": []string{c}}
	}
	dcql, _ := json.Marshal(map[string]any{"credentials": []map[string]any{{
		"id": dcqlID, "format": FormatSDJWT, "meta": map[string]any{"vct_values": []string{t.VCT}}, "claims": claims,
	}}})
	clientMeta, _ := json.Marshal(map[string]any{"vp_formats_supported": map[string]any{
		FormatSDJWT: map[string]any{"sd-jwt_alg_values": []string{"ES256", "ES384", "RS256", "PS256"}, "kb-jwt_alg_values": []string{"ES256"}},
	}})
	req := PresentationRequest{ID: id, ClientID: s.ClientIDFor(id), ResponseURI: s.responseURI(id), Nonce: nonce, DCQL: dcql, ReadToken: read}
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		req.ExpiresAt = tx.Now.Add(vpRequestTTL)
		return insertVPRequest(ctx, tx, vpRow{id: id, readHash: hashRead(read), nonce: nonce, state: state, typ: t.Code,
			claims: q.Claims, purpose: q.Purpose, status: VPPending, expires: req.ExpiresAt})
	})
	if err != nil {
		return PresentationRequest{}, kernel.Wrap(err, "oid4vc: presentation request")
	}
	req.URI = VPScheme + "?" + url.Values{
		"client_id": {req.ClientID}, "response_type": {"vp_token"}, "response_mode": {"direct_post"},
		"response_uri": {req.ResponseURI}, "nonce": {nonce}, "state": {state},
		"dcql_query": {string(dcql)}, "client_metadata": {string(clientMeta)},
	}.Encode()
	return req, nil
}

// sealedResult is what is sealed of a verified presentation.
type sealedResult struct {
	Agency    string         `json:"agency"`
	Claims    map[string]any `json:"claims"`
	Document  string         `json:"document_status"`
	KeyBound  bool           `json:"key_bound"`
	IssuedAt  time.Time      `json:"issued_at"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// vpAAD binds a sealed verdict to its request (named as when the wallet
// kept them, so verdicts sealed then still open).
func vpAAD(id string) []byte { return []byte("wallet.vp:" + id) }

// ReceivePresentation takes a wallet app's authorization response
// (direct_post: vp_token and state) to request id. A presentation that
// does not verify — altered, not bound to this request's client_id and
// nonce, or for another state — is refused and counted, and the request
// stays pending (a stranger who saw the link cannot end it by posting
// garbage); maxVPFailures refusals fail it. A genuine presentation that
// does not meet the request (another type, claims missing, the document
// revoked or suspended) fails it; one that does verifies it. Either
// verdict is final: a second response is refused (replay). Audited,
// without claims.
func (s *Service) ReceivePresentation(ctx context.Context, id, vpToken, state string) error {
	v, err := findVPRequest(ctx, s.o.DB, id, false)
	if err != nil {
		return perr(400, "invalid_request", "unknown presentation request")
	}
	switch {
	case v.status != VPPending:
		return perr(400, "invalid_request", "this presentation request was already answered")
	case !v.expires.After(s.o.Clock.Now()):
		return perr(400, "invalid_request", "this presentation request expired")
	}
	verdict, result, refusal := s.checkResponse(ctx, v, vpToken, state)
	if refusal != nil && refusal.Status >= 500 {
		return refusal
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		cur, err := findVPRequest(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if cur.status != VPPending {
			return perr(400, "invalid_request", "this presentation request was already answered")
		}
		if refusal != nil {
			failures := cur.failures + 1
			status := VPPending
			if failures >= maxVPFailures {
				status = VPFailed
			}
			if err := updateVPRefused(ctx, tx, id, failures, refusal.Description, status); err != nil {
				return err
			}
			if status == VPFailed {
				if _, err := audit.Append(ctx, tx, audit.Entry{Action: "wallet.oid4vp.verify", SubjectType: "wallet_vp_request", SubjectID: id,
					Details: map[string]any{"type": v.typ, "verdict": VPFailed, "reason": "too many refused responses"}}); err != nil {
					return err
				}
			}
			// The refusal is kept although the request fails: a commit.
			return nil
		}
		b, err := json.Marshal(result)
		if err != nil {
			return err
		}
		if err := updateVPAnswered(ctx, tx, id, verdict.status, base64.StdEncoding.EncodeToString(s.o.Box.Seal(b, vpAAD(id))), verdict.reason); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "wallet.oid4vp.verify", SubjectType: "wallet_vp_request", SubjectID: id,
			Details: map[string]any{"type": v.typ, "agency": result.Agency, "verdict": verdict.status, "reason": verdict.reason}})
		return err
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		return refusal // recorded above
	}
	return nil
}

// vpVerdict is the verdict of a genuine presentation.
type vpVerdict struct {
	status string // VPVerified or VPFailed
	reason string
}

// checkResponse verifies a response against request v: a refusal, or a
// verdict with what the verifier may see.
func (s *Service) checkResponse(ctx context.Context, v vpRow, vpToken, state string) (vpVerdict, sealedResult, *ProtocolError) {
	if state != v.state {
		return vpVerdict{}, sealedResult{}, perr(400, "invalid_request", "state differs from the request's")
	}
	pres, pe := onePresentation(vpToken)
	if pe != nil {
		return vpVerdict{}, sealedResult{}, pe
	}
	ver, err := s.o.Wallet.Verify(ctx, pres, &sdjwt.ExpectKeyBinding{Audience: s.ClientIDFor(v.id), Nonce: v.nonce})
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Invalid {
			return vpVerdict{}, sealedResult{}, perr(400, "invalid_request", "the presentation does not verify (signature, disclosures, key binding to this client_id and nonce)")
		}
		return vpVerdict{}, sealedResult{}, perr(500, "server_error", "the presentation could not be checked")
	}
	res := sealedResult{Agency: ver.Agency, Claims: map[string]any{}, KeyBound: ver.KeyBound, IssuedAt: ver.IssuedAt, ExpiresAt: ver.ExpiresAt}
	res.Document = statusName(ver.Status)
	verdict := vpVerdict{status: VPVerified}
	switch {
	case ver.Type != v.typ:
		verdict = vpVerdict{VPFailed, "the document is of another type"}
	case ver.Status != statuslist.Valid:
		verdict = vpVerdict{VPFailed, "the document is " + res.Document}
	case !ver.KeyBound:
		verdict = vpVerdict{VPFailed, "not presented by its holder"}
	}
	for _, c := range v.claims {
		val, ok := ver.Claims[c]
		if !ok && verdict.status == VPVerified {
			verdict = vpVerdict{VPFailed, "claim " + c + " was not disclosed"}
		}
		if ok && verdict.status == VPVerified {
			res.Claims[c] = val
		}
	}
	if verdict.status != VPVerified {
		res.Claims = nil // a failed presentation shows nothing
	}
	return verdict, res, nil
}

func statusName(st statuslist.Status) string {
	switch st {
	case statuslist.Valid:
		return "valid"
	case statuslist.Suspended:
		return "suspended"
	case statuslist.Invalid:
		return "revoked"
	}
	return "unknown"
}

// onePresentation reads the vp_token of a DCQL response: a JSON object
// with the one query's id and one presentation (an array of one, as 1.0
// says, or a string, as drafts did).
func onePresentation(vpToken string) (string, *ProtocolError) {
	if vpToken == "" {
		return "", perr(400, "invalid_request", "vp_token is required")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(vpToken), &m); err != nil || len(m) != 1 {
		return "", perr(400, "invalid_request", `vp_token must be a JSON object with one member, "`+dcqlID+`"`)
	}
	raw, ok := m[dcqlID]
	if !ok {
		return "", perr(400, "invalid_request", `vp_token has no presentation for the credential query "`+dcqlID+`"`)
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return "", perr(400, "invalid_request", "the presentation must be a string")
		}
		list = []string{one}
	}
	if len(list) != 1 || list[0] == "" {
		return "", perr(400, "invalid_request", "send exactly one presentation")
	}
	return list[0], nil
}

// PresentationResult returns the verdict on request id to whoever holds
// its read token; to anyone else it does not exist.
func (s *Service) PresentationResult(ctx context.Context, id, readToken string) (PresentationResult, error) {
	v, err := findVPRequest(ctx, s.o.DB, id, false)
	if err != nil {
		return PresentationResult{}, err
	}
	if readToken == "" || subtle.ConstantTimeCompare([]byte(hashRead(readToken)), []byte(v.readHash)) != 1 {
		return PresentationResult{}, kernel.E(kernel.NotFound, "oid4vc.error.no_request")
	}
	out := PresentationResult{ID: v.id, Status: v.status, Type: v.typ, Error: v.lastError, Failures: v.failures, ExpiresAt: v.expires}
	if v.sealed != "" {
		raw, err := base64.StdEncoding.DecodeString(v.sealed)
		if err != nil {
			return PresentationResult{}, kernel.Wrap(err, "oid4vc: presentation result")
		}
		b, err := s.o.Box.Open(raw, vpAAD(v.id))
		if err != nil {
			return PresentationResult{}, kernel.Wrap(err, "oid4vc: presentation result")
		}
		var res sealedResult
		if err := json.Unmarshal(b, &res); err != nil {
			return PresentationResult{}, kernel.Wrap(err, "oid4vc: presentation result")
		}
		out.Agency, out.Claims, out.Document, out.KeyBound = res.Agency, res.Claims, res.Document, res.KeyBound
		if !res.IssuedAt.IsZero() {
			out.IssuedAt = &res.IssuedAt
		}
		if !res.ExpiresAt.IsZero() {
			out.Expires = &res.ExpiresAt
		}
	}
	return out, nil
}
