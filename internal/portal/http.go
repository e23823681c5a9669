package portal

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"rsc.io/qr"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/portal.css
var pageStyle []byte

// Scope is the OpenID scope a citizen's app asks for to use the API.
const Scope = "portal"

// MountOptions are what the pages and the API need besides the service.
type MountOptions struct {
	Tokens Tokens // verifies the API's access tokens; nil serves no API
}

type pages struct {
	s      *Service
	web    *web.Server
	pages  *web.Pages
	style  string
	tokens Tokens
}

// uploadPath takes every file: one path, so its larger body limit is exact.
const uploadPath = "/portal/uploads"

// Mount serves the portal: the catalogue and applications for citizens
// (/portal), the officials' desk (/officer/portal), the JSON API for
// mobile apps (/api/portal/v1) and its OpenAPI document.
func (s *Service) Mount(ws *web.Server, o MountOptions) error {
	ps, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pageStyle)
	h := &pages{s: s, web: ws, pages: ps, style: "/portal/static/portal-" + hex.EncodeToString(sum[:6]) + ".css", tokens: o.Tokens}
	ws.AddNav(web.NavItem{Key: "nav.portal", Path: "/portal", Order: 10, Who: web.Everyone})
	ws.HandleFunc("GET /portal", h.home)
	ws.HandleFunc("GET /portal/static/{file}", h.stylesheet)
	ws.HandleFunc("GET /portal/procedures/{code}", h.procedure)
	ws.HandleFunc("GET /portal/applications", h.list)
	ws.HandleFunc("POST /portal/applications", h.start)
	ws.HandleFunc("GET /portal/applications/{id}", h.application)
	ws.HandleFunc("POST /portal/applications/{id}", h.save)
	ws.HandleFunc("GET /portal/applications/{id}/review", h.review)
	ws.HandleFunc("POST /portal/applications/{id}/submit", h.submit)
	ws.HandleFunc("POST /portal/applications/{id}/pay", h.pay)
	ws.HandleFunc("POST /portal/applications/{id}/paid", h.paid)
	ws.HandleFunc("POST /portal/applications/{id}/withdraw", h.withdraw)
	ws.HandleFunc("POST /portal/applications/{id}/respond", h.respond)
	ws.HandleFunc("POST /portal/applications/{id}/flags", h.flag)
	ws.HandleFunc("POST /portal/applications/{id}/files/{upload}/delete", h.removeUpload)
	ws.HandleFunc("GET /portal/applications/{id}/files/{upload}", h.download)
	ws.HandleFunc("GET /portal/applications/{id}/receipt", h.receipt)
	ws.HandleFunc("GET /portal/applications/{id}/results/{file}", h.result)
	ws.HandleFunc("POST "+uploadPath, h.upload)
	ws.AllowUpload(uploadPath, s.o.MaxUpload+64<<10)
	h.mountDesk()
	if o.Tokens != nil {
		h.mountAPI()
	}
	return nil
}

func (h *pages) stylesheet(w http.ResponseWriter, r *http.Request) {
	if "/portal/static/"+r.PathValue("file") != h.style {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(pageStyle)
}

// lang is the page's language.
func lang(r *http.Request) string { return web.LangFrom(r.Context()) }

// names picks a name in the reader's language.
func names(m map[string]string, l string) string {
	if v := m[l]; v != "" {
		return v
	}
	return m["vi"]
}

// label is an input's label in the reader's language: its own, or the
// vocabulary's (portal.field.NAME), or its name.
func (h *pages) label(r *http.Request, in Input) string {
	if v := names(in.Labels, lang(r)); v != "" {
		return v
	}
	if key := "portal.field." + in.Name; h.web.Catalog().Has(key) {
		return h.web.T(r, key)
	}
	return in.Name
}

func (h *pages) tr(r *http.Request, key, fallback string) string {
	if h.web.Catalog().Has(key) {
		return h.web.T(r, key)
	}
	return fallback
}

// money writes an amount of đồng.
func money(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String() + " ₫"
}

// dayView is a calendar day ("2006-01-02") for a page to write with
// {{$.Date}}, or "" when day is not one. Instants stay time.Time, which the
// pages write with {{$.DateTime}}: both go through the formatting layer
// (internal/web/format.go), in the reader's language.
func dayView(day string) string {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return ""
	}
	return day
}

// signedIn is the signed-in account's session, or a redirect to log in.
func (h *pages) signedIn(w http.ResponseWriter, r *http.Request) (*web.Session, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return nil, false
	}
	if err != nil || sess.AccountID == "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/portal"
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}

// who sets the acting person: the signed-in citizen, or — with desk=AGENCY
// — an official of that agency in a level-2 session (an application
// started for someone at the desk). It answers the request itself when it
// cannot go on.
func (h *pages) who(w http.ResponseWriter, r *http.Request) (*http.Request, *web.Session, bool) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return nil, nil, false
	}
	agency := r.URL.Query().Get("desk")
	if agency == "" && r.Method == http.MethodPost {
		agency = r.PostFormValue("desk")
	}
	if agency == "" {
		return r, sess, true
	}
	r, ok = h.officialAt(w, r, sess, agency)
	return r, sess, ok
}

// officialAt makes the request an official's act for the agency, after
// checking the session (level 2) and the post.
func (h *pages) officialAt(w http.ResponseWriter, r *http.Request, sess *web.Session, agency string) (*http.Request, bool) {
	if sess.ActingFor != "" {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "portal.error.not_official"))
		return nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "portal.error.level2"))
		return nil, false
	}
	if _, err := h.s.post(r.Context(), sess.AccountID, agency, nil); err != nil {
		h.web.Error(w, r, err)
		return nil, false
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: "agency:" + agency})
	return r.WithContext(ctx), true
}

// message turns a refusal into a sentence for the page; anything else is
// answered with the error page (ok false).
func (h *pages) message(w http.ResponseWriter, r *http.Request, err error) (string, int, bool) {
	code := kernel.ErrorCode(err)
	status := map[kernel.Code]int{kernel.Invalid: http.StatusBadRequest, kernel.Forbidden: http.StatusForbidden,
		kernel.Conflict: http.StatusConflict, kernel.Unavailable: http.StatusServiceUnavailable}[code]
	if status == 0 {
		h.web.Error(w, r, err)
		return "", 0, false
	}
	key, args := kernel.ErrorKey(err)
	if !h.web.Catalog().Has(key) {
		key, args = "error."+string(code), nil
	}
	return h.web.T(r, key, args...), status, true
}

// procedureCard is a procedure in the catalogue's list.
type procedureCard struct {
	Code, Name         string
	Fee                string
	Free               bool
	SLA                int
	Integrated, Online bool
	Paperless          bool
}

type homeData struct {
	Style    string
	Query    string
	Cards    []procedureCard
	SignedIn bool
}

func (h *pages) card(p Procedure, l string) procedureCard {
	return procedureCard{Code: p.Code, Name: p.NameIn(l), Fee: money(p.Fee), Free: p.Fee == 0, SLA: p.SLADays, Integrated: p.Integrated,
		Online: p.Online != "partial", Paperless: p.Paperless()}
}

func (h *pages) home(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	if len(q) > 100 {
		q = q[:100]
	}
	d := homeData{Style: h.style, Query: q}
	for _, p := range h.s.o.Catalogue.Procedures() {
		if q != "" && !strings.Contains(strings.ToLower(p.NameIn(l)), q) && !strings.Contains(strings.ToLower(p.NameIn("vi")), q) {
			continue
		}
		d.Cards = append(d.Cards, h.card(p, l))
	}
	// Integrated procedures first: one application for several.
	slices.SortStableFunc(d.Cards, func(a, b procedureCard) int {
		if a.Integrated != b.Integrated {
			if a.Integrated {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	if sess, err := h.web.Session(r); err == nil && sess.AccountID != "" {
		d.SignedIn = true
	}
	h.pages.Render(w, r, http.StatusOK, "portal_home", d)
}

// inputView is an input as the pages show it.
type inputView struct {
	IsDate                                                 bool // the value is a calendar day
	Key, Name, Label, Source, SourceName, Party, PartyName string
	Type                                                   string
	Options                                                []optionView
	Value                                                  string
	Required                                               bool
	StateHeld                                              bool
	Requested                                              bool
}

type optionView struct {
	Value, Name string
	Selected    bool
}

func (h *pages) sourceName(r *http.Request, source string) string {
	if svc, ok := strings.CutPrefix(source, prefixReg); ok {
		return h.tr(r, "portal.source."+svc, svc)
	}
	if t, ok := strings.CutPrefix(source, prefixWallet); ok {
		if info, err := h.s.o.Wallet.Type(t); err == nil && len(info.Names) > 0 {
			return h.web.T(r, "portal.source.wallet", names(info.Names, lang(r)))
		}
		return t
	}
	return ""
}

func (h *pages) partyName(r *http.Request, party string) string {
	if party == PartySubject || party == "" {
		return ""
	}
	return h.tr(r, "portal.party."+party, party)
}

func (h *pages) inputView(r *http.Request, in Input, a *Application) inputView {
	v := inputView{Key: in.Key(), Name: in.Name, Label: h.label(r, in), Source: in.Source, SourceName: h.sourceName(r, in.Source),
		Party: in.PartyOf(), PartyName: h.partyName(r, in.PartyOf()), Type: cmpOr(in.Type, "text"), Required: in.Required, StateHeld: in.StateHeld()}
	if a != nil {
		v.Value = a.Value(in.Key())
		v.Requested = slices.Contains(a.Requested, in.Key())
		v.IsDate = dayView(v.Value) != ""
	}
	for _, o := range in.Options {
		ov := optionView{Value: o.Value, Name: names(o.Names, lang(r)), Selected: o.Value == v.Value}
		v.Options = append(v.Options, ov)
	}
	for _, o := range v.Options {
		if o.Selected {
			v.Value = o.Name // what a page shows; the form's select keeps the code
		}
	}
	return v
}

type partView struct {
	Code, Name, Agency, AgencyName, Result, ResultName, Status string
	After                                                      []string
	Roles                                                      []string
	Effect                                                     string
	Due                                                        string
	HasPDF, HasDocument                                        bool
	Reason                                                     string
}

type procedureData struct {
	Style      string
	P          procedureCard
	LegalBasis string
	Agency     string
	Held       []inputView
	Form       []inputView
	Uploads    []inputView
	Parts      []partView
	Exemptions []string
	For        []subjectChoice
	SignedIn   bool
	Signature  bool
	Result     string
}

type subjectChoice struct{ Value, Name string }

func (h *pages) resultName(r *http.Request, t string) string {
	if t == "" {
		return ""
	}
	if info, err := h.s.o.Wallet.Type(t); err == nil && len(info.Names) > 0 {
		return names(info.Names, lang(r))
	}
	return t
}

func (h *pages) procedure(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.o.Catalogue.Procedure(r.PathValue("code"))
	if !ok {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "portal.error.no_procedure"))
		return
	}
	l := lang(r)
	d := procedureData{Style: h.style, P: h.card(p, l), LegalBasis: p.LegalBasis, Signature: p.Signature,
		Agency: h.tr(r, "portal.agency_kind."+string(p.Agency.Kind), string(p.Agency.Kind)), Result: h.resultName(r, p.Result)}
	for _, in := range p.Inputs {
		v := h.inputView(r, in, nil)
		switch {
		case in.StateHeld():
			d.Held = append(d.Held, v)
		case in.Source == SourceUpload:
			d.Uploads = append(d.Uploads, v)
		default:
			d.Form = append(d.Form, v)
		}
	}
	if p.Integrated {
		for _, pt := range p.Parts {
			d.Parts = append(d.Parts, h.partView(r, pt, nil))
		}
	}
	for _, e := range p.Exemptions {
		d.Exemptions = append(d.Exemptions, names(e.Names, l))
	}
	if sess, err := h.web.Session(r); err == nil && sess.AccountID != "" {
		d.SignedIn = true
		if p.MayBeFor("self") {
			d.For = append(d.For, subjectChoice{"", h.web.T(r, "portal.for.self")})
		}
		if p.MayBeFor("dependant") {
			if deps, err := h.s.o.Accounts.Dependents(r.Context(), sess.AccountID); err == nil {
				for _, dp := range deps {
					d.For = append(d.For, subjectChoice{dp.CitizenID, h.web.T(r, "portal.for.child", dp.Name)})
				}
			}
		}
		if p.MayBeFor("organisation") {
			if orgs, err := h.s.o.Accounts.Organisations(r.Context(), sess.AccountID); err == nil {
				for _, o := range orgs {
					d.For = append(d.For, subjectChoice{"org:" + o.RegNumber, h.web.T(r, "portal.for.org", o.Name)})
				}
			}
		}
	}
	h.pages.Render(w, r, http.StatusOK, "portal_procedure", d)
}

func (h *pages) partView(r *http.Request, pt Part, cp *CasePart) partView {
	v := partView{Code: pt.Code, Name: names(pt.Names, lang(r)), Agency: h.tr(r, "portal.agency_kind."+string(pt.Agency.Kind), string(pt.Agency.Kind)),
		Result: pt.Result, ResultName: h.resultName(r, pt.Result), After: pt.After}
	for _, role := range pt.DecideRoles() {
		v.Roles = append(v.Roles, h.tr(r, "portal.role."+string(role), string(role)))
	}
	if cp != nil {
		v.Status, v.Due, v.HasPDF, v.HasDocument, v.Reason = cp.Status, dayView(cp.Due), cp.HasPDF, cp.DocumentID != "", cp.Reason
		v.Agency = cp.Agency
		if ag, err := h.s.o.Registry.Agency(r.Context(), cp.Agency); err == nil {
			v.AgencyName = ag.Name
		}
	}
	return v
}

func (h *pages) start(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	a, err := h.s.Start(r.Context(), StartRequest{Procedure: r.PostFormValue("procedure"), For: r.PostFormValue("for"), Citizen: r.PostFormValue("citizen_id")})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, h.appURL(r, a.ID, ""), http.StatusSeeOther)
}

// appURL is an application's page, for the desk when the request is an
// official's.
func (h *pages) appURL(r *http.Request, id, sub string) string {
	u := "/portal/applications/" + id + sub
	if a := kernel.ActorFrom(r.Context()); a.Kind == kernel.ActorOfficial {
		u += "?desk=" + url.QueryEscape(strings.TrimPrefix(a.OnBehalfOf, "agency:"))
	}
	return u
}

type listItem struct {
	ID, Procedure, Subject, Status string
	Due                            string
	Created                        time.Time
	Overdue                        bool
}

type listData struct {
	Style string
	Items []listItem
	Next  string
}

func (h *pages) list(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.signedIn(w, r); !ok {
		return
	}
	pg, err := h.s.Mine(r.Context(), kernel.Page{After: r.URL.Query().Get("after"), Limit: 20})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := listData{Style: h.style, Next: pg.Next}
	for _, a := range pg.Items {
		p, _ := h.s.o.Catalogue.Procedure(a.Procedure)
		d.Items = append(d.Items, listItem{ID: a.ID, Procedure: p.NameIn(lang(r)), Subject: a.SubjectName, Status: a.Status,
			Due: dayView(a.Due), Created: a.CreatedAt, Overdue: a.Overdue})
	}
	h.pages.Render(w, r, http.StatusOK, "portal_list", d)
}

// sourceView is a registry's answer as the applicant sees it.
type sourceView struct {
	Party, PartyName, Source, Name, Provider, Error, Receipt string
	ReadAt                                                   time.Time
	Fields                                                   []fieldValue
	Records                                                  []recordChoice // a list service's records to pick from
	FieldNames                                               []fieldValue
	Flaggable                                                bool
}

type fieldValue struct {
	Name, Label, Value string
	IsDate             bool // the value is a calendar day: written with {{$.Date}}
}

// field is a value as a page shows it: a date through the formatting layer.
func field(name, label, value string) fieldValue {
	return fieldValue{Name: name, Label: label, Value: value, IsDate: dayView(value) != ""}
}

type recordChoice struct {
	Index    int
	Text     string
	Selected bool
}

type eventView struct {
	At     time.Time
	Kind   string
	Part   string
	Note   string
	Inputs []string
	Due    string
	By     string
}

type applicationData struct {
	Style        string
	A            Application
	Name         string
	Status       string
	Due          string
	Submitted    time.Time
	Desk         string // the official's agency, when the page is theirs
	Edit         bool
	Draft        bool
	Sources      []sourceView
	Form         []inputView
	UploadSlots  []inputView
	Uploads      []Upload
	Parts        []partView
	Events       []eventView
	Requested    []inputView
	RequestNote  string
	Flags        []Flag
	Error        string
	Notice       string
	Withdrawable bool
	Integrated   bool
	Delivery     string
	Address      string
	MaxUpload    int64
}

var noticeKeys = map[string]string{"saved": "portal.notice_page.saved", "submitted": "portal.notice_page.submitted",
	"flagged": "portal.notice_page.flagged", "uploaded": "portal.notice_page.uploaded", "withdrawn": "portal.notice_page.withdrawn",
	"responded": "portal.notice_page.responded", "paid": "portal.notice_page.paid"}

func (h *pages) application(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	h.showApplication(w, r, r.PathValue("id"), http.StatusOK, "")
}

func (h *pages) showApplication(w http.ResponseWriter, r *http.Request, id string, status int, errMsg string) {
	a, acc, err := h.s.readable(r.Context(), id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	p, ok := h.s.o.Catalogue.Procedure(a.Procedure)
	if !ok {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "portal.error.no_procedure"))
		return
	}
	d := h.applicationView(r, p, a, acc)
	d.Error = errMsg
	if k := noticeKeys[r.URL.Query().Get("done")]; k != "" && errMsg == "" {
		d.Notice = h.web.T(r, k)
	}
	if flags, err := h.s.FlagsOf(r.Context(), id); err == nil {
		d.Flags = flags
	}
	h.pages.Render(w, r, status, "portal_application", d)
}

func (h *pages) applicationView(r *http.Request, p Procedure, a Application, acc access) applicationData {
	l := lang(r)
	d := applicationData{Style: h.style, A: a, Name: p.NameIn(l), Status: a.Status, Due: dayView(a.Due), Submitted: a.SubmittedAt,
		Edit: acc.edit, Draft: a.Status == StatusDraft, Uploads: a.Uploads, Integrated: p.Integrated, Delivery: a.Delivery, Address: a.DeliveryAddress,
		MaxUpload: h.s.o.MaxUpload >> 20}
	if act := kernel.ActorFrom(r.Context()); act.Kind == kernel.ActorOfficial {
		d.Desk = strings.TrimPrefix(act.OnBehalfOf, "agency:")
	}
	switch a.Status {
	case StatusDraft, StatusSubmitted, StatusReceived, StatusTransferred, StatusInfoRequested, StatusProcessing:
		d.Withdrawable = acc.edit && !slices.ContainsFunc(a.Parts, func(c CasePart) bool { return c.Status == PartApproved || c.Status == PartIssued })
	}
	byKey := map[readKey]*SourceRead{}
	for i := range a.Sources {
		byKey[readKey{a.Sources[i].Party, a.Sources[i].Source}] = &a.Sources[i]
	}
	seen := map[readKey]bool{}
	for _, in := range p.Inputs {
		if in.StateHeld() {
			k := readKey{in.PartyOf(), in.Source}
			if seen[k] {
				continue
			}
			seen[k] = true
			sv := sourceView{Party: k.party, PartyName: h.partyName(r, k.party), Source: k.source, Name: h.sourceName(r, k.source),
				Flaggable: strings.HasPrefix(k.source, prefixReg) && a.Status != StatusWithdrawn && acc.edit}
			read := byKey[k]
			if read == nil {
				sv.Error = h.web.T(r, "portal.app.not_read")
				sv.Flaggable = false
			} else {
				sv.Provider, sv.ReadAt, sv.Receipt = read.ProviderName, read.ReadAt, read.Receipt
				if read.Error != "" {
					sv.Error = h.tr(r, read.Error, h.web.T(r, "portal.app.read_failed"))
				} else if len(read.Records) == 0 {
					sv.Error = h.web.T(r, "portal.app.no_record")
				}
				svc, isList := registryService(strings.TrimPrefix(k.source, prefixReg))
				if isList && svc.List && len(read.Records) > 1 && d.Draft && acc.edit {
					first := ""
					for _, in2 := range p.Inputs {
						if in2.PartyOf() == k.party && in2.Source == k.source {
							first = in2.Name
							break
						}
					}
					for i, rec := range read.Records {
						sv.Records = append(sv.Records, recordChoice{Index: i, Text: valueText(rec[first]), Selected: valueText(rec[first]) == a.Value(in.Key())})
					}
				}
			}
			for _, in2 := range p.Inputs {
				if in2.PartyOf() == k.party && in2.Source == k.source {
					sv.Fields = append(sv.Fields, field(in2.Name, h.label(r, in2), h.shown(r, a, in2)))
				}
			}
			d.Sources = append(d.Sources, sv)
			continue
		}
		v := h.inputView(r, in, &a)
		if in.Source == SourceUpload {
			d.UploadSlots = append(d.UploadSlots, v)
		} else {
			d.Form = append(d.Form, v)
		}
		if v.Requested {
			d.Requested = append(d.Requested, v)
		}
	}
	for _, cp := range a.Parts {
		pt, _ := p.Part(cp.Code)
		cp := cp
		d.Parts = append(d.Parts, h.partView(r, pt, &cp))
	}
	for _, e := range a.Events {
		ev := eventView{At: e.At, Kind: e.Kind, Part: e.Part, Note: valueText(e.Details["note"]) + valueText(e.Details["reason"])}
		if due := valueText(e.Details["due"]) + valueText(e.Details["to"]); due != "" {
			ev.Due = dayView(due)
		}
		if ins, ok := e.Details["inputs"].([]any); ok {
			for _, x := range ins {
				if in, ok := p.Input(valueText(x)); ok {
					ev.Inputs = append(ev.Inputs, h.label(r, in))
				}
			}
		}
		if e.Kind == "info_requested" && a.Status == StatusInfoRequested {
			d.RequestNote = ev.Note
		}
		d.Events = append(d.Events, ev)
	}
	return d
}

// shown is a data value as the page shows it: a wallet document's input
// says it was found.
func (h *pages) shown(r *http.Request, a Application, in Input) string {
	if in.Name == "sex" && in.Source != SourceForm {
		if v := a.Value(in.Key()); v == "M" || v == "F" {
			return h.web.T(r, "portal.sex."+v)
		}
	}
	if in.WalletType() != "" {
		if m, ok := a.Data[in.Key()].(map[string]any); ok && len(m) > 0 {
			return "✓"
		}
		return ""
	}
	return a.Value(in.Key())
}

// formValues reads the form inputs a page posted (field.KEY).
func formValues(r *http.Request) map[string]string {
	out := map[string]string{}
	for k, vs := range r.PostForm {
		if key, ok := strings.CutPrefix(k, "field."); ok && len(vs) > 0 {
			out[key] = vs[0]
		}
	}
	return out
}

func (h *pages) save(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	req := SaveRequest{Fields: formValues(r), Delivery: r.PostFormValue("delivery"), DeliveryAddress: r.PostFormValue("delivery_address"), Picks: map[string]int{}}
	for k, vs := range r.PostForm {
		if key, ok := strings.CutPrefix(k, "pick."); ok && len(vs) > 0 {
			n, err := strconv.Atoi(vs[0])
			if err != nil {
				h.web.Error(w, r, kernel.E(kernel.Invalid, "portal.error.bad_pick"))
				return
			}
			req.Picks[key] = n
		}
	}
	if _, err := h.s.Save(r.Context(), id, req); err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showApplication(w, r, id, status, msg)
		}
		return
	}
	next := "/portal/applications/" + id
	if r.PostFormValue("then") == "review" {
		next += "/review"
	}
	http.Redirect(w, r, withDone(h.desked(r, next), "saved"), http.StatusSeeOther)
}

// desked adds the desk's agency to a URL of the official's request.
func (h *pages) desked(r *http.Request, u string) string {
	if a := kernel.ActorFrom(r.Context()); a.Kind == kernel.ActorOfficial {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		return u + sep + "desk=" + url.QueryEscape(strings.TrimPrefix(a.OnBehalfOf, "agency:"))
	}
	return u
}

func withDone(u, done string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "done=" + done
}

func (h *pages) upload(w http.ResponseWriter, r *http.Request) {
	// The body is parsed (the CSRF check did) within the path's limit.
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("application")
	f, hdr, err := r.FormFile("file")
	if err != nil {
		h.showApplication(w, r, id, http.StatusBadRequest, h.web.T(r, "portal.error.upload_empty"))
		return
	}
	defer f.Close()
	content, err := io.ReadAll(io.LimitReader(f, h.s.o.MaxUpload+1))
	if err != nil {
		h.web.Error(w, r, kernel.Wrap(err, "portal: read upload"))
		return
	}
	if _, err := h.s.AddUpload(r.Context(), id, r.PostFormValue("input"), hdr.Filename, content); err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showApplication(w, r, id, status, msg)
		}
		return
	}
	http.Redirect(w, r, withDone(h.desked(r, "/portal/applications/"+id), "uploaded"), http.StatusSeeOther)
}

func (h *pages) removeUpload(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := h.s.RemoveUpload(r.Context(), id, r.PathValue("upload")); err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showApplication(w, r, id, status, msg)
		}
		return
	}
	http.Redirect(w, r, h.desked(r, "/portal/applications/"+id), http.StatusSeeOther)
}

// download serves a file of an application: always as an attachment, with
// a fixed type, never inline and never sniffed.
func (h *pages) download(w http.ResponseWriter, r *http.Request) {
	r, ok := h.readerOrDesk(w, r)
	if !ok {
		return
	}
	u, b, err := h.s.UploadContent(r.Context(), r.PathValue("id"), r.PathValue("upload"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	attachment(w, u.Name, "application/octet-stream", b)
}

// readerOrDesk is who for downloads: the citizen, or an official with
// ?desk=AGENCY (or ?agency= from the desk's pages).
func (h *pages) readerOrDesk(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if ag := r.URL.Query().Get("agency"); ag != "" && r.URL.Query().Get("desk") == "" {
		sess, ok := h.signedIn(w, r)
		if !ok {
			return nil, false
		}
		return h.officialAt(w, r, sess, ag)
	}
	r, _, ok := h.who(w, r)
	return r, ok
}

func attachment(w http.ResponseWriter, name, ctype string, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", "attachment; filename=\"download"+fileExt(name)+"\"; filename*=UTF-8''"+url.PathEscape(name))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (h *pages) result(w http.ResponseWriter, r *http.Request) {
	r, ok := h.readerOrDesk(w, r)
	if !ok {
		return
	}
	id, file := r.PathValue("id"), r.PathValue("file")
	switch {
	case strings.HasSuffix(file, ".pdf"):
		b, err := h.s.ResultPDF(r.Context(), id, strings.TrimSuffix(file, ".pdf"))
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		attachment(w, strings.TrimSuffix(file, ".pdf")+"-"+id[:8]+".pdf", "application/pdf", b)
	case strings.HasSuffix(file, ".sdjwt"):
		cred, err := h.s.ResultCredential(r.Context(), id, strings.TrimSuffix(file, ".sdjwt"))
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		attachment(w, strings.TrimSuffix(file, ".sdjwt")+"-"+id[:8]+".sdjwt", "application/dc+sd-jwt", []byte(cred))
	default:
		http.NotFound(w, r)
	}
}

type reviewData struct {
	Style     string
	A         Application
	Name      string
	Desk      string
	Missing   []string
	Fee       string
	FeeDue    bool
	Exempt    string
	Paid      bool
	Pending   bool
	CanPay    bool
	Payment   *Payment
	QR        template.URL
	Signature bool
	Summary   []fieldValue
	Error     string
	Notice    string
	SLA       int
	Due       string
}

func (h *pages) review(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	h.showReview(w, r, r.PathValue("id"), http.StatusOK, "", nil)
}

func (h *pages) showReview(w http.ResponseWriter, r *http.Request, id string, status int, errMsg string, pay *Payment) {
	a, acc, err := h.s.readable(r.Context(), id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if a.Status != StatusDraft || !acc.edit {
		http.Redirect(w, r, h.desked(r, "/portal/applications/"+id), http.StatusSeeOther)
		return
	}
	p, _ := h.s.o.Catalogue.Procedure(a.Procedure)
	fee, exempt := h.s.FeeFor(p, a)
	d := reviewData{Style: h.style, A: a, Name: p.NameIn(lang(r)), Fee: money(fee), FeeDue: fee > 0, Paid: a.PaymentState == PayPaid,
		Pending: a.PaymentState == PayPending, Signature: p.Signature, Error: errMsg, SLA: p.SLADays,
		Due: dayView(h.s.o.Calendar.AddWorkingDays(today(h.s.o.Clock.Now()), p.SLADays).String())}
	if act := kernel.ActorFrom(r.Context()); act.Kind == kernel.ActorOfficial {
		d.Desk = strings.TrimPrefix(act.OnBehalfOf, "agency:")
	}
	d.CanPay = fee > 0 && !d.Paid && d.Desk == "" && h.s.o.Payments != nil
	for _, e := range p.Exemptions {
		if e.Code == exempt {
			d.Exempt = names(e.Names, lang(r))
		}
	}
	for _, key := range Missing(p, a) {
		in, _ := p.Input(key)
		d.Missing = append(d.Missing, h.label(r, in))
	}
	for _, in := range p.Inputs {
		if v := h.shown(r, a, in); v != "" {
			fv := field(in.Key(), h.label(r, in), v)
			if pn := h.partyName(r, in.PartyOf()); pn != "" {
				fv.Label = pn + " — " + fv.Label
			}
			if in.Type == "select" {
				fv.Value = h.inputView(r, in, &a).Value
			}
			d.Summary = append(d.Summary, fv)
		}
	}
	if pay != nil {
		d.Payment = pay
		if pay.QRPayload != "" {
			if c, err := qr.Encode(pay.QRPayload, qr.M); err == nil {
				d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG()))
			}
		}
	}
	if k := noticeKeys[r.URL.Query().Get("done")]; k != "" && errMsg == "" {
		d.Notice = h.web.T(r, k)
	}
	h.pages.Render(w, r, status, "portal_review", d)
}

func (h *pages) submit(w http.ResponseWriter, r *http.Request) {
	r, sess, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := h.s.Submit(r.Context(), id, SubmitRequest{ACR: sess.ACR, Code: r.PostFormValue("code")}); err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showReview(w, r, id, status, msg, nil)
		}
		return
	}
	http.Redirect(w, r, h.desked(r, "/portal/applications/"+id+"/receipt"), http.StatusSeeOther)
}

func (h *pages) pay(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	pay, err := h.s.Pay(r.Context(), id)
	if err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showReview(w, r, id, status, msg, nil)
		}
		return
	}
	h.showReview(w, r, id, http.StatusOK, "", &pay)
}

func (h *pages) paid(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	a, err := h.s.RefreshPayment(r.Context(), id)
	if err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showReview(w, r, id, status, msg, nil)
		}
		return
	}
	if a.PaymentState != PayPaid {
		h.showReview(w, r, id, http.StatusConflict, h.web.T(r, "portal.error.not_paid"), nil)
		return
	}
	http.Redirect(w, r, withDone("/portal/applications/"+id+"/review", "paid"), http.StatusSeeOther)
}

func (h *pages) withdraw(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := h.s.Withdraw(r.Context(), id); err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showApplication(w, r, id, status, msg)
		}
		return
	}
	http.Redirect(w, r, withDone(h.desked(r, "/portal/applications/"+id), "withdrawn"), http.StatusSeeOther)
}

func (h *pages) respond(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := h.s.Respond(r.Context(), id, formValues(r), r.PostFormValue("note")); err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showApplication(w, r, id, status, msg)
		}
		return
	}
	http.Redirect(w, r, withDone("/portal/applications/"+id, "responded"), http.StatusSeeOther)
}

func (h *pages) flag(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := h.s.FlagError(r.Context(), id, r.PostFormValue("source"), r.PostFormValue("field"), r.PostFormValue("note")); err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showApplication(w, r, id, status, msg)
		}
		return
	}
	http.Redirect(w, r, withDone(h.desked(r, "/portal/applications/"+id), "flagged"), http.StatusSeeOther)
}

type receiptData struct {
	Style     string
	A         Application
	Name      string
	Agency    string
	Submitted time.Time
	Due       string
	Fee       string
	Desk      string
}

func (h *pages) receipt(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.who(w, r)
	if !ok {
		return
	}
	a, err := h.s.Application(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if a.Status == StatusDraft {
		http.Redirect(w, r, h.desked(r, "/portal/applications/"+a.ID), http.StatusSeeOther)
		return
	}
	p, _ := h.s.o.Catalogue.Procedure(a.Procedure)
	d := receiptData{Style: h.style, A: a, Name: p.NameIn(lang(r)), Agency: a.Agency, Submitted: a.SubmittedAt, Due: dayView(a.Due), Fee: money(a.Fee)}
	if ag, err := h.s.o.Registry.Agency(r.Context(), a.Agency); err == nil {
		d.Agency = ag.Name
	}
	if act := kernel.ActorFrom(r.Context()); act.Kind == kernel.ActorOfficial {
		d.Desk = strings.TrimPrefix(act.OnBehalfOf, "agency:")
	}
	h.pages.Render(w, r, http.StatusOK, "portal_receipt", d)
}

// actorContext is ctx with the actor of an API token.
func actorContext(ctx context.Context, t Token) context.Context {
	return kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: t.AccountID})
}
