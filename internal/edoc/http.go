package edoc

import (
	"embed"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// maxUpload bounds a draft's form: the main file and a few attachments.
const maxUpload = 3*maxFile + 1<<20

type pages struct {
	s   *Service
	web *web.Server
	ps  *web.Pages
}

// Mount serves the pages: the agency's inbox, a document, the leader's
// tablet page and the supervision page.
func (s *Service) Mount(ws *web.Server) error {
	ps, err := ws.Pages(templates, "templates/*.html")
	if err != nil {
		return err
	}
	h := &pages{s: s, web: ws, ps: ps}
	ws.AllowUpload("/edoc/new", maxUpload)
	ws.AllowUpload("/edoc/d/{id}/revise", maxFile+1<<20)
	ws.HandleFunc("GET /edoc", h.inbox)
	ws.HandleFunc("POST /edoc/new", h.create)
	ws.HandleFunc("GET /edoc/d/{id}", h.document)
	ws.HandleFunc("GET /edoc/d/{id}/file", h.file)
	ws.HandleFunc("POST /edoc/d/{id}/{action}", h.act)
	ws.HandleFunc("GET /edoc/sign", h.signList)
	ws.HandleFunc("POST /edoc/sign", h.approve)
	ws.HandleFunc("GET /edoc/supervise", h.supervise)
	ws.HandleFunc("GET /edoc/supervise/chart.svg", h.chart)
	// Officials only: a citizen without a post has nothing to do there.
	ws.AddNav(web.NavItem{Key: "nav.edoc", Path: "/edoc", Order: 60, Who: web.Officials})
	return nil
}

// desk is the signed-in official at one of their agencies.
type desk struct {
	Account  string
	Agency   string
	Name     string
	Caps     Capacity
	Agencies []deskAgency
}

type deskAgency struct{ Code, Name string }

func (d desk) CanSign() bool     { return d.Caps&CanSign != 0 }
func (d desk) CanRegister() bool { return d.Caps&CanRegister != 0 }
func (d desk) CanAssign() bool   { return d.Caps&CanAssign != 0 }
func (d desk) CanDraft() bool    { return d.Caps&CanDraft != 0 }

// official finds the signed-in official at the agency asked for (or their
// first), in a level-2 session, and puts them in the request's context.
func (h *pages) official(w http.ResponseWriter, r *http.Request) (desk, *http.Request, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return desk{}, nil, false
	}
	if err != nil || sess.AccountID == "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/edoc"
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return desk{}, nil, false
	}
	if sess.ActingFor != "" {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "edoc.error.not_official"))
		return desk{}, nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return desk{}, nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "edoc.error.level2"))
		return desk{}, nil, false
	}
	caps, err := h.s.Capacities(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return desk{}, nil, false
	}
	if len(caps) == 0 {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "edoc.error.not_official"))
		return desk{}, nil, false
	}
	want := r.URL.Query().Get("agency")
	if want == "" && r.Method == http.MethodPost {
		want = r.PostFormValue("agency")
	}
	d := desk{Account: sess.AccountID}
	codes := make([]string, 0, len(caps))
	for c := range caps {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		name := c
		if a, err := h.s.o.Directory.Agency(r.Context(), c); err == nil {
			name = a.Name
		}
		d.Agencies = append(d.Agencies, deskAgency{Code: c, Name: name})
		if d.Agency == "" && (want == "" || want == c) {
			d.Agency, d.Name, d.Caps = c, name, caps[c]
		}
	}
	if d.Agency == "" {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "edoc.error.not_staff"))
		return desk{}, nil, false
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: "agency:" + d.Agency})
	return d, r.WithContext(ctx), true
}

// waitRow is a waiting document as the pages show it.
type waitRow struct {
	Waiting
	WaitText string
	Overdue  bool
}

func (h *pages) rows(r *http.Request, ws []Waiting) []waitRow {
	out := make([]waitRow, len(ws))
	now := h.s.o.Clock.Now()
	for i, w := range ws {
		out[i] = waitRow{Waiting: w, WaitText: h.duration(r, w.Waited), Overdue: !w.Due.IsZero() && now.After(w.Due)}
	}
	return out
}

// duration writes a waiting time in days, hours and minutes.
func (h *pages) duration(r *http.Request, d time.Duration) string {
	m := int(d.Minutes())
	switch {
	case m < 60:
		return h.web.T(r, "edoc.wait.minutes", m)
	case m < 24*60:
		return h.web.T(r, "edoc.wait.hours", m/60, m%60)
	}
	return h.web.T(r, "edoc.wait.days", m/(24*60), (m/60)%24)
}

type inboxData struct {
	Desk    desk
	Rows    []waitRow
	Types   []DocType
	Signers []Member
	Notice  string
	Error   string
}

func (h *pages) inbox(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	ws, err := h.s.Inbox(r.Context(), d.Agency)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	types := DocTypes()
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	signers, err := h.s.Members(r.Context(), d.Agency, CanSign)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.ps.Render(w, r, http.StatusOK, "edoc_inbox", inboxData{Desk: d, Rows: h.rows(r, ws), Types: types, Signers: signers, Notice: r.URL.Query().Get("done")})
}

// create records a draft from the form and, when a signer is named, asks
// them to sign.
func (h *pages) create(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	t, err := ParseDocType(r.PostFormValue("type"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	dr := Draft{Agency: d.Agency, Type: t, Subject: strings.TrimSpace(r.PostFormValue("subject")), Urgency: Urgency(r.PostFormValue("urgency")),
		Confidentiality: Confidentiality(r.PostFormValue("confidentiality"))}
	for _, f := range strings.FieldsFunc(r.PostFormValue("to"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == ';' }) {
		rc, err := ParseRecipient(f)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		dr.Recipients = append(dr.Recipients, rc)
	}
	if v := r.PostFormValue("due"); v != "" {
		if dr.Due, err = time.ParseInLocation(time.DateOnly, v, kernel.Zone()); err != nil {
			h.web.Error(w, r, kernel.E(kernel.Invalid, "edoc.error.bad_due"))
			return
		}
	}
	main, err := formFile(r, "main")
	if err != nil {
		h.web.Error(w, r, kernel.E(kernel.Invalid, "edoc.error.bad_main_file"))
		return
	}
	dr.Main = main
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["attach"] {
			f, err := fh.Open()
			if err != nil {
				h.web.Error(w, r, kernel.E(kernel.Invalid, "edoc.error.bad_attachment"))
				return
			}
			b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
			f.Close()
			if err != nil {
				h.web.Error(w, r, kernel.E(kernel.Invalid, "edoc.error.bad_attachment"))
				return
			}
			dr.Attachments = append(dr.Attachments, File{Name: fh.Filename, Data: b})
		}
	}
	doc, err := h.s.Create(r.Context(), dr)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if signer := strings.TrimSpace(r.PostFormValue("signer")); signer != "" {
		if err := h.s.Submit(r.Context(), doc.ID, signer); err != nil {
			h.web.Error(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/edoc/d/"+doc.ID+"?agency="+url.QueryEscape(d.Agency), http.StatusSeeOther)
}

func formFile(r *http.Request, name string) (File, error) {
	f, fh, err := r.FormFile(name)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return File{}, err
	}
	return File{Name: fh.Filename, MediaType: "application/pdf", Data: b}, nil
}

type stepRow struct {
	Step
	WaitText string
	Open     bool
}

type documentData struct {
	Desk     desk
	Signers  []Member
	Handlers []Member
	Doc      Document
	Steps    []stepRow
	Open     string // the kind of the open step
	Mine     bool   // the actor is asked at the open step
}

func (h *pages) document(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	doc, steps, err := h.s.Document(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	data := documentData{Desk: d, Doc: doc}
	if data.Signers, err = h.s.Members(r.Context(), d.Agency, CanSign); err == nil {
		data.Handlers, err = h.s.Members(r.Context(), d.Agency, CanDraft)
	}
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	now := h.s.o.Clock.Now()
	for _, st := range steps {
		open := st.EndedAt.IsZero()
		if open {
			data.Open = st.Kind
			data.Mine = st.Actor == d.Account || st.Actor == ""
		}
		data.Steps = append(data.Steps, stepRow{Step: st, WaitText: h.duration(r, st.Waited(now)), Open: open})
	}
	h.ps.Render(w, r, http.StatusOK, "edoc_document", data)
}

// file serves the current main file to the people who may read it.
func (h *pages) file(w http.ResponseWriter, r *http.Request) {
	_, r, ok := h.official(w, r)
	if !ok {
		return
	}
	f, err := h.s.MainFile(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", "inline; filename=\"document.pdf\"")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	_, _ = w.Write(f.Data)
}

// act runs one step on a document from its page.
func (h *pages) act(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	id, ctx := r.PathValue("id"), r.Context()
	var err error
	switch r.PathValue("action") {
	case "submit":
		err = h.s.Submit(ctx, id, strings.TrimSpace(r.PostFormValue("signer")))
	case "return":
		err = h.s.Return(ctx, id, r.PostFormValue("comment"))
	case "revise":
		var f File
		if f, err = formFile(r, "main"); err != nil {
			err = kernel.E(kernel.Invalid, "edoc.error.bad_main_file")
		} else {
			err = h.s.Revise(ctx, id, f)
		}
	case "register":
		_, err = h.s.Register(ctx, id)
	case "send":
		_, err = h.s.Send(ctx, id)
	case "register_in":
		err = h.s.RegisterIncoming(ctx, id)
	case "assign":
		var due time.Time
		if v := r.PostFormValue("due"); v != "" {
			if due, err = time.ParseInLocation(time.DateOnly, v, kernel.Zone()); err != nil {
				err = kernel.E(kernel.Invalid, "edoc.error.bad_due")
			}
		}
		if err == nil {
			err = h.s.Assign(ctx, id, strings.TrimSpace(r.PostFormValue("handler")), due)
		}
	case "process":
		err = h.s.StartProcessing(ctx, id)
	case "complete":
		err = h.s.Complete(ctx, id)
	default:
		err = kernel.E(kernel.NotFound, "edoc.error.not_found")
	}
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	next := "/edoc/d/" + id + "?agency=" + url.QueryEscape(d.Agency)
	if r.PathValue("action") == "return" {
		next = "/edoc/sign?agency=" + url.QueryEscape(d.Agency) + "&done=returned"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type signData struct {
	Desk   desk
	Rows   []waitRow
	Notice string
	N      int
}

// signList is the leader's tablet page: what waits for their signature,
// oldest first, with the waiting time.
func (h *pages) signList(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	if !d.CanSign() {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "edoc.error.not_staff"))
		return
	}
	ws, err := h.s.Waiting(r.Context(), d.Agency)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	h.ps.Render(w, r, http.StatusOK, "edoc_sign", signData{Desk: d, Rows: h.rows(r, ws), Notice: r.URL.Query().Get("done"), N: n})
}

// approve signs the documents ticked (each as ID@version, the version the
// page showed) with one second-factor code.
func (h *pages) approve(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	var items []Approval
	for _, v := range r.PostForm["doc"] {
		id, ver, ok := strings.Cut(v, "@")
		n, err := strconv.Atoi(ver)
		if !ok || err != nil || !codeOK(id) {
			h.web.Error(w, r, kernel.E(kernel.Invalid, "edoc.error.nothing_chosen"))
			return
		}
		items = append(items, Approval{ID: id, Version: n})
	}
	if err := h.s.Approve(r.Context(), d.Agency, items, strings.TrimSpace(r.PostFormValue("code"))); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/edoc/sign?agency=%s&done=signed&n=%d", url.QueryEscape(d.Agency), len(items)), http.StatusSeeOther)
}
