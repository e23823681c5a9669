package wallet_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/audit"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// noSMS is identity's SMS in the wallet's tests, which text nobody.
type noSMS struct{}

func (noSMS) Send(context.Context, string, string) error { return nil }

// walletSite is the wallet's pages on the real router, with the e-ID of the demo
// province behind them and a test-only login.
type walletSite struct {
	*env
	id  *identity.Service
	srv *httptest.Server
}

// shareWrongCodes is how many wrong share codes lock a client in these tests.
const shareWrongCodes = 4

func newWalletSite(t *testing.T) *walletSite {
	t.Helper()
	e := newEnv(t)
	box, _ := sealed.New(bytes.Repeat([]byte{3}, sealed.KeySize))
	id, err := identity.New(identity.Options{DB: e.d, Clock: e.clock, Registry: e.reg, Box: box, SMS: noSMS{},
		Password: identity.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	throttle := &identity.Throttle{DB: e.d, Clock: e.clock, MaxFailures: shareWrongCodes, Window: 15 * time.Minute, LockFor: time.Minute, MaxLock: time.Hour}
	if err := e.w.MountPages(wallet.PagesOptions{Web: ws, Accounts: app.WalletAccounts(id), Registry: e.reg, Throttle: throttle, PublicURL: pub.String()}); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "urn:civitas:acr:level2"}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &walletSite{env: e, id: id, srv: srv}
}

// account opens a level-2 account for a demo person.
func (s *walletSite) account(citizenID string) identity.Account {
	s.t.Helper()
	a, err := s.id.AddAccount(s.ctx, identity.NewAccount{CitizenID: citizenID, Level: 2, Password: "a long test password 1"})
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// pageClient is a browser: signed in as an account, or anonymous ("").
type pageClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (s *walletSite) client(accountID string) *pageClient {
	jar, _ := cookiejar.New(nil)
	c := &pageClient{t: s.t.(*testing.T), base: s.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if accountID != "" {
		c.get("/test/login/" + accountID)
	}
	return c
}

func (c *pageClient) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.c.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

var walletCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post sends a form with the session's CSRF token, as a browser would.
func (c *pageClient) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	_, page := c.get("/wallet")
	if m := walletCSRF.FindStringSubmatch(page); m != nil {
		form.Set("csrf_token", m[1])
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

// pageStep is one request of a scenario and what its answer must (not) say.
type pageStep struct {
	name   string
	who    *pageClient
	method string
	path   string
	form   url.Values
	status int
	has    []string
	lacks  []string
}

func runSteps(t *testing.T, steps []pageStep) {
	t.Helper()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var code int
			var body string
			if st.method == http.MethodPost {
				code, body = st.who.post(st.path, st.form)
			} else {
				code, body = st.who.get(st.path)
			}
			if code != st.status {
				t.Fatalf("%s %s: status %d, want %d\n%s", st.method, st.path, code, st.status, pageMain(body))
			}
			for _, s := range st.has {
				if !strings.Contains(body, s) {
					t.Errorf("%s %s lacks %q\n%s", st.method, st.path, s, pageMain(body))
				}
			}
			for _, s := range st.lacks {
				if strings.Contains(body, s) {
					t.Errorf("%s %s shows %q", st.method, st.path, s)
				}
			}
		})
	}
}

// pullOffer is the wallet list's offer to pull a type for a holder.
func pullOffer(holder, typ string) string {
	return `name="holder" value="` + holder + `"><input type="hidden" name="type" value="` + typ + `">`
}

func pageMain(page string) string {
	if m := regexp.MustCompile(`(?s)<main.*</main>`).FindString(page); m != "" {
		return m
	}
	return page
}

// pagePeople are the demo's parties: a parent with a child under 14, another
// adult, an official, and a business's legal representative.
type pagePeople struct {
	parent, child, other, official, rep registry.Person
	business                            registry.Business
	officialAgency                      registry.Agency
}

func (s *walletSite) people() pagePeople {
	s.t.Helper()
	var pp pagePeople
	now := s.clock.Now()
	adult, young := now.AddDate(-25, 0, 0).Format(time.DateOnly), now.AddDate(-12, 0, 0).Format(time.DateOnly)
	var parent, child string
	err := s.d.QueryRow(s.ctx, `SELECT p.citizen_id, c.citizen_id FROM persons p JOIN persons c ON c.household_id = p.household_id
		WHERE p.birth_date < ? AND c.birth_date > ? AND p.citizen_id NOT IN (SELECT citizen_id FROM officials)
		AND p.citizen_id NOT IN (SELECT legal_rep_citizen_id FROM businesses) ORDER BY p.citizen_id LIMIT 1`, adult, young).Scan(&parent, &child)
	if err != nil {
		s.t.Fatalf("no parent with a young child in the demo: %v", err)
	}
	var other, official, agency string
	if err := s.d.QueryRow(s.ctx, `SELECT citizen_id FROM persons WHERE birth_date < ? AND household_id <> (SELECT household_id FROM persons WHERE citizen_id = ?)
		AND citizen_id NOT IN (SELECT citizen_id FROM officials) AND citizen_id NOT IN (SELECT legal_rep_citizen_id FROM businesses)
		ORDER BY citizen_id LIMIT 1`, adult, parent).Scan(&other); err != nil {
		s.t.Fatal(err)
	}
	if err := s.d.QueryRow(s.ctx, `SELECT citizen_id, agency_code FROM officials WHERE citizen_id NOT IN (SELECT legal_rep_citizen_id FROM businesses)
		ORDER BY id LIMIT 1`).Scan(&official, &agency); err != nil {
		s.t.Fatal(err)
	}
	b := s.business()
	person := func(id string) registry.Person {
		p, err := s.reg.Person(s.ctx, id)
		if err != nil {
			s.t.Fatal(err)
		}
		return p
	}
	pp.parent, pp.child, pp.other, pp.official, pp.rep, pp.business = person(parent), person(child), person(other), person(official), person(b.LegalRepCitizenID), b
	if pp.officialAgency, err = s.reg.Agency(s.ctx, agency); err != nil {
		s.t.Fatal(err)
	}
	return pp
}

var shareCode = regexp.MustCompile(`id="share-code" dir="ltr">([0-9A-Z]{4}-[0-9A-Z]{4})<`)

// share makes a share through the holder's page and returns its code.
func makeShare(t *testing.T, c *pageClient, docID string, form url.Values) string {
	t.Helper()
	st, page := c.post("/wallet/"+docID+"/share", form)
	m := shareCode.FindStringSubmatch(page)
	if st != http.StatusOK || m == nil {
		t.Fatalf("share: %d\n%s", st, pageMain(page))
	}
	return m[1]
}

func shareForm(purpose, ttl, uses string, claims ...string) url.Values {
	return url.Values{"claim": claims, "purpose": {purpose}, "ttl": {ttl}, "uses": {uses}}
}

// The holder's pages: only the holder, their guardian or their
// organisation's members list, read, hide and pull documents.
func TestWalletPages(t *testing.T) {
	s := newWalletSite(t)
	pp := s.people()
	parentAcct, otherAcct, repAcct := s.account(pp.parent.CitizenID), s.account(pp.other.CitizenID), s.account(pp.rep.CitizenID)
	if err := s.id.AddDependent(s.ctx, parentAcct.ID, pp.child.CitizenID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.id.RegisterOrganisation(s.ctx, repAcct.ID, pp.business.RegNumber); err != nil {
		t.Fatal(err)
	}
	insurance, police, committee := s.agency(registry.SocialInsurance), s.agency(registry.Police), s.agency(registry.PeopleCommittee)
	parent := wallet.Holder{Kind: wallet.HolderPerson, ID: pp.parent.CitizenID}
	health, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: parent, Claims: healthCard(pp.parent)})
	if err != nil {
		t.Fatal(err)
	}
	childCard, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: police, Type: "citizen_id_card", Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: pp.child.CitizenID}})
	if err != nil {
		t.Fatal(err)
	}
	orgDoc, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: committee, Type: "business_registration", Holder: wallet.Holder{Kind: wallet.HolderOrganisation, ID: pp.business.RegNumber}})
	if err != nil {
		t.Fatal(err)
	}
	anon, holder, other, rep := s.client(""), s.client(parentAcct.ID), s.client(otherAcct.ID), s.client(repAcct.ID)
	insuranceName := func() string { a, _ := s.reg.Agency(s.ctx, insurance); return a.Name }()

	runSteps(t, []pageStep{
		{name: "fail/anonymous is sent to log in", who: anon, path: "/wallet", status: http.StatusSeeOther, has: []string{"/login?next=%2Fwallet"}},
		{name: "fail/anonymous opens a document", who: anon, path: "/wallet/" + health.ID, status: http.StatusSeeOther, has: []string{"/login"}},
		{name: "ok/the holder lists their documents and their child's", who: holder, path: "/wallet", status: http.StatusOK,
			has:   []string{"/wallet/" + health.ID, "Thẻ bảo hiểm y tế", insuranceName, "/wallet/" + childCard.ID, pp.child.FullName, "Còn hiệu lực"},
			lacks: []string{orgDoc.ID}},
		{name: "ok/in English", who: s.client(parentAcct.ID), path: "/wallet?lang=en", status: http.StatusOK, has: []string{"Health insurance card", "Document wallet", `lang="en"`}},
		{name: "ok/in Arabic, right to left", who: s.client(parentAcct.ID), path: "/wallet?lang=ar", status: http.StatusOK, has: []string{`dir="rtl"`, "بطاقة التأمين الصحي"}},
		{name: "ok/the holder reads a document as received", who: holder, path: "/wallet/" + health.ID, status: http.StatusOK,
			has: []string{"DN4797912345678", "Bệnh viện Đa khoa tỉnh", "Mã số BHXH", "đính chính"}},
		{name: "ok/the guardian reads the child's document", who: holder, path: "/wallet/" + childCard.ID, status: http.StatusOK,
			has: []string{pp.child.CitizenID, pp.child.FullName}},
		{name: "ok/the representative lists the organisation's documents", who: rep, path: "/wallet", status: http.StatusOK,
			has: []string{"/wallet/" + orgDoc.ID, pp.business.Name}, lacks: []string{health.ID}},
		{name: "ok/another adult sees none of them", who: other, path: "/wallet", status: http.StatusOK,
			lacks: []string{health.ID, childCard.ID, orgDoc.ID, pp.child.FullName}},
		{name: "fail/another adult opens the holder's document", who: other, path: "/wallet/" + health.ID, status: http.StatusNotFound, lacks: []string{"DN4797912345678"}},
		{name: "fail/another adult opens the child's document", who: other, path: "/wallet/" + childCard.ID, status: http.StatusNotFound, lacks: []string{pp.child.CitizenID}},
		{name: "fail/the guardian opens the organisation's document", who: holder, path: "/wallet/" + orgDoc.ID, status: http.StatusNotFound},
		{name: "fail/no such document", who: holder, path: "/wallet/nosuchdocument", status: http.StatusNotFound},
		{name: "fail/another adult hides it", who: other, method: http.MethodPost, path: "/wallet/" + health.ID + "/hidden", form: url.Values{"hidden": {"1"}}, status: http.StatusNotFound},
		{name: "fail/another adult shares it", who: other, method: http.MethodPost, path: "/wallet/" + health.ID + "/share",
			form: shareForm("x", "5m", "any", "full_name"), status: http.StatusNotFound},
		{name: "ok/the holder hides it", who: holder, method: http.MethodPost, path: "/wallet/" + health.ID + "/hidden", form: url.Values{"hidden": {"1"}},
			status: http.StatusSeeOther, has: []string{"done=hidden"}},
		{name: "ok/hidden, it leaves the list", who: holder, path: "/wallet", status: http.StatusOK, has: []string{"/wallet?hidden=1"}, lacks: []string{"/wallet/" + health.ID + `"`}},
		{name: "ok/and is there with the hidden ones", who: holder, path: "/wallet?hidden=1", status: http.StatusOK, has: []string{"/wallet/" + health.ID}},
		{name: "ok/the holder shows it again", who: holder, method: http.MethodPost, path: "/wallet/" + health.ID + "/hidden", form: url.Values{"hidden": {"0"}},
			status: http.StatusSeeOther, has: []string{"done=shown"}},
		{name: "ok/the citizen ID card is offered before it is held", who: holder, path: "/wallet", status: http.StatusOK,
			has: []string{pullOffer("self", "citizen_id_card"), pullOffer("person:"+pp.child.CitizenID, "birth_certificate")}},
		{name: "ok/pull the citizen ID card from the population registry", who: holder, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"self"}, "type": {"citizen_id_card"}}, status: http.StatusSeeOther, has: []string{"done=pulled"}},
		{name: "ok/a second pull issues nothing and says so", who: holder, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"self"}, "type": {"citizen_id_card"}}, status: http.StatusSeeOther, has: []string{"done=already"}},
		{name: "ok/the guardian pulls the child's birth certificate", who: holder, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"person:" + pp.child.CitizenID}, "type": {"birth_certificate"}}, status: http.StatusSeeOther, has: []string{"done=pulled"}},
		{name: "ok/what is held is no longer offered, for the holder nor the child", who: holder, path: "/wallet", status: http.StatusOK,
			has:   []string{`action="/wallet/pull"`},
			lacks: []string{pullOffer("self", "citizen_id_card"), pullOffer("person:"+pp.child.CitizenID, "birth_certificate")}},
		{name: "fail/another adult pulls for the child", who: other, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"person:" + pp.child.CitizenID}, "type": {"birth_certificate"}}, status: http.StatusForbidden},
		{name: "fail/no such type", who: holder, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"self"}, "type": {"<wizard_licence>"}}, status: http.StatusNotFound, lacks: []string{"<wizard_licence>"}},
		{name: "fail/an organisation the account is not in", who: holder, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"org:" + pp.business.RegNumber}, "type": {"business_registration"}}, status: http.StatusForbidden},
		{name: "fail/a holder reference that is nothing", who: holder, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"elsewhere"}, "type": {"citizen_id_card"}}, status: http.StatusForbidden},
		{name: "fail/a type no registry holds", who: holder, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"self"}, "type": {"driving_licence"}}, status: http.StatusBadRequest},
		{name: "ok/the representative pulls the business registration again: already held", who: rep, method: http.MethodPost, path: "/wallet/pull",
			form: url.Values{"holder": {"org:" + pp.business.RegNumber}, "type": {"business_registration"}}, status: http.StatusSeeOther, has: []string{"done=already"}},
	})

	// Pulled documents come from the agency keeping the registry for the
	// holder's district, and the citizen is audited as having asked.
	mine, _ := s.w.Documents(s.ctx, parent, false)
	cards := 0
	for _, d := range mine {
		if d.Type == "citizen_id_card" {
			cards++
			a, _ := s.reg.Agency(s.ctx, d.Agency)
			u, _ := s.reg.Unit(s.ctx, pp.parent.UnitCode)
			if a.Kind != registry.Police || a.UnitCode != u.ParentCode {
				t.Errorf("pulled from %+v; the holder lives in %+v", a, u)
			}
		}
	}
	if cards != 1 {
		t.Fatalf("%d citizen ID cards after two pulls", cards)
	}
	kids, _ := s.w.Documents(s.ctx, wallet.Holder{Kind: wallet.HolderPerson, ID: pp.child.CitizenID}, false)
	if len(kids) != 2 {
		t.Fatalf("the child's documents: %+v", kids)
	}
	var n int
	if err := s.d.QueryRow(s.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.issue' AND actor_kind = 'citizen' AND actor_id = ?`, parentAcct.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("pulls audited as the citizen's: %d %v", n, err)
	}
	if err := s.d.QueryRow(s.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.issue' AND on_behalf_of = ?`, "person:"+pp.child.CitizenID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the child's pull audited on their behalf: %d %v", n, err)
	}
}

// Sharing: the verifier sees only the chosen claims, with the verdict;
// expired, ended and used shares stop working; a revoked document says so;
// wrong codes are throttled; the history shows every check.
func TestSharing(t *testing.T) {
	s := newWalletSite(t)
	pp := s.people()
	parentAcct, otherAcct, offAcct := s.account(pp.parent.CitizenID), s.account(pp.other.CitizenID), s.account(pp.official.CitizenID)
	if err := s.id.AddDependent(s.ctx, parentAcct.ID, pp.child.CitizenID); err != nil {
		t.Fatal(err)
	}
	insurance, police := s.agency(registry.SocialInsurance), s.agency(registry.Police)
	parent := wallet.Holder{Kind: wallet.HolderPerson, ID: pp.parent.CitizenID}
	health, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: parent, Claims: healthCard(pp.parent)})
	if err != nil {
		t.Fatal(err)
	}
	licence, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: police, Type: "driving_licence", Holder: parent, Claims: map[string]any{
		"licence_number": "790123456789", "full_name": pp.parent.FullName, "birth_date": pp.parent.BirthDate, "classes": "A1, B2", "issued_on": "2020-05-04"}})
	if err != nil {
		t.Fatal(err)
	}
	childCard, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: police, Type: "citizen_id_card", Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: pp.child.CitizenID}})
	if err != nil {
		t.Fatal(err)
	}
	anon, holder, other, official := s.client(""), s.client(parentAcct.ID), s.client(otherAcct.ID), s.client(offAcct.ID)

	code := makeShare(t, holder, health.ID, shareForm("Khám bệnh tại bệnh viện tỉnh", "5m", "any", "full_name", "hospital"))
	lower := strings.ToLower(code)
	ended := makeShare(t, holder, health.ID, shareForm("Thử dừng", "1h", "any", "full_name"))
	once := makeShare(t, holder, health.ID, shareForm("Một lần", "1h", "1", "hospital"))
	revoked := makeShare(t, holder, licence.ID, shareForm("Kiểm tra bằng lái", "1h", "any", "full_name", "classes"))
	childCode := makeShare(t, holder, childCard.ID, shareForm("Nhập học", "1d", "any", "full_name", "birth_date"))
	if err := s.w.SetStatus(s.ctx, police, licence.ID, wallet.StatusRevoked, "withdrawn"); err != nil {
		t.Fatal(err)
	}
	var endID string
	if err := s.d.QueryRow(s.ctx, `SELECT id FROM wallet_shares WHERE purpose = 'Thử dừng'`).Scan(&endID); err != nil {
		t.Fatal(err)
	}
	undisclosed := []string{"DN4797912345678", pp.parent.BirthDate, "Mã số BHXH", pp.parent.CitizenID}

	runSteps(t, []pageStep{
		{name: "fail/no claim chosen", who: holder, method: http.MethodPost, path: "/wallet/" + health.ID + "/share", form: shareForm("x", "5m", "any"),
			status: http.StatusBadRequest, has: []string{`id="share-error"`}},
		{name: "fail/no purpose", who: holder, method: http.MethodPost, path: "/wallet/" + health.ID + "/share", form: shareForm(" ", "5m", "any", "full_name"),
			status: http.StatusBadRequest, has: []string{`id="share-error"`, `value="full_name" id="share-full_name" checked`}},
		{name: "fail/a purpose too long", who: holder, method: http.MethodPost, path: "/wallet/" + health.ID + "/share",
			form: shareForm(strings.Repeat("x", wallet.MaxPurpose+1), "5m", "any", "full_name"), status: http.StatusBadRequest},
		{name: "fail/an expiry not offered", who: holder, method: http.MethodPost, path: "/wallet/" + health.ID + "/share",
			form: shareForm("x", "1y", "any", "full_name"), status: http.StatusBadRequest},
		{name: "fail/a claim the document lacks", who: holder, method: http.MethodPost, path: "/wallet/" + health.ID + "/share",
			form: shareForm("x", "5m", "any", "blood_group"), status: http.StatusBadRequest},
		{name: "ok/the public sees only the chosen claims", who: anon, path: "/wallet/v/" + code, status: http.StatusOK,
			has:   []string{`verdict-valid`, "Hợp lệ", pp.parent.FullName, "Bệnh viện Đa khoa tỉnh", "Khám bệnh tại bệnh viện tỉnh", "Thẻ bảo hiểm y tế", `id="verdict-holder"`},
			lacks: undisclosed},
		{name: "ok/the code typed in lower case, in English", who: s.client(""), path: "/wallet/verify?lang=en&code=" + url.QueryEscape(lower), status: http.StatusOK,
			has: []string{"Valid", "Presented by its holder", pp.parent.FullName}, lacks: undisclosed},
		{name: "ok/in Arabic, right to left", who: s.client(""), path: "/wallet/v/" + code + "?lang=ar", status: http.StatusOK,
			has: []string{`dir="rtl"`, "صالحة"}, lacks: undisclosed},
		{name: "ok/an official's check is recorded with their agency", who: official, path: "/wallet/v/" + code, status: http.StatusOK,
			has: []string{`id="verdict-official"`, pp.officialAgency.Name, pp.parent.FullName}, lacks: undisclosed},
		{name: "ok/single use: the first look", who: anon, path: "/wallet/v/" + once, status: http.StatusOK, has: []string{"Bệnh viện Đa khoa tỉnh"}},
		{name: "fail/single use: the second look is gone", who: anon, path: "/wallet/v/" + once, status: http.StatusGone,
			has: []string{"verdict-share_used"}, lacks: []string{"Bệnh viện Đa khoa tỉnh"}},
		{name: "fail/another adult ends the holder's share", who: other, method: http.MethodPost, path: "/wallet/shares/" + endID + "/end", status: http.StatusNotFound},
		{name: "ok/the holder ends a share", who: holder, method: http.MethodPost, path: "/wallet/shares/" + endID + "/end", status: http.StatusSeeOther, has: []string{"done=ended"}},
		{name: "fail/an ended share is gone", who: anon, path: "/wallet/v/" + ended, status: http.StatusGone,
			has: []string{"verdict-share_ended", "Người có giấy tờ đã dừng chia sẻ"}, lacks: []string{pp.parent.FullName}},
		{name: "ok/a revoked document's share says revoked, without claims", who: anon, path: "/wallet/v/" + revoked, status: http.StatusOK,
			has: []string{"verdict-revoked", "Đã thu hồi", "Giấy phép lái xe"}, lacks: []string{pp.parent.FullName, "A1, B2", "790123456789"}},
		{name: "ok/a child's document shared by the guardian", who: anon, path: "/wallet/v/" + childCode, status: http.StatusOK,
			has: []string{"verdict-valid", pp.child.FullName, pp.child.BirthDate}, lacks: []string{pp.child.CitizenID}},
		{name: "ok/the history lists the checks, newest first", who: holder, path: "/wallet/history", status: http.StatusOK,
			has: []string{pp.officialAgency.Name, "được kiểm tra trên trang công khai", "Khám bệnh tại bệnh viện tỉnh", "Họ và tên", "đã dừng", "verdict-revoked",
				"Nhập học", pp.child.FullName}},
		{name: "ok/another adult's history has none of it", who: other, path: "/wallet/history", status: http.StatusOK,
			lacks: []string{"Khám bệnh tại bệnh viện tỉnh", pp.officialAgency.Name}},
		{name: "fail/the official cannot list the holder's documents", who: official, path: "/wallet/" + health.ID, status: http.StatusNotFound},
	})

	// The history: a check by the official's agency, public ones, newest first.
	events, err := wallet.NewShares(s.w, &identity.Throttle{DB: s.d, Clock: s.clock, MaxFailures: 5, Window: time.Minute, LockFor: time.Minute, MaxLock: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := events.History(s.ctx, parent, 100)
	if err != nil {
		t.Fatal(err)
	}
	var byAgency int
	for i, e := range hist {
		if i > 0 && e.At.After(hist[i-1].At) {
			t.Fatalf("history not newest first at %d", i)
		}
		if e.Check && e.Verifier == pp.officialAgency.Code && e.Verdict == wallet.VerdictValid {
			byAgency++
		}
	}
	if byAgency != 1 {
		t.Fatalf("%d checks recorded for the official's agency", byAgency)
	}

	// Five minutes later the first share has expired: 410, nothing shown.
	s.clock.Advance(5*time.Minute + time.Second)
	runSteps(t, []pageStep{
		{name: "fail/an expired share is gone", who: anon, path: "/wallet/v/" + code, status: http.StatusGone,
			has: []string{"verdict-share_expired"}, lacks: []string{pp.parent.FullName, "Bệnh viện Đa khoa tỉnh"}},
	})

	// Wrong codes: 404 each, until the client is locked out — then even a
	// right code is refused.
	var steps []pageStep
	for i := 1; i < shareWrongCodes; i++ {
		steps = append(steps, pageStep{name: fmt.Sprintf("fail/wrong code %d", i), who: anon, path: "/wallet/v/" + wallet.NewCode(), status: http.StatusNotFound,
			has: []string{`id="verify-error"`}})
	}
	steps = append(steps,
		pageStep{name: "fail/not a code at all", who: anon, path: "/wallet/v/%3Cscript%3E", status: http.StatusNotFound, lacks: []string{"<script>"}},
		pageStep{name: "fail/the last wrong code locks", who: anon, path: "/wallet/v/" + wallet.NewCode(), status: http.StatusTooManyRequests},
		pageStep{name: "fail/locked, a right code is refused too", who: anon, path: "/wallet/v/" + childCode, status: http.StatusTooManyRequests, lacks: []string{pp.child.FullName}},
	)
	runSteps(t, steps)
	s.clock.Advance(2 * time.Minute)
	runSteps(t, []pageStep{{name: "ok/after the lock a right code works again", who: anon, path: "/wallet/v/" + childCode, status: http.StatusOK, has: []string{pp.child.FullName}}})

	var checks int
	if err := s.d.QueryRow(s.ctx, `SELECT COUNT(*) FROM wallet_share_checks`).Scan(&checks); err != nil || checks != 11 {
		t.Fatalf("%d checks recorded: %v", checks, err)
	}
	if rep, err := audit.Verify(s.ctx, s.d); err != nil || !rep.OK() {
		t.Fatalf("audit: %+v %v", rep, err)
	}
	var audited int
	if err := s.d.QueryRow(s.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'wallet.share.verify' AND details NOT LIKE ?`, "%"+pp.parent.FullName+"%").Scan(&audited); err != nil || audited != checks {
		t.Fatalf("%d checks audited without claims, %d made: %v", audited, checks, err)
	}
	var hashes int
	if err := s.d.QueryRow(s.ctx, `SELECT COUNT(*) FROM wallet_shares WHERE code_hash LIKE ? OR code_hash LIKE ?`, "%"+code+"%", "%"+strings.ReplaceAll(code, "-", "")+"%").Scan(&hashes); err != nil || hashes != 0 {
		t.Fatalf("a code is stored in clear: %d %v", hashes, err)
	}
}

// The QR code on the share page opens the verifier: zbarimg, a decoder
// nobody here wrote, reads the verifier's URL from the PNG.
func TestShareQRCode(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg (zbar-tools) is not installed")
	}
	s := newWalletSite(t)
	pp := s.people()
	acct := s.account(pp.parent.CitizenID)
	doc, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: s.agency(registry.SocialInsurance), Type: "health_insurance_card",
		Holder: wallet.Holder{Kind: wallet.HolderPerson, ID: pp.parent.CitizenID}, Claims: healthCard(pp.parent)})
	if err != nil {
		t.Fatal(err)
	}
	st, page := s.client(acct.ID).post("/wallet/"+doc.ID+"/share", shareForm("QR", "5m", "any", "full_name"))
	m := regexp.MustCompile(`id="share-qr" src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(page)
	c := shareCode.FindStringSubmatch(page)
	if st != http.StatusOK || m == nil || c == nil {
		t.Fatalf("share page: %d\n%s", st, pageMain(page))
	}
	png, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "share.png")
	if err := os.WriteFile(file, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--quiet", "--raw", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	got := strings.TrimSpace(string(out))
	canon, _ := wallet.NormaliseCode(c[1])
	if want := s.srv.URL + "/wallet/v/" + canon; got != want {
		t.Fatalf("the QR code says %q, want %q", got, want)
	}
	// And that URL, opened as a phone's camera would, shows the claim.
	if st, page := s.client("").get(strings.TrimPrefix(got, s.srv.URL)); st != http.StatusOK || !strings.Contains(page, pp.parent.FullName) {
		t.Fatalf("the QR code's URL: %d", st)
	}
}

// A query by another capability shows in the holder's history: who asked,
// why, and the answer.
func TestHistoryShowsQueries(t *testing.T) {
	s := newWalletSite(t)
	pp := s.people()
	acct := s.account(pp.other.CitizenID)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: pp.other.CitizenID}
	if _, err := s.w.Issue(s.ctx, wallet.Issuance{Agency: s.agency(registry.SocialInsurance), Type: "health_insurance_card", Holder: h, Claims: healthCard(pp.other)}); err != nil {
		t.Fatal(err)
	}
	police := s.agency(registry.Police)
	if _, err := s.w.Holds(s.ctx, wallet.Query{CitizenID: pp.other.CitizenID, Type: "health_insurance_card", Purpose: "Hồ sơ khai sinh cho con",
		Claims: []string{"card_number"}, Requester: wallet.Requester{Kind: kernel.ActorClient, ID: "portal", Agency: police}}); err != nil {
		t.Fatal(err)
	}
	st, page := s.client(acct.ID).get("/wallet/history")
	if st != http.StatusOK || !strings.Contains(page, "Hồ sơ khai sinh cho con") || !strings.Contains(page, "event-query") {
		t.Fatalf("history: %d\n%s", st, pageMain(page))
	}
	if _, other := s.client(s.account(pp.parent.CitizenID).ID).get("/wallet/history"); strings.Contains(other, "Hồ sơ khai sinh cho con") {
		t.Fatal("another person sees the query")
	}
}
