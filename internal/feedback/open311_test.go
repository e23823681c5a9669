package feedback_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"civitas/internal/feedback"
)

type open311Req struct {
	ID          string  `json:"service_request_id"`
	Status      string  `json:"status"`
	StatusNotes string  `json:"status_notes"`
	ServiceCode string  `json:"service_code"`
	Description string  `json:"description"`
	Lat         float64 `json:"lat"`
	Long        float64 `json:"long"`
	MediaURL    string  `json:"media_url"`
	Agency      string  `json:"agency_responsible"`
	Token       string  `json:"token"`
}

func get(t *testing.T, c *http.Client, u string) (int, http.Header, []byte) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, []byte) {
	t.Helper()
	res, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func postMultipart(t *testing.T, c *http.Client, u string, v url.Values, media ...[]byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range v {
		for _, x := range vs {
			_ = mw.WriteField(k, x)
		}
	}
	for i, m := range media {
		w, _ := mw.CreateFormFile("media", "photo"+string(rune('a'+i))+".jpg")
		_, _ = w.Write(m)
	}
	mw.Close()
	res, err := c.Post(u, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func TestOpen311(t *testing.T) {
	e := newEnv(t)
	srv := e.serve(t)
	c := srv.Client()
	base := srv.URL + "/open311/v2/"
	_, key, err := e.s.AddClient(e.ctx, "Ứng dụng Đắk Lắk số")
	if err != nil {
		t.Fatal(err)
	}

	// Discovery and services, JSON and XML.
	st, hd, b := get(t, c, base+"discovery.json")
	if st != 200 || !strings.HasPrefix(hd.Get("Content-Type"), "application/json") || !bytes.Contains(b, []byte("GeoReport_v2")) {
		t.Fatalf("discovery: %d %s", st, b)
	}
	st, _, b = get(t, c, base+"services.json")
	var services []struct {
		Code     string `json:"service_code"`
		Name     string `json:"service_name"`
		Metadata bool   `json:"metadata"`
		Type     string `json:"type"`
	}
	if err := json.Unmarshal(b, &services); st != 200 || err != nil || len(services) != 7 || services[0].Code != "environment" || !services[0].Metadata || services[0].Type != "realtime" {
		t.Fatalf("services: %d %v %s", st, err, b)
	}
	for _, path := range []string{"discovery.xml", "services.xml", "services/urban_infrastructure.xml"} {
		st, hd, b := get(t, c, base+path)
		if st != 200 || !strings.HasPrefix(hd.Get("Content-Type"), "text/xml") || !bytes.HasPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
			t.Fatalf("%s: %d %s", path, st, b)
		}
		if err := xml.Unmarshal(b, new(struct{})); err != nil {
			t.Fatalf("%s is not XML: %v", path, err)
		}
	}
	st, _, b = get(t, c, base+"services/urban_infrastructure.json")
	if st != 200 || !bytes.Contains(b, []byte(`"code":"kind"`)) || !bytes.Contains(b, []byte(`"key":"pothole"`)) {
		t.Fatalf("service definition: %d %s", st, b)
	}

	// POST, urlencoded and multipart with a photo.
	form := url.Values{"api_key": {key}, "service_code": {"urban_infrastructure"}, "lat": {"12.68"}, "long": {"108.05"},
		"description": {"Ổ gà sâu trước cổng trường"}, "attribute[kind]": {"pothole"}, "phone": {"0912345678"},
		"first_name": {"Lan"}, "email": {"lan@example.vn"}}
	st, b = postForm(t, c, base+"requests.json", form)
	var created []open311Req
	if err := json.Unmarshal(b, &created); st != 200 || err != nil || len(created) != 1 || created[0].ID == "" {
		t.Fatalf("POST: %d %v %s", st, err, b)
	}
	st, b = postMultipart(t, c, base+"requests.xml", url.Values{"api_key": {key}, "service_code": {"environment"}, "lat": {"12.681"},
		"long": {"108.051"}, "description": {"Rác thải ven suối"}}, withEXIF(jpegOf(120, 80), 1))
	var xcreated struct {
		Requests []struct {
			ID string `xml:"service_request_id"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal(b, &xcreated); st != 200 || err != nil || len(xcreated.Requests) != 1 {
		t.Fatalf("POST multipart: %d %v %s", st, err, b)
	}
	withPhoto := xcreated.Requests[0].ID

	// GET a request: open, its photo's absolute URL public at once, stripped.
	st, _, b = get(t, c, base+"requests/"+withPhoto+".json")
	var got []open311Req
	if err := json.Unmarshal(b, &got); st != 200 || err != nil || len(got) != 1 {
		t.Fatalf("GET request: %d %v %s", st, err, b)
	}
	if got[0].Status != "open" || got[0].ServiceCode != "environment" || got[0].Lat != 12.681 || !strings.HasPrefix(got[0].MediaURL, "https://civitas.test/feedback/photos/") {
		t.Fatalf("request %+v", got[0])
	}
	st, hd, photo := get(t, c, srv.URL+strings.TrimPrefix(got[0].MediaURL, "https://civitas.test"))
	if st != 200 || hd.Get("Content-Type") != "image/jpeg" || hd.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(hd.Get("Content-Disposition"), "inline") || bytes.Contains(photo, []byte("Exif")) || bytes.Contains(photo, []byte(gpsSecret)) {
		t.Fatalf("photo: %d %v", st, hd)
	}
	// The reporter's identity is never in an answer.
	for _, path := range []string{"requests/" + created[0].ID + ".json", "requests/" + created[0].ID + ".xml", "requests.json", "requests.xml"} {
		st, _, b := get(t, c, base+path)
		if st != 200 {
			t.Fatalf("%s: %d %s", path, st, b)
		}
		for _, secret := range []string{"0912345678", "lan@example.vn", "Lan", "first_name", "email", "phone"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s shows %q", path, secret)
			}
		}
		if strings.HasSuffix(path, ".xml") {
			if err := xml.Unmarshal(b, new(struct{})); err != nil {
				t.Errorf("%s is not XML: %v", path, err)
			}
		}
	}
	// Resolved means closed, with the answer as status_notes.
	ctx, o := e.official(wardStaff)
	if _, err := e.s.Resolve(ctx, o, created[0].ID, "Đã vá ổ gà", nil); err != nil {
		t.Fatal(err)
	}
	_, _, b = get(t, c, base+"requests/"+created[0].ID+".json")
	got = nil
	_ = json.Unmarshal(b, &got)
	if got[0].Status != "closed" || got[0].StatusNotes != "Đã vá ổ gà" {
		t.Fatalf("after resolving: %+v", got[0])
	}
	// Filters.
	_, _, b = get(t, c, base+"requests.json?status=open&service_code=environment")
	got = nil
	_ = json.Unmarshal(b, &got)
	if len(got) != 1 || got[0].ID != withPhoto {
		t.Fatalf("filtered: %s", b)
	}
	_, _, b = get(t, c, base+"tokens/"+token(t, e, withPhoto)+".json")
	if !bytes.Contains(b, []byte(withPhoto)) {
		t.Fatalf("token: %s", b)
	}
	// A sensitive report: only its app sees it.
	st, b = postForm(t, c, base+"requests.json", url.Values{"api_key": {key}, "service_code": {"security_order"}, "lat": {"12.68"}, "long": {"108.05"},
		"description": {"Tụ tập gây rối ban đêm"}})
	created = nil
	_ = json.Unmarshal(b, &created)
	if st != 200 || len(created) != 1 {
		t.Fatalf("sensitive POST: %d %s", st, b)
	}
	if st, _, _ := get(t, c, base+"requests/"+created[0].ID+".json"); st != 404 {
		t.Fatalf("sensitive report shown to anyone: %d", st)
	}
	if st, _, _ := get(t, c, base+"requests/"+created[0].ID+".json?api_key="+url.QueryEscape(key)); st != 200 {
		t.Fatalf("sensitive report hidden from its app: %d", st)
	}
	if _, _, b := get(t, c, base+"requests.json"); bytes.Contains(b, []byte(created[0].ID)) {
		t.Fatal("sensitive report listed")
	}
}

func token(t *testing.T, e *env, id string) string {
	t.Helper()
	var tok string
	if err := e.d.QueryRow(e.ctx, `SELECT token FROM feedback_reports WHERE id = ?`, id).Scan(&tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

// Every failure has the specification's form and a 4xx status: never a 500.
func TestOpen311Errors(t *testing.T) {
	e := newEnv(t)
	srv := e.serve(t)
	c := srv.Client()
	base := srv.URL + "/open311/v2/"
	_, key, _ := e.s.AddClient(e.ctx, "app")
	ok := url.Values{"api_key": {key}, "service_code": {"traffic"}, "lat": {"12.68"}, "long": {"108.05"}, "description": {"Đèn tín hiệu hỏng"}}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range ok {
			c[kk] = vv
		}
		if v == "" {
			c.Del(k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"fail/no api_key", with("api_key", ""), 403, "api_key"},
		{"fail/wrong api_key", with("api_key", "civ311_"+strings.Repeat("a", 52)), 403, "api_key"},
		{"fail/no service_code", with("service_code", ""), 400, "service_code"},
		{"fail/unknown service_code", with("service_code", "weather"), 404, "service_code"},
		{"fail/no lat", with("lat", ""), 400, "lat and long"},
		{"fail/lat not a number", with("lat", "12,68°N"), 400, "latitude"},
		{"fail/lat NaN", with("lat", "NaN"), 400, "latitude"},
		{"fail/lat infinite", with("lat", "1e999"), 400, "latitude"},
		{"fail/outside the province", with("lat", "21.03"), 400, "outside"},
		{"fail/jurisdiction", with("jurisdiction_id", "hanoi"), 404, "jurisdiction_id"},
		{"fail/attribute", with("attribute[colour]", "red"), 400, "colour"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, format := range []string{"json", "xml"} {
				st, b := postForm(t, c, base+"requests."+format, tt.form)
				if st != tt.status || !bytes.Contains(b, []byte(tt.text)) {
					t.Fatalf("%s: %d %s", format, st, b)
				}
				if format == "json" {
					var errs []struct {
						Code        int    `json:"code"`
						Description string `json:"description"`
					}
					if err := json.Unmarshal(b, &errs); err != nil || len(errs) != 1 || errs[0].Code != tt.status {
						t.Fatalf("not the specification's errors: %s", b)
					}
				} else {
					var errs struct {
						XMLName xml.Name `xml:"errors"`
						Errors  []struct {
							Code int `xml:"code"`
						} `xml:"error"`
					}
					if err := xml.Unmarshal(b, &errs); err != nil || len(errs.Errors) != 1 || errs.Errors[0].Code != tt.status {
						t.Fatalf("not the specification's XML errors: %s (%v)", b, err)
					}
				}
			}
		})
	}
	// Photos that are not images, bombs, too many, too large.
	for _, tt := range []struct {
		name   string
		media  [][]byte
		status int
		text   string
	}{
		{"fail/not an image", [][]byte{[]byte("<script>alert(1)</script>")}, 400, "JPEG or PNG"},
		{"fail/HEIC", [][]byte{append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 64)...)}, 400, "HEIC"},
		{"fail/bomb", [][]byte{bombPNG(80_000, 80_000)}, 400, "megapixels"},
		{"fail/six photos", [][]byte{jpegOf(8, 8), jpegOf(8, 8), jpegOf(8, 8), jpegOf(8, 8), jpegOf(8, 8), jpegOf(8, 8)}, 400, "At most 5"},
		{"fail/too large", [][]byte{append(jpegOf(8, 8), make([]byte, feedback.MaxPhotoBytes+10)...)}, 400, "too large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, b := postMultipart(t, c, base+"requests.json", ok, tt.media...)
			if st != tt.status || !bytes.Contains(b, []byte(tt.text)) {
				t.Fatalf("%d %s", st, b)
			}
		})
	}
	// The web layer's limit on the whole body is a 413, not a 500.
	big := bytes.Repeat([]byte("x"), feedback.MaxOpen311Body+1)
	res, err := c.Post(base+"requests.json", "application/x-www-form-urlencoded", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("oversized body: %d", res.StatusCode)
	}
	for _, path := range []string{"nothing.json", "requests/nope.json", "services/nope.xml", "tokens/nope.json", "requests", "a/b/c"} {
		st, _, b := get(t, c, base+path)
		if st != 404 || !(bytes.HasPrefix(b, []byte("[{")) || bytes.Contains(b, []byte("<errors>"))) {
			t.Fatalf("%s: %d %s", path, st, b)
		}
	}
}
