package exchange

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/web"
)

//go:embed templates/*.html
var pageTemplates embed.FS

//go:embed templates/exchange.css
var pageStyle []byte

// Accounts gives the pages the e-ID: the person an account is, and the
// children it is guardian of.
type Accounts interface {
	// CitizenOf returns the citizen ID of an active account; a missing or
	// inactive one is Unauthenticated.
	CitizenOf(ctx context.Context, accountID string) (string, error)
	Dependents(ctx context.Context, accountID string) ([]Dependent, error)
}

// Dependent is a child a guardian acts for.
type Dependent struct {
	CitizenID string
	Name      string
}

// Officials gives the desk the posts of an account, from the registry of
// officials.
type Officials interface {
	Posts(ctx context.Context, accountID string) ([]Post, error)
}

// Post is an official's post at an agency.
type Post struct {
	Agency registry.Agency
	Role   registry.Role
}

// MountOptions are what the exchange's pages and API need of others.
type MountOptions struct {
	Tokens    APITokens
	Accounts  Accounts
	Officials Officials
}

// pages serves the citizen's data-use page and the officials' desk.
type pages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
	acc   Accounts
	offs  Officials
	style string
}

// Mount serves the API (api.go), "who used my data" at /account/data-use
// (with its CSV) for the person and their guardian, and the officials'
// look-up desk at /officer/lookup; it adds the data-use page to the
// navigation of signed-in readers.
func (s *Service) Mount(ws *web.Server, mo MountOptions) error {
	if mo.Tokens == nil || mo.Accounts == nil || mo.Officials == nil {
		return errors.New("exchange: MountOptions needs Tokens, Accounts and Officials")
	}
	s.o.Web = ws
	for _, key := range pageKeys() {
		if !ws.Catalog().Has(key) {
			return fmt.Errorf("exchange: message key %q is not in the catalogue", key)
		}
	}
	if err := s.mountAPI(ws, mo.Tokens); err != nil {
		return err
	}
	ps, err := ws.Pages(pageTemplates, "templates/*.html")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pageStyle)
	h := &pages{s: s, web: ws, pages: ps, acc: mo.Accounts, offs: mo.Officials, style: "/exchange/static/exchange-" + hex.EncodeToString(sum[:6]) + ".css"}
	ws.HandleFunc("GET /account/data-use", h.dataUse)
	ws.HandleFunc("GET /account/data-use.csv", h.dataUseCSV)
	ws.HandleFunc("GET /officer/lookup", h.desk)
	ws.HandleFunc("POST /officer/lookup", h.lookup)
	ws.HandleFunc("GET /exchange/static/{file}", h.stylesheet)
	ws.AddNav(web.NavItem{Key: "nav.exchange", Path: "/account/data-use", Order: 80, Who: web.SignedIn})
	return nil
}

// pageKeys are the message keys built at run time, which the template
// check at start-up cannot see.
func pageKeys() []string {
	keys := []string{"nav.exchange", "exchange.indicator.queries"}
	for _, p := range purposes {
		keys = append(keys, p.TitleKey())
	}
	for _, p := range usePurposes {
		keys = append(keys, "exchange.purpose."+p)
	}
	for _, sp := range DefaultServices() {
		keys = append(keys, sp.TitleKey())
	}
	for _, c := range channels {
		keys = append(keys, "exchange.channel."+c)
	}
	for _, r := range roles {
		keys = append(keys, "exchange.role."+string(r))
	}
	return keys
}

// channels are those the page names; others show as they are recorded.
var channels = []string{ChannelExchange, ChannelDesk, "wallet.query", "oidc.claims", "portal", "payment.receipt",
	"feedback.contact", "learning.class", "learning.session", "privacy.desk"}

// usePurposes are the purposes other capabilities record their reads
// under, beside the catalogue a query may name (an agency's system cannot
// ask for data "to log in"): the data-use page names each in every language.
var usePurposes = []string{"admission", "correction", "education.community_class", "fee_collection", "feedback.follow_up",
	"identity_verification", "service_login"}

var roles = []registry.Role{registry.Chairman, registry.ViceChairman, registry.OneStopOfficer, registry.CivilClerk,
	registry.PoliceOfficer, registry.Officer, registry.Director}

func (h *pages) stylesheet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.style {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/css; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Content-Length", strconv.Itoa(len(pageStyle)))
	_, _ = w.Write(pageStyle)
}

// tr translates key when the catalogue has it, else returns fallback.
func (h *pages) tr(r *http.Request, key, fallback string) string {
	if h.web.Catalog().Has(key) {
		return h.web.T(r, key)
	}
	return fallback
}

// party is a person whose reads the signed-in account may see.
type party struct {
	CitizenID string
	Name      string // a child's; "" for the account's own
	Current   bool
}

// whose returns the person whose page is asked for (?who=, default the
// account's own) and the parties the account may see. Anyone else is
// Forbidden: only the person and their guardian see their reads. Without
// a login the browser is sent to log in.
func (h *pages) whose(w http.ResponseWriter, r *http.Request) (party, []party, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return party{}, nil, false
	}
	if err != nil || sess.AccountID == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return party{}, nil, false
	}
	self, err := h.acc.CitizenOf(r.Context(), sess.AccountID)
	if kernel.ErrorCode(err) == kernel.Unauthenticated {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return party{}, nil, false
	}
	if err != nil {
		h.web.Error(w, r, err)
		return party{}, nil, false
	}
	deps, err := h.acc.Dependents(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return party{}, nil, false
	}
	who := r.URL.Query().Get("who")
	if who == "" {
		who = self
	}
	all := []party{{CitizenID: self}}
	for _, d := range deps {
		all = append(all, party{CitizenID: d.CitizenID, Name: d.Name})
	}
	for i := range all {
		if all[i].CitizenID == who {
			all[i].Current = true
			return all[i], all, true
		}
	}
	h.web.Error(w, r, kernel.E(kernel.Forbidden, "exchange.error.not_yours"))
	return party{}, nil, false
}

// filters reads the page's filters from the query string.
type filters struct {
	Service, Purpose, Channel, From, To string
}

func (f filters) query(subject string, p kernel.Page) (UseQuery, error) {
	q := UseQuery{Subject: subject, Service: f.Service, Purpose: f.Purpose, Channel: f.Channel, Page: p}
	if f.From != "" {
		t, err := time.ParseInLocation(time.DateOnly, f.From, kernel.Zone())
		if err != nil {
			return q, kernel.E(kernel.Invalid, "exchange.error.bad_date")
		}
		q.From = t
	}
	if f.To != "" {
		t, err := time.ParseInLocation(time.DateOnly, f.To, kernel.Zone())
		if err != nil {
			return q, kernel.E(kernel.Invalid, "exchange.error.bad_date")
		}
		q.To = t.AddDate(0, 0, 1) // through that day
	}
	return q, nil
}

func readFilters(r *http.Request) filters {
	v := r.URL.Query()
	clip := func(s string) string {
		s = strings.TrimSpace(s)
		if len(s) > 64 {
			return ""
		}
		return s
	}
	return filters{Service: clip(v.Get("service")), Purpose: clip(v.Get("purpose")), Channel: clip(v.Get("channel")),
		From: clip(v.Get("from")), To: clip(v.Get("to"))}
}

// encode writes the filters (and the person) as a query string.
func (f filters) encode(who string) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"who": who, "service": f.Service, "purpose": f.Purpose, "channel": f.Channel, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// useView is one read as the page shows it.
type useView struct {
	At      time.Time // written with {{$.DateTime}}
	Reader  string
	Post    string
	Channel string
	Service string
	Fields  string
	Purpose string
	CaseRef string
	Receipt string
	Peer    string
	Related bool
}

type dataUsePage struct {
	Style    string
	Party    party
	Parties  []partyLink
	Uses     []useView
	Services []option
	Purposes []option
	Channels []option
	Filters  filters
	Next     string // the next page's URL, or ""
	CSV      string // the CSV download's URL
	Error    string
	Filtered bool
}

type partyLink struct {
	party
	Href string
}

func (h *pages) view(r *http.Request, e Entry) useView {
	v := useView{At: e.At, Reader: e.ReaderName,
		Channel: h.tr(r, "exchange.channel."+e.Channel, e.Channel), Service: h.tr(r, "exchange.service."+e.Service, e.Service),
		Fields: strings.Join(e.Fields, ", "), Purpose: h.tr(r, "exchange.purpose."+e.Purpose, e.Purpose), CaseRef: e.CaseRef,
		Receipt: e.Receipt, Peer: e.Peer, Related: e.Related}
	if v.Reader == "" {
		v.Reader = e.Consumer
	}
	if e.Post != "" {
		v.Post = h.tr(r, "exchange.role."+e.Post, e.Post)
	}
	return v
}

func (h *pages) options(r *http.Request, f filters) (services, purps, chans []option) {
	services = []option{{Value: "", Label: h.web.T(r, "exchange.datause.all")}}
	for _, sp := range h.s.cat.Specs() {
		services = append(services, option{Value: sp.Code, Label: h.web.T(r, sp.TitleKey()), Selected: f.Service == sp.Code})
	}
	purps = []option{{Value: "", Label: h.web.T(r, "exchange.datause.all")}}
	for _, p := range purposes {
		purps = append(purps, option{Value: p.Code, Label: h.web.T(r, p.TitleKey()), Selected: f.Purpose == p.Code})
	}
	chans = []option{{Value: "", Label: h.web.T(r, "exchange.datause.all")}}
	for _, c := range channels {
		chans = append(chans, option{Value: c, Label: h.web.T(r, "exchange.channel."+c), Selected: f.Channel == c})
	}
	return services, purps, chans
}

func (h *pages) dataUse(w http.ResponseWriter, r *http.Request) {
	p, all, ok := h.whose(w, r)
	if !ok {
		return
	}
	f := readFilters(r)
	d := dataUsePage{Style: h.style, Party: p, Filters: f, Filtered: f != filters{}}
	for _, a := range all {
		d.Parties = append(d.Parties, partyLink{party: a, Href: "/account/data-use?" + url.Values{"who": {a.CitizenID}}.Encode()})
	}
	d.Services, d.Purposes, d.Channels = h.options(r, f)
	q, err := f.query(p.CitizenID, kernel.Page{After: r.URL.Query().Get("after"), Limit: 50})
	status := http.StatusOK
	if err == nil {
		var uses []Entry
		var next string
		uses, next, err = h.s.Uses(r.Context(), q)
		for _, e := range uses {
			d.Uses = append(d.Uses, h.view(r, e))
		}
		if next != "" {
			v := f.encode(p.CitizenID)
			v.Set("after", next)
			d.Next = "/account/data-use?" + v.Encode()
		}
	}
	if err != nil {
		if kernel.ErrorCode(err) != kernel.Invalid {
			h.web.Error(w, r, err)
			return
		}
		key, args := kernel.ErrorKey(err)
		d.Error, status = h.web.T(r, key, args...), http.StatusBadRequest
	}
	d.CSV = "/account/data-use.csv?" + f.encode(p.CitizenID).Encode()
	h.pages.Render(w, r, status, "datause", d)
}

// maxCSVRows bounds a download.
const maxCSVRows = 100_000

func (h *pages) dataUseCSV(w http.ResponseWriter, r *http.Request) {
	p, _, ok := h.whose(w, r)
	if !ok {
		return
	}
	f := readFilters(r)
	q, err := f.query(p.CitizenID, kernel.Page{Limit: kernel.MaxPageLimit})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	// The first page is read before anything is written, so a failure is
	// still a proper error answer.
	uses, next, err := h.s.Uses(r.Context(), q)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="data-use-`+p.CitizenID+`.csv"`)
	hd.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "reader", "post", "agency", "channel", "service", "fields", "purpose", "purpose_title", "case_ref", "peer", "receipt"})
	rows := 0
	for {
		for _, e := range uses {
			_ = cw.Write([]string{e.At.In(kernel.Zone()).Format(time.RFC3339), csvSafe(e.ReaderName), e.Post, csvSafe(e.Agency), e.Channel,
				csvSafe(e.Service), strings.Join(e.Fields, " "), csvSafe(e.Purpose), csvSafe(h.tr(r, "exchange.purpose."+e.Purpose, "")),
				csvSafe(e.CaseRef), e.Peer, e.Receipt})
			rows++
		}
		if next == "" || rows >= maxCSVRows {
			break
		}
		q.Page.After = next
		if uses, next, err = h.s.Uses(r.Context(), q); err != nil {
			break // the download ends short; the status was sent
		}
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// official returns the signed-in official's post at the agency named (or
// their first), with the request's context carrying them as the actor.
// Without a login the browser logs in; a level-1 session logs in again at
// level 2 (a form posted from one is refused); without a post, 403.
func (h *pages) official(w http.ResponseWriter, r *http.Request, agency string) (Post, []Post, string, *http.Request, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return Post{}, nil, "", nil, false
	}
	if err != nil || sess.AccountID == "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/officer/lookup"
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return Post{}, nil, "", nil, false
	}
	if sess.ActingFor != "" {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "exchange.error.not_official"))
		return Post{}, nil, "", nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return Post{}, nil, "", nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "exchange.error.level2_session"))
		return Post{}, nil, "", nil, false
	}
	posts, err := h.offs.Posts(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return Post{}, nil, "", nil, false
	}
	for _, p := range posts {
		if agency == "" || p.Agency.Code == agency {
			ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: "agency:" + p.Agency.Code})
			return p, posts, sess.AccountID, r.WithContext(ctx), true
		}
	}
	h.web.Error(w, r, kernel.E(kernel.Forbidden, "exchange.error.not_official"))
	return Post{}, nil, "", nil, false
}

// deskService is a service the official's agency is granted at the desk.
type deskService struct {
	Code, Title, Fields string
	Checked             bool
}

// deskServices lists the live grants of the agency's desk.
func (h *pages) deskServices(r *http.Request, agency string, checked []string) ([]deskService, error) {
	gs, err := h.s.Grants(r.Context(), DeskConsumer(agency))
	if err != nil {
		return nil, err
	}
	now := h.s.o.Clock.Now()
	var out []deskService
	for _, g := range gs {
		if !g.Active(now) {
			continue
		}
		sp, err := h.s.cat.Spec(g.Service)
		if err != nil || sp.Subject != SubjectPerson {
			continue
		}
		out = append(out, deskService{Code: sp.Code, Title: h.web.T(r, sp.TitleKey()), Fields: strings.Join(g.Fields, ", "),
			Checked: slices.Contains(checked, sp.Code)})
	}
	return out, nil
}

// valueView is one field of an answer as the desk shows it.
type valueView struct {
	Name  string
	Text  string
	Items [][]valueView // a list of records (members, vehicles)
}

// resultView is one service's answer (or refusal) at the desk.
type resultView struct {
	Service  string
	Title    string
	Provider string
	At       time.Time // written with {{$.DateTime}}
	Values   []valueView
	Empty    bool
	Receipt  string
	Raw      string // the data as received
	Error    string
}

type deskPage struct {
	Style    string
	Post     Post
	Posts    []Post
	Role     string
	Services []deskService
	Purposes []option
	// PurposeChosen is set once a purpose is chosen: until then the
	// select shows "choose a purpose", which cannot be sent.
	PurposeChosen bool
	CitizenID     string
	CaseRef       string
	Results       []resultView
	Error         string
}

func (h *pages) purposeOptions(r *http.Request, chosen string) []option {
	var out []option
	for _, p := range purposes {
		out = append(out, option{Value: p.Code, Label: h.web.T(r, p.TitleKey()), Selected: p.Code == chosen})
	}
	return out
}

func (h *pages) desk(w http.ResponseWriter, r *http.Request) {
	post, posts, _, r, ok := h.official(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	svcs, err := h.deskServices(r, post.Agency.Code, nil)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "lookup", deskPage{Style: h.style, Post: post, Posts: posts, Role: h.tr(r, "exchange.role."+string(post.Role), string(post.Role)),
		Services: svcs, Purposes: h.purposeOptions(r, "")})
}

// lookup runs the official's look-up: every chosen service the desk is
// granted, for the purpose and case named (none: nothing is asked).
func (h *pages) lookup(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.web.Error(w, r, kernel.E(kernel.Invalid, "error.invalid").WithCause(err))
		return
	}
	post, posts, account, r, ok := h.official(w, r, r.PostForm.Get("agency"))
	if !ok {
		return
	}
	chosen := r.PostForm["service"]
	svcs, err := h.deskServices(r, post.Agency.Code, chosen)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := deskPage{Style: h.style, Post: post, Posts: posts, Role: h.tr(r, "exchange.role."+string(post.Role), string(post.Role)),
		Services: svcs, Purposes: h.purposeOptions(r, r.PostForm.Get("purpose")), PurposeChosen: r.PostForm.Get("purpose") != "",
		CitizenID: strings.TrimSpace(r.PostForm.Get("citizen_id")), CaseRef: strings.TrimSpace(r.PostForm.Get("case_ref"))}
	fail := func(err error) {
		key, args := kernel.ErrorKey(err)
		d.Error = h.web.T(r, key, args...)
		h.pages.Render(w, r, http.StatusBadRequest, "lookup", d)
	}
	// Checked before anything is asked: no purpose, no case, no look-up.
	if _, err := checkPurpose(r.PostForm.Get("purpose")); err != nil {
		fail(err)
		return
	}
	if _, err := checkCaseRef(d.CaseRef); err != nil {
		fail(err)
		return
	}
	if len(chosen) == 0 {
		fail(kernel.E(kernel.Invalid, "exchange.error.no_service_chosen"))
		return
	}
	consumer := Consumer{Name: DeskConsumer(post.Agency.Code), Actor: kernel.Actor{Kind: kernel.ActorOfficial, ID: account,
		OnBehalfOf: "agency:" + post.Agency.Code}, Agency: post.Agency.Code, Label: post.Agency.Name, Post: string(post.Role), Channel: ChannelDesk}
	status := http.StatusOK
	for _, code := range chosen {
		if len(d.Results) >= 20 {
			break
		}
		res := resultView{Service: code, Title: h.tr(r, "exchange.service."+code, code)}
		ans, err := h.s.Query(r.Context(), Request{Service: code, Subject: SubjectRef{Kind: SubjectPerson, ID: d.CitizenID},
			Purpose: r.PostForm.Get("purpose"), CaseRef: d.CaseRef, Consumer: consumer})
		if err != nil {
			switch kernel.ErrorCode(err) {
			case kernel.Invalid, kernel.Forbidden, kernel.NotFound, kernel.Unavailable:
				key, args := kernel.ErrorKey(err)
				res.Error = h.web.T(r, key, args...)
				if kernel.ErrorCode(err) == kernel.Invalid {
					status = http.StatusBadRequest
				}
			default:
				h.web.Error(w, r, err)
				return
			}
			d.Results = append(d.Results, res)
			continue
		}
		res.Provider = h.s.agencyName(r.Context(), ans.Provider)
		res.At, res.Receipt = ans.At, ans.Receipt
		res.Values, res.Empty = answerValues(ans.Data)
		res.Raw = string(ans.Data)
		d.Results = append(d.Results, res)
	}
	h.pages.Render(w, r, status, "lookup", d)
}

// answerValues lays an answer's data out for the desk: each member by
// name, lists of records as records. It reports whether the data is empty.
func answerValues(data []byte) ([]valueView, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || len(m) == 0 {
		return nil, true
	}
	return objectValues(m), false
}

func objectValues(m map[string]any) []valueView {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]valueView, 0, len(keys))
	for _, k := range keys {
		v := valueView{Name: k}
		switch val := m[k].(type) {
		case []any:
			for _, it := range val {
				if obj, ok := it.(map[string]any); ok {
					v.Items = append(v.Items, objectValues(obj))
				} else {
					v.Items = append(v.Items, []valueView{{Text: fmt.Sprint(it)}})
				}
			}
		case map[string]any:
			v.Items = [][]valueView{objectValues(val)}
		default:
			v.Text = fmt.Sprint(val)
		}
		out = append(out, v)
	}
	return out
}
