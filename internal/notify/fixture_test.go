package notify_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/notify"
	"civitas/internal/web"
)

// phones is the directory of the tests: an account's phone, "" for none.
type phones map[string]string

func (p phones) Phone(_ context.Context, accountID string) (string, error) {
	return p[accountID], nil
}

// sent is a text or an e-mail a fake driver received.
type sent struct{ to, subject, text string }

// recorder is an SMS driver and mailer that keeps what it is given and
// fails as told.
type recorder struct {
	mu   sync.Mutex
	msgs []sent
	fail error // returned by every send while set
}

func (r *recorder) SendSMS(_ context.Context, phone, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.msgs = append(r.msgs, sent{to: phone, text: text})
	return nil
}

func (r *recorder) SendMail(_ context.Context, to, subject, body string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.msgs = append(r.msgs, sent{to: to, subject: subject, text: body})
	return nil
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.msgs...)
}

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// permanentErr is a driver error that will not pass.
type permanentErr struct{}

func (permanentErr) Error() string   { return "refused for good" }
func (permanentErr) Permanent() bool { return true }

var errBusy = errors.New("gateway busy")

// env is a notification service on a real database with fake drivers.
type env struct {
	t     *testing.T
	ctx   context.Context
	d     *db.DB
	clock *kernel.ManualClock
	cat   *i18n.Catalog
	sms   *recorder
	mail  *recorder
	dir   phones
	logs  *syncBuffer
	s     *notify.Service
}

// syncBuffer is a log destination the tests read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: dbtest.Open(t),
		clock: kernel.NewManualClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)), cat: cat,
		sms: &recorder{}, mail: &recorder{}, dir: phones{"acct-1": "0912 345 678", "acct-2": "", "acct-3": "+84 98 765 4321"},
		logs: &syncBuffer{}}
	e.s = e.service(e.sms)
	return e
}

// service is another instance on the same database (a second server).
func (e *env) service(sms notify.SMSDriver) *notify.Service {
	e.t.Helper()
	s, err := notify.New(notify.Options{DB: e.d, Clock: e.clock, Catalog: e.cat, SMS: sms, Mail: e.mail, Directory: e.dir,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// as is a context in which account acts for themselves.
func (e *env) as(account string) context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: account})
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.d.QueryRow(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// noTrace fails when secret is anywhere it must not be: the logs, the
// outbox, the inbox.
func (e *env) noTrace(secret string) {
	e.t.Helper()
	if strings.Contains(e.logs.String(), secret) {
		e.t.Fatalf("%q is in the logs:\n%s", secret, e.logs.String())
	}
	like := "%" + secret + "%"
	if n := e.count(`SELECT COUNT(*) FROM notify_outbox WHERE body LIKE ? OR subject LIKE ? OR last_error LIKE ?`, like, like, like); n != 0 {
		e.t.Fatalf("%q is in %d outbox rows", secret, n)
	}
	if n := e.count(`SELECT COUNT(*) FROM notify_inbox WHERE body LIKE ? OR args LIKE ?`, like, like); n != 0 {
		e.t.Fatalf("%q is in %d inbox rows", secret, n)
	}
}

// serve runs the pages behind the real router, with /test/login/{id}.
func (e *env) serve() *httptest.Server {
	e.t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: e.cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.Mount(ws); err != nil {
		e.t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: kernel.ACRLevel1}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	e.t.Cleanup(srv.Close)
	return srv
}

type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, srv *httptest.Server, account string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if account != "" {
		b.get("/test/login/" + account)
	}
	return b
}

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var csrfToken = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post sends a form with the CSRF token of the inbox page, as a browser would.
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	if _, _, page := b.get("/inbox"); csrfToken.MatchString(page) {
		form.Set("csrf_token", csrfToken.FindStringSubmatch(page)[1])
	}
	req, _ := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.url)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}
