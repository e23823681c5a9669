package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/exchange"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
)

// portalSite is the whole platform over HTTP with two signed-in citizens:
// a browser session each and an access token of a citizen's app (a public
// client registered for the portal scope).
type portalSite struct {
	t    *testing.T
	a    *App
	base string
}

func newPortalSite(t *testing.T) *portalSite {
	t.Helper()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", true, 300
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	if err := a.oidc.AddClient(context.Background(), oidc.Client{ID: "mobile", AuthMethod: oidc.AuthNone, RedirectURIs: []string{"http://127.0.0.1/cb"}}); err != nil {
		t.Fatal(err)
	}
	return &portalSite{t: t, a: a, base: srv.URL}
}

// citizen is a signed-in demo adult: their browser and their app's token.
type citizen struct {
	id      string
	browser *http.Client
	token   string
}

var hiddenField = regexp.MustCompile(`name="(csrf_token|flow|next|acr)" value="([^"]*)"`)

func (s *portalSite) page(resp *http.Response, err error) (*http.Response, string, url.Values) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(string(b), -1) {
		v.Set(m[1], m[2])
	}
	return resp, string(b), v
}

// signIn gives the n-th demo adult an account and signs them in, in a
// browser and through the app (authorization code with PKCE), for scope.
func (s *portalSite) signIn(n int, scope string) citizen {
	t := s.t
	t.Helper()
	ctx := context.Background()
	persons, err := s.a.registry.ListPersons(ctx, kernel.Page{Limit: 300})
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, p := range persons {
		if p.BirthDate >= "1960" && p.BirthDate <= "2000" && p.HouseholdID != "" {
			if n == 0 {
				id = p.CitizenID
				break
			}
			n--
		}
	}
	const password = "portal api password"
	if _, err := s.a.identity.AddAccount(ctx, identity.NewAccount{CitizenID: id, Level: 1, Password: password}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const redirect = "http://127.0.0.1/cb"
	verifier := kernel.NewToken()
	sum := sha256.Sum256([]byte(verifier))
	authorize := s.base + "/oidc/authorize?" + url.Values{"client_id": {"mobile"}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	resp, _, _ := s.page(browser.Get(authorize))
	_, _, login := s.page(browser.Get(s.base + resp.Header.Get("Location")))
	login.Set("username", id)
	login.Set("password", password)
	resp, _, _ = s.page(browser.PostForm(s.base+"/login", login))
	resp, _, consent := s.page(browser.Get(s.base + resp.Header.Get("Location")))
	if consent.Get("flow") != "" {
		consent.Set("decision", "allow")
		resp, _, _ = s.page(browser.PostForm(s.base+"/oidc/consent", consent))
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest("POST", s.base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
		"client_id": {"mobile"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return citizen{id: id, browser: browser, token: accessToken(t, req)}
}

func (s *portalSite) api(c citizen, method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestPortalAPI holds the fixed contract of the JSON API for citizens'
// apps: POST /api/portal/v1/applications with the citizen's access token
// answers 201 with id, status draft, a null due_date and what was
// pre-filled; submit gives the promised date; GET returns it — to its
// citizen only, and only with the portal scope.
func TestPortalAPI(t *testing.T) {
	s := newPortalSite(t)
	me := s.signIn(0, "openid portal")
	code, m := s.api(me, "POST", "/api/portal/v1/applications", map[string]any{"procedure": "residence_confirmation", "fields": map[string]string{"purpose": "bank"}})
	if code != http.StatusCreated || m["status"] != "draft" || m["due_date"] != nil || m["id"] == "" {
		t.Fatalf("start: %d %v", code, m)
	}
	if _, ok := m["due_date"]; !ok {
		t.Error("due_date is absent, not null")
	}
	pre, _ := m["prefilled"].(map[string]any)
	if pre["citizen_id"] != me.id || pre["full_name"] == "" || pre["address"] == nil {
		t.Errorf("prefilled %v", pre)
	}
	id := m["id"].(string)
	code, m = s.api(me, "POST", "/api/portal/v1/applications/"+id+"/submit", nil)
	if code != http.StatusOK || m["status"] != "submitted" || m["due_date"] == nil || m["receipt"] == "" {
		t.Fatalf("submit: %d %v", code, m)
	}
	code, m = s.api(me, "GET", "/api/portal/v1/applications/"+id, nil)
	if code != http.StatusOK || m["id"] != id || m["status"] != "submitted" {
		t.Fatalf("get: %d %v", code, m)
	}
	code, m = s.api(me, "POST", "/api/portal/v1/applications/"+id+"/submit", nil)
	if code != http.StatusConflict || m["code"] == nil {
		t.Errorf("submitted twice: %d %v", code, m)
	}

	other := s.signIn(1, "openid portal")
	if code, _ := s.api(other, "GET", "/api/portal/v1/applications/"+id, nil); code != http.StatusNotFound {
		t.Errorf("another citizen's GET: %d", code)
	}
	if code, _ := s.api(other, "POST", "/api/portal/v1/applications/"+id+"/withdraw", nil); code != http.StatusNotFound {
		t.Errorf("another citizen's withdraw: %d", code)
	}
	if code, _ := s.api(citizen{}, "GET", "/api/portal/v1/applications/"+id, nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	noScope := s.signIn(2, "openid")
	if code, _ := s.api(noScope, "POST", "/api/portal/v1/applications", map[string]any{"procedure": "residence_confirmation"}); code != http.StatusForbidden {
		t.Errorf("without the portal scope: %d", code)
	}
	for name, body := range map[string]any{
		"fail/unknown procedure":  map[string]any{"procedure": "nope"},
		"fail/a state-held field": map[string]any{"procedure": "residence_confirmation", "fields": map[string]string{"full_name": "Someone Else"}},
		"fail/not a dependant":    map[string]any{"procedure": "health_insurance_card_child", "for": other.id},
	} {
		code, m := s.api(me, "POST", "/api/portal/v1/applications", body)
		if code < 400 || code >= 500 || m["code"] == nil {
			t.Errorf("%s: %d %v", name, code, m)
		}
	}
	code, m = s.api(citizen{}, "GET", "/api/portal/v1/procedures", nil)
	if procs, _ := m["procedures"].([]any); code != http.StatusOK || len(procs) < 25 {
		t.Errorf("procedures: %d %d", code, len(procs))
	}
	resp, err := http.Get(s.base + "/api/portal/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("openapi: 3.1.0")) || !bytes.Contains(b, []byte("/applications/{id}/submit:")) {
		t.Errorf("openapi: %d", resp.StatusCode)
	}
	code, m = s.api(citizen{}, "GET", "/api/portal/v1/statistics?from=2020-01-01", nil)
	if units, _ := m["units"].([]any); code != http.StatusOK || len(units) != 1 {
		t.Errorf("statistics: %d %v", code, m)
	}
}

// TestPortalUploadsAreDownloads: a file is checked by its content, and is
// only ever served as an attachment of a fixed type, not to be sniffed.
func TestPortalUploadsAreDownloads(t *testing.T) {
	s := newPortalSite(t)
	me := s.signIn(0, "openid portal")
	_, m := s.api(me, "POST", "/api/portal/v1/applications", map[string]any{"procedure": "land_first_registration"})
	id, _ := m["id"].(string)
	if id == "" {
		t.Fatalf("start: %v", m)
	}
	_, _, form := s.page(me.browser.Get(s.base + "/portal/applications/" + id))
	upload := func(name string, content []byte) int {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		_ = w.WriteField("csrf_token", form.Get("csrf_token"))
		_ = w.WriteField("application", id)
		_ = w.WriteField("input", "land_origin_document")
		f, _ := w.CreateFormFile("file", name)
		_, _ = f.Write(content)
		_ = w.Close()
		req, _ := http.NewRequest("POST", s.base+"/portal/uploads", &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Origin", s.base)
		resp, err := me.browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := upload("page.html", []byte("<html><script>alert(document.cookie)</script></html>")); code != http.StatusBadRequest {
		t.Errorf("an HTML file: %d", code)
	}
	if code := upload("so-do.pdf", []byte("%PDF-1.4\n%%EOF\n")); code != http.StatusSeeOther {
		t.Fatalf("a PDF: %d", code)
	}
	_, body, _ := s.page(me.browser.Get(s.base + "/portal/applications/" + id))
	link := regexp.MustCompile(`/portal/applications/` + id + `/files/[a-z0-9]+`).FindString(body)
	if link == "" {
		t.Fatal("no link to the file")
	}
	resp, err := me.browser.Get(s.base + link)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || h.Get("Content-Type") != "application/octet-stream" ||
		h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("download: %d %v", resp.StatusCode, h)
	}
	other := s.signIn(1, "openid")
	if resp, _, _ := s.page(other.browser.Get(s.base + link)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another citizen downloads it: %d", resp.StatusCode)
	}
}

// TestPortalReadsOfOthersAreLogged: an application's read of another
// person's data (the other parent of a birth) is in that person's
// data-use log with the application as its case; the applicant's reads of
// their own data are not.
func TestPortalReadsOfOthersAreLogged(t *testing.T) {
	s := newPortalSite(t)
	me := s.signIn(0, "openid portal")
	other := s.signIn(1, "openid")
	code, m := s.api(me, "POST", "/api/portal/v1/applications", map[string]any{"procedure": "birth_registration",
		"fields": map[string]string{"other_parent.citizen_id": other.id}})
	if code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, m)
	}
	id := m["id"].(string)
	if pre, _ := m["prefilled"].(map[string]any); pre["other_parent.full_name"] == nil {
		t.Fatalf("the other parent was not read: %v", pre)
	}
	ctx := context.Background()
	uses, _, err := s.a.exchange.Uses(ctx, exchange.UseQuery{Subject: other.id})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range uses {
		found = found || u.CaseRef == id && u.Channel == "portal" && u.Service == "population.person" && u.Purpose == "administrative_procedure"
	}
	if !found {
		t.Errorf("the other parent's log: %+v", uses)
	}
	mine, _, err := s.a.exchange.Uses(ctx, exchange.UseQuery{Subject: me.id})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range mine {
		if u.CaseRef == id {
			t.Errorf("the applicant's own read is logged: %+v", u)
		}
	}
}
