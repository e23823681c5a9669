package identity_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"civitas/internal/identity"
	"civitas/internal/registry"
)

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	from string // the client address it claims through the trusted proxy; "" for 127.0.0.1
	// header is the header of the latest answer.
	header http.Header
}

// do sends req from the browser's address.
func (b *browser) do(req *http.Request) (*http.Response, error) {
	if b.from != "" {
		req.Header.Set("X-Forwarded-For", b.from)
	}
	resp, err := b.c.Do(req)
	if err == nil {
		b.header = resp.Header
	}
	return resp, err
}

func (f *fixture) browser(srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: f.t, base: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	resp, err := b.do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// post submits a form with the CSRF token of page (fetched first) unless
// noToken is set.
func (b *browser) post(page, path string, form url.Values, noToken bool) (int, string, string) {
	b.t.Helper()
	if !noToken {
		_, _, body := b.get(page)
		m := csrfField.FindStringSubmatch(body)
		if m == nil {
			b.t.Fatalf("no CSRF token on %s", page)
		}
		form.Set("csrf_token", m[1])
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://civitas.test")
	resp, err := b.do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (b *browser) login(citizenID, password, otp string) {
	b.t.Helper()
	st, loc, body := b.post("/login", "/login", url.Values{"username": {citizenID}, "password": {password}, "otp": {otp}}, false)
	if st != http.StatusSeeOther || loc != "/account" {
		b.t.Fatalf("login: %d %s %s", st, loc, body)
	}
}

func (b *browser) sessionCookie() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "civitas_session" {
			return c.Value
		}
	}
	return ""
}

func TestPagesAccessRules(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.web.Handler())
	defer srv.Close()
	f.clock.Set(time.Now()) // sessions and cookies live in real time here

	anon := f.browser(srv)
	for _, path := range []string{"/account", "/account/history", "/officer", "/officer/enrol", "/account/totp"} {
		st, loc, _ := anon.get(path)
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
			t.Fatalf("anonymous %s: %d %s", path, st, loc)
		}
	}
	for _, path := range []string{"/login", "/register", "/activate"} {
		if st, _, _ := anon.get(path); st != http.StatusOK {
			t.Fatalf("anonymous %s: %d", path, st)
		}
	}

	// Citizen A registers online through the pages.
	pa := f.adultWithPhone(0)
	a := f.browser(srv)
	st, _, body := a.post("/register", "/register", url.Values{"citizen_id": {pa.CitizenID}, "full_name": {pa.FullName},
		"birth_date": {pa.BirthDate}, "phone": {pa.Phone}}, false)
	flow := regexp.MustCompile(`name="flow" value="([^"]+)"`).FindStringSubmatch(body)
	if st != http.StatusOK || flow == nil {
		t.Fatalf("register: %d", st)
	}
	before := a.sessionCookie()
	st, loc, _ := a.post("/register", "/register/verify", url.Values{"flow": {flow[1]}, "code": {f.lastCode(pa.Phone)},
		"password": {"citizen a password"}, "password_again": {"citizen a password"}}, false)
	if st != http.StatusSeeOther || loc != "/account?welcome=1" {
		t.Fatalf("verify: %d %s", st, loc)
	}
	if after := a.sessionCookie(); after == before || after == "" {
		t.Fatal("session not renewed at login (fixation)")
	}
	st, _, body = a.get("/account")
	if st != http.StatusOK || !strings.Contains(body, pa.FullName) {
		t.Fatalf("account page: %d", st)
	}

	// CSRF: a form without the token, or from another origin, is refused.
	if st, _, _ := a.post("", "/account/password", url.Values{"password": {"x"}}, true); st != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %d", st)
	}
	// The login's next is kept on this site.
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		b := f.browser(srv)
		_, loc, _ := b.post("/login", "/login", url.Values{"username": {pa.CitizenID}, "password": {"citizen a password"}, "next": {next}}, false)
		if loc != "/account" {
			t.Fatalf("next %q redirected to %q", next, loc)
		}
	}
	// Sign out elsewhere ends the other session, not this one.
	other := f.browser(srv)
	other.login(pa.CitizenID, "citizen a password", "")
	if st, _, _ := a.post("/account", "/account/sessions", url.Values{}, false); st != http.StatusSeeOther {
		t.Fatalf("end sessions: %d", st)
	}
	if st, _, _ := other.get("/account"); st != http.StatusSeeOther {
		t.Fatalf("other session still works: %d", st)
	}
	if st, _, _ := a.get("/account"); st != http.StatusOK {
		t.Fatalf("this session ended too: %d", st)
	}
	// Wrong password: 401 with the message, and the form keeps the username.
	wrong := f.browser(srv)
	st, _, body = wrong.post("/login", "/login", url.Values{"username": {pa.CitizenID}, "password": {"nope nope"}}, false)
	if st != http.StatusUnauthorized || !strings.Contains(body, `id="login-error"`) || !strings.Contains(body, pa.CitizenID) {
		t.Fatalf("wrong password: %d", st)
	}

	// Citizen A is no officer; an officer of another commune cannot enrol A.
	if st, _, _ := a.get("/officer"); st != http.StatusForbidden {
		t.Fatalf("citizen at /officer: %d", st)
	}
	police := f.officer(registry.Police, registry.PoliceOfficer, 0)
	if police.Area() == pa.UnitCode {
		police = f.officer(registry.Police, registry.PoliceOfficer, 3)
	}
	// With the password alone (a level-1 session) the officer pages ask for
	// a level-2 login and the forms are refused, in the service as well.
	o := f.browser(srv)
	o.login(police.CitizenID, "officer password", "")
	for _, path := range []string{"/officer", "/officer/enrol?agency=" + police.Agency.Code} {
		if st, loc, _ := o.get(path); st != http.StatusSeeOther || loc != "/login?acr=level2&next="+url.QueryEscape(path) {
			t.Fatalf("officer page %s from a level-1 session: %d %s", path, st, loc)
		}
	}
	for _, path := range []string{"/officer/enrol", "/officer/guardian", "/officer/account-status"} {
		st, _, body := o.post("/account", path, url.Values{"agency": {police.Agency.Code}, "citizen_id": {pa.CitizenID}}, false)
		if st != http.StatusForbidden || !strings.Contains(body, f.web.Catalog().T("vi", "error.identity.officer_level2")) {
			t.Fatalf("officer form %s from a level-1 session: %d", path, st)
		}
	}
	secret := f.enableTOTP(police.AccountID)
	st, loc, _ = o.post("/login?acr=level2&next=/officer", "/login", url.Values{"username": {police.CitizenID}, "password": {"officer password"},
		"otp": {identity.TOTPAt(secret, f.clock.Now())}, "acr": {"level2"}, "next": {"/officer"}}, false)
	if st != http.StatusSeeOther || loc != "/officer" {
		t.Fatalf("officer's level-2 login: %d %s", st, loc)
	}
	if st, _, _ := o.get("/officer"); st != http.StatusOK {
		t.Fatalf("officer desk: %d", st)
	}
	st, _, _ = o.get("/officer/enrol?agency=" + police.Agency.Code + "&citizen_id=" + pa.CitizenID)
	if pa.UnitCode != police.Area() && st != http.StatusForbidden {
		t.Fatalf("officer of another commune looks up a citizen: %d", st)
	}
	if st, _, _ := o.get("/officer/enrol?agency=X00000.CA"); st != http.StatusForbidden {
		t.Fatalf("officer at an agency not theirs: %d", st)
	}

	// Level-2 enrolment through the desk, printed letter, activation in the pages.
	pp := f.person("unit_code = ? AND birth_date < '1990-01-01' AND citizen_id NOT IN (SELECT citizen_id FROM accounts)", police.Area())
	st, _, body = o.post("/officer/enrol?agency="+police.Agency.Code+"&citizen_id="+pp.CitizenID, "/officer/enrol", url.Values{"agency": {police.Agency.Code},
		"citizen_id": {pp.CitizenID}, "chip_read": {"on"}, "face_match": {"on"}, "fingerprint": {"match"}, "attest": {"on"},
		"contact": {"letter"}}, false)
	code := regexp.MustCompile(`id="activation-code">([A-Z0-9-]+)<`).FindStringSubmatch(body)
	if st != http.StatusOK || code == nil {
		t.Fatalf("enrol: %d", st)
	}
	c := f.browser(srv)
	st, loc, _ = c.post("/activate", "/activate", url.Values{"citizen_id": {pp.CitizenID}, "code": {code[1]},
		"password": {"activated password"}, "password_again": {"activated password"}}, false)
	if st != http.StatusSeeOther || loc != "/account?activated=1" {
		t.Fatalf("activate: %d %s", st, loc)
	}
	if _, _, body := c.get("/account"); !strings.Contains(body, `id="account-level">`+"Mức 2") {
		t.Fatal("account page does not show level 2")
	}
	// Another citizen cannot open an organisation page not theirs.
	if st, _, _ := c.get("/account/organisations/01ABCDEFGHJKMNPQRSTVWXYZ00"); st != http.StatusNotFound {
		t.Fatalf("foreign organisation page: %d", st)
	}
	// Acting for someone not in their care is refused.
	st, _, _ = c.post("/account", "/account/act-for", url.Values{"whom": {"person:" + pa.CitizenID}}, false)
	if st != http.StatusForbidden {
		t.Fatalf("act for a stranger: %d", st)
	}
	acc, _ := f.svc.AccountByCitizen(f.ctx, pp.CitizenID)
	if acc.Level != 2 || acc.Status != identity.StatusActive {
		t.Fatalf("account after activation: %+v", acc)
	}
}
