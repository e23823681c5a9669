package exchange_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/exchange"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// env is one province: the demo registries, the trust services, the
// exchange on them, and its pages and API on a live test server, with
// tokens, accounts and posts the test hands out.
type env struct {
	t     testing.TB
	ctx   context.Context // the operator's
	d     *db.DB
	clock *kernel.ManualClock
	reg   *registry.Service
	ca    *pki.Service
	x     *exchange.Service
	cfg   config.Config
	srv   *httptest.Server
	peers net.Listener // the peer listener's socket, served by servePeers

	tokens    fakeTokens
	accounts  fakeAccounts
	officials fakeOfficials
}

// fakeTokens are access tokens: the token is the key.
type fakeTokens map[string]exchange.APIClient

func (f fakeTokens) Verify(r *http.Request) (exchange.APIClient, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c, found := f[tok]
	if !ok || !found {
		return exchange.APIClient{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	return c, nil
}

// fakeAccounts: account ID -> citizen ID, and guardians' children.
type fakeAccounts struct {
	citizens map[string]string
	children map[string][]exchange.Dependent
}

func (f fakeAccounts) CitizenOf(_ context.Context, id string) (string, error) {
	c, ok := f.citizens[id]
	if !ok {
		return "", kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	return c, nil
}

func (f fakeAccounts) Dependents(_ context.Context, id string) ([]exchange.Dependent, error) {
	return f.children[id], nil
}

type fakeOfficials map[string][]exchange.Post

func (f fakeOfficials) Posts(_ context.Context, id string) ([]exchange.Post, error) {
	return f[id], nil
}

// organisations names agencies for the seals.
type organisations struct{ reg *registry.Service }

func (o organisations) Agency(ctx context.Context, code string) (pki.Agency, error) {
	a, err := o.reg.Agency(ctx, code)
	if err != nil {
		return pki.Agency{}, err
	}
	return pki.Agency{Code: a.Code, Name: a.Name}, nil
}

func (o organisations) Official(context.Context, string, string) (pki.Official, error) {
	return pki.Official{}, kernel.E(kernel.Forbidden, "error.forbidden")
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, 300, 7, "")
}

// newEnvWith makes a demo province (the default's when "") of persons
// people from seed.
func newEnvWith(t testing.TB, persons int, seed int64, province string) *env {
	t.Helper()
	e := &env{t: t, ctx: kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOperator, ID: "test"}), d: dbtest.Open(t),
		clock: kernel.NewManualClock(time.Now()), tokens: fakeTokens{},
		accounts: fakeAccounts{citizens: map[string]string{}, children: map[string][]exchange.Dependent{}}, officials: fakeOfficials{}}
	if _, err := demo.Load(e.ctx, e.d, demo.Options{Persons: persons, Seed: seed, Clock: e.clock, Province: province}); err != nil {
		t.Fatal(err)
	}
	e.reg = registry.New(e.d, e.clock)
	box, _ := sealed.New(bytes.Repeat([]byte{5}, sealed.KeySize))
	e.srv = httptest.NewUnstartedServer(nil)
	pub := "http://" + e.srv.Listener.Addr().String()
	var err error
	e.ca, err = pki.New(e.ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: box, Clock: e.clock},
		PublicURL: pub, Organisations: organisations{e.reg}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ca.Init(e.ctx); err != nil {
		t.Fatal(err)
	}
	if e.peers, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.peers.Close() })
	e.cfg = config.Default()
	e.cfg.PublicURL, e.cfg.PeerAddr = pub, e.peers.Addr().String()
	if e.x, err = app.OpenExchange(e.d, e.clock, e.reg, e.ca, e.cfg); err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(pub)
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pu, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.x.Mount(ws, exchange.MountOptions{Tokens: e.tokens, Accounts: e.accounts, Officials: e.officials}); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		acr := kernel.ACRLevel2
		if r.URL.Query().Get("acr") == "1" {
			acr = kernel.ACRLevel1
		}
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: acr}); err != nil {
			ws.Error(w, r, err)
		}
	})
	ws.HandleFunc("GET /test/csrf", func(w http.ResponseWriter, r *http.Request) {
		tok, err := ws.CSRFToken(w, r)
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		_, _ = io.WriteString(w, `<input name="csrf_token" value="`+tok+`">`)
	})
	e.srv.Config.Handler = ws.Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// servePeers answers peers on e's peer listener until the test ends.
func (e *env) servePeers() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.x.ServePeers(ctx, e.peers); err != nil {
			e.t.Errorf("serve peers: %v", err)
		}
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

// rootPEM is e's root certificate as `civitas ca export` writes it.
func (e *env) rootPEM() []byte {
	e.t.Helper()
	root, err := e.ca.CA("root")
	if err != nil {
		e.t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw})
}

// exchangeAt is a second exchange on the same database, as the command
// line or another instance has: grants it makes must hold in e's at once.
func (e *env) exchangeAt() *exchange.Service {
	e.t.Helper()
	x, err := app.OpenExchange(e.d, e.clock, e.reg, nil, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return x
}

// agency returns the code of the province-level agency of kind k, or of
// another level when province is false.
func (e *env) agency(k registry.AgencyKind, province bool) registry.Agency {
	e.t.Helper()
	as, err := e.reg.ListAgencies(e.ctx, kernel.Page{Limit: kernel.MaxPageLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range as {
		u, err := e.reg.Unit(e.ctx, a.UnitCode)
		if err != nil {
			e.t.Fatal(err)
		}
		if a.Kind == k && (u.Level == registry.Province) == province {
			return a
		}
	}
	e.t.Fatalf("no %s agency", k)
	return registry.Agency{}
}

// persons returns demo persons matching keep.
func (e *env) persons(keep func(registry.Person) bool) []registry.Person {
	e.t.Helper()
	var out []registry.Person
	after := ""
	for {
		ps, err := e.reg.ListPersons(e.ctx, kernel.Page{After: after, Limit: kernel.MaxPageLimit})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, p := range ps {
			if keep(p) {
				out = append(out, p)
			}
		}
		if len(ps) < kernel.MaxPageLimit {
			return out
		}
		after = ps[len(ps)-1].CitizenID
	}
}

// client registers an API token for a client of an agency.
func (e *env) client(id, agency string) string {
	tok := "tok-" + id
	e.tokens[tok] = exchange.APIClient{ID: id, Agency: agency, Scopes: []string{exchange.ScopeQuery}}
	return tok
}

// grant grants a consumer fields of a service, as the operator.
func (e *env) grant(consumer, service string, fields ...string) {
	e.t.Helper()
	if _, err := e.exchangeAt().Grant(e.ctx, exchange.GrantRequest{Consumer: consumer, Service: service, Fields: fields, Basis: "test basis"}); err != nil {
		e.t.Fatal(err)
	}
}

// answer is an API answer: the status, the body, and for a 200 the data's
// raw bytes and the receipt.
type answer struct {
	status  int
	body    string
	data    json.RawMessage
	receipt string
}

// query posts a body to the query endpoint with a token.
func (e *env) query(token, body string) answer {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/exchange/v1/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(b)}
	if resp.StatusCode == http.StatusOK {
		// The client asked for gzip (Go's transport does); answers are sent
		// whole all the same (web.Server.Uncompressed).
		if resp.Uncompressed || resp.Header.Get("Content-Encoding") != "" {
			e.t.Errorf("an answer came gzipped")
		}
		var out struct {
			Data    json.RawMessage `json:"data"`
			Receipt string          `json:"receipt"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			e.t.Fatalf("answer: %v: %s", err, b)
		}
		a.data, a.receipt = out.Data, out.Receipt
	}
	return a
}

// body is a query's JSON.
func body(service, citizenID, purpose, caseRef string) string {
	m := map[string]any{"service": service, "subject": map[string]string{"citizen_id": citizenID}, "case_ref": caseRef}
	if purpose != "" {
		m["purpose"] = purpose
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// browser is a signed-in (or anonymous) browser on e's pages.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (e *env) browser(accountID string, level1 bool) *browser {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, base: e.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if accountID != "" {
		q := ""
		if level1 {
			q = "?acr=1"
		}
		b.get("/test/login/" + accountID + q)
	}
	return b
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post sends a form from the page at from, with its CSRF token.
func (b *browser) post(from, path string, form url.Values) (int, string) {
	b.t.Helper()
	_, page := b.get(from)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s: %.300s", from, page)
	}
	form.Set("csrf_token", m[1])
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

// uses lists every read of a person's data, newest first.
func (e *env) uses(citizenID string) []exchange.Entry {
	e.t.Helper()
	var all []exchange.Entry
	q := exchange.UseQuery{Subject: citizenID, Page: kernel.Page{Limit: kernel.MaxPageLimit}}
	for {
		es, next, err := e.x.Uses(e.ctx, q)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, es...)
		if next == "" {
			return all
		}
		q.Page.After = next
	}
}
