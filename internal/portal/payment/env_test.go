package payment

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// testSecret is the merchant's secret of the tests' gateway.
var testSecret = []byte("0123456789ABCDEF0123456789ABCDEF")

// site is payments on a real database behind the real router, with the
// VNPay-shaped gateway pointed at the demo bank mounted beside them: the
// bank reaches the IPN, and payments the bank's refund API, through the
// router in the same process. /test/login/{id} signs an account in.
type site struct {
	t        testing.TB
	ctx      context.Context
	d        *db.DB
	clock    *kernel.ManualClock
	s        *Service
	gw       *Gateway
	ws       *web.Server
	srv      *httptest.Server
	dir      *fakeDirectory
	uses     *recordingUseLog
	told     *recordingListener
	sealer   *fakeSealer
	public   string
	testOpts Options
}

func newSite(t testing.TB) *site {
	t.Helper()
	e := &site{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: dbtest.Open(t),
		clock: kernel.NewManualClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)),
		dir:   &fakeDirectory{posts: map[string][]string{}}, uses: &recordingUseLog{}, told: &recordingListener{}, sealer: &fakeSealer{}}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(nil)
	e.public = "http://" + e.srv.Listener.Addr().String()
	pub, _ := url.Parse(e.public)
	e.ws, err = web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	inproc := HandlerClient(e.ws.Handler)
	e.gw, err = NewGateway(GatewayOptions{PayURL: e.public + "/demo/pay/{order}", APIURL: e.public + "/demo/pay/api/refund",
		Merchant: "CIVITAS1", Secret: testSecret, HTTP: inproc})
	if err != nil {
		t.Fatal(err)
	}
	e.testOpts = Options{DB: e.d, Clock: e.clock, Accounts: Accounts{Default: Account{BIN: "970415", Number: "0011001932418", Name: "KHO BAC TINH"},
		Agencies: map[string]Account{"T99.CA": {BIN: "970436", Number: "0881000458086", Name: "CONG AN TINH"}}},
		Provider: e.gw, PublicURL: e.public, Directory: e.dir, UseLog: e.uses, Listener: e.told,
		Sealer: e.sealer, Messages: cat, Box: testBox(t), Font: systemFont()}
	e.s, err = New(e.testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Mount(e.ws); err != nil {
		t.Fatal(err)
	}
	sim := &Simulator{Merchant: "CIVITAS1", Secret: testSecret, IPNURL: e.public + "/payments/gateway/vnpay/ipn", HTTP: inproc, Clock: e.clock}
	if err := sim.Mount(e.ws); err != nil {
		t.Fatal(err)
	}
	e.ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		acr := kernel.ACRLevel2
		if r.URL.Query().Get("acr") == "1" {
			acr = kernel.ACRLevel1
		}
		if _, err := e.ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: acr, AuthTime: e.clock.Now()}); err != nil {
			e.ws.Error(w, r, err)
		}
	})
	e.srv.Config.Handler = e.ws.Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// citizen is ctx with an account as the actor.
func citizen(account string) context.Context {
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: account})
}

// start makes an order for an application, paid by account.
func (e *site) start(account, app string, amount int64) Checkout {
	e.t.Helper()
	c, err := e.s.Start(citizen(account), Order{ApplicationID: app, Procedure: "birth_registration", Agency: "T99.UBND", Unit: "T99001",
		Amount: amount, Description: "Lệ phí đăng ký khai sinh", PayerCitizen: "099" + account, ReturnURL: e.public + "/portal/applications/" + app})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// ipn signs params as the gateway does and calls the callback over HTTP,
// returning the gateway's RspCode.
func (e *site) ipn(q url.Values, sign bool) string {
	e.t.Helper()
	if sign {
		q.Set("vnp_SecureHash", SignQuery(testSecret, q))
	}
	resp, err := http.Get(e.public + "/payments/gateway/vnpay/ipn?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`"RspCode":"(\d+)"`).FindStringSubmatch(string(b))
	if resp.StatusCode != http.StatusOK || m == nil {
		e.t.Fatalf("IPN answered %d %s", resp.StatusCode, b)
	}
	return m[1]
}

// paid is the IPN a gateway sends for c paid in full.
func paid(c Checkout, txn string) url.Values {
	return url.Values{"vnp_TmnCode": {"CIVITAS1"}, "vnp_Amount": {itoa(c.Amount * 100)}, "vnp_BankCode": {"NCB"},
		"vnp_OrderInfo": {"Le phi"}, "vnp_PayDate": {"20260302100000"}, "vnp_ResponseCode": {"00"}, "vnp_TransactionNo": {txn},
		"vnp_TransactionStatus": {"00"}, "vnp_TxnRef": {c.Reference}}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// counts are the rows that say what happened: audit records, callbacks.
func (e *site) counts() (auditN, callbacks int) {
	e.t.Helper()
	if err := e.d.View(e.ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&auditN); err != nil {
			return err
		}
		return tx.QueryRow(e.ctx, `SELECT COUNT(*) FROM payment_callbacks`).Scan(&callbacks)
	}); err != nil {
		e.t.Fatal(err)
	}
	return
}

// browser is a client signed in as account ("" anonymous).
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (e *site) browser(account string, level1 bool) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, base: e.public, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if account != "" {
		q := ""
		if level1 {
			q = "?acr=1"
		}
		b.get("/test/login/" + account + q)
	}
	return b
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	if strings.HasPrefix(path, "/") {
		path = b.base + path
	}
	resp, err := b.c.Get(path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) post(path string, form url.Values, page string) (int, string, http.Header) {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	form.Set("csrf_token", m[1])
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

type fakeDirectory struct {
	mu    sync.Mutex
	posts map[string][]string
}

func (f *fakeDirectory) AgencyName(_ context.Context, code string) (string, error) {
	return "Ủy ban nhân dân xã Hòa Thắng (" + code + ")", nil
}

func (f *fakeDirectory) Posts(_ context.Context, account string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts[account], nil
}

func (f *fakeDirectory) PersonName(_ context.Context, citizenID string) (string, error) {
	return "Nguyễn Thị Hoa", nil
}

type recordingUseLog struct {
	mu   sync.Mutex
	uses []kernel.DataUse
}

func (r *recordingUseLog) Record(_ context.Context, _ *db.Tx, u kernel.DataUse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uses = append(r.uses, u)
	return nil
}

type recordingListener struct {
	mu   sync.Mutex
	told []Checkout
}

func (r *recordingListener) PaymentChanged(_ context.Context, c Checkout) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.told = append(r.told, c)
	return nil
}

func (r *recordingListener) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.told)
}

// fakeSealer "seals" by appending a comment: the sealing itself is the
// trust services', tested in internal/app with pdfsig.
type fakeSealer struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeSealer) SealPDF(_ context.Context, _ string, in []byte) ([]byte, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return append(append([]byte{}, in...), "%sealed\n"...), nil
}

func testBox(t testing.TB) *sealed.Box {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b, err := sealed.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// systemFont is DejaVu or Noto from the system, or nil (then no receipts).
func systemFont() *pdf.Font {
	b, err := pdf.SystemFont()
	if err != nil {
		return nil
	}
	f, err := pdf.ParseFont(b)
	if err != nil {
		return nil
	}
	return f
}
