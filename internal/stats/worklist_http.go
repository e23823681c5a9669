package stats

import (
	"net/http"
	"net/url"
	"strconv"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

func (s *Service) mountWorklists(ws *web.Server, h *pages) {
	if s.o.Residents == nil || s.o.Staff == nil || s.o.Areas == nil {
		return
	}
	ws.HandleFunc("GET /officer/worklist", h.worklist)
	ws.HandleFunc("POST /officer/worklist/outcome", h.outcome)
	ws.HandleFunc("GET /officer/worklist/letters.pdf", h.letters)
}

func (h *pages) letters(w http.ResponseWriter, r *http.Request) {
	o, r, ok := h.official(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	b, err := h.s.Letters(r.Context(), o, q.Get("unit"), q.Get("area"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", `attachment; filename="letters-`+q.Get("area")+`.pdf"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// official returns the signed-in official with their posts, and the
// request carrying them as the actor. Without a login the browser is sent
// to log in; from a level-1 session, to log in again at level 2; without
// a post, 403.
func (h *pages) official(w http.ResponseWriter, r *http.Request) (Official, *http.Request, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return Official{}, nil, false
	}
	if err != nil || sess.AccountID == "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/officer/worklist"
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return Official{}, nil, false
	}
	if sess.ActingFor != "" {
		h.web.Error(w, r, errNotStaff())
		return Official{}, nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return Official{}, nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "stats.error.level2_session"))
		return Official{}, nil, false
	}
	posts, err := h.s.o.Staff.Posts(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return Official{}, nil, false
	}
	if len(posts) == 0 {
		h.web.Error(w, r, errNotStaff())
		return Official{}, nil, false
	}
	o := Official{AccountID: sess.AccountID, Posts: posts}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID})
	return o, r.WithContext(ctx), true
}

type worklistView struct {
	Style    string
	Communes []Unit
	Commune  Unit
	Areas    []Area
	List     *Worklist
	Needs    []choice
	Outcomes []choice
	Marked   bool
}

func (h *pages) worklist(w http.ResponseWriter, r *http.Request) {
	o, r, ok := h.official(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	v := worklistView{Style: h.style, Marked: q.Get("marked") == "1"}
	var err error
	if v.Communes, err = h.s.Communes(ctx, o); err != nil {
		h.web.Error(w, r, err)
		return
	}
	unit := q.Get("unit")
	if unit == "" && len(v.Communes) == 1 {
		unit = v.Communes[0].Code
	}
	if unit != "" {
		t, err := h.s.Tree(ctx)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		u, ok := t.Unit(unit)
		if !ok || u.Level != LevelCommune {
			h.web.Error(w, r, kernel.E(kernel.Invalid, "stats.error.bad_unit", unit))
			return
		}
		if _, ok := h.s.covers(t, o, unit); !ok {
			h.web.Error(w, r, errNotStaff())
			return
		}
		v.Commune = u
		if v.Areas, err = h.s.o.Areas.AreasIn(ctx, unit); err != nil {
			h.web.Error(w, r, err)
			return
		}
	}
	if area := q.Get("area"); area != "" {
		need := q.Get("need")
		page, err := pageParam(q)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		list, err := h.s.Worklist(ctx, o, unit, area, need, page)
		if v.Marked && page > 1 && kernel.ErrorCode(err) == kernel.Invalid {
			// Back from marking a visit on a page the list no longer
			// reaches (people left it meanwhile): its first page, not an error.
			list, err = h.s.Worklist(ctx, o, unit, area, need, 1)
		}
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		v.List = &list
		v.Needs = append(v.Needs, choice{Value: "", Label: h.web.T(r, "stats.worklist.need_all"), Chosen: need == ""})
		for _, n := range Needs() {
			v.Needs = append(v.Needs, choice{Value: n, Label: h.web.T(r, "stats.need."+n), Chosen: need == n})
		}
		for _, oc := range Outcomes() {
			v.Outcomes = append(v.Outcomes, choice{Value: oc, Label: h.web.T(r, "stats.outcome."+oc)})
		}
	}
	h.pages.Render(w, r, http.StatusOK, "stats_worklist", v)
}

// pageParam is the worklist page a query asks: page=N (from 1, the first
// by default), or all=1 for the whole list to print (0).
func pageParam(q url.Values) (int, error) {
	if q.Get("all") == "1" {
		return 0, nil
	}
	p := q.Get("page")
	if p == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 {
		return 0, kernel.E(kernel.Invalid, "stats.error.bad_page", p)
	}
	return n, nil
}

func (h *pages) outcome(w http.ResponseWriter, r *http.Request) {
	o, r, ok := h.official(w, r)
	if !ok {
		return
	}
	unit, area := r.PostFormValue("unit"), r.PostFormValue("area")
	if err := h.s.MarkOutcome(r.Context(), o, unit, area, r.PostFormValue("citizen_id"), r.PostFormValue("outcome")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	back := url.Values{"unit": {unit}, "area": {area}, "need": {r.PostFormValue("need")}, "marked": {"1"}}
	if p, err := strconv.Atoi(r.PostFormValue("page")); err == nil && p > 1 {
		back.Set("page", strconv.Itoa(p))
	}
	http.Redirect(w, r, "/officer/worklist?"+back.Encode(), http.StatusSeeOther)
}
