package wallet_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// officerBrowser is a person's officerBrowser on the officer pages.
type officerBrowser struct {
	t    *testing.T
	h    *apiEnv
	c    *http.Client
	csrf string
}

var officerCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// officerBrowser is signed in with a level-2 session, as the officer pages
// need; level1Browser with a password-only one.
func (h *apiEnv) officerBrowser(t *testing.T, account string) *officerBrowser {
	return h.browserAt(t, account, "urn:civitas:acr:level2")
}

func (h *apiEnv) level1Browser(t *testing.T, account string) *officerBrowser {
	return h.browserAt(t, account, "urn:civitas:acr:level1")
}

func (h *apiEnv) browserAt(t *testing.T, account, acr string) *officerBrowser {
	jar, _ := cookiejar.New(nil)
	b := &officerBrowser{t: t, h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if account != "" {
		st, hd, _ := b.get("/test/login?" + url.Values{"account": {account}, "acr": {acr}}.Encode())
		b.csrf = hd.Get("X-Test-CSRF")
		if st != http.StatusNoContent {
			t.Fatalf("login: %d", st)
		}
	}
	return b
}

func (b *officerBrowser) do(req *http.Request) (int, http.Header, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := officerCSRF.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, resp.Header, string(body)
}

func (b *officerBrowser) get(path string) (int, http.Header, string) {
	req, _ := http.NewRequest(http.MethodGet, b.h.url+path, nil)
	return b.do(req)
}

// post sends a form with the CSRF token of the last page (unless the form
// carries one), as a page of the site would.
func (b *officerBrowser) post(path string, form url.Values) (int, http.Header, string) {
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.h.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.h.url)
	return b.do(req)
}

type officerPage struct {
	name    string
	send    func() (int, http.Header, string)
	status  int
	want    []string
	notWant []string
}

func checkOfficerPages(t *testing.T, pages []officerPage) {
	t.Helper()
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			st, hdr, body := p.send()
			if st != p.status {
				t.Fatalf("status %d, want %d: %s", st, p.status, body)
			}
			for _, w := range p.want {
				if !strings.Contains(body, w) && !strings.Contains(hdr.Get("Location"), w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, w := range p.notWant {
				if strings.Contains(body, w) {
					t.Errorf("the page has %q", w)
				}
			}
		})
	}
}

func TestOfficerPages(t *testing.T) {
	h := newAPIEnv(t)
	ins, err := h.reg.Agency(h.ctx, h.agency(registry.SocialInsurance))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := h.reg.Agency(h.ctx, h.agency(registry.Police))
	if err != nil {
		t.Fatal(err)
	}
	h.offs["acct-ins"] = []wallet.OfficialPost{{Agency: ins, Role: registry.Officer}}
	h.offs["acct-pol"] = []wallet.OfficialPost{{Agency: pol, Role: registry.PoliceOfficer}}
	p := h.person(0)
	anon, citizen, clerk, police := h.officerBrowser(t, ""), h.officerBrowser(t, "acct-nobody"), h.officerBrowser(t, "acct-ins"), h.officerBrowser(t, "acct-pol")
	clerk1 := h.level1Browser(t, "acct-ins")
	card := func(extra map[string]string) url.Values {
		f := url.Values{"agency": {ins.Code}, "type": {"health_insurance_card"}, "holder": {p.CitizenID},
			"claim.card_number": {"DN4797912345678"}, "claim.full_name": {p.FullName}, "claim.birth_date": {p.BirthDate},
			"claim.sex": {string(p.Sex)}, "claim.hospital": {"Bệnh viện Đa khoa tỉnh"}}
		for k, v := range extra {
			f.Set(k, v)
		}
		return f
	}
	issuePath := "/officer/wallet/issue?" + url.Values{"agency": {ins.Code}, "type": {"health_insurance_card"}, "holder": {p.CitizenID}}.Encode()
	checkOfficerPages(t, []officerPage{
		{"fail/not signed in", func() (int, http.Header, string) { return anon.get("/officer/wallet") }, http.StatusSeeOther, []string{"/login?next="}, nil},
		{"fail/no post", func() (int, http.Header, string) { return citizen.get("/officer/wallet") }, http.StatusForbidden, nil, nil},
		{"fail/a level-1 session is sent to sign in at level 2", func() (int, http.Header, string) { return clerk1.get(issuePath) }, http.StatusSeeOther,
			[]string{"/login?acr=level2&next=" + url.QueryEscape(issuePath)}, nil},
		{"fail/a level-1 session cannot issue", func() (int, http.Header, string) {
			return clerk1.post("/officer/wallet/issue", card(nil))
		}, http.StatusForbidden, []string{"phiên đăng nhập mức 2"}, nil},
		{"fail/a post at another agency", func() (int, http.Header, string) { return clerk.get("/officer/wallet?agency=" + pol.Code) }, http.StatusForbidden, nil, nil},
		{"ok/the desk offers what the agency issues", func() (int, http.Header, string) { return clerk.get("/officer/wallet") }, http.StatusOK,
			[]string{ins.Name, `value="health_insurance_card"`}, []string{`value="citizen_id_card"`}},
		{"ok/the desk in Arabic, right to left", func() (int, http.Header, string) { return police.get("/officer/wallet?lang=ar") }, http.StatusOK,
			[]string{`dir="rtl"`, "بطاقة الهوية", "إصدار وثيقة"}, nil},
		{"fail/the form of a type the agency may not issue", func() (int, http.Header, string) {
			return clerk.get("/officer/wallet/issue?agency=" + ins.Code + "&type=citizen_id_card")
		}, http.StatusForbidden, nil, nil},
		{"ok/the form from the type's schema, in English", func() (int, http.Header, string) { return clerk.get(issuePath + "&lang=en") }, http.StatusOK,
			[]string{`type="date" name="claim.birth_date"`, `name="claim.hospital"`, "Registered hospital", "Benefit level", `value="` + p.CitizenID + `"`,
				`name="from_registry"`}, nil},
		{"fail/a required claim left out, named by its label", func() (int, http.Header, string) {
			return clerk.post("/officer/wallet/issue", card(map[string]string{"claim.hospital": ""}))
		}, http.StatusBadRequest, []string{`id="error"`, "Registered hospital", `value="DN4797912345678"`}, nil},
		{"fail/without the CSRF token", func() (int, http.Header, string) {
			return clerk.post("/officer/wallet/issue", card(map[string]string{"csrf_token": "forged"}))
		}, http.StatusForbidden, nil, nil},
		{"fail/a type of another agency's kind, posted", func() (int, http.Header, string) {
			return clerk.post("/officer/wallet/issue", url.Values{"agency": {ins.Code}, "type": {"citizen_id_card"}, "holder": {p.CitizenID}, "from_registry": {"on"}})
		}, http.StatusForbidden, nil, nil},
		{"ok/issue with the claims typed", func() (int, http.Header, string) { return clerk.post("/officer/wallet/issue", card(nil)) }, http.StatusCreated,
			[]string{`id="document-id"`, `id="issued"`}, nil},
		{"ok/the police issue from the population registry", func() (int, http.Header, string) {
			if st, _, _ := police.get("/officer/wallet/issue?agency=" + pol.Code + "&type=citizen_id_card"); st != http.StatusOK {
				t.Fatalf("police form: %d", st)
			}
			return police.post("/officer/wallet/issue", url.Values{"agency": {pol.Code}, "type": {"citizen_id_card"}, "holder": {p.CitizenID}, "from_registry": {"on"}})
		}, http.StatusCreated, []string{`id="document-id"`}, nil},
		{"fail/no holder", func() (int, http.Header, string) {
			return police.post("/officer/wallet/issue", url.Values{"agency": {pol.Code}, "type": {"citizen_id_card"}, "from_registry": {"on"}})
		}, http.StatusBadRequest, []string{`id="error"`}, nil},
	})

	// The agency finds what it issued to the holder, and only that (the
	// clerk chose English above: the language stays with the browser).
	var insDoc, polDoc string
	for _, d := range apiDocuments(t, h, p.CitizenID) {
		switch d.Agency {
		case ins.Code:
			insDoc = d.ID
		case pol.Code:
			polDoc = d.ID
		}
	}
	if insDoc == "" || polDoc == "" {
		t.Fatal("the pages issued nothing")
	}
	list := "/officer/wallet/documents?" + url.Values{"agency": {ins.Code}, "kind": {"person"}, "holder": {p.CitizenID}}.Encode()
	status := func(b *officerBrowser, agency, id, st, reason string) func() (int, http.Header, string) {
		return func() (int, http.Header, string) {
			return b.post("/officer/wallet/documents/"+id+"/status", url.Values{"agency": {agency}, "kind": {"person"}, "holder": {p.CitizenID},
				"status": {st}, "reason": {reason}})
		}
	}
	checkOfficerPages(t, []officerPage{
		{"ok/the agency's documents of the holder", func() (int, http.Header, string) { return clerk.get(list) }, http.StatusOK,
			[]string{insDoc, "Health insurance card", ">Valid<"}, []string{polDoc}},
		{"fail/a malformed citizen ID", func() (int, http.Header, string) {
			return clerk.get("/officer/wallet/documents?agency=" + ins.Code + "&kind=person&holder=12x")
		}, http.StatusBadRequest, []string{`id="error"`}, nil},
		{"fail/a change without a reason", status(clerk, ins.Code, insDoc, wallet.StatusSuspended, ""), http.StatusBadRequest, []string{`id="error"`}, nil},
		{"fail/another agency's document", status(police, pol.Code, insDoc, wallet.StatusRevoked, "error"), http.StatusNotFound, []string{`id="error"`}, nil},
		{"ok/suspend", status(clerk, ins.Code, insDoc, wallet.StatusSuspended, "investigation"), http.StatusOK, []string{`id="notice"`, ">Suspended<"}, nil},
		{"ok/reinstate", status(clerk, ins.Code, insDoc, wallet.StatusValid, "other"), http.StatusOK, []string{`id="notice"`, ">Valid<"}, nil},
		{"ok/revoke", status(clerk, ins.Code, insDoc, wallet.StatusRevoked, "error"), http.StatusOK, []string{">Revoked<"}, nil},
		{"fail/revoked stays revoked", status(clerk, ins.Code, insDoc, wallet.StatusValid, "other"), http.StatusConflict, []string{`id="error"`}, nil},
	})

	// Each act is the official's, on behalf of the agency.
	for _, tc := range []struct{ action, actor, agency string }{
		{"wallet.issue", "acct-ins", ins.Code}, {"wallet.issue", "acct-pol", pol.Code},
		{"wallet.suspend", "acct-ins", ins.Code}, {"wallet.reinstate", "acct-ins", ins.Code}, {"wallet.revoke", "acct-ins", ins.Code},
	} {
		var n int
		if err := h.d.QueryRow(h.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = ? AND actor_kind = 'official' AND actor_id = ? AND on_behalf_of = ?`,
			tc.action, tc.actor, "agency:"+tc.agency).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s by %s: %d records, %v", tc.action, tc.actor, n, err)
		}
	}
}
