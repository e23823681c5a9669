package portal_test

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/portal"
	"civitas/internal/registry"
	"civitas/internal/tally"
	"civitas/internal/wallet"
)

// env is a demo province with the portal on fakes of the capabilities
// around it: accounts from the registry of officials, a wallet that keeps
// what it is given, a signer that wants the code "123456", payments that
// say what the test tells them, notices kept in a list. The registry reads
// are the app's (the exchange's services over the registries).
type env struct {
	t     testing.TB
	ctx   context.Context
	d     *db.DB
	clock *kernel.ManualClock
	reg   *registry.Service
	svc   *portal.Service
	acc   *accounts
	w     *fakeWallet
	sig   *fakeSigner
	pay   *fakePayments
	notes *notices
	uses  *useLog
}

func newEnv(t testing.TB) *env {
	t.Helper()
	// A Tuesday morning in the province.
	clock := kernel.NewManualClock(time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC))
	e := &env{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: dbtest.Open(t), clock: clock}
	if _, err := demo.Load(e.ctx, e.d, demo.Options{Persons: 400, Seed: 11, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	e.reg = registry.New(e.d, clock)
	e.acc = &accounts{reg: e.reg, byID: map[string]portal.Account{}, deps: map[string][]portal.Dependent{}, orgs: map[string][]portal.Membership{}}
	types, err := wallet.LoadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	e.w = &fakeWallet{types: types, docs: map[string]portal.Issuance{}}
	e.sig = &fakeSigner{creds: map[string]bool{}}
	e.pay = &fakePayments{pays: map[string]*portal.Payment{}}
	e.notes = &notices{}
	e.uses = &useLog{}
	var codes []string
	for _, ty := range types.Types() {
		codes = append(codes, ty.Code)
	}
	cat, err := portal.LoadCatalogue("", portal.CatalogueOptions{WalletTypes: codes})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = portal.New(portal.Options{DB: e.d, Clock: clock, Registry: e.reg, Catalogue: cat,
		Exchange: app.PortalRegistryExchange(e.reg, nil, e.d, clock, e.uses), Wallet: e.w, Accounts: e.acc, Signer: e.sig,
		Payments: e.pay, Notifier: e.notes, PublicURL: "https://civitas.test"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// citizen gives a person an account and returns the context of their session.
func (e *env) citizen(citizenID string, level int) context.Context {
	id := "acct-" + citizenID
	e.acc.byID[id] = portal.Account{ID: id, CitizenID: citizenID, Level: level, Active: true}
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorCitizen, ID: id})
}

// official gives an official an account and returns the context of their
// acts for the agency.
func (e *env) official(citizenID, agency string) context.Context {
	id := "acct-" + citizenID
	e.acc.byID[id] = portal.Account{ID: id, CitizenID: citizenID, Level: 2, Active: true}
	e.sig.creds[id+"@"+agency] = true
	return kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOfficial, ID: id, OnBehalfOf: "agency:" + agency})
}

// officialOf finds a person holding role at agency.
func (e *env) officialOf(agency string, role registry.Role) string {
	e.t.Helper()
	var id string
	err := e.d.QueryRow(e.ctx, `SELECT citizen_id FROM officials WHERE agency_code = ? AND role = ? ORDER BY citizen_id LIMIT 1`, agency, string(role)).Scan(&id)
	if err != nil {
		e.t.Fatalf("no %s at %s: %v", role, agency, err)
	}
	return id
}

// mother is a woman of the demo aged 22 to 39 with a household.
func (e *env) mother(skip ...string) registry.Person {
	e.t.Helper()
	rows, err := e.d.Query(e.ctx, `SELECT p.citizen_id FROM persons p WHERE p.sex = 'F' AND p.birth_date BETWEEN '1986-01-01' AND '2003-01-01'
		AND p.household_id <> '' AND p.died_on = '' ORDER BY p.citizen_id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			e.t.Fatal(err)
		}
		if !slices.Contains(skip, id) {
			p, err := e.reg.Person(e.ctx, id)
			if err != nil {
				e.t.Fatal(err)
			}
			return p
		}
	}
	e.t.Fatal("no mother in the demo")
	return registry.Person{}
}

// agencyServing is the agency of a kind serving a commune at a level.
func (e *env) agencyServing(kind registry.AgencyKind, unit string, level registry.Level) string {
	e.t.Helper()
	for range 4 {
		u, err := e.reg.Unit(e.ctx, unit)
		if err != nil {
			e.t.Fatal(err)
		}
		if u.Level == level || u.ParentCode == "" {
			break
		}
		unit = u.ParentCode
	}
	a, err := e.reg.AgencyServing(e.ctx, kind, unit)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Code
}

func (e *env) tallies() map[string]int64 {
	e.t.Helper()
	out := map[string]int64{}
	err := e.d.View(e.ctx, func(tx *db.Tx) error {
		var names []string
		for _, i := range e.svc.Indicators() {
			names = append(names, i.Name)
		}
		rows, err := tally.Rows(e.ctx, tx, names, "", "")
		for _, r := range rows {
			out[r.Name] += r.Value
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// result is a call's value and error, checked by of: m(f()).of(t).
type result[T any] struct {
	v   T
	err error
}

func m[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) of(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func wantCode(t testing.TB, err error, code kernel.Code) {
	t.Helper()
	if kernel.ErrorCode(err) != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

type accounts struct {
	mu    sync.Mutex
	reg   *registry.Service
	byID  map[string]portal.Account
	deps  map[string][]portal.Dependent
	orgs  map[string][]portal.Membership
	added []string
}

func (a *accounts) Account(_ context.Context, id string) (portal.Account, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if acct, ok := a.byID[id]; ok {
		return acct, nil
	}
	return portal.Account{}, kernel.E(kernel.NotFound, "error.not_found")
}

func (a *accounts) AccountOf(_ context.Context, citizenID string) (portal.Account, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, acct := range a.byID {
		if acct.CitizenID == citizenID {
			return acct, nil
		}
	}
	return portal.Account{}, kernel.E(kernel.NotFound, "error.not_found")
}

func (a *accounts) Dependents(_ context.Context, id string) ([]portal.Dependent, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.deps[id]), nil
}

func (a *accounts) Organisations(_ context.Context, id string) ([]portal.Membership, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.orgs[id]), nil
}

func (a *accounts) Posts(ctx context.Context, id string) ([]portal.Post, error) {
	acct, err := a.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	offs, err := a.reg.OfficialsOf(ctx, acct.CitizenID)
	if err != nil {
		return nil, err
	}
	var out []portal.Post
	for _, o := range offs {
		ag, err := a.reg.Agency(ctx, o.AgencyCode)
		if err != nil {
			return nil, err
		}
		out = append(out, portal.Post{Agency: ag, Role: o.Role})
	}
	return out, nil
}

func (a *accounts) AddDependent(ctx context.Context, id, child string) error {
	p, err := a.reg.Person(ctx, child)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deps[id] = append(a.deps[id], portal.Dependent{CitizenID: child, Name: p.FullName})
	a.added = append(a.added, id+">"+child)
	return nil
}

type fakeWallet struct {
	mu    sync.Mutex
	types *wallet.Catalogue
	docs  map[string]portal.Issuance
	held  map[string]portal.Holding // holder ID + type
}

func (w *fakeWallet) Type(code string) (portal.TypeInfo, error) {
	t, err := w.types.Type(code)
	if err != nil {
		return portal.TypeInfo{}, err
	}
	info := portal.TypeInfo{Registry: t.Source != "", Names: t.Names}
	for _, c := range t.Claims {
		info.Claims = append(info.Claims, c.Name)
		if c.Required {
			info.Required = append(info.Required, c.Name)
		}
	}
	return info, nil
}

func (w *fakeWallet) Types() []string {
	var out []string
	for _, t := range w.types.Types() {
		out = append(out, t.Code)
	}
	return out
}

func (w *fakeWallet) Holding(_ context.Context, h portal.Subject, typ string) (portal.Holding, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if hd, ok := w.held[h.ID+"/"+typ]; ok {
		return hd, nil
	}
	return portal.Holding{}, kernel.E(kernel.NotFound, "error.not_found")
}

func (w *fakeWallet) Issue(_ context.Context, in portal.Issuance) (string, error) {
	t, err := w.types.Type(in.Type)
	if err != nil {
		return "", err
	}
	if in.Claims != nil {
		for _, c := range t.Claims {
			if v, ok := in.Claims[c.Name]; c.Required && (!ok || v == "") {
				return "", kernel.E(kernel.Invalid, "wallet.error.claim_missing", c.Name)
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	id := kernel.NewID()
	w.docs[id] = in
	return id, nil
}

func (w *fakeWallet) issued(typ string) []portal.Issuance {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []portal.Issuance
	for _, d := range w.docs {
		if d.Type == typ {
			out = append(out, d)
		}
	}
	return out
}

func (w *fakeWallet) RenderPDF(_ context.Context, h portal.Subject, id, lang string) ([]byte, error) {
	return []byte("%PDF-1.7 " + id), nil
}

func (w *fakeWallet) Credential(_ context.Context, h portal.Subject, id string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.docs[id]
	if !ok || d.Holder != h {
		return "", kernel.E(kernel.NotFound, "error.not_found")
	}
	return "eyJ.credential." + id + "~", nil
}

type fakeSigner struct {
	mu    sync.Mutex
	creds map[string]bool // account@agency; account@ for their own
	signs int
}

func (s *fakeSigner) SignDeclaration(_ context.Context, accountID, code, label string, digest []byte) (portal.Signature, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.creds[accountID+"@"] {
		return portal.Signature{}, kernel.E(kernel.Forbidden, "portal.error.no_credential")
	}
	if code != "123456" {
		return portal.Signature{}, kernel.E(kernel.Forbidden, "portal.error.no_credential")
	}
	s.signs++
	return portal.Signature{Value: append([]byte("sig:"), digest...), Certificate: []byte("cert"), CredentialID: "c1"}, nil
}

func (s *fakeSigner) CanSignResult(_ context.Context, accountID, agency string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.creds[accountID+"@"+agency] {
		return kernel.E(kernel.Forbidden, "portal.error.no_official_credential")
	}
	return nil
}

func (s *fakeSigner) SignResult(ctx context.Context, accountID, agency, code, name string, pdf []byte) ([]byte, error) {
	if err := s.CanSignResult(ctx, accountID, agency); err != nil {
		return nil, err
	}
	if code != "123456" {
		return nil, kernel.E(kernel.Forbidden, "signing.error.bad_code")
	}
	s.mu.Lock()
	s.signs++
	s.mu.Unlock()
	return append(bytes.Clone(pdf), []byte(" signed by "+accountID+" sealed by "+agency)...), nil
}

type fakePayments struct {
	mu       sync.Mutex
	pays     map[string]*portal.Payment
	refunded []string
}

func (p *fakePayments) Start(_ context.Context, r portal.PaymentRequest) (portal.Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pay := &portal.Payment{ID: "pay-" + r.ApplicationID, Status: portal.PaymentPending, Amount: r.Amount, QRPayload: "000201010212", URL: "https://pay.test/" + r.ApplicationID}
	p.pays[pay.ID] = pay
	return *pay, nil
}

func (p *fakePayments) Status(_ context.Context, id string) (portal.Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pay, ok := p.pays[id]; ok {
		return *pay, nil
	}
	return portal.Payment{}, kernel.E(kernel.NotFound, "error.not_found")
}

func (p *fakePayments) Refund(_ context.Context, id, reason string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunded = append(p.refunded, id)
	if pay, ok := p.pays[id]; ok {
		pay.Status = portal.PaymentRefunded
	}
	return nil
}

func (p *fakePayments) settle(id string, amount int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pays[id].Status, p.pays[id].Amount = portal.PaymentPaid, amount
}

type notices struct {
	mu   sync.Mutex
	list []portal.Notice
}

func (n *notices) Notify(_ context.Context, _ *db.Tx, no portal.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, no)
	return nil
}

func (n *notices) templates(account string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, no := range n.list {
		if no.AccountID == account {
			out = append(out, no.Template)
		}
	}
	return out
}

// useLog records the data-use records written.
type useLog struct {
	mu   sync.Mutex
	uses []kernel.DataUse
}

func (u *useLog) Record(_ context.Context, _ *db.Tx, d kernel.DataUse) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.uses = append(u.uses, d)
	return nil
}

var _ = sql.ErrNoRows

func loadTypes() (*wallet.Catalogue, error) { return wallet.LoadCatalogue("") }
