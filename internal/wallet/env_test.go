package wallet_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
)

const issuer = "https://civitas.test"

// env is a province with its registries (the demo), trust services and
// status lists: the wallet on real parts.
type env struct {
	t      testing.TB
	ctx    context.Context
	d      *db.DB
	clock  *kernel.ManualClock
	reg    *registry.Service
	ca     *pki.Service
	status *statuslist.Store
	w      *wallet.Service
	opts   wallet.Options
}

// organisations names agencies for the seals; no officials here.
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
	return newEnvAt(t, issuer)
}

// newEnvAt is newEnv with the trust services at pkiURL: a live test
// server's, where a verifier such as pdfsig must reach OCSP.
func newEnvAt(t testing.TB, pkiURL string) *env {
	t.Helper()
	e := &env{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: dbtest.Open(t), clock: kernel.NewManualClock(time.Now())}
	if _, err := demo.Load(e.ctx, e.d, demo.Options{Persons: 300, Seed: 7, Clock: e.clock}); err != nil {
		t.Fatal(err)
	}
	e.reg = registry.New(e.d, e.clock)
	box, _ := sealed.New(bytes.Repeat([]byte{9}, sealed.KeySize))
	var err error
	e.ca, err = pki.New(e.ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: box, Clock: e.clock},
		PublicURL: pkiURL + "/", Organisations: organisations{e.reg}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ca.Init(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.status, err = statuslist.NewStore(statuslist.Options{DB: e.d, PublicURL: issuer, Clock: e.clock, Size: 1024,
		Signer: func(ctx context.Context, group string) (statuslist.Signer, error) {
			agency, err := e.w.AgencyOfGroup(ctx, group)
			if err != nil {
				return statuslist.Signer{}, err
			}
			key, chain, err := e.ca.Seal(ctx, agency)
			if err != nil {
				return statuslist.Signer{}, err
			}
			return statuslist.Signer{Key: key, Issuer: issuer, Header: map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(chain[0].Raw)}}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.status.Close)
	cat, err := wallet.LoadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	e.opts = wallet.Options{DB: e.d, Clock: e.clock, Box: box, Catalogue: cat, Seals: app.WalletSeals(e.ca), Registries: e.reg,
		Status: e.status, Issuer: issuer}
	e.w, err = wallet.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// noCacheWallet is the same wallet with no cache of verified issuer
// signatures: every verification checks everything.
func (e *env) noCacheWallet() *wallet.Service {
	e.t.Helper()
	o := e.opts
	o.SignatureCache = -1
	w, err := wallet.New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// agency returns the code of a demo agency of kind k.
func (e *env) agency(k registry.AgencyKind) string {
	e.t.Helper()
	as, err := e.reg.ListAgencies(e.ctx, kernel.Page{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range as {
		if a.Kind == k {
			return a.Code
		}
	}
	e.t.Fatalf("no %s agency in the demo", k)
	return ""
}

// person returns a demo adult's citizen ID.
func (e *env) person(n int) registry.Person {
	e.t.Helper()
	ps, err := e.reg.ListPersons(e.ctx, kernel.Page{Limit: 300})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range ps {
		if p.AgeOn(e.clock.Now()) >= 18 {
			if n == 0 {
				return p
			}
			n--
		}
	}
	e.t.Fatal("not enough adults in the demo")
	return registry.Person{}
}

// business returns a demo enterprise.
func (e *env) business() registry.Business {
	e.t.Helper()
	var b registry.Business
	err := e.d.QueryRow(e.ctx, `SELECT reg_number FROM businesses ORDER BY reg_number LIMIT 1`).Scan(&b.RegNumber)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err = e.reg.Business(e.ctx, b.RegNumber)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

var _ = x509.Certificate{}
var _ = jose.JWK{}
