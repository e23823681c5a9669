package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/notify/smpp"
	"civitas/internal/notify/smpp/smpptest"
)

// lockedBuffer is a log the test reads while the app writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// register starts a registration for a demo adult with a phone, as the
// register page does, and returns their phone.
func register(t *testing.T, a *App) string {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := a.db.QueryRow(ctx, `SELECT citizen_id FROM persons WHERE phone <> '' AND birth_date < '2000-01-01' ORDER BY citizen_id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	p, err := a.registry.Person(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.identity.StartRegistration(ctx, identity.Registration{CitizenID: p.CitizenID, FullName: p.FullName, BirthDate: p.BirthDate, Phone: p.Phone}); err != nil {
		t.Fatal(err)
	}
	return p.Phone
}

var registrationCode = regexp.MustCompile(`là ([0-9]{6})`)

// TestRegistrationCodeBySMPP: with --sms smpp, the code identity texts
// reaches the SMSC at once, in UCS-2 (Vietnamese), split into concatenated
// parts that read back as the whole text, and never reaches the log.
func TestRegistrationCodeBySMPP(t *testing.T) {
	smsc := smpptest.Start(t, "civitas", "pw")
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", true, 100
	cfg.SMS = "smpp"
	cfg.Notify.SMPPAddr, cfg.Notify.SMPPSystemID, cfg.Notify.SMPPPassword, cfg.Notify.Brandname = smsc.Addr(), "civitas", "pw", "CIVITAS"
	logs := &lockedBuffer{}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	phone := register(t, a)
	submits := smsc.Submits()
	if len(submits) < 2 {
		t.Fatalf("%d parts at the SMSC, want a concatenated message", len(submits))
	}
	for _, p := range submits {
		if smpp.Coding(p.DataCoding) != smpp.CodingUCS2 || p.Source != "CIVITAS" || p.Dest != "84"+phone[1:] {
			t.Fatalf("submit_sm: data_coding %d from %q to %q", p.DataCoding, p.Source, p.Dest)
		}
	}
	text, err := smpptest.Text(submits)
	if err != nil {
		t.Fatal(err)
	}
	m := registrationCode.FindStringSubmatch(text)
	if m == nil || !strings.Contains(text, "Mã xác thực đăng ký") {
		t.Fatalf("the SMSC got %q", text)
	}
	if strings.Contains(logs.String(), m[1]) || strings.Contains(logs.String(), phone) {
		t.Fatalf("the log holds the code or the phone:\n%s", logs.String())
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM sms_outbox`) + countRows(t, a, `SELECT COUNT(*) FROM notify_outbox`); n != 0 {
		t.Fatalf("%d texts stored", n)
	}
	// The demo outbox page is not served with a real driver.
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/demo/sms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/demo/sms: %d", resp.StatusCode)
	}
}

func countRows(t *testing.T, a *App, q string) int {
	t.Helper()
	var n int
	if err := a.db.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRegistrationCodeByHTTPGateway: with --sms http, the code goes in one
// request to the gateway, the text escaped for its JSON body.
func TestRegistrationCodeByHTTPGateway(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if r.Header.Get("X-Api-Key") != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer gw.Close()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", true, 100
	cfg.SMS = "http"
	cfg.Notify.HTTPURL, cfg.Notify.HTTPBody = gw.URL+"/send", `{"to":"{phone_local}","content":"{text}","brand":"{brandname}"}`
	cfg.Notify.HTTPAuth, cfg.Notify.HTTPToken, cfg.Notify.HTTPOKJSON, cfg.Notify.Brandname = "header:X-Api-Key", "k", "status=ok", "CIVITAS"
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	phone := register(t, a)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], `"to":"`+phone+`"`) || !registrationCode.MatchString(bodies[0]) {
		t.Fatalf("the gateway got %q", bodies)
	}
}

// TestDemoOutboxInTheApp: with --demo and no --sms, codes are shown at
// /demo/sms, and the citizen has an inbox behind the login.
func TestDemoOutboxInTheApp(t *testing.T) {
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", true, 100
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	phone := register(t, a)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		path, want string
		status     int
	}{
		{"/demo/sms", phone[len(phone)-3:] + "</td>", http.StatusOK},
		{"/inbox", "", http.StatusSeeOther},
	} {
		resp, err := noRedirect.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
			t.Fatalf("%s: %d\n%s", tt.path, resp.StatusCode, body)
		}
		if tt.path == "/demo/sms" && !registrationCode.Match(body) {
			t.Fatalf("no code on the demo outbox:\n%s", body)
		}
		if tt.path == "/inbox" && resp.Header.Get("Location") != "/login?next="+url.QueryEscape("/inbox") {
			t.Fatalf("/inbox sends to %q", resp.Header.Get("Location"))
		}
	}
}

func TestOpenNotifyRefusesBadConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(c *config.Config)
	}{
		{"fail/a gateway template with a typo", func(c *config.Config) { c.SMS, c.Notify.HTTPURL = "http", "https://gw.example.vn/?to={phone}&t={txt}" }},
		{"fail/an SMPP password too long", func(c *config.Config) {
			c.SMS, c.Notify.SMPPAddr, c.Notify.SMPPSystemID, c.Notify.SMPPPassword, c.Notify.Brandname = "smpp", "127.0.0.1:1", "c", "longer than 8", "C"
		}},
		{"fail/an SMTP sender that is no address", func(c *config.Config) { c.Notify.SMTPAddr, c.Notify.SMTPFrom = "127.0.0.1:25", "nobody" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			tt.edit(&cfg)
			_, _, err := OpenNotify(cfg, nil, kernel.SystemClock{}, nil, nil, slog.New(slog.DiscardHandler))
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
