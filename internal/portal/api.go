package portal

import (
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"

	"civitas/internal/kernel"
)

//go:embed openapi.yaml
var openAPI []byte

// The JSON API for citizens' apps: an OpenID access token of the citizen
// with the portal scope, as the web pages do with a session.
func (h *pages) mountAPI() {
	ws := h.web
	ws.ExemptFromCSRF("/api/portal/")
	ws.HandleFunc("GET /api/portal/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, _ = w.Write(openAPI)
	})
	ws.HandleFunc("GET /api/portal/v1/procedures", h.apiProcedures)
	ws.HandleFunc("GET /api/portal/v1/statistics", h.apiStatistics)
	ws.HandleFunc("GET /api/portal/v1/applications", h.apiList)
	ws.HandleFunc("POST /api/portal/v1/applications", h.apiStart)
	ws.HandleFunc("GET /api/portal/v1/applications/{id}", h.apiGet)
	ws.HandleFunc("PATCH /api/portal/v1/applications/{id}", h.apiSave)
	ws.HandleFunc("POST /api/portal/v1/applications/{id}/submit", h.apiSubmit)
	ws.HandleFunc("POST /api/portal/v1/applications/{id}/withdraw", h.apiWithdraw)
}

// token verifies the access token and its scope and makes the request the
// citizen's.
func (h *pages) token(w http.ResponseWriter, r *http.Request) (Token, *http.Request, bool) {
	t, err := h.tokens.Verify(r)
	if err != nil {
		h.web.Error(w, r, err)
		return Token{}, nil, false
	}
	if !slices.Contains(t.Scopes, Scope) {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "portal.error.scope"))
		return Token{}, nil, false
	}
	return t, r.WithContext(actorContext(r.Context(), t)), true
}

// ProcedureJSON is a procedure as `procedures list --json` and the API
// give it: the fixed contract's members and the rest of the definition.
type ProcedureJSON struct {
	Code       string      `json:"code"`
	Name       string      `json:"name"`
	Fee        int64       `json:"fee"`
	SLADays    int         `json:"sla_days"`
	Integrated bool        `json:"integrated"`
	Inputs     []InputJSON `json:"inputs"`
}

// InputJSON is an input of ProcedureJSON. Party is there only for an input
// about someone other than the subject (the child of a birth, the
// deceased), so that a line stays a valid definition.
type InputJSON struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Party  string `json:"party,omitempty"`
}

// ListJSON is a procedure in the form of the fixed contract, named in lang.
func ListJSON(p Procedure, lang string) ProcedureJSON {
	out := ProcedureJSON{Code: p.Code, Name: p.NameIn(lang), Fee: p.Fee, SLADays: p.SLADays, Integrated: p.Integrated, Inputs: []InputJSON{}}
	for _, in := range p.Inputs {
		ij := InputJSON{Name: in.Name, Source: in.Source}
		if in.PartyOf() != PartySubject {
			ij.Party = in.Party
		}
		out.Inputs = append(out.Inputs, ij)
	}
	return out
}

func (h *pages) apiProcedures(w http.ResponseWriter, r *http.Request) {
	out := []ProcedureJSON{}
	for _, p := range h.s.o.Catalogue.Procedures() {
		out = append(out, ListJSON(p, lang(r)))
	}
	h.web.JSON(w, r, http.StatusOK, map[string]any{"procedures": out})
}

func (h *pages) apiStatistics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	for _, d := range []string{from, to} {
		if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
			h.web.Error(w, r, kernel.E(kernel.Invalid, "portal.error.bad_date"))
			return
		}
	}
	if from == "" {
		from = today(h.s.o.Clock.Now()).Time(kernel.Zone()).AddDate(0, 0, -30).Format(time.DateOnly)
	}
	rows, err := h.s.Statistics(r.Context(), from, to)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, map[string]any{"from": from, "to": to, "units": rows})
}

// applicationJSON is an application as the API gives it.
type applicationJSON struct {
	ID           string         `json:"id"`
	Procedure    string         `json:"procedure"`
	Status       string         `json:"status"`
	DueDate      *string        `json:"due_date"`
	Receipt      string         `json:"receipt,omitempty"`
	Subject      string         `json:"subject"`
	Channel      string         `json:"channel"`
	Fee          int64          `json:"fee"`
	PaymentState string         `json:"payment_state"`
	Overdue      bool           `json:"overdue"`
	Prefilled    map[string]any `json:"prefilled"`
	Fields       map[string]any `json:"fields"`
	Missing      []string       `json:"missing,omitempty"`
	Sources      []sourceJSON   `json:"sources,omitempty"`
	Parts        []partJSON     `json:"parts,omitempty"`
	Created      time.Time      `json:"created_at"`
	Submitted    *time.Time     `json:"submitted_at,omitempty"`
}

type sourceJSON struct {
	Party    string           `json:"party"`
	Source   string           `json:"source"`
	Provider string           `json:"provider,omitempty"`
	Receipt  string           `json:"receipt,omitempty"`
	Records  []map[string]any `json:"records"`
	Error    string           `json:"error,omitempty"`
}

type partJSON struct {
	Code     string  `json:"code"`
	Agency   string  `json:"agency"`
	Status   string  `json:"status"`
	DueDate  string  `json:"due_date,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	Document *string `json:"document_type,omitempty"`
	PDF      string  `json:"pdf,omitempty"`
}

func (h *pages) toJSON(a Application) applicationJSON {
	p, _ := h.s.o.Catalogue.Procedure(a.Procedure)
	out := applicationJSON{ID: a.ID, Procedure: a.Procedure, Status: a.Status, Receipt: a.Receipt, Subject: a.Subject.Kind + ":" + a.Subject.ID,
		Channel: a.Channel, Fee: a.Fee, PaymentState: a.PaymentState, Overdue: a.Overdue, Prefilled: map[string]any{}, Fields: map[string]any{},
		Created: a.CreatedAt}
	if a.Due != "" {
		d := a.Due
		out.DueDate = &d
	}
	if !a.SubmittedAt.IsZero() {
		t := a.SubmittedAt
		out.Submitted = &t
	}
	for _, in := range p.Inputs {
		v, ok := a.Data[in.Key()]
		if !ok {
			continue
		}
		if in.StateHeld() {
			out.Prefilled[in.Key()] = v
		} else {
			out.Fields[in.Key()] = v
		}
	}
	if a.Status == StatusDraft {
		out.Missing = Missing(p, a)
	}
	for _, s := range a.Sources {
		out.Sources = append(out.Sources, sourceJSON{Party: s.Party, Source: s.Source, Provider: s.Provider, Receipt: s.Receipt, Records: s.Records, Error: s.Error})
	}
	for _, c := range a.Parts {
		pj := partJSON{Code: c.Code, Agency: c.Agency, Status: c.Status, DueDate: c.Due, Reason: c.Reason}
		if c.DocumentType != "" {
			t := c.DocumentType
			pj.Document = &t
		}
		if c.HasPDF {
			pj.PDF = "/portal/applications/" + a.ID + "/results/" + c.Code + ".pdf"
		}
		out.Parts = append(out.Parts, pj)
	}
	return out
}

// readJSON decodes a small JSON body into v; an empty body leaves v.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 256<<10))
	if err != nil {
		return kernel.E(kernel.Invalid, "portal.error.bad_json").WithCause(err)
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return kernel.E(kernel.Invalid, "portal.error.bad_json").WithCause(err)
	}
	return nil
}

type startJSON struct {
	Procedure string            `json:"procedure"`
	For       string            `json:"for"`
	Fields    map[string]string `json:"fields"`
}

func (h *pages) apiStart(w http.ResponseWriter, r *http.Request) {
	_, r, ok := h.token(w, r)
	if !ok {
		return
	}
	var in startJSON
	if err := readJSON(r, &in); err != nil {
		h.web.Error(w, r, err)
		return
	}
	if in.Procedure == "" {
		h.web.Error(w, r, kernel.E(kernel.Invalid, "portal.error.no_procedure"))
		return
	}
	a, err := h.s.Start(r.Context(), StartRequest{Procedure: in.Procedure, For: in.For, Fields: in.Fields})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/portal/v1/applications/"+a.ID)
	h.web.JSON(w, r, http.StatusCreated, h.toJSON(a))
}

func (h *pages) apiGet(w http.ResponseWriter, r *http.Request) {
	_, r, ok := h.token(w, r)
	if !ok {
		return
	}
	a, err := h.s.Application(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, h.toJSON(a))
}

func (h *pages) apiList(w http.ResponseWriter, r *http.Request) {
	_, r, ok := h.token(w, r)
	if !ok {
		return
	}
	pg, err := h.s.Mine(r.Context(), kernel.Page{After: r.URL.Query().Get("after"), Limit: 50})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	out := []applicationJSON{}
	for _, a := range pg.Items {
		out = append(out, h.toJSON(a))
	}
	h.web.JSON(w, r, http.StatusOK, map[string]any{"applications": out, "next": pg.Next})
}

type saveJSON struct {
	Fields          map[string]string `json:"fields"`
	Delivery        string            `json:"delivery"`
	DeliveryAddress string            `json:"delivery_address"`
}

func (h *pages) apiSave(w http.ResponseWriter, r *http.Request) {
	_, r, ok := h.token(w, r)
	if !ok {
		return
	}
	var in saveJSON
	if err := readJSON(r, &in); err != nil {
		h.web.Error(w, r, err)
		return
	}
	a, err := h.s.Save(r.Context(), r.PathValue("id"), SaveRequest{Fields: in.Fields, Delivery: in.Delivery, DeliveryAddress: in.DeliveryAddress})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, h.toJSON(a))
}

type submitJSON struct {
	Code string `json:"code"`
}

func (h *pages) apiSubmit(w http.ResponseWriter, r *http.Request) {
	t, r, ok := h.token(w, r)
	if !ok {
		return
	}
	var in submitJSON
	if err := readJSON(r, &in); err != nil {
		h.web.Error(w, r, err)
		return
	}
	a, err := h.s.Submit(r.Context(), r.PathValue("id"), SubmitRequest{ACR: t.ACR, Code: in.Code})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, h.toJSON(a))
}

func (h *pages) apiWithdraw(w http.ResponseWriter, r *http.Request) {
	_, r, ok := h.token(w, r)
	if !ok {
		return
	}
	a, err := h.s.Withdraw(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.web.JSON(w, r, http.StatusOK, h.toJSON(a))
}
