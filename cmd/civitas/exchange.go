package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/exchange"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/registry"
)

// openExchange opens the database and the exchange, for commands that
// grant, list and read the log (no keys needed).
func openExchange(ctx context.Context, c config.Config) (*exchange.Service, *db.DB, error) {
	d, err := openDB(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	clock := kernel.SystemClock{}
	x, err := app.OpenExchange(d, clock, registry.New(d, clock), nil, c)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return x, d, nil
}

func exchangeCommand() command {
	var consumer, service, fields, basis, until, subject string
	var asJSON bool
	return command{
		name: "exchange",
		usage: "civitas exchange services [--json] | grant --consumer CLIENT_ID --service CODE --fields f1,f2 --basis TEXT [--until DATE] | " +
			"revoke --consumer CLIENT_ID --service CODE | grants [--consumer ID] [--json] | log --subject ID [--json] | verify | purposes [--json]  [--data DIR]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&consumer, "consumer", "", "grant, revoke, grants: the consumer: a client `ID` (client add --agency CODE --scope exchange.query), desk:AGENCY for an agency's officials, PEER:CLIENT_ID for a peer province's")
			fs.StringVar(&service, "service", "", "grant, revoke: the service `code` (civitas exchange services)")
			fs.StringVar(&fields, "fields", "", "grant: the `fields` granted, comma-separated, as the registry names them")
			fs.StringVar(&basis, "basis", "", "grant: the legal basis of the grant (`text`)")
			fs.StringVar(&until, "until", "", "grant: the last day the grant holds, YYYY-MM-DD (default: until revoked)")
			fs.StringVar(&subject, "subject", "", "log: the citizen `ID` whose reads to list")
			fs.BoolVar(&asJSON, "json", false, "services, grants, log, purposes: one JSON object a line")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 {
				return usageError("expected: civitas exchange services|grant|revoke|grants|log|verify|purposes")
			}
			if args[0] == "verify" {
				return exchangeVerify(ctx, c, stdout)
			}
			x, d, err := openExchange(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			line := func(v any) {
				b, _ := json.Marshal(v)
				fmt.Fprintf(stdout, "%s\n", b)
			}
			switch args[0] {
			case "services":
				for _, sp := range x.Catalogue().Specs() {
					prov, err := x.Provider(ctx, sp)
					if err != nil && kernel.ErrorCode(err) != kernel.Unavailable {
						return err
					}
					if asJSON {
						line(map[string]any{"code": sp.Code, "provider": prov.Code, "fields": sp.FieldNames(), "version": sp.Version,
							"subject": sp.Subject, "list": sp.List})
						continue
					}
					fmt.Fprintf(stdout, "%-28s v%d  %-10s %-10s %s\n", sp.Code, sp.Version, prov.Code, sp.Subject, strings.Join(sp.FieldNames(), ","))
				}
			case "purposes":
				for _, p := range exchange.Purposes() {
					if asJSON {
						line(map[string]any{"code": p.Code})
						continue
					}
					fmt.Fprintln(stdout, p.Code)
				}
			case "grant":
				if consumer == "" || service == "" || fields == "" || basis == "" {
					return usageError("--consumer, --service, --fields and --basis are required")
				}
				if peerName, _, ok := strings.Cut(consumer, ":"); ok && peerName+":" != exchange.DeskPrefix {
					if _, err := x.Peer(ctx, peerName); err != nil {
						fmt.Fprintf(stdout, "note: no peer %q is registered yet (civitas peer add)\n", peerName)
					}
				}
				g, err := x.Grant(ctx, exchange.GrantRequest{Consumer: consumer, Service: service, Fields: strings.Split(fields, ","),
					Basis: basis, Until: until})
				if err != nil {
					return err
				}
				end := "until revoked"
				if !g.Until.IsZero() {
					end = "through " + g.Until.Add(-time.Nanosecond).In(kernel.Zone()).Format(time.DateOnly)
				}
				fmt.Fprintf(stdout, "granted %s to %s: %s (%s)\n", g.Service, g.Consumer, strings.Join(g.Fields, ","), end)
			case "revoke":
				if consumer == "" || service == "" {
					return usageError("--consumer and --service are required")
				}
				if err := x.Revoke(ctx, consumer, service); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "revoked %s from %s\n", service, consumer)
			case "grants":
				gs, err := x.Grants(ctx, consumer)
				if err != nil {
					return err
				}
				now := time.Now()
				for _, g := range gs {
					state := "active"
					switch {
					case !g.RevokedAt.IsZero():
						state = "revoked"
					case !g.Active(now):
						state = "expired"
					}
					if asJSON {
						v := map[string]any{"consumer": g.Consumer, "service": g.Service, "fields": g.Fields, "basis": g.Basis,
							"granted_at": g.GrantedAt, "state": state}
						if !g.Until.IsZero() {
							v["until"] = g.Until
						}
						line(v)
						continue
					}
					fmt.Fprintf(stdout, "%-24s %-28s %-8s %s\n", g.Consumer, g.Service, state, strings.Join(g.Fields, ","))
				}
			case "log":
				if subject == "" {
					return usageError("--subject is required")
				}
				if _, err := registry.ParseCitizenID(subject); err != nil {
					return err
				}
				// Oldest first: the order things happened in.
				var all []exchange.Entry
				q := exchange.UseQuery{Subject: subject, Page: kernel.Page{Limit: kernel.MaxPageLimit}}
				for {
					es, next, err := x.Uses(ctx, q)
					if err != nil {
						return err
					}
					all = append(all, es...)
					if next == "" {
						break
					}
					q.Page.After = next
				}
				for i := len(all) - 1; i >= 0; i-- {
					e := all[i]
					if asJSON {
						fields := e.Fields
						if fields == nil {
							fields = []string{}
						}
						line(map[string]any{"at": e.At.Format(time.RFC3339Nano), "consumer": e.Consumer, "service": e.Service,
							"purpose": e.Purpose, "case_ref": e.CaseRef, "fields": fields, "reader": e.ReaderName, "agency": e.Agency,
							"channel": e.Channel, "peer": e.Peer, "receipt": e.Receipt})
						continue
					}
					fmt.Fprintf(stdout, "%s  %-24s %-28s %-24s %-16s %s\n", e.At.In(kernel.Zone()).Format("2006-01-02 15:04:05"), e.Consumer,
						e.Service, e.Purpose, e.CaseRef, strings.Join(e.Fields, ","))
				}
			default:
				return usageError("expected: civitas exchange services|grant|revoke|grants|log|verify|purposes")
			}
			return nil
		},
	}
}

// exchangeVerify checks the exchange's log: every entry's hash and link,
// and every time-stamped checkpoint against the province's TSA.
func exchangeVerify(ctx context.Context, c config.Config, stdout io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	ca, done, err := openPKI(ctx, c, log)
	if err != nil {
		return err
	}
	defer done()
	var tsa *pki.CA
	if ca.Ready() {
		if tsa, err = ca.CA(pki.TSA); err != nil {
			return err
		}
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	var tsaCert *x509.Certificate
	if tsa != nil {
		tsaCert = tsa.Cert
	}
	rep, err := exchange.VerifyLog(ctx, d, tsaCert)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("exchange log broken at entry %d: %s (%d entries before it verified)", rep.FirstBad, rep.Problem, rep.Entries)
	}
	fmt.Fprintf(stdout, "exchange log intact: %d entries verified in %s; head %d %s; %d time-stamped checkpoints verified\n",
		rep.Entries, time.Since(start).Round(time.Millisecond), rep.HeadSeq, rep.HeadHash, rep.Checkpoints)
	return nil
}
