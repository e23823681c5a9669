package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// ScopeQuery is the scope a consumer's client needs (with an agency).
const ScopeQuery = "exchange.query"

// APIClient is the application calling the API, as its access token says.
type APIClient struct {
	ID     string
	Agency string // the agency the client is bound to, or ""
	Scopes []string
}

// APITokens verifies the access token of an API call: a token a client
// got for itself (client_credentials) from the OpenID Provider. A bad
// token is Unauthenticated.
type APITokens interface {
	Verify(r *http.Request) (APIClient, error)
}

// queryBodyLimit bounds a query's body: a few short members.
const queryBodyLimit = 16 << 10

// queryBody is POST /api/exchange/v1/query's body.
type queryBody struct {
	Service string            `json:"service"`
	Subject map[string]string `json:"subject"`
	Purpose string            `json:"purpose"`
	CaseRef string            `json:"case_ref"`
}

type api struct {
	s       *Service
	web     *web.Server
	tokens  APITokens
	openAPI []byte
}

// mountAPI serves the API under /api/exchange/v1 (openapi.json there
// describes it) and the discovery document:
//
//   - POST /query, for clients with scope exchange.query bound to an agency;
//   - GET /purposes, /services and /services/{code}/schema, for anyone;
//   - GET /.well-known/civitas-exchange, where peers find the peer listener.
//
// Errors are RFC 9457 problem documents in the caller's language.
func (s *Service) mountAPI(ws *web.Server, tokens APITokens) error {
	doc, err := s.OpenAPI()
	if err != nil {
		return err
	}
	a := &api{s: s, web: ws, tokens: tokens, openAPI: doc}
	ws.ExemptFromCSRF("/api/exchange/")
	ws.AllowUpload("/api/exchange/v1/query", queryBodyLimit)
	// An answer is mostly its receipt (the seal's chain, a signature): gzip
	// would shrink it little for the CPU it costs both sides at every query.
	ws.Uncompressed("/api/exchange/v1/query")
	ws.HandleFunc("POST /api/exchange/v1/query", a.query)
	ws.HandleFunc("GET /api/exchange/v1/purposes", a.purposes)
	ws.HandleFunc("GET /api/exchange/v1/services", a.services)
	ws.HandleFunc("GET /api/exchange/v1/services/{code}/schema", a.schema)
	ws.HandleFunc("GET /api/exchange/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(a.openAPI)
	})
	ws.HandleFunc("GET "+DiscoveryPath, func(w http.ResponseWriter, r *http.Request) {
		ws.JSON(w, r, http.StatusOK, s.Discovery())
	})
	return nil
}

// client verifies the caller's token, its scope and its agency; failures
// are answered.
func (a *api) client(w http.ResponseWriter, r *http.Request) (APIClient, bool) {
	c, err := a.tokens.Verify(r)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Unauthenticated {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		a.web.Error(w, r, err)
		return APIClient{}, false
	}
	if !slices.Contains(c.Scopes, ScopeQuery) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+ScopeQuery+`"`)
		a.web.Error(w, r, kernel.E(kernel.Forbidden, "exchange.error.scope"))
		return APIClient{}, false
	}
	if c.Agency == "" {
		a.web.Error(w, r, kernel.E(kernel.Forbidden, "exchange.error.no_agency_client"))
		return APIClient{}, false
	}
	if strings.Contains(c.ID, ":") {
		// A local client named like a peer's consumer or a desk would use
		// their grants: such a client is no consumer.
		a.web.Error(w, r, kernel.E(kernel.Forbidden, "exchange.error.consumer_name"))
		return APIClient{}, false
	}
	return c, true
}

// decodeStrict reads one JSON object with no unknown members and nothing
// after it. A body over the limit is the web layer's 413.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return kernel.E(kernel.Invalid, "exchange.error.bad_json").WithCause(err)
	}
	return nil
}

// subjectOf reads a query's subject object: exactly one of citizen_id and
// reg_number.
func subjectOf(m map[string]string) (SubjectRef, error) {
	if len(m) == 0 {
		return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.no_subject")
	}
	if len(m) > 1 {
		return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.bad_subject")
	}
	for k, v := range m {
		if k != SubjectPerson && k != SubjectOrganisation {
			return SubjectRef{}, kernel.E(kernel.Invalid, "exchange.error.bad_subject")
		}
		return SubjectRef{Kind: k, ID: strings.TrimSpace(v)}, nil
	}
	return SubjectRef{}, nil
}

func (a *api) query(w http.ResponseWriter, r *http.Request) {
	c, ok := a.client(w, r)
	if !ok {
		return
	}
	var in queryBody
	if err := decodeStrict(r, &in); err != nil {
		a.web.Error(w, r, err)
		return
	}
	ref, err := subjectOf(in.Subject)
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	ans, err := a.s.Query(r.Context(), Request{Service: strings.TrimSpace(in.Service), Subject: ref, Purpose: in.Purpose, CaseRef: in.CaseRef,
		Consumer: Consumer{Name: c.ID, Actor: kernel.Actor{Kind: kernel.ActorClient, ID: c.ID, OnBehalfOf: "agency:" + c.Agency},
			Agency: c.Agency, Channel: ChannelExchange}})
	if err != nil {
		a.web.Error(w, r, err)
		return
	}
	writeAnswer(w, ans)
}

// writeAnswer writes {"data": ..., "receipt": ...} with the data's exact
// bytes, which the receipt's data_sha256 covers.
func writeAnswer(w http.ResponseWriter, ans Answer) {
	var b bytes.Buffer
	b.Grow(len(ans.Data) + len(ans.Receipt) + 32)
	b.WriteString(`{"data":`)
	b.Write(ans.Data)
	b.WriteString(`,"receipt":`)
	if compactJWS(ans.Receipt) {
		// base64url and dots, which JSON takes as they are
		b.WriteByte('"')
		b.WriteString(ans.Receipt)
		b.WriteByte('"')
	} else {
		rb, _ := json.Marshal(ans.Receipt) // a string: cannot fail
		b.Write(rb)
	}
	b.WriteString("}\n")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// compactJWS reports whether s has only the characters of a compact JWS
// (base64url and dots).
func compactJWS(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// problem answers a peer request's failure as RFC 9457 JSON.
func (s *Service) problem(w http.ResponseWriter, r *http.Request, err error) {
	if s.o.Web != nil {
		r.Header.Set("Accept", "application/problem+json")
		s.o.Web.Error(w, r, err)
		return
	}
	status := map[kernel.Code]int{kernel.Invalid: 400, kernel.Unauthenticated: 401, kernel.Forbidden: 403, kernel.NotFound: 404,
		kernel.Unavailable: 503}[kernel.ErrorCode(err)]
	if status == 0 {
		status = 500
	}
	code := string(kernel.ErrorCode(err))
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "title": code, "status": status, "code": code})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiPurpose is a purpose as the API lists it.
type apiPurpose struct {
	Code  string `json:"code"`
	Title string `json:"title"`
}

func (a *api) purposes(w http.ResponseWriter, r *http.Request) {
	out := make([]apiPurpose, 0, len(purposes))
	for _, p := range purposes {
		out = append(out, apiPurpose{Code: p.Code, Title: a.web.T(r, p.TitleKey())})
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

// apiService is a service as the API lists it.
type apiService struct {
	Code     string   `json:"code"`
	Version  int      `json:"version"`
	Title    string   `json:"title"`
	Provider string   `json:"provider"`
	Subject  string   `json:"subject"`
	List     bool     `json:"list"`
	Fields   []string `json:"fields"`
	Schema   string   `json:"schema"`
}

func (a *api) services(w http.ResponseWriter, r *http.Request) {
	out := []apiService{}
	for _, sp := range a.s.cat.Specs() {
		prov, err := a.s.Provider(r.Context(), sp)
		if err != nil && kernel.ErrorCode(err) != kernel.Unavailable {
			a.web.Error(w, r, err)
			return
		}
		out = append(out, apiService{Code: sp.Code, Version: sp.Version, Title: a.web.T(r, sp.TitleKey()), Provider: prov.Code,
			Subject: sp.Subject, List: sp.List, Fields: sp.FieldNames(),
			Schema: a.s.o.PublicURL + "/api/exchange/v1/services/" + sp.Code + "/schema"})
	}
	a.web.JSON(w, r, http.StatusOK, out)
}

func (a *api) schema(w http.ResponseWriter, r *http.Request) {
	sp, err := a.s.cat.Spec(r.PathValue("code"))
	if err != nil {
		a.web.Error(w, r, kernel.E(kernel.NotFound, "exchange.error.unknown_service"))
		return
	}
	sch := sp.Schema()
	sch["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	sch["$id"] = a.s.o.PublicURL + "/api/exchange/v1/services/" + sp.Code + "/schema"
	a.web.JSON(w, r, http.StatusOK, sch)
}
