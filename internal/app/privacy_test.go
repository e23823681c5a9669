package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/privacy"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// The privacy page through the whole router: a signed-in citizen
// downloads their data (theirs only) as JSON and PDF, asks for a
// correction; the page is in the signed-in navigation; nobody signed out
// reaches it; the officials' desk wants a level-2 session.
func TestPrivacyPages(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), true, 1000
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)

	ps, err := a.registry.ListPersons(ctx, kernel.Page{Limit: 50})
	if err != nil || len(ps) < 2 {
		t.Fatal(err)
	}
	me, other := ps[0], ps[len(ps)-1]
	octx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorOperator, ID: "test"})
	for _, p := range []string{me.CitizenID, other.CitizenID} {
		if _, err := a.identity.AddAccount(octx, identity.NewAccount{CitizenID: p, Level: 1, Password: "a long enough password 1"}); err != nil {
			t.Fatal(err)
		}
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		resp, err := browser.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	post := func(path string, form url.Values, page string) (int, http.Header) {
		t.Helper()
		_, _, body := get(page)
		m := csrfField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF field on %s", page)
		}
		form.Set("csrf_token", m[1])
		resp, err := browser.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}

	if st, h, _ := get("/account/privacy"); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("signed out: %d %s", st, h.Get("Location"))
	}
	if st, h := post("/login", url.Values{"username": {me.CitizenID}, "password": {"a long enough password 1"}}, "/login"); st != http.StatusSeeOther {
		t.Fatalf("login: %d %v", st, h)
	}
	st, _, page := get("/account/privacy")
	if st != http.StatusOK || !strings.Contains(page, `id="export-json"`) || !strings.Contains(page, `href="/account/privacy"`) {
		t.Fatalf("privacy page: %d\n%.600s", st, page)
	}
	st, h, body := get("/account/privacy/export.json")
	if st != http.StatusOK || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export.json: %d %v", st, h)
	}
	var ex privacy.Export
	if err := json.Unmarshal([]byte(body), &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Person.CitizenID != me.CitizenID || strings.Contains(body, other.CitizenID) {
		t.Fatalf("the export is not mine alone: %s", ex.Person.CitizenID)
	}
	names := map[string]bool{}
	for _, s := range ex.Person.Sections {
		names[s.Name] = true
	}
	for _, want := range []string{"registry", "account", "audit"} {
		if !names[want] {
			t.Errorf("the export lacks section %s: %v", want, names)
		}
	}
	st, h, body = get("/account/privacy/export.pdf")
	if a.privacy != nil && st == http.StatusOK && (h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-")) {
		t.Fatalf("export.pdf: %d %s", st, h.Get("Content-Type"))
	}
	if st != http.StatusOK && st != http.StatusServiceUnavailable {
		t.Fatalf("export.pdf: %d", st)
	}
	rec := me.CitizenID + "|registry|person|" + me.CitizenID
	if st, h := post("/account/privacy/corrections", url.Values{"record": {rec}, "wrong": {"Tên đệm sai"}, "correct": {"Tên đệm đúng"}}, "/account/privacy"); st != http.StatusSeeOther ||
		!strings.Contains(h.Get("Location"), "done=asked") {
		t.Fatalf("correction: %d %v", st, h)
	}
	if _, _, page := get("/account/privacy"); !strings.Contains(page, "Tên đệm đúng") {
		t.Fatal("the request is not on the page")
	}
	forged := other.CitizenID + "|registry|person|" + other.CitizenID
	if st, _ := post("/account/privacy/corrections", url.Values{"record": {forged}, "wrong": {"x"}, "correct": {"y"}}, "/account/privacy"); st != http.StatusNotFound {
		t.Fatalf("a correction of another's record: %d", st)
	}
	if st, h, _ := get("/officer/privacy"); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "acr=level2") {
		t.Fatalf("the desk from a level-1 session: %d %s", st, h.Get("Location"))
	}
}
