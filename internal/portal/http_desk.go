package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"civitas/internal/kernel"
)

func (h *pages) mountDesk() {
	ws := h.web
	ws.HandleFunc("GET /officer/portal", h.deskQueue)
	ws.HandleFunc("GET /officer/portal/applications/{id}", h.deskApplication)
	ws.HandleFunc("POST /officer/portal/applications/{id}/{action}", h.deskAct)
	ws.HandleFunc("POST /officer/portal/assisted", h.deskStart)
	ws.HandleFunc("POST /officer/portal/flags/{flag}/close", h.deskCloseFlag)
}

// desk returns the official's post at the agency named (or their first),
// their posts, and the request acting as the official for that agency. A
// level-1 session is sent to log in at level 2; a form from one is refused.
func (h *pages) desk(w http.ResponseWriter, r *http.Request, agency string) (Post, []Post, *http.Request, bool) {
	sess, ok := h.signedIn(w, r)
	if !ok {
		return Post{}, nil, nil, false
	}
	if sess.ActingFor != "" {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "portal.error.not_official"))
		return Post{}, nil, nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return Post{}, nil, nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "portal.error.level2"))
		return Post{}, nil, nil, false
	}
	posts, err := h.s.o.Accounts.Posts(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return Post{}, nil, nil, false
	}
	for _, p := range posts {
		if agency == "" || p.Agency.Code == agency {
			ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: "agency:" + p.Agency.Code})
			return p, posts, r.WithContext(ctx), true
		}
	}
	h.web.Error(w, r, kernel.E(kernel.Forbidden, "portal.error.not_official"))
	return Post{}, nil, nil, false
}

type queueRow struct {
	QueueItem
	Name      string
	StatusKey string
	DueView   string
}

type deskData struct {
	Style      string
	Post       Post
	Posts      []Post
	Rows       []queueRow
	Next       string
	Done       bool
	Unit       string
	Flags      []Flag
	Procedures []procedureCard
}

func (h *pages) deskQueue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	post, posts, r, ok := h.desk(w, r, q.Get("agency"))
	if !ok {
		return
	}
	done := q.Get("done") == "1"
	unit := strings.TrimSpace(q.Get("unit"))
	if len(unit) > 16 {
		unit = ""
	}
	pg, err := h.s.Queue(r.Context(), QueueRequest{Agency: post.Agency.Code, Unit: unit, Done: done, Page: kernel.Page{After: q.Get("after"), Limit: 50}})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := deskData{Style: h.style, Post: post, Posts: posts, Next: pg.Next, Done: done, Unit: unit}
	for _, it := range pg.Items {
		p, _ := h.s.o.Catalogue.Procedure(it.Procedure)
		name := p.NameIn(lang(r))
		if p.Integrated {
			if pt, ok := p.Part(it.Part); ok {
				name += " — " + names(pt.Names, lang(r))
			}
		}
		d.Rows = append(d.Rows, queueRow{QueueItem: it, Name: name, DueView: dayView(it.Due)})
	}
	if flags, err := h.s.Flags(r.Context(), post.Agency.Code, 50); err == nil {
		d.Flags = flags
	}
	for _, p := range h.s.o.Catalogue.Procedures() {
		if p.MayBeFor("self") {
			d.Procedures = append(d.Procedures, h.card(p, lang(r)))
		}
	}
	h.pages.Render(w, r, http.StatusOK, "desk_queue", d)
}

type deskPartView struct {
	partView
	Mine      bool
	CanDecide bool
	Fields    []inputView
	Open      bool
}

type deskAppData struct {
	applicationData
	Post      Post
	Parts2    []deskPartView
	Askable   []inputView
	Lookups   []lookupChoice
	Answer    *lookupView
	Agency    string
	Today     string
	NeedsCode bool
}

type lookupChoice struct{ Value, Name string }

type lookupView struct {
	Name, Provider, Receipt string
	Records                 [][]fieldValue
}

func (h *pages) deskApplication(w http.ResponseWriter, r *http.Request) {
	post, _, r, ok := h.desk(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	h.showDesk(w, r, post, r.PathValue("id"), http.StatusOK, "", nil)
}

func (h *pages) showDesk(w http.ResponseWriter, r *http.Request, post Post, id string, status int, errMsg string, answer *lookupView) {
	a, err := h.s.DeskApplication(r.Context(), post.Agency.Code, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	p, _ := h.s.o.Catalogue.Procedure(a.Procedure)
	d := deskAppData{applicationData: h.applicationView(r, p, a, access{view: true}), Post: post, Agency: post.Agency.Code, Answer: answer,
		Today: today(h.s.o.Clock.Now()).String()}
	d.Error = errMsg
	if k := deskNotices[r.URL.Query().Get("done")]; k != "" && errMsg == "" {
		d.Notice = h.web.T(r, k)
	}
	for _, cp := range a.Parts {
		pt, _ := p.Part(cp.Code)
		cp := cp
		v := deskPartView{partView: h.partView(r, pt, &cp), Mine: cp.Agency == post.Agency.Code, Open: inQueue(cp.Status)}
		v.CanDecide = v.Mine && slices.Contains(pt.DecideRoles(), post.Role)
		if !v.CanDecide && v.Mine {
			if _, err := h.s.post(r.Context(), kernel.ActorFrom(r.Context()).ID, post.Agency.Code, pt.DecideRoles()); err == nil {
				v.CanDecide = true
			}
		}
		for _, f := range pt.DecisionFields {
			v.Fields = append(v.Fields, h.inputView(r, f, nil))
		}
		if pt.Result != "" {
			d.NeedsCode = true
		}
		d.Parts2 = append(d.Parts2, v)
	}
	for _, in := range p.Inputs {
		if !in.StateHeld() {
			d.Askable = append(d.Askable, h.inputView(r, in, &a))
		}
	}
	parties := append([]string{PartySubject}, p.Parties()...)
	for _, party := range parties {
		if _, ok := partyID(&a, party); !ok {
			continue
		}
		for _, svc := range registryServices {
			if (a.Subject.Kind == SubjectOrganisation && party == PartySubject) != strings.HasPrefix(svc.Code, "business.enterprise") {
				continue
			}
			name := h.sourceName(r, prefixReg+svc.Code)
			if pn := h.partyName(r, party); pn != "" {
				name = pn + " — " + name
			}
			d.Lookups = append(d.Lookups, lookupChoice{Value: party + ":" + svc.Code, Name: name})
		}
	}
	h.pages.Render(w, r, status, "desk_application", d)
}

var deskNotices = map[string]string{"received": "portal.desk.done.received", "processing": "portal.desk.done.processing",
	"requested": "portal.desk.done.requested", "transferred": "portal.desk.done.transferred", "decided": "portal.desk.done.decided",
	"issued": "portal.desk.done.issued", "apologised": "portal.desk.done.apologised", "closed": "portal.desk.done.closed"}

func (h *pages) deskAct(w http.ResponseWriter, r *http.Request) {
	post, _, r, ok := h.desk(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	sess, _ := h.web.Session(r)
	id, part, agency := r.PathValue("id"), r.PostFormValue("part"), post.Agency.Code
	ctx := r.Context()
	var err error
	done := ""
	switch r.PathValue("action") {
	case "receive":
		_, err = h.s.Receive(ctx, agency, id, part)
		done = "received"
	case "assign":
		_, err = h.s.Assign(ctx, agency, id, part)
		done = "processing"
	case "request":
		_, err = h.s.RequestInfo(ctx, agency, id, part, r.PostForm["input"], r.PostFormValue("note"))
		done = "requested"
	case "transfer":
		_, err = h.s.Transfer(ctx, agency, id, part, r.PostFormValue("to"), r.PostFormValue("note"))
		done = "transferred"
	case "decide":
		fields := map[string]string{}
		for k, vs := range r.PostForm {
			if key, ok := strings.CutPrefix(k, "decision."); ok && len(vs) > 0 {
				fields[key] = vs[0]
			}
		}
		_, err = h.s.Decide(ctx, DecideRequest{Agency: agency, ID: id, Part: part, Approve: r.PostFormValue("outcome") == "approve",
			Reason: r.PostFormValue("reason"), Fields: fields, ACR: sess.ACR, Code: r.PostFormValue("code"), Lang: lang(r)})
		done = "decided"
	case "issue":
		_, err = h.s.IssueResult(ctx, agency, id, part, r.PostFormValue("code"), lang(r))
		done = "issued"
	case "apologise":
		_, err = h.s.Apologise(ctx, agency, id, part, r.PostFormValue("reason"), r.PostFormValue("due"))
		done = "apologised"
	case "handover":
		_, err = h.s.HandOver(ctx, agency, id)
		done = "closed"
	case "lookup":
		party, svc, _ := strings.Cut(r.PostFormValue("source"), ":")
		ans, lerr := h.s.Lookup(ctx, agency, id, party, svc)
		if lerr != nil {
			err = lerr
			break
		}
		lv := &lookupView{Name: h.sourceName(r, prefixReg+svc), Provider: ans.ProviderName, Receipt: ans.Receipt}
		for _, rec := range ans.Records {
			var fs []fieldValue
			for _, f := range func() []string { s, _ := registryService(svc); return s.Fields }() {
				if v := valueText(rec[f]); v != "" {
					fs = append(fs, field(f, h.label(r, Input{Name: f}), v))
				}
			}
			lv.Records = append(lv.Records, fs)
		}
		h.showDesk(w, r, post, id, http.StatusOK, "", lv)
		return
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		if msg, status, ok := h.message(w, r, err); ok {
			h.showDesk(w, r, post, id, status, msg, nil)
		}
		return
	}
	http.Redirect(w, r, "/officer/portal/applications/"+id+"?agency="+url.QueryEscape(agency)+"&done="+done, http.StatusSeeOther)
}

func (h *pages) deskStart(w http.ResponseWriter, r *http.Request) {
	_, _, r, ok := h.desk(w, r, r.PostFormValue("agency"))
	if !ok {
		return
	}
	a, err := h.s.Start(r.Context(), StartRequest{Procedure: r.PostFormValue("procedure"), Citizen: strings.TrimSpace(r.PostFormValue("citizen_id"))})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, h.appURL(r, a.ID, ""), http.StatusSeeOther)
}

func (h *pages) deskCloseFlag(w http.ResponseWriter, r *http.Request) {
	post, _, r, ok := h.desk(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	if err := h.s.CloseFlag(r.Context(), post.Agency.Code, r.PathValue("flag")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/officer/portal?agency="+url.QueryEscape(post.Agency.Code), http.StatusSeeOther)
}
