package signing_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pdf/pdftest"
	"civitas/internal/pki"
	"civitas/internal/signing"
	"civitas/internal/web"
)

// directory: acct-NN is citizen 0010900000NN of commune 00001.
type directory struct{}

func (directory) CitizenOf(_ context.Context, accountID string) (string, string, error) {
	if !strings.HasPrefix(accountID, "acct-") {
		return "", "", kernel.E(kernel.NotFound, "error.not_found")
	}
	return "0010900000" + accountID[5:], "00001", nil
}

type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	// The token comes from the page whose form is posted, as in a browser.
	from := "/account/signing"
	if strings.HasPrefix(path, "/sign/") {
		from = path[:strings.LastIndex(path, "/")]
	}
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	_, page := b.get(from)
	m := token.FindStringSubmatch(page)
	if m == nil { // a page of someone else's: take the session's token from a form of one's own
		_, page = b.get("/account/signing")
		m = token.FindStringSubmatch(page)
	}
	if m != nil {
		form.Set("csrf_token", m[1])
	}
	req, _ := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.url)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if testing.Verbose() && resp.StatusCode >= 400 {
		b.t.Logf("POST %s: %d %s", path, resp.StatusCode, regexp.MustCompile(`(?s)<main.*</main>`).FindString(string(body)))
	}
	return resp.StatusCode, resp.Header.Get("Location")
}

// The holder's pages: enrol needs a level-2 session; the phone page shows
// only the holder's own requests; approving with the code signs, a wrong
// code signs nothing; another holder can neither see nor decide.
func TestHolderPages(t *testing.T) {
	e := newEnv(t)
	cat, _ := i18n.Load()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Mount(ws, directory{}); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}/{acr}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "urn:civitas:acr:" + r.PathValue("acr")}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	defer srv.Close()
	login := func(id, acr string) *browser {
		jar, _ := cookiejar.New(nil)
		b := &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		if id != "" {
			b.get("/test/login/" + id + "/" + acr)
		}
		return b
	}

	if st, _ := login("", "").get("/sign"); st != http.StatusSeeOther {
		t.Fatalf("anonymous /sign: %d", st)
	}
	weak := login("acct-01", "level1")
	if st, _ := weak.post("/account/signing/enrol", url.Values{}); st != http.StatusForbidden {
		t.Fatalf("enrol with a level-1 session: %d", st)
	}
	holder := login("acct-01", "level2")
	if st, loc := holder.post("/account/signing/enrol", url.Values{}); st != http.StatusSeeOther || !strings.Contains(loc, "enrolled") {
		t.Fatalf("enrol: %d %s", st, loc)
	}
	holder.post("/account/signing/enrol", url.Values{}) // a second click makes no second credential
	creds, _ := e.s.Credentials(e.ctx, "acct-01")
	if len(creds) != 1 {
		t.Fatalf("%d credentials after two clicks", len(creds))
	}
	if st, _ := holder.post("/account/signing/activate", url.Values{"credential": {creds[0].ID}, "code": {"111111"}}); st != http.StatusUnauthorized {
		t.Fatalf("activate with a wrong code: %d", st)
	}
	if st, _ := holder.post("/account/signing/activate", url.Values{"credential": {creds[0].ID}, "code": {goodCode}}); st != http.StatusSeeOther {
		t.Fatalf("activate: %d", st)
	}

	items := hashes(2, "page")
	r, err := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: creds[0].ID, Client: "Cổng dịch vụ công", Description: "Đăng ký khai sinh cho con", Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if _, page := holder.get("/sign"); !strings.Contains(page, "Cổng dịch vụ công") || !strings.Contains(page, "/sign/"+r.ID) {
		t.Fatal("the phone page does not list the request")
	}
	if st, page := holder.get("/sign/" + r.ID); st != http.StatusOK || !strings.Contains(page, items[1].Label) {
		t.Fatalf("request page: %d", st)
	}
	other := login("acct-02", "level2")
	if _, page := other.get("/sign"); strings.Contains(page, r.ID) {
		t.Fatal("another holder sees the request")
	}
	if st, _ := other.get("/sign/" + r.ID); st != http.StatusNotFound {
		t.Fatalf("another holder opens it: %d", st)
	}
	if st, _ := other.post("/sign/"+r.ID+"/approve", url.Values{"code": {goodCode}}); st != http.StatusNotFound {
		t.Fatalf("another holder approves: %d", st)
	}
	if st, _ := holder.post("/sign/"+r.ID+"/approve", url.Values{"code": {"000000"}}); st != http.StatusUnauthorized {
		t.Fatalf("approve with a wrong code: %d", st)
	}
	if st, items, _ := e.s.Results(e.ctx, "Cổng dịch vụ công", r.ID); st != signing.RequestPending || items != nil {
		t.Fatalf("after a wrong code: %s", st)
	}
	if st, loc := holder.post("/sign/"+r.ID+"/approve", url.Values{"code": {goodCode}}); st != http.StatusSeeOther || !strings.Contains(loc, "signed") {
		t.Fatalf("approve: %d %s", st, loc)
	}
	st, signed, err := e.s.Results(e.ctx, "Cổng dịch vụ công", r.ID)
	if err != nil || st != signing.RequestDone || len(signed) != 2 || len(signed[0].Signature) == 0 {
		t.Fatalf("results: %s %d %v", st, len(signed), err)
	}
	if _, _, err := e.s.Results(e.ctx, "another app", r.ID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another application reads the results: %v", err)
	}
}

// A holder uploads a PDF, approves it on the phone page and downloads it
// signed at B-LT, which validates offline from what the file carries.
func TestUploadApproveDownload(t *testing.T) {
	e := newEnv(t)
	if err := e.ca.StartOnline(e.ctx); err != nil {
		t.Fatal(err)
	}
	tsaChain, _ := e.ca.TSAChain()
	// With a system font the holder may ask for a visible signature.
	var font *pdf.Font
	if b, err := pdf.SystemFont(); err == nil {
		font, _ = pdf.ParseFont(b)
	}
	s, err := signing.New(signing.Options{DB: e.d, Clock: e.clock, Keys: keys{e.ca}, Confirm: &confirmer{},
		PDF: &signing.PDF{Chain: e.ca.Chain, Stamper: e.ca.Stamper(), Revocation: e.ca, TSAChain: tsaChain, MaxFile: 1 << 20, Font: font}})
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	e.active(1)
	cat, _ := i18n.Load()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Mount(ws, directory{}); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}/{acr}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "urn:civitas:acr:" + r.PathValue("acr")}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.get("/test/login/acct-01/level2")
	upload := func(name string, data []byte) (int, string) {
		_, page := b.get("/sign/upload")
		m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no upload form")
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf_token", m[1])
		if strings.Contains(page, `name="visible"`) != (font != nil) {
			t.Fatal("the visible option is offered without a font, or not offered with one")
		}
		if font != nil {
			_ = mw.WriteField("visible", "on")
		}
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(data)
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sign/upload", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Origin", srv.URL)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if st, _ := upload("notes.txt", []byte("không phải PDF")); st != http.StatusBadRequest {
		t.Fatalf("a text file: %d", st)
	}
	if st, _ := upload("big.pdf", bytes.Repeat([]byte("x"), 2<<20)); st != http.StatusRequestEntityTooLarge && st != http.StatusBadRequest {
		t.Fatalf("too large: %d", st)
	}
	st, loc := upload("../../Giấy khai sinh.pdf", pdftest.Tiny())
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign/") {
		t.Fatalf("upload: %d %s", st, loc)
	}
	id := strings.TrimPrefix(loc, "/sign/")
	if st, _ := b.get(loc + "/download"); st != http.StatusConflict {
		t.Fatalf("download before approval: %d", st)
	}
	_, page := b.get(loc)
	if !strings.Contains(page, "Giấy khai sinh.pdf") || strings.Contains(page, "../") {
		t.Fatal("the request page does not show the file's clean name")
	}
	_, list := b.get("/sign/documents")
	if !strings.Contains(list, "Giấy khai sinh.pdf") || strings.Contains(list, loc+"/download") {
		t.Fatal("my documents list lacks the upload, or offers a download before signing")
	}
	// Approving their own upload brings the holder back to it, with its download.
	if st, to := b.post(loc+"/approve", url.Values{"code": {goodCode}}); st != http.StatusSeeOther || to != loc+"?done=signed_own" {
		t.Fatalf("approve: %d %s", st, to)
	}
	if _, page := b.get(loc + "?done=signed_own"); !strings.Contains(page, `id="download"`) || !strings.Contains(page, `id="signing-notice"`) {
		t.Fatal("after approval the request page lacks the notice or the download")
	}
	if _, list := b.get("/sign/documents"); !strings.Contains(list, loc+"/download") {
		t.Fatal("my documents list does not offer the signed PDF")
	}
	resp, err := b.c.Get(srv.URL + loc + "/download")
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !strings.Contains(resp.Header.Get("Content-Disposition"), "signed.pdf") {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	root, _ := e.ca.CA(pki.Root)
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	rep, err := pades.Validate(e.ctx, bytes.NewReader(signed), int64(len(signed)), pades.Trust{Roots: roots}, nil)
	if err != nil || rep.Verdict != pades.Passed || rep.Signatures[0].Level != pades.LevelBLT {
		t.Fatalf("the downloaded PDF: %+v %v", rep, err)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil && font != nil {
		// The visible signature: who signed and when, on the first page.
		cmd := exec.Command("pdftotext", "-f", "1", "-l", "1", "-", "-")
		cmd.Stdin = bytes.NewReader(signed)
		text, err := cmd.Output()
		if err != nil || !strings.Contains(string(text), "Signed by:") || !strings.Contains(string(text), "+07:00") {
			t.Fatalf("the visible signature: %v %q", err, text)
		}
	}
	// Another holder cannot download it.
	jar2, _ := cookiejar.New(nil)
	other := &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar2, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	other.get("/test/login/acct-02/level2")
	if st, _ := other.get("/sign/" + id + "/download"); st != http.StatusNotFound {
		t.Fatalf("another holder downloads: %d", st)
	}
}
