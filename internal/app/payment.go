package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/portal/payment"
	"civitas/internal/registry"
	"civitas/internal/sealed"
)

// PaymentDeps is what payments are built on.
type PaymentDeps struct {
	DB       *db.DB
	Clock    kernel.Clock
	Box      *sealed.Box
	CA       *pki.Service // seals receipts; nil: no receipts
	Registry *registry.Service
	Identity *identity.Service // officials' posts; nil: none
	Uses     payment.UseLog    // officials' reads of receipts; nil: the operator's commands, which read none
	Listener payment.Listener  // told of each change of an order (the portal); nil: nobody
	Catalog  *i18n.Catalog
	Font     *pdf.Font // nil: no receipts
	// Handler is the whole router, which the demo's bank and the
	// gateway driver reach in the same process.
	Handler func() http.Handler
	Logger  *slog.Logger
	// Operator builds payments for an operator's command: without
	// accounts it still reconciles statements, and it has no gateway.
	Operator bool
}

// OpenPayments builds payments as the configuration says: the agencies'
// accounts (--payment-accounts, DATA/payments/accounts.json, or with
// --demo the demo province's), the gateway (--payment-gateway vnpay with
// its URL, merchant code and secret; with --demo and none named, the demo
// bank, returned to be mounted). Without accounts outside a demo there are
// no payments: it returns nil and the portal offers none.
func OpenPayments(cfg config.Config, o PaymentDeps) (*payment.Service, *payment.Simulator, error) {
	p := cfg.Payment
	path := p.Accounts
	if path == "" {
		path = filepath.Join(cfg.DataDir, "payments", "accounts.json")
	}
	var accounts payment.Accounts
	switch a, err := payment.LoadAccounts(path); {
	case err == nil:
		accounts = a
	case p.Accounts == "" && errors.Is(err, os.ErrNotExist) && cfg.Demo:
		accounts = payment.DemoAccounts()
	case p.Accounts == "" && errors.Is(err, os.ErrNotExist) && o.Operator:
	case p.Accounts == "" && errors.Is(err, os.ErrNotExist):
		o.Logger.Info("no payments: no collection accounts (DATA/payments/accounts.json or --payment-accounts)")
		return nil, nil, nil
	default:
		return nil, nil, kernel.E(kernel.Invalid, "payment.error.config").WithCause(err)
	}
	var provider payment.PaymentProvider
	var sim *payment.Simulator
	inproc := payment.HandlerClient(o.Handler)
	switch {
	case o.Operator:
	case p.Gateway == "vnpay":
		gw, err := payment.NewGateway(payment.GatewayOptions{PayURL: p.GatewayURL, APIURL: p.GatewayAPI, Merchant: p.Merchant, Secret: []byte(p.Secret)})
		if err != nil {
			return nil, nil, kernel.E(kernel.Invalid, "payment.error.config").WithCause(err)
		}
		provider = gw
	case p.Gateway == "" && cfg.Demo:
		// The demo bank: a secret of this process, which the bank and
		// the driver share; each reaches the other through the router.
		var b [32]byte
		_, _ = rand.Read(b[:])
		secret := []byte(hex.EncodeToString(b[:]))
		gw, err := payment.NewGateway(payment.GatewayOptions{PayURL: cfg.PublicURL + "/demo/pay/{order}",
			APIURL: cfg.PublicURL + "/demo/pay/api/refund", Merchant: "CIVITAS0", Secret: secret, HTTP: inproc})
		if err != nil {
			return nil, nil, err
		}
		provider = gw
		sim = &payment.Simulator{Merchant: "CIVITAS0", Secret: secret, IPNURL: cfg.PublicURL + "/payments/gateway/vnpay/ipn",
			HTTP: inproc, Clock: o.Clock, Logger: o.Logger}
	case p.Gateway == "" || p.Gateway == "none":
	default:
		return nil, nil, kernel.E(kernel.Invalid, "payment.error.config").WithCause(errors.New("--payment-gateway must be vnpay or none"))
	}
	var uses payment.UseLog = noUses{}
	if o.Uses != nil {
		uses = o.Uses
	}
	opts := payment.Options{DB: o.DB, Clock: o.Clock, Accounts: accounts, Provider: provider, PublicURL: cfg.PublicURL,
		Directory: paymentDirectory{id: o.Identity, reg: o.Registry}, UseLog: uses, Listener: o.Listener, Box: o.Box, Messages: o.Catalog, Logger: o.Logger}
	if o.CA != nil && o.Font != nil {
		opts.Font, opts.Sealer = o.Font, paymentSealer{ca: o.CA, clock: o.Clock}
	}
	s, err := payment.New(opts)
	if err != nil {
		return nil, nil, kernel.E(kernel.Invalid, "payment.error.config").WithCause(err)
	}
	return s, sim, nil
}

// paymentDirectory gives payments the agencies' names, officials' posts
// and payers' names from the registry and the e-ID.
type paymentDirectory struct {
	id  *identity.Service
	reg *registry.Service
}

var _ payment.Directory = paymentDirectory{}

func (d paymentDirectory) AgencyName(ctx context.Context, code string) (string, error) {
	a, err := d.reg.Agency(ctx, code)
	if err != nil {
		return "", err
	}
	return a.Name, nil
}

func (d paymentDirectory) Posts(ctx context.Context, accountID string) ([]string, error) {
	if d.id == nil {
		return nil, nil
	}
	posts, err := d.id.Posts(ctx, accountID)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.NotFound {
			return nil, nil
		}
		return nil, err
	}
	out := make([]string, 0, len(posts))
	for _, p := range posts {
		out = append(out, p.Agency.Code)
	}
	return out, nil
}

func (d paymentDirectory) PersonName(ctx context.Context, citizenID string) (string, error) {
	p, err := d.reg.Person(ctx, citizenID)
	if err != nil {
		return "", err
	}
	return p.FullName, nil
}

// paymentSealer seals receipts with the collecting agency's seal from the
// trust services at PAdES B-T, as the wallet's PDFs are.
type paymentSealer struct {
	ca    *pki.Service
	clock kernel.Clock
}

var _ payment.Sealer = paymentSealer{}

func (s paymentSealer) SealPDF(ctx context.Context, agency string, in []byte) ([]byte, error) {
	signer, chain, err := s.ca.Seal(ctx, agency)
	if err != nil {
		return nil, err
	}
	if err := s.ca.StartOnline(ctx); err != nil {
		return nil, err
	}
	tsaChain, err := s.ca.TSAChain()
	if err != nil {
		return nil, err
	}
	o := pades.Options{Level: pades.LevelBT, Certificate: chain[0], Chain: chain[1:], Stamper: s.ca.Stamper(), TSAChain: tsaChain,
		PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, Reason: "Biên lai thu phí, lệ phí / Receipt of fees and charges",
			SignTime: s.clock.Now()}}
	out := &sealedPDFBuffer{b: make([]byte, 0, len(in)+48<<10)}
	n, err := pades.Sign(ctx, out, bytes.NewReader(in), int64(len(in)), signer, o)
	if err != nil {
		return nil, err
	}
	return out.b[:n], nil
}

// Payments returns payments, or nil when there are none.
func (a *App) Payments() *payment.Service { return a.payments }
