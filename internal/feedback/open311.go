package feedback

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at
// /open311/v2/: every category is a service; reports are service
// requests. Answers are JSON or XML as the path's extension asks; errors
// take the specification's form (a list of code and description). As an
// extension beside media_url (which is not fetched: a server that fetches
// URLs clients give is a server that attacks for them), photos may come
// as multipart parts named "media".

const open311Prefix = "/open311/v2/"

// MaxOpen311Body bounds a request to POST requests: five photos and the form.
const MaxOpen311Body = MaxPhotos*MaxPhotoBytes + 1<<20

type open311 struct {
	s   *Service
	web *web.Server
	cat *i18n.Catalog
}

// MountOpen311 serves Open311 GeoReport v2.
func (s *Service) MountOpen311(ws *web.Server) {
	h := &open311{s: s, web: ws, cat: ws.Catalog()}
	ws.ExemptFromCSRF("/open311/")
	ws.AllowUpload(open311Prefix+"requests.json", MaxOpen311Body)
	ws.AllowUpload(open311Prefix+"requests.xml", MaxOpen311Body)
	ws.HandleFunc("GET "+open311Prefix+"{file}", h.get)
	ws.HandleFunc("POST "+open311Prefix+"{file}", h.post)
	ws.HandleFunc("GET "+open311Prefix+"services/{file}", h.service)
	ws.HandleFunc("GET "+open311Prefix+"requests/{file}", h.request)
	ws.HandleFunc("GET "+open311Prefix+"tokens/{file}", h.token)
	ws.HandleFunc("/open311/", h.notFound)
}

// splitFormat splits "name.json" into its name and format.
func splitFormat(file string) (string, string, bool) {
	i := strings.LastIndexByte(file, '.')
	if i <= 0 {
		return "", "", false
	}
	f := file[i+1:]
	if f != "json" && f != "xml" {
		return "", "", false
	}
	return file[:i], f, true
}

// formatOf is the format of the request's path, JSON when it names none.
func formatOf(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, ".xml") {
		return "xml"
	}
	return "json"
}

// open311Error is one error of the specification's list.
type open311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

type open311Errors struct {
	XMLName xml.Name       `xml:"errors"`
	Errors  []open311Error `xml:"error"`
}

// fail answers err in the specification's form, its description in
// English (a message for the app's developer), the status its code says.
func (h *open311) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch kernel.ErrorCode(err) {
	case kernel.Invalid:
		status = http.StatusBadRequest
	case kernel.Unauthenticated:
		status = http.StatusUnauthorized
	case kernel.Forbidden:
		status = http.StatusForbidden
	case kernel.NotFound:
		status = http.StatusNotFound
	case kernel.Conflict:
		status = http.StatusConflict
	case kernel.TooManyRequests:
		status = http.StatusTooManyRequests
	case kernel.Unavailable:
		status = http.StatusServiceUnavailable
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		status, err = http.StatusRequestEntityTooLarge, kernel.E(kernel.Invalid, "feedback.error.body_too_large", mbe.Limit>>20)
	}
	if status >= 500 {
		h.s.o.Logger.ErrorContext(r.Context(), "feedback: open311 failed", "request_id", kernel.RequestIDFrom(r.Context()), "error", err)
	}
	key, args := kernel.ErrorKey(err)
	e := open311Error{Code: status, Description: h.cat.T("en", key, args...)}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	h.write(w, r, status, []open311Error{e}, open311Errors{Errors: []open311Error{e}})
}

// write answers v as JSON or x as XML, as the path asks.
func (h *open311) write(w http.ResponseWriter, r *http.Request, status int, v, x any) {
	var buf bytes.Buffer
	hd := w.Header()
	if formatOf(r) == "xml" {
		buf.WriteString(xml.Header)
		enc := xml.NewEncoder(&buf)
		if err := enc.Encode(x); err != nil {
			h.web.Error(w, r, kernel.Wrap(err, "feedback: encode xml"))
			return
		}
		buf.WriteByte('\n')
		hd.Set("Content-Type", "text/xml; charset=utf-8")
	} else {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(true)
		if err := enc.Encode(v); err != nil {
			h.web.Error(w, r, kernel.Wrap(err, "feedback: encode json"))
			return
		}
		hd.Set("Content-Type", "application/json; charset=utf-8")
	}
	hd.Set("Cache-Control", "no-store")
	hd.Set("Access-Control-Allow-Origin", "*") // public data; keys are never sent by browsers on their own
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func (h *open311) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.method"))
		return
	}
	h.fail(w, r, kernel.E(kernel.NotFound, "feedback.error.open311_path"))
}

// checkJurisdiction refuses a jurisdiction_id this server does not serve.
func (h *open311) checkJurisdiction(v url.Values) error {
	if j := v.Get("jurisdiction_id"); j != "" && j != h.s.o.Jurisdiction {
		return kernel.E(kernel.NotFound, "feedback.error.jurisdiction", j)
	}
	return nil
}

func (h *open311) get(w http.ResponseWriter, r *http.Request) {
	name, _, ok := splitFormat(r.PathValue("file"))
	if !ok {
		h.notFound(w, r)
		return
	}
	q := r.URL.Query()
	if err := h.checkJurisdiction(q); err != nil {
		h.fail(w, r, err)
		return
	}
	switch name {
	case "discovery":
		h.discovery(w, r)
	case "services":
		h.services(w, r)
	case "requests":
		h.requests(w, r)
	default:
		h.notFound(w, r)
	}
}

// discovery is the Service Discovery document.
type discovery struct {
	XMLName    xml.Name   `json:"-" xml:"discovery"`
	Changeset  string     `json:"changeset" xml:"changeset"`
	Contact    string     `json:"contact" xml:"contact"`
	KeyService string     `json:"key_service" xml:"key_service"`
	Endpoints  []endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

type endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

// open311Changeset is when this implementation last changed.
const open311Changeset = "2026-11-30T00:00:00+07:00"

func (h *open311) discovery(w http.ResponseWriter, r *http.Request) {
	d := discovery{Changeset: open311Changeset, Contact: h.cat.T(web.LangFrom(r.Context()), "feedback.open311.contact"),
		KeyService: h.cat.T(web.LangFrom(r.Context()), "feedback.open311.key_service"),
		Endpoints: []endpoint{{Specification: "http://wiki.open311.org/GeoReport_v2", URL: h.base(r) + strings.TrimSuffix(open311Prefix, "/"),
			Changeset: open311Changeset, Type: "production", Formats: []string{"text/xml", "application/json"}}}}
	h.write(w, r, http.StatusOK, d, d)
}

// base is the site's public address.
func (h *open311) base(r *http.Request) string {
	if h.s.o.PublicURL != "" {
		return h.s.o.PublicURL
	}
	return "http://" + r.Host
}

type service311 struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	Code        string   `json:"service_code" xml:"service_code"`
	Name        string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type services311 struct {
	XMLName  xml.Name     `xml:"services"`
	Services []service311 `xml:"service"`
}

func (h *open311) services(w http.ResponseWriter, r *http.Request) {
	cats, err := h.s.Categories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lang := web.LangFrom(r.Context())
	out := make([]service311, 0, len(cats))
	for _, c := range cats {
		desc := h.cat.T(lang, "feedback.open311.service_description", c.Name(lang), int(c.Deadline.Hours()))
		if c.Sensitive {
			desc += " " + h.cat.T(lang, "feedback.open311.sensitive")
		}
		out = append(out, service311{Code: c.Code, Name: c.Name(lang), Description: desc, Metadata: len(c.Attributes) > 0,
			Type: "realtime", Group: h.cat.T(lang, "feedback.open311.group")})
	}
	h.write(w, r, http.StatusOK, out, services311{Services: out})
}

type definition311 struct {
	XMLName    xml.Name       `json:"-" xml:"service_definition"`
	Code       string         `json:"service_code" xml:"service_code"`
	Attributes []attribute311 `json:"attributes" xml:"attributes>attribute"`
}

type attribute311 struct {
	Variable            bool       `json:"variable" xml:"variable"`
	Code                string     `json:"code" xml:"code"`
	Datatype            string     `json:"datatype" xml:"datatype"`
	Required            bool       `json:"required" xml:"required"`
	DatatypeDescription string     `json:"datatype_description" xml:"datatype_description"`
	Order               int        `json:"order" xml:"order"`
	Description         string     `json:"description" xml:"description"`
	Values              []value311 `json:"values,omitempty" xml:"values>value,omitempty"`
}

type value311 struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

func (h *open311) service(w http.ResponseWriter, r *http.Request) {
	code, _, ok := splitFormat(r.PathValue("file"))
	if !ok {
		h.notFound(w, r)
		return
	}
	if err := h.checkJurisdiction(r.URL.Query()); err != nil {
		h.fail(w, r, err)
		return
	}
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, ok := ref.catByID[code]
	if !ok {
		h.fail(w, r, kernel.E(kernel.NotFound, "feedback.error.service"))
		return
	}
	lang := web.LangFrom(r.Context())
	d := definition311{Code: c.Code, Attributes: []attribute311{}}
	for _, a := range c.Attributes {
		at := attribute311{Variable: true, Code: a.Code, Datatype: a.Datatype, Required: a.Required, Order: a.Order,
			Description: text(a.Description, lang)}
		for _, v := range a.Values {
			at.Values = append(at.Values, value311{Key: v.Key, Name: text(v.Name, lang)})
		}
		d.Attributes = append(d.Attributes, at)
	}
	h.write(w, r, http.StatusOK, d, d)
}

// request311 is a service request as Open311 shows it: never its reporter.
type request311 struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ID                string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes" xml:"status_notes"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description" xml:"description"`
	AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
	Requested         string   `json:"requested_datetime" xml:"requested_datetime"`
	Updated           string   `json:"updated_datetime" xml:"updated_datetime"`
	Expected          string   `json:"expected_datetime" xml:"expected_datetime"`
	Address           string   `json:"address" xml:"address"`
	AddressID         string   `json:"address_id" xml:"address_id"`
	Zipcode           string   `json:"zipcode" xml:"zipcode"`
	Lat               float64  `json:"lat" xml:"lat"`
	Long              float64  `json:"long" xml:"long"`
	MediaURL          string   `json:"media_url" xml:"media_url"`
}

type requests311 struct {
	XMLName  xml.Name     `xml:"service_requests"`
	Requests []request311 `xml:"request"`
}

// iso writes a time as the specification asks: ISO 8601 with the
// province's offset.
func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(kernel.Zone()).Format(time.RFC3339)
}

func (h *open311) requestOf(ref *refs, rep Report, photo, lang string, base string) request311 {
	st := "open"
	if !rep.Status.Open() {
		st = "closed"
	}
	out := request311{ID: rep.ID, Status: st, StatusNotes: rep.StatusNote, ServiceCode: rep.Category, Description: rep.Description,
		AgencyResponsible: ref.agencyName(rep.Agency), Requested: iso(rep.CreatedAt), Updated: iso(rep.UpdatedAt), Expected: iso(rep.DueAt),
		Address: rep.Place.Address, Lat: rep.Place.Lat, Long: rep.Place.Lon}
	if c, ok := ref.catByID[rep.Category]; ok {
		out.ServiceName = c.Name(lang)
	}
	if photo != "" {
		out.MediaURL = base + "/feedback/photos/" + photo + ".jpg"
	}
	return out
}

// maxOpen311Requests bounds a GET requests answer, as the specification
// allows; the default window is the last 90 days.
const (
	maxOpen311Requests = 1000
	defaultWindow      = 90 * 24 * time.Hour
)

func (h *open311) requests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	where, args := `sensitive = 0`, []any{}
	if ids := q.Get("service_request_id"); ids != "" {
		list := strings.Split(ids, ",")
		if len(list) > maxOpen311Requests {
			h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.too_many_ids"))
			return
		}
		where += ` AND id IN (?` + strings.Repeat(",?", len(list)-1) + `)`
		for _, id := range list {
			args = append(args, strings.TrimSpace(id))
		}
	} else {
		end := h.s.o.Clock.Now()
		start := end.Add(-defaultWindow)
		for _, p := range []struct {
			name string
			t    *time.Time
		}{{"start_date", &start}, {"end_date", &end}} {
			if v := q.Get(p.name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.date", p.name))
					return
				}
				*p.t = t
			}
		}
		if q.Get("start_date") != "" && q.Get("end_date") == "" {
			end = start.Add(defaultWindow)
		}
		where += ` AND created_at >= ? AND created_at <= ?`
		args = append(args, kernel.Micros(start), kernel.Micros(end))
	}
	if codes := q.Get("service_code"); codes != "" {
		list := strings.Split(codes, ",")
		for _, c := range list {
			if _, ok := ref.catByID[strings.TrimSpace(c)]; !ok {
				h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.service"))
				return
			}
		}
		where += ` AND category IN (?` + strings.Repeat(",?", len(list)-1) + `)`
		for _, c := range list {
			args = append(args, strings.TrimSpace(c))
		}
	}
	if st := q.Get("status"); st != "" {
		var open, closed bool
		for part := range strings.SplitSeq(st, ",") {
			switch strings.TrimSpace(part) {
			case "open":
				open = true
			case "closed":
				closed = true
			default:
				h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.status"))
				return
			}
		}
		if open != closed {
			if open {
				where, args = statusWhere(where, args, "open")
			} else {
				where, args = statusWhere(where, args, "closed")
			}
		}
	}
	args = append(args, maxOpen311Requests)
	var reps []Report
	var photos map[string]string
	err = h.s.o.DB.View(r.Context(), func(tx *db.Tx) error {
		var err error
		if reps, err = queryReports(r.Context(), tx, where+` ORDER BY id DESC LIMIT ?`, args...); err != nil {
			return err
		}
		ids := make([]string, len(reps))
		for i, rep := range reps {
			ids[i] = rep.ID
		}
		photos, err = firstPhotos(r.Context(), tx, ids)
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lang, base := web.LangFrom(r.Context()), h.base(r)
	out := make([]request311, 0, len(reps))
	for _, rep := range reps {
		out = append(out, h.requestOf(ref, rep, photos[rep.ID], lang, base))
	}
	h.write(w, r, http.StatusOK, out, requests311{Requests: out})
}

// request answers GET requests/{id}. A report of a sensitive category is
// shown only to the app that sent it (its api_key in the query).
func (h *open311) request(w http.ResponseWriter, r *http.Request) {
	id, _, ok := splitFormat(r.PathValue("file"))
	if !ok {
		h.notFound(w, r)
		return
	}
	q := r.URL.Query()
	if err := h.checkJurisdiction(q); err != nil {
		h.fail(w, r, err)
		return
	}
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var rep Report
	var photos map[string]string
	err = h.s.o.DB.View(r.Context(), func(tx *db.Tx) error {
		var err error
		if rep, err = findReport(r.Context(), tx, id); err != nil {
			return err
		}
		photos, err = firstPhotos(r.Context(), tx, []string{id})
		return err
	})
	if err == nil && rep.Sensitive {
		c, kerr := h.s.client(r.Context(), q.Get("api_key"))
		if kerr != nil || c.ID != rep.Client {
			err = errNoReport()
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []request311{h.requestOf(ref, rep, photos[id], web.LangFrom(r.Context()), h.base(r))}
	h.write(w, r, http.StatusOK, out, requests311{Requests: out})
}

type token311 struct {
	XMLName xml.Name `json:"-" xml:"request"`
	ID      string   `json:"service_request_id" xml:"service_request_id"`
	Token   string   `json:"token" xml:"token"`
}

type tokens311 struct {
	XMLName  xml.Name   `xml:"service_requests"`
	Requests []token311 `xml:"request"`
}

func (h *open311) token(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := splitFormat(r.PathValue("file"))
	if !ok {
		h.notFound(w, r)
		return
	}
	if err := h.checkJurisdiction(r.URL.Query()); err != nil {
		h.fail(w, r, err)
		return
	}
	var rep Report
	err := h.s.o.DB.View(r.Context(), func(tx *db.Tx) error {
		var err error
		rep, err = findReportByToken(r.Context(), tx, tok)
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []token311{{ID: rep.ID, Token: rep.Token}}
	h.write(w, r, http.StatusOK, out, tokens311{Requests: out})
}

// created311 answers POST requests.
type created311 struct {
	XMLName       xml.Name `json:"-" xml:"request"`
	ID            string   `json:"service_request_id" xml:"service_request_id"`
	Token         string   `json:"token" xml:"token"`
	ServiceNotice string   `json:"service_notice" xml:"service_notice"`
}

type createdList311 struct {
	XMLName  xml.Name     `xml:"service_requests"`
	Requests []created311 `xml:"request"`
}

func (h *open311) post(w http.ResponseWriter, r *http.Request) {
	name, _, ok := splitFormat(r.PathValue("file"))
	if !ok || name != "requests" {
		h.notFound(w, r)
		return
	}
	form, media, err := readOpen311Form(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.checkJurisdiction(form); err != nil {
		h.fail(w, r, err)
		return
	}
	key := form.Get("api_key")
	if key == "" {
		h.fail(w, r, kernel.E(kernel.Forbidden, "feedback.error.api_key"))
		return
	}
	client, err := h.s.client(r.Context(), key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	code := form.Get("service_code")
	if code == "" {
		h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.service_code"))
		return
	}
	latS, lonS := form.Get("lat"), form.Get("long")
	if latS == "" || lonS == "" {
		h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.lat_long"))
		return
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(latS), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lonS), 64)
	if err1 != nil || err2 != nil || !ValidCoordinates(lat, lon) {
		h.fail(w, r, kernel.E(kernel.Invalid, "feedback.error.coordinates"))
		return
	}
	ref, err := h.s.references(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, ok := ref.catByID[code]
	if !ok {
		h.fail(w, r, kernel.E(kernel.NotFound, "feedback.error.service"))
		return
	}
	desc := strings.TrimSpace(form.Get("description"))
	if desc == "" {
		desc = c.Name("vi")
	}
	attrs := map[string]string{}
	for k, vs := range form {
		if strings.HasPrefix(k, "attribute[") && strings.HasSuffix(k, "]") && len(vs) > 0 {
			attrs[k[len("attribute["):len(k)-1]] = strings.Join(vs, ",")
		}
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorClient, ID: "open311:" + client.ID})
	rec, err := h.s.Submit(ctx, Draft{Category: code, Place: Place{Lat: lat, Lon: lon, Address: form.Get("address_string")},
		Description: desc, Attributes: attrs, Photos: media, Anonymous: true,
		ContactPhone: form.Get("phone"), ContactEmail: form.Get("email")}, Origin{Channel: ChannelOpen311, Client: client.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lang := web.LangFrom(r.Context())
	// The notice is a sentence a client app shows its user: its date is
	// for people, in the request's language (the due time itself travels
	// in RFC 3339 in the request's expected_datetime).
	notice := h.cat.T(lang, "feedback.open311.notice", ref.agencyName(rec.Report.Agency),
		web.FormatDateTime(h.cat, lang, rec.Report.DueAt))
	out := []created311{{ID: rec.Report.ID, Token: rec.Report.Token, ServiceNotice: notice}}
	h.write(w, r, http.StatusOK, out, createdList311{Requests: out})
}

// Limits of an Open311 form besides its photos.
const (
	maxFormFields    = 100
	maxFormFieldSize = 64 << 10
)

// readOpen311Form reads a POST's fields, urlencoded or multipart, and its
// photos (multipart parts named "media"), each within its own limit.
func readOpen311Form(r *http.Request) (url.Values, [][]byte, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form")
	}
	switch ct {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, mbe
			}
			return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form").WithCause(err)
		}
		return r.PostForm, nil, nil
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form")
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		form := url.Values{}
		var media [][]byte
		fields := 0
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return form, media, nil
			}
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, nil, mbe
				}
				return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form").WithCause(err)
			}
			if fields++; fields > maxFormFields+MaxPhotos {
				return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form")
			}
			name := p.FormName()
			limit := int64(maxFormFieldSize)
			if name == "media" {
				if len(media) >= MaxPhotos {
					return nil, nil, kernel.E(kernel.Invalid, "feedback.error.photo_count", MaxPhotos)
				}
				limit = MaxPhotoBytes
			}
			b, err := io.ReadAll(io.LimitReader(p, limit+1))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, nil, mbe
				}
				return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form").WithCause(err)
			}
			if int64(len(b)) > limit {
				if name == "media" {
					return nil, nil, errPhotoBytes()
				}
				return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form")
			}
			if name == "media" {
				if len(b) > 0 {
					media = append(media, b)
				}
				continue
			}
			form.Add(name, string(b))
		}
	}
	return nil, nil, kernel.E(kernel.Invalid, "feedback.error.form")
}

var _ = context.Background
