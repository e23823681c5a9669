package identity_test

import (
	"bytes"
	"context"
	"database/sql"
	"net/netip"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// fixture is a demo province with the identity service on a real database.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *db.DB
	clock  *kernel.ManualClock
	reg    *registry.Service
	svc    *identity.Service
	outbox *texts
	web    *web.Server
}

// cheap argon2id parameters keep the tests fast; the rules do not depend on cost.
var cheap = identity.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}

// newFixture makes the fixture; opts change the identity service's options.
// The web server trusts 127.0.0.1 as a proxy, so a test browser names its
// client address in X-Forwarded-For (browser.from).
func newFixture(t testing.TB, opts ...func(*identity.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	clock := kernel.NewManualClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	if _, err := demo.Load(ctx, d, demo.Options{Persons: 1500, Seed: 7, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	box, err := sealed.New(bytes.Repeat([]byte{1}, sealed.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, db: d, clock: clock, reg: registry.New(d, clock)}
	f.outbox = &texts{}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	o := identity.Options{DB: d, Clock: clock, Registry: f.reg, Box: box, SMS: f.outbox, Password: cheap, Messages: cat}
	for _, opt := range opts {
		opt(&o)
	}
	f.svc, err = identity.New(o)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("http://civitas.test")
	f.web, err = web.NewServer(web.Options{DB: d, Clock: clock, Catalog: cat, PublicURL: pub,
		Ready: func(context.Context) error { return nil }, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Mount(f.web, identity.MountOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

// person finds a demo person matching the query's WHERE clause.
func (f *fixture) person(where string, args ...any) registry.Person {
	f.t.Helper()
	var id string
	err := f.db.QueryRow(f.ctx, "SELECT citizen_id FROM persons WHERE "+where+" ORDER BY citizen_id LIMIT 1", args...).Scan(&id)
	if err == sql.ErrNoRows {
		f.t.Fatalf("no demo person where %s", where)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.reg.Person(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// adultWithPhone is a demo adult with a phone and no account.
func (f *fixture) adultWithPhone(skip int) registry.Person {
	f.t.Helper()
	var id string
	err := f.db.QueryRow(f.ctx, `SELECT citizen_id FROM persons WHERE phone <> '' AND birth_date < '1995-01-01'
		AND citizen_id NOT IN (SELECT citizen_id FROM accounts) ORDER BY citizen_id LIMIT 1 OFFSET ?`, skip).Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	p, _ := f.reg.Person(f.ctx, id)
	return p
}

// texts is the SMS of the tests: it keeps what identity texts.
type texts struct {
	mu   sync.Mutex
	sent []sentText
}

type sentText struct{ Phone, Text string }

var _ identity.SMS = (*texts)(nil)

func (t *texts) Send(_ context.Context, phone, text string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = append(t.sent, sentText{phone, text})
	return nil
}

// Recent returns the latest texts, newest first.
func (t *texts) Recent(_ context.Context, limit int) ([]sentText, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []sentText
	for i := len(t.sent) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, t.sent[i])
	}
	return out, nil
}

var smsCode = regexp.MustCompile(`(?:là|code is) ([0-9]{6})`)

// lastCode reads the newest code texted to phone from the outbox.
func (f *fixture) lastCode(phone string) string {
	f.t.Helper()
	msgs, err := f.outbox.Recent(f.ctx, 50)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Phone == phone {
			if s := smsCode.FindStringSubmatch(m.Text); s != nil {
				return s[1]
			}
		}
	}
	f.t.Fatalf("no code texted to %s", phone)
	return ""
}

func (f *fixture) outboxCount() int {
	msgs, err := f.outbox.Recent(f.ctx, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(msgs)
}

// officer returns a demo official of kind and role with an active level-2
// account, acting in a level-2 login.
func (f *fixture) officer(kind registry.AgencyKind, role registry.Role, skip int) identity.Officer {
	f.t.Helper()
	var cid, agency string
	err := f.db.QueryRow(f.ctx, `SELECT o.citizen_id, o.agency_code FROM officials o JOIN agencies a ON a.code = o.agency_code
		JOIN units u ON u.code = a.unit_code WHERE a.kind = ? AND o.role = ? AND u.level = 'commune' ORDER BY o.agency_code LIMIT 1 OFFSET ?`,
		string(kind), string(role), skip).Scan(&cid, &agency)
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := f.svc.AccountByCitizen(f.ctx, cid)
	if kernel.ErrorCode(err) == kernel.NotFound {
		a, err = f.svc.AddAccount(f.ctx, identity.NewAccount{CitizenID: cid, Level: 2, Password: "officer password"})
	}
	if err != nil {
		f.t.Fatal(err)
	}
	o, err := f.svc.Post(f.ctx, a.ID, agency)
	if err != nil {
		f.t.Fatal(err)
	}
	o.ACR = kernel.ACRLevel2
	return o
}

// enableTOTP turns on an authenticator app for an account and returns its
// seed; the clock moves past the step of the code that confirmed it.
func (f *fixture) enableTOTP(accountID string) []byte {
	f.t.Helper()
	setup, err := f.svc.BeginTOTP(f.ctx, accountID)
	if err != nil {
		f.t.Fatal(err)
	}
	secret, err := identity.ParseTOTPSecretText(setup.Text)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.ConfirmTOTP(f.ctx, accountID, setup.Sealed, identity.TOTPAt(secret, f.clock.Now())); err != nil {
		f.t.Fatal(err)
	}
	f.clock.Advance(30 * time.Second)
	return secret
}
