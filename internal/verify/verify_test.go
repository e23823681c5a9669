package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/pades"
	"civitas/internal/verify"
)

// file is one multipart file field.
type file struct {
	field, name string
	body        []byte
}

// multipartBody encodes text fields first, as a browser sends the hidden
// CSRF field before the files.
func multipartBody(t testing.TB, text map[string]string, files ...file) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range text {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.body)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

type answer struct {
	status int
	header http.Header
	body   string
}

func post(t testing.TB, c *http.Client, url, contentType, lang string, body []byte, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// apiReport mirrors the JSON of POST /api/verify/v1.
type apiReport struct {
	Verdict    string         `json:"verdict"`
	Signatures []apiSignature `json:"signatures"`
}

type apiSignature struct {
	Field             string      `json:"field"`
	Signer            string      `json:"signer"`
	SigningTime       *time.Time  `json:"signing_time"`
	Timestamped       bool        `json:"timestamped"`
	Level             string      `json:"level"`
	Verdict           string      `json:"verdict"`
	Revocation        string      `json:"revocation"`
	DocumentTimestamp bool        `json:"document_timestamp"`
	Reasons           []apiReason `json:"reasons"`
}

type apiReason struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// browser is a reader of the page: cookies, and the CSRF token of the form.
type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, url string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}, url: url}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	resp, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(body)}
}

var csrfToken = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// submit opens the form in lang and sends it with files.
func (b *browser) submit(lang string, files ...file) answer {
	b.t.Helper()
	page := b.get("/verify?lang=" + lang)
	m := csrfToken.FindStringSubmatch(page.body)
	if m == nil {
		b.t.Fatalf("no CSRF field on the form:\n%s", page.body)
	}
	ct, body := multipartBody(b.t, map[string]string{"csrf_token": m[1]}, files...)
	return post(b.t, b.c, b.url+"/verify", ct, "", body, "Origin", b.url)
}

func decode[T any](t testing.TB, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatalf("status %d, body not JSON: %v\n%s", a.status, err, a.body)
	}
	return v
}

// detachedP7S signs content with cms.Sign, as a desktop signing tool would.
func detachedP7S(t testing.TB, e *env, content []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(content)
	p7s, err := cms.Sign(sum[:], e.Signer.Key, cms.SignOptions{Certificate: e.Signer.Cert, Chain: []*x509.Certificate{e.Citizens.Cert}, SigningTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return p7s
}

// The form opens without an account, in each language, on the layout's
// direction, and says how large an upload may be.
func TestFormPage(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t, verify.Options{Online: e.rev})
	tests := []struct {
		name, query, lang, dir, title, limit string
	}{
		{"ok/default_vi", "", "vi", "ltr", "Kiểm tra văn bản đã ký số", "Dung lượng tối đa: 20 MB"},
		{"ok/en", "?lang=en", "en", "ltr", "Check a signed document", "Largest upload: 20 MB"},
		{"ok/ar", "?lang=ar", "ar", "rtl", "التحقق من مستند موقّع", "الحد الأقصى للرفع: 20 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBrowser(t, srv.URL).get("/verify" + tt.query)
			if a.status != http.StatusOK {
				t.Fatalf("status %d", a.status)
			}
			for _, want := range []string{`lang="` + tt.lang + `"`, `dir="` + tt.dir + `"`, html.EscapeString(tt.title), tt.limit,
				`enctype="multipart/form-data"`, `name="file"`, `name="content"`, `name="csrf_token"`} {
				if !strings.Contains(a.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(a.body, "verify.") || strings.Contains(a.body, "<script") {
				t.Errorf("page shows a raw message key or a script:\n%s", a.body)
			}
		})
	}
	t.Run("ok/stylesheet", func(t *testing.T) {
		b := newBrowser(t, srv.URL)
		href := regexp.MustCompile(`href="(/verify/verify-[0-9a-f]+\.css)"`).FindStringSubmatch(b.get("/verify").body)
		if href == nil {
			t.Fatal("no stylesheet link")
		}
		a := b.get(href[1])
		if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/css") || !strings.Contains(a.body, ".verdict-passed") {
			t.Fatalf("stylesheet: %d %s", a.status, a.header.Get("Content-Type"))
		}
		if a := b.get("/verify/other.css"); a.status != http.StatusNotFound {
			t.Fatalf("other file: %d", a.status)
		}
	})
	t.Run("limit/max_file_below_body_limit", func(t *testing.T) {
		small := e.server(t, verify.Options{MaxFile: 256 << 10})
		if a := newBrowser(t, small.URL).get("/verify?lang=en"); !strings.Contains(a.body, "Largest upload: 256 KB") {
			t.Fatalf("limit not shown:\n%s", a.body)
		}
	})
}

// The API's verdicts: a B-LT file passes, a changed one fails with the
// reason in the reader's language, a stranger's is indeterminate, a .p7s
// is checked against the file it signs.
func TestAPI(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t, verify.Options{Online: e.rev})
	api := srv.URL + "/api/verify/v1"
	signed := e.sign(t, testPDF(), e.Signer, pades.LevelBLT)
	content := bytes.Repeat([]byte("Giấy xác nhận cư trú\n"), 200)
	p7s := detachedP7S(t, e, content)
	p7sPEM := pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: p7s})

	raw := func(b []byte) (string, []byte) { return "application/pdf", b }
	form := func(files ...file) func() (string, []byte) {
		return func() (string, []byte) { return multipartBody(t, nil, files...) }
	}
	tests := []struct {
		name    string
		body    func() (string, []byte)
		lang    string
		verdict string
		level   string
		reason  string // a reason key the first signature must have
		message string // and its message
	}{
		{"ok/blt_raw", func() (string, []byte) { return raw(signed) }, "en", "TOTAL_PASSED", "B-LT", "", ""},
		{"ok/blt_multipart", form(file{"file", "giay-xac-nhan.pdf", signed}), "vi", "TOTAL_PASSED", "B-LT", "", ""},
		{"ok/p7s", form(file{"file", "a.p7s", p7s}, file{"content", "a.txt", content}), "en", "TOTAL_PASSED", "B-B", "", ""},
		{"ok/p7s_pem", form(file{"file", "a.p7s", p7sPEM}, file{"content", "a.txt", content}), "en", "TOTAL_PASSED", "B-B", "", ""},
		{"fail/tampered_en", func() (string, []byte) { return raw(tamper(t, signed)) }, "en", "TOTAL_FAILED", "",
			"pades.reason.digest_mismatch", "The document was changed after it was signed."},
		{"fail/tampered_vi", func() (string, []byte) { return raw(tamper(t, signed)) }, "vi-VN,vi;q=0.9", "TOTAL_FAILED", "",
			"pades.reason.digest_mismatch", "Tài liệu đã bị thay đổi sau khi ký."},
		{"fail/tampered_ar", func() (string, []byte) { return raw(tamper(t, signed)) }, "ar", "TOTAL_FAILED", "",
			"pades.reason.digest_mismatch", "عُدّل المستند بعد توقيعه."},
		{"fail/p7s_other_content", form(file{"file", "a.p7s", p7s}, file{"content", "a.txt", append(bytes.Clone(content), '!')}), "en", "TOTAL_FAILED", "",
			"pades.reason.digest_mismatch", "The document was changed after it was signed."},
		{"fail/untrusted_root", func() (string, []byte) { return raw(e.sign(t, testPDF(), e.stranger, pades.LevelBB)) }, "en", "INDETERMINATE", "",
			"pades.reason.untrusted", "The signer's certificate does not lead to a trusted certification authority."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := tt.body()
			a := post(t, nil, api, ct, tt.lang, body)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Fatalf("content type %q", a.header.Get("Content-Type"))
			}
			rep := decode[apiReport](t, a)
			if rep.Verdict != tt.verdict || len(rep.Signatures) != 1 {
				t.Fatalf("verdict %s, %d signatures, want %s: %s", rep.Verdict, len(rep.Signatures), tt.verdict, a.body)
			}
			s := rep.Signatures[0]
			if s.Verdict != tt.verdict || s.Level != tt.level || s.Reasons == nil {
				t.Fatalf("signature %+v", s)
			}
			if tt.reason != "" {
				i := slices.IndexFunc(s.Reasons, func(r apiReason) bool { return r.Key == tt.reason })
				if i < 0 || s.Reasons[i].Message != tt.message {
					t.Fatalf("reasons %+v, want %s: %q", s.Reasons, tt.reason, tt.message)
				}
			}
			if tt.verdict == "TOTAL_PASSED" {
				if s.Signer != "Nguyễn Thị Ánh" || s.SigningTime == nil || s.Revocation != "good" || len(s.Reasons) != 0 {
					t.Fatalf("signature %+v", s)
				}
				if s.Timestamped != (tt.level == "B-LT") || s.DocumentTimestamp {
					t.Fatalf("time-stamps %+v", s)
				}
			}
		})
	}
	t.Run("ok/document_timestamp", func(t *testing.T) {
		a := post(t, nil, api, "application/pdf", "en", e.sign(t, testPDF(), e.Signer, pades.LevelBLTA))
		rep := decode[apiReport](t, a)
		if rep.Verdict != "TOTAL_PASSED" || len(rep.Signatures) != 2 || !slices.ContainsFunc(rep.Signatures, func(s apiSignature) bool {
			return s.DocumentTimestamp && s.Signer == "Civitas TSA"
		}) {
			t.Fatalf("B-LTA: %s", a.body)
		}
	})
}

// Bad input is the reader's mistake: a 4xx with a message in their
// language, never a 500, on the API and on the page.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t, verify.Options{Online: e.rev, MaxFile: 256 << 10})
	api := srv.URL + "/api/verify/v1"
	big := append(testPDF(), bytes.Repeat([]byte("%padding\n"), 31<<10)...) // 279 KB: over MaxFile, under the body limit (MaxFile + 64 KB)
	huge := bytes.Repeat([]byte("x"), 2<<20)                                // over the server's body limit
	content := []byte("nội dung")
	tests := []struct {
		name    string
		ct      string
		body    []byte
		status  int
		message string // in English
	}{
		{"fail/garbage", "application/pdf", []byte("hello, this is not a PDF"), 400, "neither a PDF nor a .p7s"},
		{"fail/empty", "application/pdf", nil, 400, "The file you chose is empty."},
		{"fail/broken_pdf", "application/pdf", []byte("%PDF-1.7\ngarbage\nstartxref\n9\n%%EOF\n"), 400, "not a readable PDF"},
		{"fail/unsigned_pdf", "application/pdf", testPDF(), 400, "This PDF has no signatures."},
		{"fail/content_type", "text/plain", []byte("hello"), 400, "multipart/form-data"},
		{"fail/over_max_file", "application/pdf", big, 413, "The limit is 256 KB"},
		{"fail/over_body_limit", "application/pdf", huge, 413, "The limit is 320 KB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, nil, api, tt.ct, "en", tt.body)
			p := decode[problem](t, a)
			if a.status != tt.status || p.Status != tt.status || !strings.Contains(p.Detail, tt.message) {
				t.Fatalf("status %d, problem %+v, want %d with %q", a.status, p, tt.status, tt.message)
			}
		})
	}
	formTests := []struct {
		name    string
		files   []file
		status  int
		message string
	}{
		{"fail/no_file", nil, 400, "Please choose a file to check."},
		{"fail/empty_file", []file{{"file", "a.pdf", nil}}, 400, "The file you chose is empty."},
		{"fail/p7s_alone", []file{{"file", "a.p7s", detachedP7S(t, e, content)}}, 400, "Please also choose the file it signs"},
		{"fail/pdf_with_content", []file{{"file", "a.pdf", testPDF()}, {"content", "b.txt", content}}, 400, "Leave the second field empty"},
		{"fail/not_a_signature", []file{{"file", "a.p7s", []byte("-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n")}, {"content", "b.txt", content}}, 400, "not a readable .p7s"},
		{"fail/over_max_file", []file{{"file", "big.pdf", big}}, 413, "The limit is 256 KB"},
	}
	for _, tt := range formTests {
		t.Run("api/"+tt.name, func(t *testing.T) {
			ct, body := multipartBody(t, nil, tt.files...)
			a := post(t, nil, api, ct, "en", body)
			if p := decode[problem](t, a); a.status != tt.status || !strings.Contains(p.Detail, tt.message) {
				t.Fatalf("status %d, problem %+v, want %d with %q", a.status, p, tt.status, tt.message)
			}
		})
		t.Run("page/"+tt.name, func(t *testing.T) {
			a := newBrowser(t, srv.URL).submit("en", tt.files...)
			if a.status != tt.status || !strings.Contains(a.body, tt.message) {
				t.Fatalf("status %d, want %d with %q:\n%s", a.status, tt.status, tt.message, a.body)
			}
			if tt.status == 400 && !strings.Contains(a.body, `id="verify-form"`) {
				t.Fatal("the form is not shown again with the error")
			}
		})
	}
	t.Run("page/fail/over_body_limit_vi", func(t *testing.T) {
		a := newBrowser(t, srv.URL).submit("vi", file{"file", "huge.pdf", huge})
		if a.status != 413 || !strings.Contains(a.body, "Giới hạn là 320 KB") {
			t.Fatalf("status %d:\n%s", a.status, a.body)
		}
	})
}

// The page shows the verdict in big words with its colour class, each
// signature's facts and its reasons translated, and never the file name
// unescaped.
func TestReportPage(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t, verify.Options{Online: e.rev})
	signed := e.sign(t, testPDF(), e.Signer, pades.LevelBLT)
	content := []byte("Quyết định số 12/QĐ-UBND")
	verdictWord := regexp.MustCompile(`(?s)<h2 id="verdict-word">.*?<span class="verdict-word">([^<]+)</span></h2>`)
	tests := []struct {
		name  string
		lang  string
		files []file
		class string
		word  string
		want  []string
	}{
		{"ok/valid_en", "en", []file{{"file", "giay-xac-nhan.pdf", signed}}, "passed", "Valid",
			[]string{"Nguyễn Thị Ánh", "B-LT", "proven by a time-stamp", "Not revoked", "No problems found.", "giay-xac-nhan.pdf"}},
		{"ok/valid_vi", "vi", []file{{"file", "a.pdf", signed}}, "passed", "Hợp lệ", []string{"Chưa bị thu hồi"}},
		{"ok/valid_ar", "ar", []file{{"file", "a.pdf", signed}}, "passed", "صالح", []string{`dir="rtl"`}},
		{"fail/tampered_vi", "vi", []file{{"file", "a.pdf", tamper(t, signed)}}, "failed", "Không hợp lệ",
			[]string{"Tài liệu đã bị thay đổi sau khi ký."}},
		{"fail/untrusted_en", "en", []file{{"file", "a.pdf", e.sign(t, testPDF(), e.stranger, pades.LevelBB)}}, "indeterminate", "Cannot be confirmed",
			[]string{"Người Lạ", "does not lead to a trusted certification authority", "as the signer claims"}},
		{"ok/p7s_en", "en", []file{{"file", "a.p7s", detachedP7S(t, e, content)}, {"content", "a.txt", content}}, "passed", "Valid", []string{"B-B"}},
		{"ok/name_escaped", "en", []file{{"file", `<img src=x onerror=alert(1)>.pdf`, signed}}, "passed", "Valid",
			[]string{"&lt;img src=x onerror=alert(1)&gt;.pdf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBrowser(t, srv.URL).submit(tt.lang, tt.files...)
			if a.status != http.StatusOK {
				t.Fatalf("status %d:\n%s", a.status, a.body)
			}
			m := verdictWord.FindStringSubmatch(a.body)
			if m == nil || m[1] != tt.word || !strings.Contains(a.body, `class="verdict verdict-`+tt.class+`"`) {
				t.Fatalf("verdict %v, want %q (%s):\n%s", m, tt.word, tt.class, a.body)
			}
			for _, want := range tt.want {
				if !strings.Contains(a.body, html.EscapeString(want)) && !strings.Contains(a.body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(a.body, "<img src=x") || strings.Contains(a.body, "pades.reason.") || strings.Contains(a.body, "verify.") {
				t.Errorf("page shows raw markup or a raw key:\n%s", a.body)
			}
		})
	}
	t.Run("ok/token_in_header", func(t *testing.T) {
		// A form sent with the token in X-CSRF-Token is read as a stream.
		b := newBrowser(t, srv.URL)
		m := csrfToken.FindStringSubmatch(b.get("/verify?lang=en").body)
		ct, body := multipartBody(t, nil, file{"file", "a.pdf", signed})
		a := post(t, b.c, srv.URL+"/verify", ct, "", body, "Origin", srv.URL, "X-CSRF-Token", m[1])
		if a.status != http.StatusOK || !strings.Contains(a.body, "verdict-passed") {
			t.Fatalf("status %d:\n%s", a.status, a.body)
		}
	})
	t.Run("fail/no_csrf_token", func(t *testing.T) {
		ct, body := multipartBody(t, nil, file{"file", "a.pdf", signed})
		if a := post(t, nil, srv.URL+"/verify", ct, "en", body, "Origin", srv.URL); a.status != http.StatusForbidden {
			t.Fatalf("status %d", a.status)
		}
	})
}

// More than the allowed validations at once are refused with 503 and
// Retry-After, in the reader's language; a freed slot serves again.
func TestBusy(t *testing.T) {
	e := newEnv(t)
	sem := make(chan struct{}, 4)
	srv := e.server(t, verify.WithSemaphore(verify.Options{Online: e.rev}, sem))
	signed := e.sign(t, testPDF(), e.Signer, pades.LevelBB)
	for range cap(sem) {
		sem <- struct{}{}
	}
	a := post(t, nil, srv.URL+"/api/verify/v1", "application/pdf", "en", signed)
	if p := decode[problem](t, a); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" ||
		!strings.Contains(p.Detail, "Many people are checking documents") {
		t.Fatalf("full: %d %q %+v", a.status, a.header.Get("Retry-After"), p)
	}
	page := newBrowser(t, srv.URL).submit("vi", file{"file", "a.pdf", signed})
	if page.status != http.StatusServiceUnavailable || !strings.Contains(page.body, "Hiện có nhiều người") {
		t.Fatalf("full page: %d", page.status)
	}
	<-sem
	if a := post(t, nil, srv.URL+"/api/verify/v1", "application/pdf", "en", signed); a.status != http.StatusOK {
		t.Fatalf("with a free slot: %d %s", a.status, a.body)
	}
	if len(sem) != cap(sem)-1 {
		t.Fatalf("the slot was not given back: %d in use", len(sem))
	}
}

// Nothing uploaded stays on disk, whatever the outcome.
func TestUploadsAreDeleted(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	srv := e.server(t, verify.Options{Online: e.rev, MaxFile: 64 << 10})
	api := srv.URL + "/api/verify/v1"
	signed := e.sign(t, testPDF(), e.Signer, pades.LevelBT)
	content := []byte("x")
	for _, body := range [][]byte{signed, tamper(t, signed), []byte("garbage"), testPDF(), bytes.Repeat([]byte("%"), 100<<10)} {
		post(t, nil, api, "application/pdf", "en", body)
	}
	ct, body := multipartBody(t, nil, file{"file", "a.p7s", detachedP7S(t, e, content)}, file{"content", "a.txt", content})
	post(t, nil, api, ct, "en", body)
	newBrowser(t, srv.URL).submit("en", file{"file", "a.pdf", signed})
	srv.Close() // waits for the handlers
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range left {
		t.Errorf("left behind: %s", f.Name())
	}
}

// FuzzVerifyAPI: whatever bytes a stranger posts as a PDF, the answer is
// a report or a 4xx, never a 500 or a panic.
func FuzzVerifyAPI(f *testing.F) {
	e := newEnv(f)
	srv := e.server(f, verify.Options{Trust: func(context.Context) (pades.Trust, error) { return e.trust, nil }})
	h := srv.Config.Handler
	in := testPDF()
	f.Add(in)
	f.Add(e.sign(f, in, e.Signer, pades.LevelBB))
	f.Add(e.sign(f, in, e.Signer, pades.LevelBLTA))
	f.Add([]byte("%PDF-1.7\ngarbage\nstartxref\n9\n%%EOF\n"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/verify/v1", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/pdf")
		req.Header.Set("Accept-Language", "en")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
