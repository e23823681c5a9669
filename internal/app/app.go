package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"civitas/internal/audit"
	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/demo"
	"civitas/internal/edoc"
	"civitas/internal/exchange"
	"civitas/internal/feedback"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/learning"
	"civitas/internal/notify"
	"civitas/internal/oid4vc"
	"civitas/internal/oidc"
	"civitas/internal/pki"
	"civitas/internal/portal"
	"civitas/internal/portal/payment"
	"civitas/internal/privacy"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/signing"
	"civitas/internal/stats"
	"civitas/internal/statuslist"
	"civitas/internal/verify"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// Version is set at build time with -ldflags "-X civitas/internal/app.Version=...".
var Version = "dev"

// App is one running civitas instance.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	clock    kernel.Clock
	db       *db.DB
	registry *registry.Service
	identity *identity.Service
	notify   *notify.Service
	closeSMS func() // unbinds an SMPP link
	oidc     *oidc.Provider
	pki      *pki.Service
	anchors  *pki.Anchors // imported trust anchors, for validation
	wallet   *wallet.Service
	status   *statuslist.Store // the wallet's status lists
	oid4vc   *oid4vc.Service   // the wallet's OpenID4VCI issuer and OpenID4VP verifier
	signing  *signing.Service
	feedback *feedback.Service
	learning *learning.Service
	exchange *exchange.Service // the data exchange and the data-use log
	privacy  *privacy.Service
	payments *payment.Service // nil without collection accounts
	portal   *portal.Service
	stats    *stats.Service
	edoc     *edoc.Service
	keys     func() // logs out of the PKCS#11 token, if any
	web      *web.Server
	jobs     *jobRunner
}

// New opens and migrates the database, loads the demo province when asked
// and the registry is empty, and builds every capability.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	d, err := db.Open(ctx, db.Options{DSN: cfg.DB, DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	keyPath, keyExisted := keyFile(cfg), true
	if cfg.KeyFile == "" {
		_, statErr := os.Stat(keyPath)
		keyExisted = statErr == nil
	}
	a, err := build(ctx, cfg, log, d)
	if err != nil {
		d.Close()
		if errors.Is(err, sealed.ErrOpen) {
			// The province's secrets were sealed under another key: most
			// likely --key-file was left out of a command. A key this call
			// created beside the data opens nothing and would be mistaken
			// for the province's next time: it goes.
			if !keyExisted {
				_ = os.Remove(keyPath)
			}
			return nil, kernel.E(kernel.Invalid, "error.app.wrong_key", keyPath).WithCause(err)
		}
		return nil, err
	}
	return a, nil
}

func build(ctx context.Context, cfg config.Config, log *slog.Logger, d *db.DB) (_ *App, err error) {
	if _, err := d.Migrate(ctx); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, clock: kernel.SystemClock{}, db: d}
	a.registry = registry.New(d, a.clock)
	if err := a.registry.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	if err := a.registry.EnsureRecordIndexes(ctx); err != nil {
		return nil, err
	}
	if cfg.Demo {
		if _, err := LoadDemo(ctx, d, a.clock, demo.Options{Persons: cfg.DemoPersons, Seed: 1, Province: cfg.DemoProvince}); err != nil && kernel.ErrorCode(err) != kernel.Conflict {
			return nil, err
		}
	}

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(d.WritePool(), "write"),
	)
	if d.ReadPool() != d.WritePool() {
		metrics.MustRegister(collectors.NewDBStatsCollector(d.ReadPool(), "read"))
	}
	catalog, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	public, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.invalid").WithCause(err)
	}
	proxies, err := cfg.Proxies()
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.invalid").WithCause(err)
	}
	a.web, err = web.NewServer(web.Options{
		DB: d, Logger: log, Clock: a.clock, PublicURL: public, Metrics: metrics,
		Catalog: catalog, Ready: a.ready, Version: Version, TrustedProxies: proxies, MetricsToken: cfg.MetricsToken,
	})
	if err != nil {
		return nil, err
	}

	box, err := OpenBox(cfg, log)
	if err != nil {
		return nil, err
	}
	a.notify, a.closeSMS, err = OpenNotify(cfg, d, a.clock, catalog, accountPhones{a}, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.closeSMS()
		}
	}()
	if err := a.notify.Mount(a.web); err != nil {
		return nil, err
	}
	supportPoints, err := cfg.SupportPoints()
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.invalid").WithCause(err)
	}
	a.identity, err = identity.New(identity.Options{DB: d, Clock: a.clock, Registry: a.registry, Box: box, SMS: identitySMS{a.notify},
		Logger: log, Issuer: "civitas " + public.Host, Messages: catalog,
		SupportPoints: supportPoints, SupportPointBudget: cfg.SupportPointBudget, UseLog: laterUseLog{a}})
	if err != nil {
		return nil, err
	}
	a.web.SetOfficials(navOfficials{a.identity})
	a.oidc, err = oidc.New(ctx, oidc.Options{DB: d, Clock: a.clock, Web: a.web, Issuer: cfg.PublicURL, Box: box,
		Authn: oidcLogin{web: a.web, id: a.identity}, Directory: oidcDirectory{id: a.identity, reg: a.registry},
		History: a.identity, UseLog: laterUseLog{a}, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := a.oidc.Mount(); err != nil {
		return nil, err
	}
	if err := a.identity.Mount(a.web, identity.MountOptions{Apps: connectedApps{a.oidc}}); err != nil {
		return nil, err
	}
	// Trust services: the hierarchy is made on first start with the software
	// backend unless `civitas ca init` made it before (perhaps on PKCS#11).
	keys, closeKeys, err := OpenKeys(cfg, d, a.clock, box)
	if err != nil {
		return nil, err
	}
	a.keys = closeKeys
	defer func() {
		if err != nil {
			closeKeys()
		}
	}()
	a.pki, err = pki.New(ctx, pki.Options{DB: d, Clock: a.clock, Keys: keys, Algorithm: pki.Algorithm(cfg.KeyAlgorithm),
		PublicURL: cfg.PublicURL, Holders: pkiHolders{id: a.identity, reg: a.registry},
		Officers: pkiOfficers{id: a.identity, reg: a.registry}, Organisations: pkiHolders{id: a.identity, reg: a.registry}, Logger: log})
	if err != nil {
		return nil, err
	}
	if !a.pki.Ready() {
		if _, err := a.pki.Init(ctx); err != nil {
			return nil, err
		}
	}
	if err := a.pki.Mount(a.web); err != nil {
		return nil, err
	}
	tsaChain, err := a.pki.TSAChain()
	if err != nil {
		return nil, err
	}
	font := systemFont(log) // visible signatures and the wallet's PDFs
	a.signing, err = signing.New(signing.Options{DB: d, Clock: a.clock, Keys: signingKeys{a.pki}, Confirm: a.identity,
		PDF:       &signing.PDF{Chain: a.pki.Chain, Stamper: a.pki.Stamper(), Revocation: a.pki, TSAChain: tsaChain, Font: font},
		Officials: signingOfficials{ca: a.pki, id: a.identity}, Box: box, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := a.signing.Mount(a.web, signingDirectory{id: a.identity, reg: a.registry}); err != nil {
		return nil, err
	}
	a.signing.MountAPI(a.web, signingTokens{a.oidc}, signingKeys{a.pki})
	if a.exchange, err = OpenExchange(d, a.clock, a.registry, a.pki, cfg); err != nil {
		return nil, err
	}
	a.wallet, a.status, err = OpenWallet(d, a.clock, box, a.pki, a.registry, cfg, log, font, a.exchange)
	if err != nil {
		return nil, err
	}
	if err := a.mountWallet(box); err != nil {
		return nil, err
	}
	if err := a.mountExchange(); err != nil {
		return nil, err
	}
	a.learning, err = OpenLearning(ctx, d, a.clock, a.registry, a.identity, a.wallet, a.exchange, log)
	if err != nil {
		return nil, err
	}
	if err := a.learning.Mount(a.web); err != nil {
		return nil, err
	}
	if cfg.Demo {
		if err := SeedLearningDemo(ctx, a.learning); err != nil {
			return nil, err
		}
	}
	var bank *payment.Simulator
	a.payments, bank, err = OpenPayments(cfg, PaymentDeps{DB: d, Clock: a.clock, Box: box, CA: a.pki, Registry: a.registry,
		Identity: a.identity, Uses: a.exchange, Listener: paymentListener{a: a}, Catalog: catalog, Font: font, Handler: a.web.Handler, Logger: log})
	if err != nil {
		return nil, err
	}
	if a.payments != nil {
		if err := a.payments.Mount(a.web); err != nil {
			return nil, err
		}
	}
	if bank != nil {
		if err := bank.Mount(a.web); err != nil {
			return nil, err
		}
	}
	var fees portal.Payments // nil: no online payment (no collection accounts)
	if a.payments != nil {
		fees = portalPayments{p: a.payments, reg: a.registry}
	}
	a.portal, err = OpenPortal(PortalOptions{DB: d, Clock: a.clock, Registry: a.registry, Identity: a.identity, Wallet: a.wallet,
		Signing: a.signing, CA: a.pki, Notify: a.notify, Font: font, UseLog: a.exchange, Payments: fees, Config: cfg})
	if err != nil {
		return nil, err
	}
	if err := a.mountPortal(); err != nil {
		return nil, err
	}
	a.anchors = pki.NewAnchors(d, a.clock)
	if err := verify.Mount(a.web, verify.Options{Trust: a.trust, Online: pki.Sources{a.pki, pki.NewFetcher()}}); err != nil {
		return nil, err
	}
	a.privacy, err = OpenPrivacy(d, a.clock, a.registry, a.identity, a.web, a.oidc, a.wallet, a.signing, a.exchange, font, log)
	if err != nil {
		return nil, err
	}
	if err := a.privacy.Mount(a.web); err != nil {
		return nil, err
	}

	a.feedback, err = OpenFeedback(d, a.clock, a.registry, a.identity, a.notify, a.exchange, cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.Demo {
		if _, err := a.feedback.SeedDemo(ctx, DemoFeedbackReports, 1); err != nil {
			return nil, err
		}
	}
	if err := a.feedback.Mount(a.web); err != nil {
		return nil, err
	}
	if err := a.openEdoc(); err != nil {
		return nil, err
	}
	if cfg.Demo {
		if err := demo.MountPeople(a.web, d, a.clock); err != nil {
			return nil, err
		}
	}

	if err := a.openStats(ctx, metrics); err != nil {
		return nil, err
	}

	// The service navigation of what has landed before capabilities added
	// their own entries when they mount.
	for _, n := range []web.NavItem{
		{Key: "nav.wallet", Path: "/wallet", Order: 20},
		{Key: "nav.signing", Path: "/account/signing", Order: 30},
		{Key: "nav.verify", Path: "/verify", Order: 40},
	} {
		a.web.AddNav(n)
	}

	a.jobs = &jobRunner{db: d, clock: a.clock, log: log, holder: newHolderID(), jobs: []Job{
		{Name: "web.sessions.cleanup", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
			n, err := a.web.DeleteExpiredSessions(ctx, a.clock.Now())
			if n > 0 {
				log.Info("expired sessions deleted", slog.Int64("count", n))
			}
			return err
		}},
		{Name: "identity.throttle.cleanup", Every: time.Hour, Run: func(ctx context.Context) error {
			_, err := a.identity.Throttle().Cleanup(ctx)
			return err
		}},
		{Name: "identity.cleanup", Every: time.Hour, Run: func(ctx context.Context) error {
			_, err := a.identity.Cleanup(ctx)
			return err
		}},
		{Name: "notify.cleanup", Every: time.Hour, Run: func(ctx context.Context) error {
			_, err := a.notify.Cleanup(ctx)
			return err
		}},
		{Name: "oidc.cleanup", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
			_, err := a.oidc.Cleanup(ctx)
			return err
		}},
		{Name: "oidc.keys.rotate", Every: 6 * time.Hour, Run: a.oidc.RotateKeys},
		{Name: "wallet.oid4vc.cleanup", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
			_, err := a.oid4vc.Cleanup(ctx)
			return err
		}},
		{Name: "learning.certificates", Every: time.Minute, Run: func(ctx context.Context) error {
			_, err := a.learning.RetryCertificates(ctx)
			return err
		}},
		{Name: "signing.documents.cleanup", Every: time.Hour, Run: func(ctx context.Context) error {
			_, err := a.signing.Cleanup(ctx)
			return err
		}},
		{Name: "portal.deadlines", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
			n, err := a.portal.MarkOverdue(ctx)
			if n > 0 {
				log.Info("applications past their promised date", slog.Int("count", n))
			}
			return err
		}},
		{Name: "exchange.log.checkpoint", Every: time.Minute, Run: func(ctx context.Context) error {
			_, err := a.exchange.Checkpoint(ctx, a.pki.Stamper())
			return err
		}},
		{Name: "feedback.close", Every: time.Hour, Run: func(ctx context.Context) error {
			_, err := a.feedback.CloseExpired(ctx)
			return err
		}},
		// Every minute or 1,000 records: looks every second for the lease's minute.
		{Name: "audit.checkpoint", Every: time.Minute, Run: func(ctx context.Context) error {
			return a.pki.KeepCheckpoints(ctx, a.pki.Stamper(), pki.DefaultCheckpointPolicy())
		}},
	}}
	a.jobs.jobs = append(a.jobs.jobs, a.edocJobs()...)
	if a.payments != nil {
		inbox := filepath.Join(cfg.DataDir, "payments", "inbox")
		a.jobs.jobs = append(a.jobs.jobs,
			Job{Name: "payment.orders.expire", Every: 10 * time.Minute, Run: func(ctx context.Context) error {
				_, err := a.payments.ExpireOrders(ctx, 1000)
				return err
			}},
			// Statements dropped into the inbox, and yesterday once a day.
			Job{Name: "payment.reconcile", Every: 15 * time.Minute, Run: func(ctx context.Context) error {
				return a.payments.RunDaily(ctx, inbox)
			}})
	}
	return a, nil
}

// keyFile is where the key-encryption key is read: --key-file, or
// DATA/secret.key when none is named.
func keyFile(cfg config.Config) string {
	if cfg.KeyFile != "" {
		return cfg.KeyFile
	}
	return filepath.Join(cfg.DataDir, "secret.key")
}

// OpenBox loads the key-encryption key named by the configuration (creating
// DATA/secret.key when none is named) and returns the box that seals secrets.
func OpenBox(cfg config.Config, log *slog.Logger) (*sealed.Box, error) {
	path, create := keyFile(cfg), cfg.KeyFile == ""
	key, created, err := sealed.LoadOrCreateKeyFile(path, create)
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.app.key_file").WithCause(err)
	}
	if created {
		log.Warn("created a new key-encryption key beside the data; for production pass --key-file from outside the data directory",
			slog.String("path", path))
	}
	// A key file may list older keys after the first while a rewrap moves
	// every secret to the first (civitas keys rewrap): they only open.
	keys, err := sealed.LoadKeyFile(path)
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.app.key_file").WithCause(err)
	}
	return sealed.New(key, keys[1:]...)
}

// ready reports whether this instance can serve: database reachable and
// every migration applied.
func (a *App) ready(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return err
	}
	pending, err := a.db.Pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("app: %d migrations pending", len(pending))
	}
	return nil
}

// Handler returns the whole platform as one http.Handler.
func (a *App) Handler() http.Handler { return a.web.Handler() }

// DB returns the database, for operator commands run in-process.
func (a *App) DB() *db.DB { return a.db }

// Serve answers HTTP on ln and runs the background jobs until ctx ends, then
// shuts down gracefully: no new connections, requests under way finish
// (within ShutdownTimeout), jobs stop, the database closes. metrics, when
// not nil, is the operator's listener (--metrics-addr): it serves /metrics
// and nothing else, and stops with ln.
func (a *App) Serve(ctx context.Context, ln, metrics net.Listener) error {
	srv := a.httpServer(ctx, a.Handler())
	var msrv *http.Server
	mserved := make(chan error, 1)
	if metrics != nil {
		msrv = a.httpServer(ctx, a.web.MetricsHandler())
		go func() { mserved <- msrv.Serve(metrics) }()
		a.log.Info("civitas serving metrics", slog.String("addr", metrics.Addr().String()))
	}
	jobCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); a.jobs.run(jobCtx) }()
	pollDone := make(chan struct{})
	go func() { defer close(pollDone); a.pollRevocations(jobCtx) }()
	hooksDone := make(chan struct{})
	go func() { defer close(hooksDone); a.signing.RunWebhooks(jobCtx, 5*time.Second) }()
	noticesDone := make(chan struct{})
	go func() { defer close(noticesDone); a.notify.Run(jobCtx, 5*time.Second) }()

	peersDone := make(chan error, 1)
	if a.cfg.PeerAddr != "" {
		pln, err := net.Listen("tcp", a.cfg.PeerAddr)
		if err != nil {
			stopJobs()
			<-jobsDone
			<-pollDone
			<-hooksDone
			<-noticesDone
			return fmt.Errorf("app: listen for peers on %s: %w", a.cfg.PeerAddr, err)
		}
		go func() {
			err := a.exchange.ServePeers(jobCtx, pln)
			if err != nil {
				a.log.Error("the peer listener stopped", slog.Any("error", err))
			}
			peersDone <- err
		}()
	} else {
		peersDone <- nil
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	a.log.Info("civitas serving", slog.String("addr", ln.Addr().String()), slog.String("public_url", a.cfg.PublicURL),
		slog.String("db", string(a.db.Dialect())), slog.String("version", Version))

	var err error
	select {
	case err = <-served:
	case err = <-mserved:
		_ = srv.Close()
		<-served
	case <-ctx.Done():
		a.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
		<-served
	}
	if msrv != nil {
		_ = msrv.Close() // a scrape in flight is simply cut: the next one sees the new process
	}
	stopJobs()
	<-jobsDone
	<-pollDone
	<-hooksDone
	<-noticesDone
	if perr := <-peersDone; perr != nil && err == nil {
		err = perr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// httpServer is an HTTP server with the limits every listener gets.
func (a *App) httpServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// pollRevocations brings revocations made by other processes (an operator's
// cert revoke, another instance) to this instance's OCSP responders, and
// renews their pre-signed answers before they are due. Every instance runs
// it: each has its own pre-signed answers.
func (a *App) pollRevocations(ctx context.Context) {
	t := time.NewTicker(pki.RevocationPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.pki.PollRevocations(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("polling revocations failed", slog.Any("error", err))
			}
			if _, err := a.pki.RenewOCSP(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("renewing OCSP answers failed", slog.Any("error", err))
			}
		}
	}
}

// GCPercent is the garbage collector's target in a serving process. The
// live heap of civitas is small (tens of MiB) and the cores are what a
// province's server runs out of first: collecting at 5× the live heap
// instead of 2× gives ~5 % of the CPU back to requests on the token
// endpoint, for some tens of MiB of memory.
const GCPercent = 400

// TuneRuntime applies GCPercent unless the operator set GOGC.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}

// Close releases the database.
func (a *App) Close() error {
	if a.status != nil {
		a.status.Close()
	}
	if a.keys != nil {
		a.keys()
	}
	if a.closeSMS != nil {
		a.closeSMS()
	}
	return a.db.Close()
}

// LoadDemo loads the demo province into an empty registry and records it in
// the audit log. It fails with a Conflict when the registry is not empty.
func LoadDemo(ctx context.Context, d *db.DB, clock kernel.Clock, o demo.Options) (demo.Stats, error) {
	if o.Clock == nil {
		o.Clock = clock
	}
	st, err := demo.Load(ctx, d, o)
	if err != nil {
		return st, err
	}
	ctx = kernel.WithActor(ctx, kernel.System("demo"))
	err = d.Update(ctx, clock.Now(), func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, audit.Entry{
			Action: "demo.load", SubjectType: "registry", SubjectID: "demo",
			Details: map[string]any{"persons": st.Persons, "seed": o.Seed, "province": cmp.Or(o.Province, demo.ProvinceCode)},
		})
		return err
	})
	return st, err
}
