package privacy

import (
	"embed"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Mount serves the person's page /account/privacy (downloads, consents,
// corrections) and the officials' desk /officer/privacy, and adds the
// page to the signed-in navigation.
func (s *Service) Mount(ws *web.Server) error {
	pages, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	h := &handlers{s: s, ws: ws, pages: pages}
	ws.HandleFunc("GET /account/privacy", h.page)
	ws.HandleFunc("GET /account/privacy/export.json", h.exportJSON)
	ws.HandleFunc("GET /account/privacy/export.pdf", h.exportPDF)
	ws.HandleFunc("POST /account/privacy/consents/withdraw", h.withdraw)
	ws.HandleFunc("POST /account/privacy/corrections", h.correct)
	ws.HandleFunc("GET /officer/privacy", h.desk)
	ws.HandleFunc("POST /officer/privacy/decide", h.decide)
	ws.AddNav(web.NavItem{Key: "nav.privacy", Path: "/account/privacy", Order: 85, Who: web.SignedIn})
	return nil
}

type handlers struct {
	s     *Service
	ws    *web.Server
	pages *web.Pages
}

// signedIn returns the session, or sends the browser to log in and back.
func (h *handlers) signedIn(w http.ResponseWriter, r *http.Request) (*web.Session, bool) {
	sess, err := h.ws.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.ws.Error(w, r, err)
		return nil, false
	}
	if err != nil || sess.AccountID == "" {
		next := "/account/privacy"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}

type consentView struct {
	ClientID, Name, Purpose, Scopes string
	Granted                         time.Time // written with {{$.DateTime}}
}

type recordChoice struct {
	Value, Label string
}

type correctionView struct {
	ID, Record, Agency, Wrong, Correct, Status, Answer string
	Asked, Decided                                     time.Time // written with {{$.DateTime}}
}

func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ex, err := h.s.Export(ctx, sess.AccountID)
	if err != nil {
		h.ws.Error(w, r, err)
		return
	}
	data := struct {
		Notice      string
		HasPDF      bool
		Dependants  int
		Consents    []consentView
		Records     []recordChoice
		Corrections []correctionView
		Sections    int
	}{Notice: map[string]string{"withdrawn": "privacy.notice.withdrawn", "asked": "privacy.notice.asked"}[r.URL.Query().Get("done")],
		HasPDF: h.s.o.Font != nil, Dependants: len(ex.Dependants), Sections: len(ex.Person.Sections)}
	if h.s.o.Consents != nil {
		cs, err := h.s.o.Consents.Consents(ctx, sess.AccountID)
		if err != nil {
			h.ws.Error(w, r, err)
			return
		}
		for _, c := range cs {
			data.Consents = append(data.Consents, consentView{ClientID: c.ClientID, Name: c.Name, Purpose: c.Purpose,
				Scopes: strings.Join(c.Scopes, " "), Granted: c.GrantedAt})
		}
	}
	tr := pageTranslator{h.ws, r}
	for _, p := range append([]PersonExport{ex.Person}, ex.Dependants...) {
		for _, sec := range p.Sections {
			for _, rec := range sec.Records {
				if rec.Agency == "" {
					continue
				}
				lbl := label(tr, "privacy.kind."+rec.Kind, rec.Kind) + " " + shortName(rec)
				if p.Dependant {
					lbl = p.Name + " — " + lbl
				}
				data.Records = append(data.Records, recordChoice{Value: strings.Join([]string{p.CitizenID, sec.Name, rec.Kind, rec.ID}, "|"), Label: lbl})
			}
		}
	}
	mine, err := h.s.MyCorrections(ctx, sess.AccountID)
	if err != nil {
		h.ws.Error(w, r, err)
		return
	}
	for _, c := range mine {
		data.Corrections = append(data.Corrections, correctionView{ID: c.ID, Record: label(tr, "privacy.kind."+c.RecordKind, c.RecordKind) + " " + c.RecordID,
			Agency: c.Agency, Wrong: c.Wrong, Correct: c.Correct, Status: c.Status, Answer: c.Answer, Asked: c.CreatedAt, Decided: c.DecidedAt})
	}
	h.pages.Render(w, r, http.StatusOK, "privacy", data)
}

// shortName names a record on a phone's width: a document by its type
// (its ID is a long random one), anything else by its ID.
func shortName(r Record) string {
	if r.Kind == "document" {
		for _, f := range r.Fields {
			if f.Name == "type" {
				return f.Value
			}
		}
	}
	return r.ID
}

// pageTranslator translates into a request's language.
type pageTranslator struct {
	ws *web.Server
	r  *http.Request
}

func (t pageTranslator) T(key string, args ...any) string { return t.ws.T(t.r, key, args...) }
func (t pageTranslator) Has(key string) bool              { return t.ws.Catalog().Has(key) }

func (h *handlers) exportJSON(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ex, err := h.s.Export(r.Context(), sess.AccountID)
	if err != nil {
		h.ws.Error(w, r, err)
		return
	}
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		h.ws.Error(w, r, kernel.Wrap(err, "privacy: export"))
		return
	}
	download(w, "application/json", "civitas-personal-data.json", b)
}

func (h *handlers) exportPDF(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ex, err := h.s.Export(r.Context(), sess.AccountID)
	if err != nil {
		h.ws.Error(w, r, err)
		return
	}
	b, err := h.s.PDF(ex, web.LangFrom(r.Context()), pageTranslator{h.ws, r})
	if err != nil {
		h.ws.Error(w, r, err)
		return
	}
	download(w, "application/pdf", "civitas-personal-data.pdf", b)
}

// download answers a file the browser saves, never kept by a cache.
func download(w http.ResponseWriter, contentType, name string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (h *handlers) withdraw(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if h.s.o.Consents == nil {
		h.ws.Error(w, r, kernel.E(kernel.Unavailable, "privacy.error.unavailable"))
		return
	}
	client := r.PostFormValue("client_id")
	if client == "" {
		h.ws.Error(w, r, kernel.E(kernel.Invalid, "privacy.error.no_consent"))
		return
	}
	if err := h.s.Withdraw(r.Context(), sess.AccountID, client); err != nil {
		h.ws.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/privacy?done=withdrawn", http.StatusSeeOther)
}

func (h *handlers) correct(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	parts := strings.Split(r.PostFormValue("record"), "|")
	if len(parts) != 4 {
		h.ws.Error(w, r, kernel.E(kernel.Invalid, "privacy.error.no_record"))
		return
	}
	_, err := h.s.RequestCorrection(r.Context(), sess.AccountID, CorrectionRequest{CitizenID: parts[0], Section: parts[1], RecordKind: parts[2],
		RecordID: parts[3], Wrong: r.PostFormValue("wrong"), Correct: r.PostFormValue("correct")})
	if err != nil {
		h.ws.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/privacy?done=asked", http.StatusSeeOther)
}

// official returns the signed-in official in a level-2 session, with the
// request's context acting for the agency; a level-1 session is sent to
// log in again (a form from one is refused).
func (h *handlers) official(w http.ResponseWriter, r *http.Request) (*web.Session, *http.Request, bool) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return nil, nil, false
	}
	if sess.ActingFor != "" {
		h.ws.Error(w, r, kernel.E(kernel.Forbidden, "privacy.error.not_official"))
		return nil, nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil, nil, false
		}
		h.ws.Error(w, r, kernel.E(kernel.Forbidden, "privacy.error.level2_session"))
		return nil, nil, false
	}
	agency := r.FormValue("agency")
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: "agency:" + agency})
	return sess, r.WithContext(ctx), true
}

func (h *handlers) desk(w http.ResponseWriter, r *http.Request) {
	sess, r, ok := h.official(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var posts []Post
	if h.s.o.Officials != nil {
		var err error
		if posts, err = h.s.o.Officials.Posts(r.Context(), sess.AccountID); err != nil {
			h.ws.Error(w, r, err)
			return
		}
	}
	if len(posts) == 0 {
		h.ws.Error(w, r, kernel.E(kernel.Forbidden, "privacy.error.not_official"))
		return
	}
	agency := q.Get("agency")
	if agency == "" {
		agency = posts[0].AgencyCode
		r = r.WithContext(kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: "agency:" + agency}))
	}
	status := q.Get("status")
	if status == "" {
		status = CorrectionOpen
	}
	cs, err := h.s.AgencyCorrections(r.Context(), sess.AccountID, agency, status, kernel.Page{After: q.Get("after")})
	if err != nil {
		h.ws.Error(w, r, err)
		return
	}
	tr := pageTranslator{h.ws, r}
	data := struct {
		Agency, Status, Next, Notice string
		Posts                        []Post
		Requests                     []correctionView
	}{Agency: agency, Status: status, Posts: posts, Notice: map[string]string{"1": "privacy.desk.decided"}[q.Get("done")]}
	for _, c := range cs {
		data.Requests = append(data.Requests, correctionView{ID: c.ID, Record: label(tr, "privacy.kind."+c.RecordKind, c.RecordKind) + " " + c.RecordID,
			Agency: c.Agency, Wrong: c.Wrong, Correct: c.Correct, Status: c.Status, Answer: c.Answer, Asked: c.CreatedAt, Decided: c.DecidedAt})
	}
	if len(cs) == 50 {
		data.Next = cs[len(cs)-1].ID
	}
	h.pages.Render(w, r, http.StatusOK, "officer_privacy", data)
}

func (h *handlers) decide(w http.ResponseWriter, r *http.Request) {
	sess, r, ok := h.official(w, r)
	if !ok {
		return
	}
	agency := r.PostFormValue("agency")
	if err := h.s.DecideCorrection(r.Context(), sess.AccountID, agency, r.PostFormValue("id"), r.PostFormValue("status"), r.PostFormValue("answer")); err != nil {
		h.ws.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/officer/privacy?done=1&agency="+url.QueryEscape(agency), http.StatusSeeOther)
}
