package feedback

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/feedback_*.html templates/_*.html
var pageTemplates embed.FS

//go:embed static/feedback.css
var pageStyle []byte

// pages serves the citizens' and the public's pages.
type pages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
	style string
}

// MaxReportBody bounds a report sent from the page: five photos and the form.
const MaxReportBody = MaxPhotos*MaxPhotoBytes + 1<<20

// Mount serves the pages of feedback (reporting, following, the public
// map, planning maps, figures), the officials' desk and Open311.
func (s *Service) Mount(ws *web.Server) error {
	for _, key := range pageKeys() {
		if !ws.Catalog().Has(key) {
			return fmt.Errorf("feedback: message key %q is not in the catalogue", key)
		}
	}
	ps, err := ws.Pages(pageTemplates, "templates/feedback_*.html", "templates/_*.html")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pageStyle)
	h := &pages{s: s, web: ws, pages: ps, style: "/feedback/static/feedback-" + hex.EncodeToString(sum[:6]) + ".css"}
	ws.AllowUpload("/feedback/new", MaxReportBody)
	ws.HandleFunc("GET /feedback", h.home)
	ws.HandleFunc("GET /feedback/new", h.newForm)
	ws.HandleFunc("POST /feedback/new", h.submit)
	ws.HandleFunc("GET /feedback/r/{id}", h.report)
	ws.HandleFunc("POST /feedback/r/{id}/{action}", h.act)
	ws.HandleFunc("GET /feedback/track", h.trackForm)
	ws.HandleFunc("POST /feedback/track", h.track)
	ws.HandleFunc("POST /feedback/track/{action}", h.trackAct)
	ws.HandleFunc("GET /feedback/mine", h.mine)
	ws.HandleFunc("GET /feedback/map", h.mapPage)
	ws.HandleFunc("GET /feedback/map.svg", h.mapSVG)
	ws.HandleFunc("GET /feedback/plans", h.plans)
	ws.HandleFunc("GET /feedback/figures", h.figures)
	ws.HandleFunc("GET /feedback/photos/{file}", h.photo)
	ws.HandleFunc("GET /feedback/static/{file}", h.stylesheet)
	ws.AddNav(web.NavItem{Key: "nav.feedback", Path: "/feedback", Order: 50, Who: web.Everyone})
	s.MountOpen311(ws)
	return s.mountOfficer(ws, h)
}

// pageKeys are message keys built at run time, which the start-up check of
// templates cannot see.
func pageKeys() []string {
	keys := []string{"nav.feedback"}
	for _, st := range Statuses() {
		keys = append(keys, "feedback.status."+string(st))
	}
	for _, k := range []string{EventSubmitted, EventReceived, EventAssigned, EventTransferred, EventInfoRequested, EventInfoGiven,
		EventAnswered, EventResolved, EventReopened, EventClosed, EventRated, EventSupported} {
		keys = append(keys, "feedback.event."+k)
	}
	for _, r := range geojsonReasons() {
		keys = append(keys, "feedback.error.geojson."+r)
	}
	for _, n := range notices {
		keys = append(keys, n)
	}
	for _, p := range periods() {
		keys = append(keys, "feedback.period."+p)
	}
	for _, k := range []string{LayerZoning, LayerProject} {
		keys = append(keys, "feedback.layer_kind."+k)
	}
	for _, t := range []string{"submitted", "received", "in_progress", "transferred", "info_requested", "answered", "resolved",
		"closed", "closed_expired", "reopened"} {
		keys = append(keys, "feedback.notice."+t)
	}
	for _, role := range []string{RoleRapidResponse, RoleCommunityTech} {
		keys = append(keys, "feedback.team."+role)
	}
	for _, i := range (&Service{}).Indicators() {
		keys = append(keys, i.TitleKey)
	}
	return keys
}

// notices maps ?done= to a message, never echoing the query.
var notices = map[string]string{
	"reopened":  "feedback.done.reopened",
	"rated":     "feedback.done.rated",
	"replied":   "feedback.done.replied",
	"supported": "feedback.done.supported",
	"received":  "feedback.done.received",
	"assigned":  "feedback.done.assigned",
	"transfer":  "feedback.done.transferred",
	"asked":     "feedback.done.asked",
	"answered":  "feedback.done.answered",
	"resolved":  "feedback.done.resolved",
	"closed":    "feedback.done.closed",
	"imported":  "feedback.done.imported",
	"withdrawn": "feedback.done.withdrawn",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// clientAddr is the client's address, for per-client limits (the web layer
// has made it the client's behind trusted proxies).
func clientAddr(r *http.Request) string {
	if a := web.ClientAddr(r); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

// account returns the signed-in account, or "".
func (h *pages) account(r *http.Request) string {
	sess, err := h.web.Session(r)
	if err != nil {
		return ""
	}
	return sess.AccountID
}

func lang(r *http.Request) string { return web.LangFrom(r.Context()) }

// message turns a refusal into a sentence for the page; anything else is
// answered with the error page (ok false).
func (h *pages) message(w http.ResponseWriter, r *http.Request, err error) (string, int, bool) {
	code := kernel.ErrorCode(err)
	status := map[kernel.Code]int{kernel.Invalid: http.StatusBadRequest, kernel.Forbidden: http.StatusForbidden,
		kernel.NotFound: http.StatusNotFound, kernel.Conflict: http.StatusConflict, kernel.TooManyRequests: http.StatusTooManyRequests}[code]
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		h.web.Error(w, r, err)
		return "", 0, false
	}
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

func (h *pages) stylesheet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.style {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/css; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Content-Length", strconv.Itoa(len(pageStyle)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(pageStyle)
	}
}

// categoryChoice is a category as a form offers it.
type categoryChoice struct {
	Code, Name string
	Sensitive  bool
	Chosen     bool
}

func (h *pages) categoryChoices(ref *refs, lang, chosen string, public bool) []categoryChoice {
	var out []categoryChoice
	for _, c := range ref.cats {
		if public && c.Sensitive {
			continue
		}
		out = append(out, categoryChoice{Code: c.Code, Name: c.Name(lang), Sensitive: c.Sensitive, Chosen: c.Code == chosen})
	}
	return out
}

// unitChoice is a commune in a list grouped by district.
type unitChoice struct {
	Code, Name string
	Chosen     bool
}

type districtChoice struct {
	Name     string
	Communes []unitChoice
}

func communeChoices(ref *refs, chosen string) []districtChoice {
	var out []districtChoice
	for _, d := range sortedByName(ref, ref.children[ref.province]) {
		dc := districtChoice{Name: ref.units[d].Name}
		for _, c := range sortedByName(ref, ref.children[d]) {
			dc.Communes = append(dc.Communes, unitChoice{Code: c, Name: ref.units[c].Name, Chosen: c == chosen})
		}
		out = append(out, dc)
	}
	return out
}

func sortedByName(ref *refs, codes []string) []string {
	out := slices.Clone(codes)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(ref.units[a].Name, ref.units[b].Name) })
	return out
}

type homeData struct {
	Style    string
	SignedIn bool
	Stats    Figures
}

func (h *pages) home(w http.ResponseWriter, r *http.Request) {
	now := h.s.o.Clock.Now()
	f, _, err := h.s.FiguresOf(r.Context(), "", now.AddDate(0, 0, -30), now.Add(time.Minute))
	if err != nil && kernel.ErrorCode(err) != kernel.NotFound {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "feedback_home", homeData{Style: h.style, SignedIn: h.account(r) != "", Stats: f})
}

// picker is the map a citizen taps to place something: each tap zooms in
// from the province to a district to a commune, and a tap on a commune
// chooses the point.
type picker struct {
	Unit          Unit
	Parent        Unit
	Src           template.URL
	Width, Height int
	Lat, Lon      string
	Chosen        bool
	Commune       Unit
}

// pick reads the picker's state from a GET form: the view's unit, a tap
// (pick.x, pick.y) or typed coordinates.
func (h *pages) pick(r *http.Request, ref *refs, layers bool) (picker, string) {
	q := r.URL.Query()
	p := picker{Unit: ref.units[ref.province]}
	if u, ok := ref.units[q.Get("unit")]; ok {
		p.Unit = u
	}
	var lat, lon float64
	chosen := false
	if xs, ys := q.Get("pick.x"), q.Get("pick.y"); xs != "" && ys != "" {
		x, err1 := strconv.ParseFloat(xs, 64)
		y, err2 := strconv.ParseFloat(ys, 64)
		if err1 != nil || err2 != nil {
			return h.pickView(r, ref, p, layers), "feedback.error.coordinates"
		}
		la, lo, err := h.s.PickPoint(r.Context(), p.Unit.Code, PickWidth, x, y)
		if err != nil {
			return h.pickView(r, ref, p, layers), "feedback.error.coordinates"
		}
		u, err := h.s.o.Units.UnitAt(r.Context(), la, lo)
		if err != nil {
			return h.pickView(r, ref, p, layers), "feedback.error.outside"
		}
		switch p.Unit.Level {
		case LevelProvince:
			if d := ref.ancestor(u.Code, LevelDistrict); d != "" {
				p.Unit = ref.units[d]
			} else {
				p.Unit = ref.units[u.Code]
			}
		case LevelDistrict:
			p.Unit = ref.units[u.Code]
		default:
			lat, lon, chosen = la, lo, true
			p.Unit = ref.units[u.Code]
		}
	} else if ls, os := strings.TrimSpace(q.Get("lat")), strings.TrimSpace(q.Get("lon")); ls != "" || os != "" {
		la, err1 := strconv.ParseFloat(strings.ReplaceAll(ls, ",", "."), 64)
		lo, err2 := strconv.ParseFloat(strings.ReplaceAll(os, ",", "."), 64)
		if err1 != nil || err2 != nil || !ValidCoordinates(la, lo) {
			return h.pickView(r, ref, p, layers), "feedback.error.coordinates"
		}
		u, err := h.s.o.Units.UnitAt(r.Context(), la, lo)
		if err != nil {
			return h.pickView(r, ref, p, layers), "feedback.error.outside"
		}
		lat, lon, chosen = la, lo, true
		p.Unit = ref.units[u.Code]
	}
	if chosen {
		p.Chosen, p.Commune = true, p.Unit
		p.Lat, p.Lon = strconv.FormatFloat(lat, 'f', 6, 64), strconv.FormatFloat(lon, 'f', 6, 64)
	}
	return h.pickView(r, ref, p, layers), ""
}

// pickView fills the picker's image for its unit.
func (h *pages) pickView(r *http.Request, ref *refs, p picker, layers bool) picker {
	if p.Unit.Parent != "" {
		p.Parent = ref.units[p.Unit.Parent]
	}
	v := url.Values{"unit": {p.Unit.Code}, "w": {strconv.Itoa(PickWidth)}, "pick": {"1"}}
	if p.Chosen {
		v.Set("mlat", p.Lat)
		v.Set("mlon", p.Lon)
	}
	if layers {
		v.Set("layers", "1")
	}
	p.Src = template.URL("/feedback/map.svg?" + v.Encode())
	if m, err := h.s.Map(r.Context(), MapView{Unit: p.Unit.Code, Width: PickWidth, NoPins: true}); err == nil {
		p.Width, p.Height = m.Width, m.Height
	}
	return p
}

type attributeField struct {
	Code, Label string
	Required    bool
	Options     []unitChoice // Code = key
	Value       string
}

type newData struct {
	Style      string
	Categories []categoryChoice
	Category   categoryChoice
	Picker     picker
	Communes   []districtChoice
	Address    string
	ByAddress  bool
	Step2      bool
	Nearby     []nearbyView
	Attributes []attributeField
	SignedIn   bool
	Error      string
	Desc       string
	Anonymous  bool
	MaxPhotos  int
	PhotoMB    int
}

type nearbyView struct {
	ID, Status string
	Created    time.Time
	Metres     int
	Thumb      string
}

// newForm is the first step (what and where) and, once both are known, the
// second (the nearby reports of the same kind, then the description and
// photos).
func (h *pages) newForm(w http.ResponseWriter, r *http.Request) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	lg := lang(r)
	d := newData{Style: h.style, SignedIn: h.account(r) != "", MaxPhotos: MaxPhotos, PhotoMB: MaxPhotoBytes >> 20}
	cat := q.Get("category")
	d.Categories = h.categoryChoices(ref, lg, cat, false)
	var errKey string
	d.Picker, errKey = h.pick(r, ref, false)
	d.Communes = communeChoices(ref, q.Get("commune"))
	d.Address = q.Get("address")
	status := http.StatusOK
	if errKey != "" {
		d.Error, status = h.web.T(r, errKey), http.StatusBadRequest
	}
	c, catOK := ref.catByID[cat]
	if catOK {
		d.Category = categoryChoice{Code: c.Code, Name: c.Name(lg), Sensitive: c.Sensitive, Chosen: true}
	}
	byAddress := q.Get("by") == "address"
	wantsNext := q.Get("next") != "" || d.Picker.Chosen
	if wantsNext && errKey == "" {
		switch {
		case !catOK:
			d.Error, status = h.web.T(r, "feedback.error.category"), http.StatusBadRequest
		case byAddress:
			u, ok := ref.units[q.Get("commune")]
			if !ok || u.Level != LevelCommune || strings.TrimSpace(d.Address) == "" {
				d.Error, status = h.web.T(r, "feedback.error.address", MaxAddress), http.StatusBadRequest
			} else {
				d.Step2, d.ByAddress = true, true
				d.Picker.Commune = u
			}
		case d.Picker.Chosen:
			d.Step2 = true
		}
	}
	if d.Step2 {
		d.Attributes = attributeFields(c, lg, nil)
		if d.Picker.Chosen && !c.Sensitive {
			lat, _ := strconv.ParseFloat(d.Picker.Lat, 64)
			lon, _ := strconv.ParseFloat(d.Picker.Lon, 64)
			if near, err := h.s.Nearby(r.Context(), c.Code, lat, lon, 150); err == nil {
				for _, p := range near {
					d.Nearby = append(d.Nearby, nearbyView{ID: p.ID, Status: h.web.T(r, "feedback.status."+string(p.Status)),
						Created: p.Created, Metres: int(metresBetween(lat, lon, p.Lat, p.Lon))})
				}
			}
		}
	}
	h.pages.Render(w, r, status, "feedback_new", d)
}

func attributeFields(c *Category, lg string, values map[string]string) []attributeField {
	var out []attributeField
	for _, a := range c.Attributes {
		f := attributeField{Code: a.Code, Label: text(a.Description, lg), Required: a.Required, Value: values[a.Code]}
		for _, v := range a.Values {
			f.Options = append(f.Options, unitChoice{Code: v.Key, Name: text(v.Name, lg), Chosen: v.Key == f.Value})
		}
		out = append(out, f)
	}
	return out
}

type sentData struct {
	Style        string
	ID           string
	Ref          string
	TrackingCode string
	Agency       string
	Due          time.Time
	Sensitive    bool
}

// submit records a report sent from the second step.
func (h *pages) submit(w http.ResponseWriter, r *http.Request) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if r.MultipartForm == nil {
		if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				h.web.Error(w, r, mbe)
				return
			}
			h.web.Error(w, r, kernel.E(kernel.Invalid, "feedback.error.form").WithCause(err))
			return
		}
	}
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	f := r.PostForm
	d := Draft{Category: f.Get("category"), Description: f.Get("description"), Anonymous: f.Get("anonymous") != "",
		Attributes: map[string]string{}}
	if f.Get("by") == "address" {
		d.Place = Place{ByAddress: true, Commune: f.Get("commune"), Address: f.Get("address")}
	} else {
		lat, err1 := strconv.ParseFloat(f.Get("lat"), 64)
		lon, err2 := strconv.ParseFloat(f.Get("lon"), 64)
		if err1 != nil || err2 != nil {
			lat, lon = -1, -1 // refused as malformed by Submit
		}
		d.Place = Place{Lat: lat, Lon: lon, Address: f.Get("address")}
	}
	c, catOK := ref.catByID[d.Category]
	if catOK {
		for _, a := range c.Attributes {
			if v := f.Get("attr_" + a.Code); v != "" {
				d.Attributes[a.Code] = v
			}
		}
	}
	if r.MultipartForm != nil {
		files := r.MultipartForm.File["photo"]
		for _, fh := range files {
			if fh.Size == 0 && fh.Filename == "" {
				continue // the empty part of a file input left empty
			}
			b, err := readUpload(fh)
			if err != nil {
				h.refuse(w, r, ref, c, d, err)
				return
			}
			d.Photos = append(d.Photos, b)
		}
	}
	rec, err := h.s.Submit(r.Context(), d, Origin{Channel: ChannelWeb, Addr: clientAddr(r)})
	if err != nil {
		if !catOK {
			h.web.Error(w, r, err)
			return
		}
		h.refuse(w, r, ref, c, d, err)
		return
	}
	h.pages.Render(w, r, http.StatusCreated, "feedback_sent", sentData{Style: h.style, ID: rec.Report.ID, Ref: shortRef(rec.Report.ID),
		TrackingCode: rec.TrackingCode, Agency: ref.agencyName(rec.Report.Agency), Due: rec.Report.DueAt, Sensitive: rec.Report.Sensitive})
}

// refuse shows the second step again with what was typed and why it was
// refused (photos must be chosen again: a page cannot keep them).
func (h *pages) refuse(w http.ResponseWriter, r *http.Request, ref *refs, c *Category, dr Draft, err error) {
	msg, status, ok := h.message(w, r, err)
	if !ok {
		return
	}
	lg := lang(r)
	d := newData{Style: h.style, SignedIn: h.account(r) != "", MaxPhotos: MaxPhotos, PhotoMB: MaxPhotoBytes >> 20, Step2: true,
		Error: msg, Desc: dr.Description, Anonymous: dr.Anonymous, Address: dr.Place.Address, ByAddress: dr.Place.ByAddress,
		Category:   categoryChoice{Code: c.Code, Name: c.Name(lg), Sensitive: c.Sensitive, Chosen: true},
		Attributes: attributeFields(c, lg, dr.Attributes)}
	d.Categories = h.categoryChoices(ref, lg, c.Code, false)
	d.Picker = picker{Unit: ref.units[ref.province]}
	if dr.Place.ByAddress {
		d.Picker.Commune = ref.units[dr.Place.Commune]
	} else if ValidCoordinates(dr.Place.Lat, dr.Place.Lon) {
		d.Picker.Chosen = true
		d.Picker.Lat, d.Picker.Lon = strconv.FormatFloat(dr.Place.Lat, 'f', 6, 64), strconv.FormatFloat(dr.Place.Lon, 'f', 6, 64)
		if u, err := h.s.o.Units.UnitAt(r.Context(), dr.Place.Lat, dr.Place.Lon); err == nil {
			d.Picker.Unit, d.Picker.Commune = ref.units[u.Code], ref.units[u.Code]
		}
	}
	d.Picker = h.pickView(r, ref, d.Picker, false)
	d.Communes = communeChoices(ref, dr.Place.Commune)
	h.pages.Render(w, r, status, "feedback_new", d)
}

// readUpload reads an uploaded file within the photo limit.
func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	if fh.Size > MaxPhotoBytes {
		return nil, errPhotoBytes()
	}
	f, err := fh.Open()
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: open upload")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPhotoBytes+1))
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: read upload")
	}
	if len(b) > MaxPhotoBytes {
		return nil, errPhotoBytes()
	}
	return b, nil
}

// reportView is a report as its page shows it.
type reportView struct {
	ID, Ref     string
	Category    string
	Sensitive   bool
	Commune     string
	CommuneCode string
	District    string
	Lat, Lon    string
	ByAddress   bool
	Address     string
	Description string
	Attributes  []string
	Status      Status
	StatusText  string
	StatusNote  string
	Agency      string
	Supporters  int
	Rating      int
	Stars       string
	Created     time.Time
	Due         time.Time
	Overdue     bool
	Events      []eventView
	Photos      []photoView
	Map         template.HTML
}

type eventView struct {
	At      time.Time
	Kind    string
	Text    string
	Note    string
	Agency  string
	Private bool
	PhotoID string
}

type photoView struct {
	ID  string
	Fix bool
}

type reportData struct {
	Style  string
	R      reportView
	Owner  bool
	Code   string // the tracking code, when followed by it
	Action string // where the owner's forms post
	Notice string
	Error  string

	CanReopen   bool
	ReopenUntil time.Time
	CanRate     bool
	CanReply    bool
	CanSupport  bool
}

func (h *pages) view(r *http.Request, ref *refs, d PublicDetail, events []PublicEvent, privateKinds map[string]bool, photos []Photo) reportView {
	lg := lang(r)
	v := reportView{ID: d.ID, Ref: shortRef(d.ID), Category: d.Category, Commune: ref.unitName(d.Commune), CommuneCode: d.Commune,
		District: ref.unitName(d.District),
		Lat:      strconv.FormatFloat(d.Lat, 'f', 5, 64), Lon: strconv.FormatFloat(d.Lon, 'f', 5, 64), ByAddress: d.ByAddress,
		Address: d.Address, Description: d.Description, Status: d.Status, StatusText: h.web.T(r, "feedback.status."+string(d.Status)),
		StatusNote: d.StatusNote, Agency: ref.agencyName(d.Agency), Supporters: d.Supporters, Rating: d.Rating,
		Created: d.CreatedAt, Due: d.DueAt, Overdue: d.Overdue}
	if c, ok := ref.catByID[d.Category]; ok {
		v.Category, v.Sensitive = c.Name(lg), c.Sensitive
		for _, a := range c.Attributes {
			if val := d.Attributes[a.Code]; val != "" {
				label := val
				for _, av := range a.Values {
					if av.Key == val {
						label = text(av.Name, lg)
					}
				}
				v.Attributes = append(v.Attributes, text(a.Description, lg)+": "+label)
			}
		}
	}
	if d.Rating > 0 {
		v.Stars = strings.Repeat("★", d.Rating) + strings.Repeat("☆", 5-d.Rating)
	}
	for _, e := range events {
		v.Events = append(v.Events, eventView{At: e.At, Kind: e.Kind, Text: h.web.T(r, "feedback.event."+e.Kind),
			Note: e.Note, Agency: agencyOrEmpty(ref, e.Agency), Private: privateKinds[e.Kind], PhotoID: e.PhotoID})
	}
	for _, p := range photos {
		v.Photos = append(v.Photos, photoView{ID: p.ID, Fix: p.Role == PhotoFix})
	}
	if m, err := h.s.Map(r.Context(), MapView{Unit: d.Commune, Width: PickWidth, NoPins: true, MarkLat: d.Lat, MarkLon: d.Lon}); err == nil {
		v.Map = template.HTML(m.SVG) // built from escaped names and numbers only
	}
	return v
}

func agencyOrEmpty(ref *refs, code string) string {
	if code == "" {
		return ""
	}
	return ref.agencyName(code)
}

// ownerView is the report as its reporter sees it.
func (h *pages) ownerView(r *http.Request, ref *refs, d Detail, code string) reportData {
	pd := publicOf(d.Report, h.s.o.Clock.Now())
	var evs []PublicEvent
	for _, e := range d.Events {
		evs = append(evs, PublicEvent{At: e.At, Kind: e.Kind, To: e.To, Note: e.Note, Agency: e.Agency, PhotoID: e.PhotoID})
	}
	now := h.s.o.Clock.Now()
	out := reportData{Style: h.style, R: h.view(r, ref, pd, evs, map[string]bool{EventInfoRequested: true, EventInfoGiven: true}, d.Photos),
		Owner: true, Code: code, CanReopen: d.Report.CanReopen(now), ReopenUntil: d.Report.ReopenUntil(),
		CanRate: d.Report.CanRate(), CanReply: d.Report.WaitingReporter, Notice: notice(r)}
	if code != "" {
		out.Action = "/feedback/track/"
	} else {
		out.Action = "/feedback/r/" + d.Report.ID + "/"
	}
	return out
}

// report shows a report: to its reporter with what they may do, to anyone
// else as the public sees it (a sensitive report to nobody else).
func (h *pages) report(w http.ResponseWriter, r *http.Request) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	id := r.PathValue("id")
	if acct := h.account(r); acct != "" {
		d, err := h.s.ReporterReport(r.Context(), Reporter{AccountID: acct}, id)
		if err == nil {
			h.pages.Render(w, r, http.StatusOK, "feedback_report", h.ownerView(r, ref, d, ""))
			return
		}
		if kernel.ErrorCode(err) != kernel.NotFound {
			h.web.Error(w, r, err)
			return
		}
	}
	d, err := h.s.Public(r.Context(), id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "feedback_report", reportData{Style: h.style, R: h.view(r, ref, d, d.Events, nil, d.Photos),
		CanSupport: d.Status.Open(), Notice: notice(r)})
}

// act is an action of a signed-in reporter on their report (reply, reopen,
// rate), or anyone's "me too".
func (h *pages) act(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if action == "support" {
		if _, err := h.s.Support(r.Context(), id, clientAddr(r)); err != nil {
			h.web.Error(w, r, err)
			return
		}
		http.Redirect(w, r, "/feedback/r/"+id+"?done=supported", http.StatusSeeOther)
		return
	}
	acct := h.account(r)
	if acct == "" {
		h.web.Error(w, r, kernel.E(kernel.Unauthenticated, "error.unauthenticated"))
		return
	}
	done, err := h.ownerAct(r, Reporter{AccountID: acct}, id, action)
	if err != nil {
		ref, rerr := h.s.references(r.Context())
		msg, status, ok := h.message(w, r, err)
		if !ok {
			return
		}
		d, derr := h.s.ReporterReport(r.Context(), Reporter{AccountID: acct}, id)
		if rerr != nil || derr != nil {
			h.web.Error(w, r, err)
			return
		}
		data := h.ownerView(r, ref, d, "")
		data.Error = msg
		h.pages.Render(w, r, status, "feedback_report", data)
		return
	}
	http.Redirect(w, r, "/feedback/r/"+id+"?done="+done, http.StatusSeeOther)
}

// ownerAct does what the reporter asked, returning the notice to show.
func (h *pages) ownerAct(r *http.Request, who Reporter, id, action string) (string, error) {
	f := r.PostForm
	switch action {
	case "reply":
		_, err := h.s.Reply(r.Context(), who, id, f.Get("text"))
		return "replied", err
	case "reopen":
		_, err := h.s.Reopen(r.Context(), who, id, f.Get("reason"))
		return "reopened", err
	case "rate":
		n, err := strconv.Atoi(f.Get("rating"))
		if err != nil {
			return "", kernel.E(kernel.Invalid, "feedback.error.rating")
		}
		_, err = h.s.Rate(r.Context(), who, id, n, f.Get("comment"))
		return "rated", err
	}
	return "", kernel.E(kernel.NotFound, "error.not_found")
}

type trackData struct {
	Style string
	Error string
	Code  string
}

func (h *pages) trackForm(w http.ResponseWriter, r *http.Request) {
	h.pages.Render(w, r, http.StatusOK, "feedback_track", trackData{Style: h.style})
}

// track shows the report a tracking code follows.
func (h *pages) track(w http.ResponseWriter, r *http.Request) {
	h.showTracked(w, r, r.PostForm.Get("code"), "", "")
}

func (h *pages) showTracked(w http.ResponseWriter, r *http.Request, code, done, failure string) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	rep, err := h.s.Track(r.Context(), code, clientAddr(r))
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if ok {
			h.pages.Render(w, r, status, "feedback_track", trackData{Style: h.style, Error: msg})
		}
		return
	}
	norm, _ := normalizeTrackingCode(code)
	d, err := h.s.ReporterReport(r.Context(), Reporter{TrackingCode: norm}, rep.ID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	data := h.ownerView(r, ref, d, norm)
	data.Notice, data.Error = notices[done], failure
	status := http.StatusOK
	if failure != "" {
		status = http.StatusBadRequest
	}
	h.pages.Render(w, r, status, "feedback_report", data)
}

// trackAct is an action of an anonymous reporter, proved by the code.
func (h *pages) trackAct(w http.ResponseWriter, r *http.Request) {
	code := r.PostForm.Get("code")
	rep, err := h.s.Track(r.Context(), code, clientAddr(r))
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if ok {
			h.pages.Render(w, r, status, "feedback_track", trackData{Style: h.style, Error: msg})
		}
		return
	}
	done, err := h.ownerAct(r, Reporter{TrackingCode: code}, rep.ID, r.PathValue("action"))
	if err != nil {
		msg, _, ok := h.message(w, r, err)
		if !ok {
			return
		}
		h.showTracked(w, r, code, "", msg)
		return
	}
	h.showTracked(w, r, code, done, "")
}

type mineData struct {
	Style   string
	Reports []listRow
	Next    string
}

// listRow is a report in a list.
type listRow struct {
	ID, Ref  string
	Category string
	Commune  string
	Status   string
	Created  time.Time
	Due      time.Time
	Overdue  bool
	Waiting  bool
}

func (h *pages) rows(r *http.Request, ref *refs, reps []Report) []listRow {
	lg := lang(r)
	now := h.s.o.Clock.Now()
	out := make([]listRow, 0, len(reps))
	for _, rep := range reps {
		row := listRow{ID: rep.ID, Ref: shortRef(rep.ID), Commune: ref.unitName(rep.Commune), Status: h.web.T(r, "feedback.status."+string(rep.Status)),
			Created: rep.CreatedAt, Due: rep.DueAt, Overdue: rep.Overdue(now), Waiting: rep.WaitingReporter}
		if c, ok := ref.catByID[rep.Category]; ok {
			row.Category = c.Name(lg)
		}
		out = append(out, row)
	}
	return out
}

func (h *pages) mine(w http.ResponseWriter, r *http.Request) {
	acct := h.account(r)
	if acct == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/feedback/mine"), http.StatusSeeOther)
		return
	}
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	reps, err := h.s.MyReports(r.Context(), acct, kernel.Page{After: r.URL.Query().Get("after"), Limit: 20})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := mineData{Style: h.style, Reports: h.rows(r, ref, reps)}
	if len(reps) == 20 {
		d.Next = reps[len(reps)-1].ID
	}
	h.pages.Render(w, r, http.StatusOK, "feedback_mine", d)
}

// periods are the map's periods, by name.
func periods() []string { return []string{"30d", "90d", "1y", "all"} }

func periodStart(p string, now time.Time) time.Time {
	switch p {
	case "30d":
		return now.AddDate(0, 0, -30)
	case "1y":
		return now.AddDate(-1, 0, 0)
	case "all":
		return time.Time{}
	}
	return now.AddDate(0, 0, -90)
}

type option struct {
	Value, Label string
	Chosen       bool
}

type mapData struct {
	Style      string
	Map        Map
	SVG        template.HTML
	Categories []categoryChoice
	Statuses   []option
	Periods    []option
	Unit       string
	Category   string
	Status     string
	Period     string
	Areas      []areaRow
	Pins       []pinRow
	Up         []Unit // the units above, province first
}

type areaRow struct {
	AreaCount
	Name string
}

type pinRow struct {
	ID, Ref  string
	Category string
	Status   string
	Created  time.Time
}

// mapView reads a map's filters from the query.
func (h *pages) mapView(r *http.Request) (MapView, string) {
	q := r.URL.Query()
	period := q.Get("period")
	if !slices.Contains(periods(), period) {
		period = "90d"
	}
	v := MapView{Unit: q.Get("unit"), Category: q.Get("category"), Status: q.Get("status"), Lang: lang(r), Link: true,
		From: periodStart(period, h.s.o.Clock.Now())}
	if n, err := strconv.Atoi(q.Get("w")); err == nil {
		v.Width = n
	}
	return v, period
}

// mapPage is the public map: the SVG, its filters, and a table that says
// the same for those who do not see it.
func (h *pages) mapPage(w http.ResponseWriter, r *http.Request) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	v, period := h.mapView(r)
	m, err := h.s.Map(r.Context(), v)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lg := lang(r)
	d := mapData{Style: h.style, Map: m, SVG: template.HTML(m.SVG), Unit: m.Unit.Code, Category: v.Category, Status: v.Status, Period: period,
		Categories: h.categoryChoices(ref, lg, v.Category, true)}
	for _, st := range []string{"", "open", "closed"} {
		label := h.web.T(r, "feedback.map.status_all")
		if st != "" {
			label = h.web.T(r, "feedback.map.status_"+st)
		}
		d.Statuses = append(d.Statuses, option{Value: st, Label: label, Chosen: st == v.Status})
	}
	for _, p := range periods() {
		d.Periods = append(d.Periods, option{Value: p, Label: h.web.T(r, "feedback.period."+p), Chosen: p == period})
	}
	for _, a := range m.Areas {
		d.Areas = append(d.Areas, areaRow{AreaCount: a, Name: a.Unit.Name})
	}
	for _, p := range m.Pins {
		row := pinRow{ID: p.ID, Ref: shortRef(p.ID), Status: h.web.T(r, "feedback.status."+string(p.Status)), Created: p.Created}
		if c, ok := ref.catByID[p.Category]; ok {
			row.Category = c.Name(lg)
		}
		d.Pins = append(d.Pins, row)
	}
	for code := m.Unit.Parent; code != ""; code = ref.units[code].Parent {
		d.Up = append([]Unit{ref.units[code]}, d.Up...)
	}
	h.pages.Render(w, r, http.StatusOK, "feedback_map", d)
}

// mapSVG serves a map as an SVG document: the image a citizen taps to
// place a report (pick=1: outlines only, a mark at mlat, mlon), or the
// public map with its filters.
func (h *pages) mapSVG(w http.ResponseWriter, r *http.Request) {
	v, _ := h.mapView(r)
	q := r.URL.Query()
	v.Link = false
	if q.Get("pick") == "1" {
		v.NoPins = true
	}
	v.Layers = q.Get("layers") == "1"
	if ms, ok := q["mlat"]; ok {
		la, err1 := strconv.ParseFloat(ms[0], 64)
		lo, err2 := strconv.ParseFloat(q.Get("mlon"), 64)
		if err1 != nil || err2 != nil || !ValidCoordinates(la, lo) {
			h.web.Error(w, r, kernel.E(kernel.Invalid, "feedback.error.coordinates"))
			return
		}
		v.MarkLat, v.MarkLon = la, lo
	}
	m, err := h.s.Map(r.Context(), v)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + m.SVG + "\n"
	hd := w.Header()
	hd.Set("Content-Type", "image/svg+xml; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=60")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

type plansData struct {
	Style   string
	Layers  []layerRow
	Picker  picker
	Plans   []planRow
	Asked   bool
	Error   string
	Day     time.Time
	SVG     template.HTML
	HasAny  bool
	Outside bool
}

type layerRow struct {
	ID, Name, Kind string
	From, To       time.Time
	Features       int
	InForce        bool
	Withdrawn      bool
	Imported       time.Time
	Agency         string
}

type planRow struct {
	Layer, Kind, Name string
	Properties        []string
}

// plans shows the planning layers in force on the map, and answers "what
// is planned at this point" for a tapped or typed point.
func (h *pages) plans(w http.ResponseWriter, r *http.Request) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	now := h.s.o.Clock.Now()
	today := now.In(kernel.Zone()).Format(time.DateOnly)
	d := plansData{Style: h.style, Day: now}
	layers, err := h.s.Layers(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	for _, l := range layers {
		if l.InForce(today) {
			d.Layers = append(d.Layers, h.layerRow(r, ref, l, today))
		}
	}
	var errKey string
	d.Picker, errKey = h.pick(r, ref, true)
	status := http.StatusOK
	if errKey != "" {
		d.Error, status = h.web.T(r, errKey), http.StatusBadRequest
	}
	if d.Picker.Chosen {
		d.Asked = true
		lat, _ := strconv.ParseFloat(d.Picker.Lat, 64)
		lon, _ := strconv.ParseFloat(d.Picker.Lon, 64)
		plans, err := h.s.PlannedAt(r.Context(), lat, lon, today)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		for _, p := range plans {
			d.Plans = append(d.Plans, planRow{Layer: p.Layer.Name, Kind: h.web.T(r, "feedback.layer_kind."+p.Layer.Kind), Name: p.Name,
				Properties: p.Properties})
		}
	}
	h.pages.Render(w, r, status, "feedback_plans", d)
}

func (h *pages) layerRow(r *http.Request, ref *refs, l Layer, today string) layerRow {
	row := layerRow{ID: l.ID, Name: l.Name, Kind: h.web.T(r, "feedback.layer_kind."+l.Kind), Features: l.Features, InForce: l.InForce(today),
		Withdrawn: l.Withdrawn, Imported: l.CreatedAt, Agency: agencyOrEmpty(ref, l.Agency)}
	if t, err := time.ParseInLocation(time.DateOnly, l.ValidFrom, kernel.Zone()); err == nil {
		row.From = t
	}
	if t, err := time.ParseInLocation(time.DateOnly, l.ValidTo, kernel.Zone()); err == nil {
		row.To = t
	}
	return row
}

type figuresData struct {
	Style   string
	All     figureRow
	Below   []figureRow
	Unit    Unit
	Up      []Unit
	Periods []option
	Period  string
}

type figureRow struct {
	Figures
	Name, OnTime, Median, Reopen, Satisfaction string
	Code                                       string
	Link                                       bool
}

func percent(x float64) string { return strconv.FormatFloat(x*100, 'f', 0, 64) + " %" }

// figures shows a unit's figures over a period, and those of the units
// below it.
func (h *pages) figures(w http.ResponseWriter, r *http.Request) {
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	period := q.Get("period")
	if !slices.Contains(periods(), period) {
		period = "90d"
	}
	now := h.s.o.Clock.Now()
	all, below, err := h.s.FiguresOf(r.Context(), q.Get("unit"), periodStart(period, now), now.Add(time.Minute))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	row := func(f Figures) figureRow {
		fr := figureRow{Figures: f, Name: f.Unit.Name, Code: f.Unit.Code, OnTime: "–", Median: "–", Reopen: "–", Satisfaction: "–",
			Link: f.Unit.Level != LevelCommune}
		if f.Resolved > 0 {
			fr.OnTime, fr.Reopen = percent(f.OnTimeRate()), percent(f.ReopenRate())
			fr.Median = strconv.FormatFloat(f.MedianHours, 'f', 1, 64)
		}
		if f.Rated > 0 {
			fr.Satisfaction = strconv.FormatFloat(f.Satisfaction, 'f', 1, 64) + " / 5"
		}
		return fr
	}
	d := figuresData{Style: h.style, All: row(all), Unit: all.Unit, Period: period}
	for _, f := range below {
		d.Below = append(d.Below, row(f))
	}
	for _, p := range periods() {
		d.Periods = append(d.Periods, option{Value: p, Label: h.web.T(r, "feedback.period."+p), Chosen: p == period})
	}
	for code := all.Unit.Parent; code != ""; code = ref.units[code].Parent {
		d.Up = append([]Unit{ref.units[code]}, d.Up...)
	}
	h.pages.Render(w, r, http.StatusOK, "feedback_figures", d)
}

// photo serves a stored photo or its thumbnail: re-encoded JPEG only,
// shown inline, never sniffed. A photo of a sensitive report goes only to
// its reporter and the staff who handle it.
func (h *pages) photo(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	id, thumb := strings.CutSuffix(file, ".thumb.jpg")
	if !thumb {
		var ok bool
		if id, ok = strings.CutSuffix(file, ".jpg"); !ok {
			h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
			return
		}
	}
	sensitiveSeen := false
	b, err := h.s.Photo(r.Context(), id, thumb, func(rep Report) bool {
		sensitiveSeen = true
		acct := h.account(r)
		if acct == "" {
			return false
		}
		if rep.Reporter == acct {
			return true
		}
		posts, err := h.s.o.Staff.Posts(r.Context(), acct)
		if err != nil {
			return false
		}
		for _, p := range posts {
			if p.Agency.Code == rep.Agency || p.Agency.Code == rep.Team {
				return true
			}
		}
		return false
	})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/jpeg")
	hd.Set("Content-Disposition", `inline; filename="`+id+`.jpg"`)
	hd.Set("X-Content-Type-Options", "nosniff")
	if sensitiveSeen {
		hd.Set("Cache-Control", "private, no-store")
	} else {
		hd.Set("Cache-Control", "public, max-age=86400, immutable")
	}
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
