package feedback_test

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/feedback"
	"civitas/internal/kernel"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// page GETs a page and returns its status and body.
func page(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	return html.UnescapeString(m[1])
}

// send posts a form (multipart when files are given) and returns the
// status, the Location and the body.
func send(t *testing.T, c *http.Client, u string, v url.Values, files map[string][]byte) (int, string, string) {
	t.Helper()
	var res *http.Response
	var err error
	if files == nil {
		res, err = c.PostForm(u, v)
	} else {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, vs := range v {
			for _, x := range vs {
				_ = mw.WriteField(k, x)
			}
		}
		for name, f := range files {
			w, _ := mw.CreateFormFile(strings.Split(name, "#")[0], "photo.jpg")
			_, _ = w.Write(f)
		}
		mw.Close()
		res, err = c.Post(u, mw.FormDataContentType(), &body)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

// A citizen without JavaScript reports a pothole: the kind, three taps on
// the map (province, district, the spot), the description and a photo; an
// anonymous one gets a tracking code and follows with it.
func TestReportWithoutScript(t *testing.T) {
	e := newEnv(t)
	srv := e.serve(t)
	c := browser(t, srv, "", "")
	st, body := page(t, c, srv.URL+"/feedback/new?lang=en")
	if st != 200 || !strings.Contains(body, `type="image"`) || !strings.Contains(body, `name="pick"`) {
		t.Fatalf("step 1: %d", st)
	}
	// Tap the province's map at 12.68 N, 108.05 E, then the district's, then the spot.
	tap := func(unit string) string {
		t.Helper()
		lat, lon := 12.68, 108.05
		x, y := pixelOf(t, e, unit, lat, lon)
		st, body := page(t, c, fmt.Sprintf("%s/feedback/new?category=urban_infrastructure&unit=%s&pick.x=%d&pick.y=%d", srv.URL, unit, x, y))
		if st != 200 {
			t.Fatalf("tap on %s: %d %s", unit, st, body)
		}
		return body
	}
	body = tap("99")
	if !strings.Contains(body, `name="unit" value="980"`) {
		t.Fatal("a tap on the province does not come to the district")
	}
	body = tap("980")
	if !strings.Contains(body, `name="unit" value="31011"`) {
		t.Fatal("a tap on the district does not come to the ward")
	}
	body = tap("31011")
	if !strings.Contains(body, `id="report-form"`) || !strings.Contains(body, "Phường Nam Đông") {
		t.Fatalf("the spot was not chosen:\n%s", body)
	}
	lat := regexp.MustCompile(`name="lat" value="([0-9.]+)"`).FindStringSubmatch(body)
	lon := regexp.MustCompile(`name="lon" value="([0-9.]+)"`).FindStringSubmatch(body)
	if lat == nil || lon == nil || !strings.HasPrefix(lat[1], "12.68") || !strings.HasPrefix(lon[1], "108.05") {
		t.Fatalf("chosen point %v %v", lat, lon)
	}
	st, _, body = send(t, c, srv.URL+"/feedback/new", url.Values{"csrf_token": {csrf(t, body)}, "category": {"urban_infrastructure"},
		"lat": {lat[1]}, "lon": {lon[1]}, "description": {"Ổ gà sâu trước số nhà 12"}, "attr_kind": {"pothole"}},
		map[string][]byte{"photo": withEXIF(jpegOf(200, 150), 1)})
	if st != 201 {
		t.Fatalf("send: %d %s", st, body)
	}
	code := regexp.MustCompile(`id="tracking-code">([A-Z0-9-]+)<`).FindStringSubmatch(body)
	if code == nil {
		t.Fatalf("no tracking code:\n%s", body)
	}
	// The tracking code opens the report with what its reporter may do.
	_, body = page(t, c, srv.URL+"/feedback/track")
	token := csrf(t, body)
	st, _, body = send(t, c, srv.URL+"/feedback/track", url.Values{"csrf_token": {token}, "code": {strings.ToLower(code[1])}}, nil)
	if st != 200 || !strings.Contains(body, "Ổ gà sâu") || !strings.Contains(body, `<img src="/feedback/photos/`) {
		t.Fatalf("tracked: %d", st)
	}
	// A second report with a HEIC photo is refused, asking for JPEG or PNG,
	// and the form comes back with what was typed.
	st, _, body = send(t, c, srv.URL+"/feedback/new?lang=en", url.Values{"csrf_token": {token}, "category": {"traffic"},
		"lat": {"12.68"}, "lon": {"108.05"}, "description": {"Đèn tín hiệu hỏng"}},
		map[string][]byte{"photo": append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 64)...)})
	if st != 400 || !strings.Contains(body, "JPEG or PNG") || !strings.Contains(body, "Đèn tín hiệu hỏng") {
		t.Fatalf("HEIC: %d %s", st, body)
	}
	// Malformed coordinates: a clear error, no 500.
	st, _, body = send(t, c, srv.URL+"/feedback/new?lang=en", url.Values{"csrf_token": {csrf(t, body)}, "category": {"traffic"},
		"lat": {"north"}, "lon": {"108.05"}, "description": {"Đèn tín hiệu hỏng"}}, map[string][]byte{})
	if st != 400 || !strings.Contains(body, "latitude") {
		t.Fatalf("malformed coordinates: %d", st)
	}
	for _, q := range []string{"pick.x=abc&pick.y=1", "pick.x=-5&pick.y=1", "lat=91&lon=400", "lat=NaN&lon=NaN", "by=address&next=1&commune=xyz&address=a"} {
		st, _ := page(t, c, srv.URL+"/feedback/new?category=traffic&unit=99&"+q)
		if st != 400 {
			t.Errorf("%s: %d", q, st)
		}
	}
}

// pixelOf is where a point falls on the picker's map of a unit.
func pixelOf(t *testing.T, e *env, unit string, lat, lon float64) (int, int) {
	t.Helper()
	m, err := e.s.Map(e.ctx, feedback.MapView{Unit: unit, Width: feedback.PickWidth, NoPins: true, MarkLat: lat, MarkLon: lon})
	if err != nil {
		t.Fatal(err)
	}
	mm := regexp.MustCompile(`<g class="mark"><circle cx="([0-9.]+)" cy="([0-9.]+)"`).FindStringSubmatch(m.SVG)
	var x, y float64
	fmt.Sscan(mm[1], &x)
	fmt.Sscan(mm[2], &y)
	return int(x + 0.5), int(y + 0.5)
}

// The public pages never show who reported; the signed-in reporter sees
// their report with its actions, reopens it and rates it.
func TestReporterPages(t *testing.T) {
	e := newEnv(t)
	srv := e.serve(t)
	rec := e.submit(citizen, "urban_infrastructure", jpegOf(80, 60))
	id := rec.Report.ID
	anon := browser(t, srv, "", "")
	st, body := page(t, anon, srv.URL+"/feedback/r/"+id)
	if st != 200 || strings.Contains(body, citizen) || strings.Contains(body, "reopen-form") {
		t.Fatalf("public page: %d", st)
	}
	for _, lang := range []string{"vi", "en", "ar"} {
		st, body := page(t, anon, srv.URL+"/feedback/r/"+id+"?lang="+lang)
		if st != 200 || !strings.Contains(body, `<html lang="`+lang+`"`) || strings.Contains(body, "feedback.") {
			t.Fatalf("%s: %d, untranslated key or wrong language", lang, st)
		}
	}
	ctx, o := e.official(wardStaff)
	if _, err := e.s.Resolve(ctx, o, id, "Đã vá", nil); err != nil {
		t.Fatal(err)
	}
	me := browser(t, srv, citizen, "level1")
	_, body = page(t, me, srv.URL+"/feedback/r/"+id)
	if !strings.Contains(body, `id="reopen-form"`) || !strings.Contains(body, `id="rate-form"`) {
		t.Fatal("the reporter's actions are missing")
	}
	st, loc, _ := send(t, me, srv.URL+"/feedback/r/"+id+"/reopen", url.Values{"csrf_token": {csrf(t, body)}, "reason": {"Vẫn còn ổ gà"}}, nil)
	if st != 303 || !strings.HasSuffix(loc, "done=reopened") {
		t.Fatalf("reopen: %d %s", st, loc)
	}
	// Someone else cannot act on it.
	other := browser(t, srv, otherCitizen, "level1")
	_, ob := page(t, other, srv.URL+"/feedback/track")
	if st, _, _ := send(t, other, srv.URL+"/feedback/r/"+id+"/rate", url.Values{"csrf_token": {csrf(t, ob)}, "rating": {"1"}}, nil); st != 404 {
		t.Fatalf("another citizen rated: %d", st)
	}
	if _, err := e.s.Resolve(ctx, o, id, "Đã vá lại", nil); err != nil {
		t.Fatal(err)
	}
	_, body = page(t, me, srv.URL+"/feedback/r/"+id)
	st, loc, _ = send(t, me, srv.URL+"/feedback/r/"+id+"/rate", url.Values{"csrf_token": {csrf(t, body)}, "rating": {"5"}, "comment": {"Tốt"}}, nil)
	if st != 303 || !strings.HasSuffix(loc, "done=rated") {
		t.Fatalf("rate: %d %s", st, loc)
	}
	_, body = page(t, anon, srv.URL+"/feedback/r/"+id)
	if !strings.Contains(body, `id="report-rating"`) || strings.Contains(body, "Tốt") {
		t.Fatal("the rating is not public, or its comment is")
	}
	_, body = page(t, me, srv.URL+"/feedback/mine")
	if !strings.Contains(body, id) {
		t.Fatal("my reports do not list it")
	}
	// A sensitive report: its reporter sees it, nobody else, photo included.
	sec := e.submit(citizen, "security_order", jpegOf(40, 40))
	if st, _ := page(t, anon, srv.URL+"/feedback/r/"+sec.Report.ID); st != 404 {
		t.Fatalf("sensitive report public: %d", st)
	}
	if st, body := page(t, me, srv.URL+"/feedback/r/"+sec.Report.ID); st != 200 {
		t.Fatalf("sensitive report hidden from its reporter: %d %s", st, body)
	} else {
		photo := regexp.MustCompile(`/feedback/photos/([a-z0-9]+)\.thumb\.jpg`).FindStringSubmatch(body)
		if st, _ := page(t, anon, srv.URL+"/feedback/photos/"+photo[1]+".jpg"); st != 404 {
			t.Fatalf("sensitive photo public: %d", st)
		}
		if st, _ := page(t, me, srv.URL+"/feedback/photos/"+photo[1]+".jpg"); st != 200 {
			t.Fatalf("sensitive photo hidden from its reporter: %d", st)
		}
	}
}

// Staff work from a level-2 session: a level-1 one is sent to sign in
// again; staff of another agency get 403.
func TestOfficerPages(t *testing.T) {
	e := newEnv(t)
	srv := e.serve(t)
	id := e.submit(citizen, "urban_infrastructure").Report.ID
	weak := browser(t, srv, wardStaff, "level1")
	res, err := weak.Get(srv.URL + "/officer/feedback")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || !strings.Contains(res.Header.Get("Location"), "acr=level2") {
		t.Fatalf("level 1: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	c := browser(t, srv, wardStaff, "level2")
	st, body := page(t, c, srv.URL+"/officer/feedback")
	if st != 200 || !strings.Contains(body, id) {
		t.Fatalf("queue: %d", st)
	}
	st, body = page(t, c, srv.URL+"/officer/feedback/r/"+id)
	if st != 200 || !strings.Contains(body, `id="resolve-form"`) {
		t.Fatalf("report: %d", st)
	}
	st, loc, _ := send(t, c, srv.URL+"/officer/feedback/r/"+id+"/receive", url.Values{"csrf_token": {csrf(t, body)}}, nil)
	if st != 303 || !strings.Contains(loc, "done=received") {
		t.Fatalf("receive: %d %s", st, loc)
	}
	st, loc, body = send(t, c, srv.URL+"/officer/feedback/r/"+id+"/assign", url.Values{"csrf_token": {csrf(t, body)}, "handler": {wardStaff2}, "team": {"H980.CA#rapid_response"}}, nil)
	if st != 303 {
		t.Fatalf("assign: %d %s %s", st, loc, body)
	}
	_, body = page(t, c, srv.URL+"/officer/feedback/r/"+id)
	st, loc, body = send(t, c, srv.URL+"/officer/feedback/resolve", url.Values{"csrf_token": {csrf(t, body)}, "id": {id}, "note": {"Đã vá xong"}},
		map[string][]byte{"photo": jpegOf(120, 90)})
	if st != 303 || !strings.Contains(loc, "done=resolved") {
		t.Fatalf("resolve: %d %s %s", st, loc, body)
	}
	if pub, _ := e.s.Public(e.ctx, id); pub.Status != feedback.Resolved || len(pub.Photos) != 1 {
		t.Fatalf("after resolving: %s, %d photos", pub.Status, len(pub.Photos))
	}
	// Another agency's staff.
	west := browser(t, srv, westStaff, "level2")
	if st, _ := page(t, west, srv.URL+"/officer/feedback/r/"+id); st != 403 {
		t.Fatalf("another agency: %d", st)
	}
	// A citizen with no post.
	if st, _ := page(t, browser(t, srv, citizen, "level2"), srv.URL+"/officer/feedback"); st != 403 {
		t.Fatalf("a citizen: %d", st)
	}
	// The layers page imports a file and names the line of a fault.
	lc := browser(t, srv, districtHead, "level2")
	_, body = page(t, lc, srv.URL+"/officer/feedback/layers?lang=en")
	st, _, body = send(t, lc, srv.URL+"/officer/feedback/layers?lang=en", url.Values{"csrf_token": {csrf(t, body)}, "name": {"Zones"}, "kind": {"zoning"}},
		map[string][]byte{"file": []byte("{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[12.6,108]}}]}")})
	if st != 400 || !strings.Contains(body, "Line 3") {
		t.Fatalf("broken layer: %d", st)
	}
	st, loc, _ = send(t, lc, srv.URL+"/officer/feedback/layers", url.Values{"csrf_token": {csrf(t, body)}, "name": {"Zones"}, "kind": {"zoning"}},
		map[string][]byte{"file": []byte(ogrStyle)})
	if st != 303 || !strings.Contains(loc, "done=imported") {
		t.Fatalf("layer: %d %s", st, loc)
	}
	_, body = page(t, lc, srv.URL+"/feedback/plans?lat=12.68&lon=108.05")
	if !strings.Contains(body, "Đất ở đô thị") {
		t.Fatal("what is planned at the point is not shown")
	}
	// The ward may not import layers? It may: a People's Committee. The police may not.
	pc := browser(t, srv, policeStaff, "level2")
	_, body = page(t, pc, srv.URL+"/officer/feedback/layers")
	if st, _, _ := send(t, pc, srv.URL+"/officer/feedback/layers", url.Values{"csrf_token": {csrf(t, body)}, "name": {"x"}, "kind": {"zoning"}},
		map[string][]byte{"file": []byte(ogrStyle)}); st != 403 {
		t.Fatalf("police imported a layer: %d", st)
	}
}

// The public map: valid SVG, no sensitive report, clusters at the
// province's scale and reports listed at a commune's, small enough for a
// phone with hundreds of reports.
func TestMap(t *testing.T) {
	e := newEnv(t)
	for i := range 300 {
		cat := []string{"environment", "urban_infrastructure", "traffic", "security_order"}[i%4]
		lat := 12.56 + float64(i%17)*0.014
		lon := 107.91 + float64(i%23)*0.0125
		if _, err := e.s.Submit(e.ctx, feedback.Draft{Category: cat, Place: feedback.Place{Lat: lat, Lon: lon}, Description: "Báo cáo thử nghiệm"},
			feedback.Origin{Channel: feedback.ChannelDemo}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := e.s.Map(e.ctx, feedback.MapView{Link: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Total != 225 {
		t.Fatalf("province total %d, want 225 (sensitive left out)", m.Total)
	}
	if err := xml.Unmarshal([]byte(m.SVG), new(struct{})); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if !strings.Contains(m.SVG, "<text") || len(m.Areas) != 2 {
		t.Fatalf("province view: clusters %v, areas %d", strings.Contains(m.SVG, "<text"), len(m.Areas))
	}
	c, err := e.s.Map(e.ctx, feedback.MapView{Unit: "31011", Category: "traffic", Link: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pins) == 0 || c.Total != len(c.Pins) {
		t.Fatalf("commune view: %d pins of %d", len(c.Pins), c.Total)
	}
	for _, p := range c.Pins {
		if p.Category != "traffic" || p.Commune != "31011" {
			t.Fatalf("pin %+v", p)
		}
	}
	if _, err := e.s.Map(e.ctx, feedback.MapView{Category: "security_order"}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("a sensitive category mapped: %v", err)
	}
	srv := e.serve(t)
	for _, lang := range []string{"vi", "en", "ar"} {
		st, body := page(t, srv.Client(), srv.URL+"/feedback/map?lang="+lang)
		if st != 200 {
			t.Fatalf("map page %s: %d", lang, st)
		}
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		_, _ = io.WriteString(w, body)
		w.Close()
		if z.Len() > 50<<10 {
			t.Fatalf("map page is %d bytes compressed", z.Len())
		}
	}
	st, hd, b := get(t, srv.Client(), srv.URL+"/feedback/map.svg?unit=980&pick=1&w=256&mlat=12.68&mlon=108.05")
	if st != 200 || hd.Get("Content-Type") != "image/svg+xml; charset=utf-8" || xml.Unmarshal(b, new(struct{})) != nil {
		t.Fatalf("map.svg: %d %s", st, b)
	}
	for _, path := range []string{"/feedback", "/feedback/plans", "/feedback/figures", "/feedback/figures?unit=980", "/feedback/map?unit=31011", "/feedback/track"} {
		if st, body := page(t, srv.Client(), srv.URL+path); st != 200 || strings.Contains(body, ">feedback.") {
			t.Fatalf("%s: %d", path, st)
		}
	}
	for _, path := range []string{"/feedback/map?unit=nope", "/feedback/map.svg?mlat=abc&mlon=1", "/feedback/map?status=weird", "/feedback/r/nope", "/feedback/photos/nope.jpg", "/feedback/photos/x.gif"} {
		if st, _ := page(t, srv.Client(), srv.URL+path); st < 400 || st >= 500 {
			t.Fatalf("%s: %d", path, st)
		}
	}
	_ = httptest.NewRecorder
}
