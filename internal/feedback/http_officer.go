package feedback

import (
	"embed"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/officer_*.html templates/_*.html
var officerTemplates embed.FS

// officerPages are the staff's desk: queue, report, actions, supervision
// and planning layers.
type officerPages struct {
	*pages
	desk *web.Pages
}

// MaxLayerBody bounds an import of a planning layer.
const MaxLayerBody = MaxGeoJSONBytes + 1<<20

func (s *Service) mountOfficer(ws *web.Server, p *pages) error {
	ps, err := ws.Pages(officerTemplates, "templates/officer_*.html", "templates/_*.html")
	if err != nil {
		return err
	}
	h := &officerPages{pages: p, desk: ps}
	ws.AllowUpload("/officer/feedback/resolve", MaxPhotoBytes+1<<20)
	ws.AllowUpload("/officer/feedback/layers", MaxLayerBody)
	ws.HandleFunc("GET /officer/feedback", h.queue)
	ws.HandleFunc("GET /officer/feedback/overdue", h.overdue)
	ws.HandleFunc("GET /officer/feedback/r/{id}", h.report)
	ws.HandleFunc("POST /officer/feedback/r/{id}/{action}", h.act)
	ws.HandleFunc("POST /officer/feedback/resolve", h.resolve)
	ws.HandleFunc("GET /officer/feedback/layers", h.layers)
	ws.HandleFunc("POST /officer/feedback/layers", h.importLayer)
	ws.HandleFunc("POST /officer/feedback/layers/{id}/withdraw", h.withdraw)
	return nil
}

// official returns the signed-in official at the post in the agency named
// (or their first post), with the context carrying them as the actor on
// behalf of the agency. Without a login the browser is sent to log in;
// from a level-1 session, to log in again at level 2 (a form is refused);
// without a post, 403.
func (h *officerPages) official(w http.ResponseWriter, r *http.Request, agency string) (Official, []Post, *http.Request, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return Official{}, nil, nil, false
	}
	if err != nil || sess.AccountID == "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/officer/feedback"
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return Official{}, nil, nil, false
	}
	if sess.ActingFor != "" {
		h.web.Error(w, r, errNotStaff())
		return Official{}, nil, nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return Official{}, nil, nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "feedback.error.level2_session"))
		return Official{}, nil, nil, false
	}
	posts, err := h.s.o.Staff.Posts(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return Official{}, nil, nil, false
	}
	for _, p := range posts {
		if agency == "" || p.Agency.Code == agency {
			o := Official{AccountID: sess.AccountID, Agency: p.Agency}
			for _, q := range posts {
				if q.Agency.Code == p.Agency.Code {
					o.Roles = append(o.Roles, q.Role)
				}
			}
			ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: ActingFor(p.Agency.Code)})
			return o, posts, r.WithContext(ctx), true
		}
	}
	h.web.Error(w, r, errNotStaff())
	return Official{}, nil, nil, false
}

type deskData struct {
	Style       string
	Official    Official
	Posts       []Post
	Rows        []listRow
	Next        string
	Status      string
	Statuses    []option
	Mine        bool
	Overdue     bool
	Supervisor  bool
	Notice      string
	Agency      string
	Communes    []unitChoice
	Commune     string
	Title       string
	OverduePage bool
}

// supervisor says whether the official's post sees the overdue reports of
// the units within theirs.
func (h *officerPages) supervisor(ref *refs, o Official) bool {
	lvl := ref.units[o.Agency.Unit].Level
	return o.Agency.Kind == fallbackKind && (lvl == LevelDistrict || lvl == LevelProvince)
}

func (h *officerPages) queue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o, posts, r, ok := h.official(w, r, q.Get("agency"))
	if !ok {
		return
	}
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	status := q.Get("status")
	if status == "" && q.Get("filtered") == "" {
		status = "open"
	}
	f := QueueFilter{Status: status, Commune: q.Get("commune"), Mine: q.Get("mine") != "", Overdue: q.Get("overdue") != "",
		Page: kernel.Page{After: q.Get("after"), Limit: 30}}
	reps, err := h.s.Queue(r.Context(), o, f)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := deskData{Style: h.style, Official: o, Posts: posts, Rows: h.rows(r, ref, reps), Status: status, Mine: f.Mine, Overdue: f.Overdue,
		Supervisor: h.supervisor(ref, o), Notice: notice(r), Agency: o.Agency.Code, Commune: f.Commune}
	for _, st := range []string{"open", "closed", string(Submitted), string(Received), string(InProgress), string(Resolved), string(Closed)} {
		var label string
		switch st {
		case "open", "closed":
			label = h.web.T(r, "feedback.map.status_"+st)
		default:
			label = h.web.T(r, "feedback.status."+st)
		}
		d.Statuses = append(d.Statuses, option{Value: st, Label: label, Chosen: st == status})
	}
	if ref.units[o.Agency.Unit].Level != LevelCommune {
		for _, c := range sortedByName(ref, communesWithin(ref, o.Agency.Unit)) {
			d.Communes = append(d.Communes, unitChoice{Code: c, Name: ref.units[c].Name, Chosen: c == f.Commune})
		}
	}
	if len(reps) == f.Page.Limit {
		d.Next = reps[len(reps)-1].ID
	}
	h.desk.Render(w, r, http.StatusOK, "officer_feedback", d)
}

// communesWithin lists the communes within a unit.
func communesWithin(ref *refs, unit string) []string {
	if ref.units[unit].Level == LevelCommune {
		return []string{unit}
	}
	var out []string
	for _, c := range ref.children[unit] {
		out = append(out, communesWithin(ref, c)...)
	}
	return out
}

func (h *officerPages) overdue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o, posts, r, ok := h.official(w, r, q.Get("agency"))
	if !ok {
		return
	}
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	reps, err := h.s.Overdue(r.Context(), o, kernel.Page{After: q.Get("after"), Limit: 30})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := deskData{Style: h.style, Official: o, Posts: posts, Rows: h.rows(r, ref, reps), Supervisor: true, Agency: o.Agency.Code, OverduePage: true}
	for i, rep := range reps {
		d.Rows[i].Commune += " · " + ref.agencyName(rep.Agency)
	}
	if len(reps) == 30 {
		d.Next = reps[len(reps)-1].ID
	}
	h.desk.Render(w, r, http.StatusOK, "officer_feedback", d)
}

type teamChoice struct{ Code, Name string }

type staffReportData struct {
	Style     string
	Official  Official
	R         reportView
	Raw       Report
	ReadOnly  bool
	Members   []Member
	Teams     []teamChoice
	Agencies  []Agency
	Handler   string
	Team      string
	Anonymous bool
	Channel   string
	Contact   *Person
	Notice    string
	Error     string
	Open      bool
	Submitted bool
	Waiting   bool
}

func (h *officerPages) staffView(w http.ResponseWriter, r *http.Request, o Official, id string, status int, errMsg string, contact *Person) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d, err := h.s.StaffReport(r.Context(), o, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	rep := d.Report
	pd := publicOf(rep, h.s.o.Clock.Now())
	var evs []PublicEvent
	private := map[string]bool{}
	for _, e := range d.Events {
		evs = append(evs, PublicEvent{At: e.At, Kind: e.Kind, To: e.To, Note: e.Note, Agency: e.Agency, PhotoID: e.PhotoID})
		if !e.Public {
			private[e.Kind] = true
		}
	}
	data := staffReportData{Style: h.style, Official: o, R: h.view(r, ref, pd, evs, private, d.Photos), Raw: rep, ReadOnly: d.ReadOnly,
		Anonymous: rep.Reporter == "", Channel: rep.Channel, Contact: contact, Notice: notice(r), Error: errMsg, Open: rep.Status.Open(),
		Submitted: rep.Status == Submitted, Waiting: rep.WaitingReporter}
	if rep.Handler != "" {
		data.Handler = rep.Handler
	}
	if agency, role, ok := parseTeam(rep.Team); ok {
		data.Team = h.web.T(r, "feedback.team."+role, ref.agencyName(agency))
	}
	if !d.ReadOnly && o.responsible(rep) && rep.Status.Open() {
		if data.Members, err = h.s.o.Staff.Members(r.Context(), o.Agency.Code); err != nil {
			h.web.Error(w, r, err)
			return
		}
		for _, m := range data.Members {
			if m.AccountID == rep.Handler {
				data.Handler = m.Name
			}
		}
		teams, err := h.s.Teams(r.Context(), rep.Commune)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		for _, t := range teams {
			data.Teams = append(data.Teams, teamChoice{Code: t.Code(), Name: h.web.T(r, "feedback.team."+t.Role, t.Agency.Name)})
		}
		if data.Agencies, err = h.s.Agencies(r.Context()); err != nil {
			h.web.Error(w, r, err)
			return
		}
	}
	h.desk.Render(w, r, status, "officer_feedback_report", data)
}

func (h *officerPages) report(w http.ResponseWriter, r *http.Request) {
	o, _, r, ok := h.official(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	h.staffView(w, r, o, r.PathValue("id"), http.StatusOK, "", nil)
}

// act is a staff action on a report from its page.
func (h *officerPages) act(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	o, _, r, ok := h.official(w, r, f.Get("agency"))
	if !ok {
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	var done string
	switch action {
	case "receive":
		_, err = h.s.Receive(r.Context(), o, id)
		done = "received"
	case "assign":
		_, err = h.s.Assign(r.Context(), o, id, f.Get("handler"), f.Get("team"))
		done = "assigned"
	case "transfer":
		_, err = h.s.Transfer(r.Context(), o, id, f.Get("to"), f.Get("note"))
		done = "transfer"
	case "ask":
		_, err = h.s.RequestInfo(r.Context(), o, id, f.Get("question"))
		done = "asked"
	case "answer":
		_, err = h.s.Answer(r.Context(), o, id, f.Get("text"))
		done = "answered"
	case "close":
		_, err = h.s.Close(r.Context(), o, id, f.Get("reason"))
		done = "closed"
	case "contact":
		p, err := h.s.Contact(r.Context(), o, id, f.Get("purpose"))
		if err != nil {
			h.refuse(w, r, o, id, err)
			return
		}
		h.staffView(w, r, o, id, http.StatusOK, "", &p)
		return
	default:
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	if err != nil {
		h.refuse(w, r, o, id, err)
		return
	}
	if action == "transfer" {
		// The report is another agency's now: back to the queue.
		http.Redirect(w, r, "/officer/feedback?agency="+url.QueryEscape(o.Agency.Code)+"&done="+done, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/officer/feedback/r/"+id+"?agency="+url.QueryEscape(o.Agency.Code)+"&done="+done, http.StatusSeeOther)
}

func (h *officerPages) refuse(w http.ResponseWriter, r *http.Request, o Official, id string, err error) {
	msg, status, ok := h.message(w, r, err)
	if !ok {
		return
	}
	h.staffView(w, r, o, id, status, msg, nil)
}

// resolve marks a report fixed, with the photo of the fix (multipart).
func (h *officerPages) resolve(w http.ResponseWriter, r *http.Request) {
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	f := r.PostForm
	o, _, r, ok := h.official(w, r, f.Get("agency"))
	if !ok {
		return
	}
	id := f.Get("id")
	var photo []byte
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["photo"] {
			if fh.Size == 0 && fh.Filename == "" {
				continue
			}
			b, err := readUpload(fh)
			if err != nil {
				h.refuse(w, r, o, id, err)
				return
			}
			photo = b
			break
		}
	}
	if _, err := h.s.Resolve(r.Context(), o, id, f.Get("note"), photo); err != nil {
		h.refuse(w, r, o, id, err)
		return
	}
	http.Redirect(w, r, "/officer/feedback/r/"+id+"?agency="+url.QueryEscape(o.Agency.Code)+"&done=resolved", http.StatusSeeOther)
}

type layersData struct {
	Style    string
	Official Official
	Layers   []layerRow
	Notice   string
	Error    string
	Name     string
	Kind     string
	From, To string
	NameProp string
	MaxMB    int
	Kinds    []option
	SVG      template.HTML
}

func (h *officerPages) layersPage(w http.ResponseWriter, r *http.Request, o Official, status int, errMsg string, form url.Values) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	layers, err := h.s.Layers(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	today := h.s.o.Clock.Now().In(kernel.Zone()).Format(time.DateOnly)
	d := layersData{Style: h.style, Official: o, Notice: notice(r), Error: errMsg, MaxMB: MaxGeoJSONBytes >> 20}
	if form != nil {
		d.Name, d.Kind, d.From, d.To, d.NameProp = form.Get("name"), form.Get("kind"), form.Get("valid_from"), form.Get("valid_to"), form.Get("name_property")
	}
	for _, k := range []string{LayerZoning, LayerProject} {
		d.Kinds = append(d.Kinds, option{Value: k, Label: h.web.T(r, "feedback.layer_kind."+k), Chosen: k == d.Kind})
	}
	for _, l := range layers {
		d.Layers = append(d.Layers, h.layerRow(r, ref, l, today))
	}
	if m, err := h.s.Map(r.Context(), MapView{Width: DefaultMapWidth, NoPins: true, Layers: true}); err == nil {
		d.SVG = template.HTML(m.SVG)
	}
	h.desk.Render(w, r, status, "officer_feedback_layers", d)
}

func (h *officerPages) layers(w http.ResponseWriter, r *http.Request) {
	o, _, r, ok := h.official(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	h.layersPage(w, r, o, http.StatusOK, "", nil)
}

// importLayer reads a GeoJSON file (multipart) into a planning layer.
func (h *officerPages) importLayer(w http.ResponseWriter, r *http.Request) {
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	f := r.PostForm
	o, _, r, ok := h.official(w, r, f.Get("agency"))
	if !ok {
		return
	}
	if !mayPlan(o.Agency.Kind) {
		h.web.Error(w, r, errNotStaff())
		return
	}
	var data []byte
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			if fhs[0].Size > MaxGeoJSONBytes {
				h.layersPage(w, r, o, http.StatusBadRequest, h.web.T(r, "feedback.error.geojson.too_large", 1), f)
				return
			}
			file, err := fhs[0].Open()
			if err != nil {
				h.web.Error(w, r, kernel.Wrap(err, "feedback: open upload"))
				return
			}
			data, err = io.ReadAll(io.LimitReader(file, MaxGeoJSONBytes+1))
			file.Close()
			if err != nil {
				h.web.Error(w, r, kernel.Wrap(err, "feedback: read upload"))
				return
			}
		}
	}
	if len(data) == 0 {
		h.layersPage(w, r, o, http.StatusBadRequest, h.web.T(r, "feedback.error.geojson.empty", 1), f)
		return
	}
	_, err := h.s.ImportLayer(r.Context(), LayerDraft{Name: f.Get("name"), Kind: f.Get("kind"), ValidFrom: strings.TrimSpace(f.Get("valid_from")),
		ValidTo: strings.TrimSpace(f.Get("valid_to")), NameProperty: strings.TrimSpace(f.Get("name_property")), Agency: o.Agency.Code, GeoJSON: data})
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if !ok {
			return
		}
		h.layersPage(w, r, o, status, msg, f)
		return
	}
	http.Redirect(w, r, "/officer/feedback/layers?agency="+url.QueryEscape(o.Agency.Code)+"&done=imported", http.StatusSeeOther)
}

func (h *officerPages) withdraw(w http.ResponseWriter, r *http.Request) {
	o, _, r, ok := h.official(w, r, r.PostForm.Get("agency"))
	if !ok {
		return
	}
	if !mayPlan(o.Agency.Kind) {
		h.web.Error(w, r, errNotStaff())
		return
	}
	if err := h.s.WithdrawLayer(r.Context(), r.PathValue("id")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/officer/feedback/layers?agency="+url.QueryEscape(o.Agency.Code)+"&done=withdrawn", http.StatusSeeOther)
}

// mayPlan says whether officials of an agency kind import planning layers:
// People's Committees and the offices of construction, planning, natural
// resources and environment.
func mayPlan(kind string) bool {
	if kind == fallbackKind {
		return true
	}
	for _, k := range []string{"construction", "planning", "resources", "environment"} {
		if strings.Contains(kind, k) {
			return true
		}
	}
	return false
}
