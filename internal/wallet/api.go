package wallet

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed api_openapi.yaml
var apiOpenAPI []byte

// Scopes of the API: what an agency's client registered for them may get
// for itself with the client_credentials grant of the civitas OpenID
// Provider.
const (
	ScopeIssue = "wallet.issue" // issue documents and change their status, as the client's agency
	ScopeQuery = "wallet.query" // ask whether a person holds a document (Holds)
)

// MaxBatch is the most issuances one POST /documents:batch may carry.
const MaxBatch = 1000

// batchBodyLimit bounds the body of a batch: a thousand documents of a few
// KiB of claims each, with room.
const batchBodyLimit = 16 << 20

// APIClient is the application calling the API, as its access token says.
type APIClient struct {
	ID     string
	Agency string // the agency the client is bound to, or ""
	Scopes []string
}

// APITokens verifies the access token of an API call: a token a client got
// for itself (client_credentials). A bad token is Unauthenticated.
type APITokens interface {
	Verify(r *http.Request) (APIClient, error)
}

type walletAPI struct {
	s      *Service
	web    *web.Server
	tokens APITokens
}

// MountAPI serves the agencies' API under /api/wallet/v1 (openapi.yaml
// there describes it), for clients authenticated with their own access
// tokens:
//
//   - with scope wallet.issue, as the agency the client is bound to:
//     GET /types (what the agency may issue), POST /documents (issue one,
//     the credential with all its disclosures in the answer), POST
//     /documents:batch (up to MaxBatch, a result or a problem for each),
//     GET /documents/{id} (its status and dates, without the credential),
//     POST /documents/{id}/status (revoke, suspend, reinstate);
//   - with scope wallet.query: GET /holdings (Holds).
//
// Errors are RFC 9457 problem documents in the caller's language.
func (s *Service) MountAPI(ws *web.Server, tokens APITokens) {
	a := &walletAPI{s: s, web: ws, tokens: tokens}
	ws.ExemptFromCSRF("/api/wallet/")
	ws.HandleFunc("GET /api/wallet/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(apiOpenAPI)
	})
	ws.HandleFunc("GET /api/wallet/v1/types", a.types)
	ws.HandleFunc("POST /api/wallet/v1/documents", a.issue)
	ws.HandleFunc("POST /api/wallet/v1/documents:batch", a.batch)
	ws.AllowUpload("/api/wallet/v1/documents:batch", batchBodyLimit)
	ws.HandleFunc("GET /api/wallet/v1/documents/{id}", a.document)
	ws.HandleFunc("POST /api/wallet/v1/documents/{id}/status", a.status)
	ws.HandleFunc("GET /api/wallet/v1/holdings", a.holdings)
}

// client verifies the caller's token and scope; wallet.issue also needs an
// agency. The returned request context carries the client as the actor,
// acting for its agency. Failures are answered.
func (a *walletAPI) client(w http.ResponseWriter, r *http.Request, scope string) (APIClient, *http.Request, bool) {
	c, err := a.tokens.Verify(r)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Unauthenticated {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		a.web.Error(w, r, err)
		return APIClient{}, nil, false
	}
	if !slices.Contains(c.Scopes, scope) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
		a.web.Error(w, r, kernel.E(kernel.Forbidden, "walletapi.error.scope", scope))
		return APIClient{}, nil, false
	}
	if scope == ScopeIssue && c.Agency == "" {
		a.web.Error(w, r, kernel.E(kernel.Forbidden, "walletapi.error.no_agency"))
		return APIClient{}, nil, false
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorClient, ID: c.ID, OnBehalfOf: actingForAgency(c.Agency)})
	return c, r.WithContext(ctx), true
}

// decode reads a JSON body strictly: one object, no unknown fields, nothing
// after it, so a misspelt field is an error the developer sees.
func (a *walletAPI) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.web.Error(w, r, err)
			return false
		}
		a.web.Error(w, r, kernel.E(kernel.Invalid, "walletapi.error.bad_json").WithCause(err))
		return false
	}
	return true
}

// apiType is a document type as the API lists it.
type apiType struct {
	Code     string            `json:"code"`
	Names    map[string]string `json:"names"`
	Holder   string            `json:"holder"`
	Validity string            `json:"validity,omitempty"`
	Offline  bool              `json:"offline"`
	Source   string            `json:"source,omitempty"`
	Claims   []ClaimSpec       `json:"claims"`
	VCT      string            `json:"vct"`
}

func (a *walletAPI) types(w http.ResponseWriter, r *http.Request) {
	c, r, ok := a.client(w, r, ScopeIssue)
	if !ok {
		return
	}
	ag, err := a.s.o.Registries.Agency(r.Context(), c.Agency)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	out := []apiType{}
	for _, t := range a.s.o.Catalogue.Types() {
		if t.IssuedBy(ag.Kind) {
			out = append(out, apiType{Code: t.Code, Names: t.Names, Holder: t.Holder, Validity: t.Validity, Offline: t.Offline,
				Source: t.Source, Claims: t.Claims, VCT: a.s.VCT(t.Code)})
		}
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"agency": ag.Code, "types": out})
}

// apiIssueRequest is one issuance: to a person (citizen_id) or an
// organisation (reg_number); without claims, from the registry.
type apiIssueRequest struct {
	Type      string         `json:"type"`
	CitizenID string         `json:"citizen_id"`
	RegNumber string         `json:"reg_number"`
	Claims    map[string]any `json:"claims"`
	Replaces  string         `json:"replaces"`
}

func (in apiIssueRequest) issuance(agency string) (Issuance, error) {
	if strings.TrimSpace(in.Type) == "" {
		return Issuance{}, kernel.E(kernel.Invalid, "walletapi.error.no_type")
	}
	var h Holder
	switch {
	case in.CitizenID != "" && in.RegNumber == "":
		h = Holder{Kind: HolderPerson, ID: strings.TrimSpace(in.CitizenID)}
	case in.RegNumber != "" && in.CitizenID == "":
		h = Holder{Kind: HolderOrganisation, ID: strings.TrimSpace(in.RegNumber)}
	default:
		return Issuance{}, kernel.E(kernel.Invalid, "walletapi.error.holder")
	}
	return Issuance{Agency: agency, Type: strings.TrimSpace(in.Type), Holder: h, Claims: in.Claims, Replaces: strings.TrimSpace(in.Replaces)}, nil
}

// apiHolder names a holder as the API does.
type apiHolder struct {
	CitizenID string `json:"citizen_id,omitempty"`
	RegNumber string `json:"reg_number,omitempty"`
}

func holderJSON(h Holder) apiHolder {
	if h.Kind == HolderOrganisation {
		return apiHolder{RegNumber: h.ID}
	}
	return apiHolder{CitizenID: h.ID}
}

// apiDocument is an issued document as the API answers it.
type apiDocument struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Holder     apiHolder  `json:"holder"`
	Agency     string     `json:"agency"`
	Status     string     `json:"status"`
	IssuedAt   time.Time  `json:"issued_at"`
	ExpiresAt  *time.Time `json:"expires_at"` // null: does not expire
	Replaces   string     `json:"replaces,omitempty"`
	Credential string     `json:"credential,omitempty"` // the SD-JWT VC with every disclosure: only in the answer to its issuance
}

func documentJSON(d Detailed) apiDocument {
	out := apiDocument{ID: d.ID, Type: d.Type, Holder: holderJSON(d.Holder), Agency: d.Agency, Status: d.Status,
		IssuedAt: d.IssuedAt, Replaces: d.Replaces, Credential: d.Credential}
	if !d.ExpiresAt.IsZero() {
		t := d.ExpiresAt
		out.ExpiresAt = &t
	}
	return out
}

func (a *walletAPI) issue(w http.ResponseWriter, r *http.Request) {
	c, r, ok := a.client(w, r, ScopeIssue)
	if !ok {
		return
	}
	var in apiIssueRequest
	if !a.decode(w, r, &in) {
		return
	}
	is, err := in.issuance(c.Agency)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	d, err := a.s.Issue(r.Context(), is)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	a.web.JSON(w, r, http.StatusCreated, documentJSON(d))
}

// batchResult is the outcome of one issuance of a batch: its document or
// its problem.
type batchResult struct {
	Index    int          `json:"index"`
	Document *apiDocument `json:"document,omitempty"`
	Error    *itemProblem `json:"error,omitempty"`
}

// itemProblem is an RFC 9457 problem document, as the web layer writes them,
// for one item of a batch.
type itemProblem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// batchWorkers is how many issuances of a batch run at once: enough to
// fill the shared transactions of the single writer, few enough not to
// crowd other requests out.
const batchWorkers = 16

func (a *walletAPI) batch(w http.ResponseWriter, r *http.Request) {
	c, r, ok := a.client(w, r, ScopeIssue)
	if !ok {
		return
	}
	var in struct {
		Documents []json.RawMessage `json:"documents"`
	}
	if !a.decode(w, r, &in) {
		return
	}
	if len(in.Documents) == 0 || len(in.Documents) > MaxBatch {
		a.web.Error(w, r, kernel.E(kernel.Invalid, "walletapi.error.batch_size", MaxBatch))
		return
	}
	ctx := r.Context()
	results := make([]batchResult, len(in.Documents))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(batchWorkers, len(in.Documents)) {
		wg.Go(func() {
			for i := range next {
				results[i] = a.batchItem(r, c, i, in.Documents[i])
			}
		})
	}
	for i := range in.Documents {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return // the client has gone
	}
	issued := 0
	for _, res := range results {
		if res.Document != nil {
			issued++
		}
	}
	a.web.JSON(w, r, http.StatusOK, map[string]any{"issued": issued, "failed": len(results) - issued, "results": results})
}

// batchItem issues one document of a batch. An item that is not an
// issuance (unknown field, wrong JSON type) fails alone.
func (a *walletAPI) batchItem(r *http.Request, c APIClient, i int, raw json.RawMessage) batchResult {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var in apiIssueRequest
	if err := dec.Decode(&in); err != nil {
		return batchResult{Index: i, Error: a.problemOf(r, kernel.E(kernel.Invalid, "walletapi.error.bad_item").WithCause(err))}
	}
	is, err := in.issuance(c.Agency)
	if err == nil {
		var d Detailed
		if d, err = a.s.Issue(r.Context(), is); err == nil {
			doc := documentJSON(d)
			return batchResult{Index: i, Document: &doc}
		}
	}
	return batchResult{Index: i, Error: a.problemOf(r, err)}
}

// problemOf describes err for one item as the web layer would for a whole
// request: the status from its code, the message in the caller's
// language, internal errors logged in full and described generically.
func (a *walletAPI) problemOf(r *http.Request, err error) *itemProblem {
	code := kernel.ErrorCode(err)
	key, args := kernel.ErrorKey(err)
	status := map[kernel.Code]int{kernel.Invalid: http.StatusBadRequest, kernel.NotFound: http.StatusNotFound,
		kernel.Conflict: http.StatusConflict, kernel.Forbidden: http.StatusForbidden, kernel.Unauthenticated: http.StatusUnauthorized,
		kernel.TooManyRequests: http.StatusTooManyRequests, kernel.Unavailable: http.StatusServiceUnavailable}[code]
	rid := kernel.RequestIDFrom(r.Context())
	if status == 0 {
		code, status, key, args = kernel.Internal, http.StatusInternalServerError, "error.internal", nil
		a.s.o.Logger.ErrorContext(r.Context(), "wallet: batch issuance failed", slog.String("request_id", rid), slog.Any("err", err))
	}
	if !a.web.Catalog().Has(key) {
		key, args = "error."+string(code), nil
	}
	return &itemProblem{Type: a.web.PublicURL() + "/problems/" + string(code), Title: a.web.T(r, "error.title."+string(code)),
		Status: status, Detail: a.web.T(r, key, args...), Code: string(code), RequestID: rid}
}

func (a *walletAPI) document(w http.ResponseWriter, r *http.Request) {
	c, r, ok := a.client(w, r, ScopeIssue)
	if !ok {
		return
	}
	d, err := a.s.IssuedDocument(r.Context(), c.Agency, r.PathValue("id"))
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	a.web.JSON(w, r, http.StatusOK, documentJSON(Detailed{Document: d}))
}

func (a *walletAPI) status(w http.ResponseWriter, r *http.Request) {
	c, r, ok := a.client(w, r, ScopeIssue)
	if !ok {
		return
	}
	var in struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if !a.decode(w, r, &in) {
		return
	}
	id := r.PathValue("id")
	if err := a.s.SetStatus(r.Context(), c.Agency, id, in.Status, in.Reason); err != nil {
		a.web.Error(w, r, err)
		return
	}
	a.web.JSON(w, r, http.StatusOK, map[string]string{"id": id, "status": in.Status})
}

// apiHolding is the answer of GET /holdings.
type apiHolding struct {
	Holds          bool           `json:"holds"`
	Type           string         `json:"type"`
	QueryID        string         `json:"query_id"`
	IssuedBy       string         `json:"issued_by,omitempty"`
	ExpiresAt      *time.Time     `json:"expires_at,omitempty"`
	Claims         map[string]any `json:"claims,omitempty"`
	ClaimsWithheld bool           `json:"claims_withheld,omitempty"`
}

func (a *walletAPI) holdings(w http.ResponseWriter, r *http.Request) {
	c, r, ok := a.client(w, r, ScopeQuery)
	if !ok {
		return
	}
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			a.web.Error(w, r, kernel.E(kernel.Invalid, "walletapi.error.repeated", k))
			return
		}
	}
	var claims []string
	for name := range strings.SplitSeq(q.Get("claims"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			claims = append(claims, name)
		}
	}
	h, err := a.s.Holds(r.Context(), Query{CitizenID: strings.TrimSpace(q.Get("citizen_id")), RegNumber: strings.TrimSpace(q.Get("reg_number")), Type: strings.TrimSpace(q.Get("type")),
		Purpose: q.Get("purpose"), Claims: claims, Requester: Requester{Kind: kernel.ActorClient, ID: c.ID, Agency: c.Agency}})
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	out := apiHolding{Holds: h.Holds, Type: strings.TrimSpace(q.Get("type")), QueryID: h.QueryID, IssuedBy: h.Agency, Claims: h.Claims, ClaimsWithheld: h.Withheld}
	if !h.ExpiresAt.IsZero() {
		t := h.ExpiresAt
		out.ExpiresAt = &t
	}
	a.web.JSON(w, r, http.StatusOK, out)
}
