package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/kernel"
	"civitas/internal/privacy"
)

// openPrivacy opens the personal-data capability for an operator command:
// retention and breaches need only the database.
func openPrivacy(ctx context.Context, c config.Config) (*privacy.Service, func(), error) {
	d, err := openDB(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	s, err := app.OpenPrivacy(d, kernel.SystemClock{}, nil, nil, nil, nil, nil, nil, nil, nil, c.Logger(os.Stderr))
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return s, func() { d.Close() }, nil
}

func retentionCommand() command {
	var dryRun bool
	var rulesFile string
	return command{
		name:  "retention",
		usage: "civitas retention run [--dry-run] [--rules FILE] | civitas retention rules   [--data DIR] [--db DSN]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.BoolVar(&dryRun, "dry-run", false, "count what each rule would delete, delete nothing")
			fs.StringVar(&rulesFile, "rules", "", "a JSON `FILE` of retention rules (default: the built-in ones, see civitas retention rules)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			rules := privacy.DefaultRules()
			if rulesFile != "" {
				b, err := os.ReadFile(rulesFile)
				if err != nil {
					return fmt.Errorf("--rules: %w", err)
				}
				if rules, err = privacy.ParseRules(b); err != nil {
					return err
				}
			}
			switch {
			case len(args) == 1 && args[0] == "rules":
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rules)
			case len(args) == 1 && args[0] == "run":
			default:
				return usageError("expected: civitas retention run [--dry-run] | civitas retention rules")
			}
			s, done, err := openPrivacy(ctx, c)
			if err != nil {
				return err
			}
			defer done()
			res, err := s.RunRetention(ctx, rules, dryRun)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			fmt.Fprintf(tw, "RULE\tTABLE\tOLDER THAN\t%s\n", strings.ToUpper(verb))
			for _, r := range res {
				what := fmt.Sprintf("%d rows", r.Rows)
				if len(r.Rule.Children) > 0 {
					what += fmt.Sprintf(" (+%d referencing rows)", r.Children)
				}
				if r.Skipped != "" {
					what = "skipped: " + r.Skipped
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Rule.Name, r.Rule.Table, r.Before.In(kernel.Zone()).Format(time.DateOnly), what)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if !dryRun {
				fmt.Fprintln(stdout, "recorded in the audit log (privacy.retention.run); the audit chain is untouched")
			}
			return nil
		},
	}
}

// parseWhen reads a time as an operator types it: RFC 3339, or
// "2006-01-02 15:04" in the province's time zone.
func parseWhen(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, kernel.Zone()); err == nil {
		return t, nil
	}
	return time.Time{}, usageError(flagName + ` must be RFC 3339 (2026-03-01T08:00:00+07:00) or "2026-03-01 08:00" (UTC+7)`)
}

func breachCommand() command {
	var b struct {
		what, detected, occurred, kinds, whom, consequences, measures, contact, notified, late, at string
		count                                                                                      int64
		asJSON                                                                                     bool
	}
	return command{
		name: "breach",
		usage: "civitas breach record --what TEXT --detected TIME [--occurred TIME] --data-kinds TEXT --whom TEXT [--count N] --contact TEXT [--consequences TEXT] [--measures TEXT] [--notified TIME] [--late-reason TEXT]\n" +
			"       civitas breach list [--json] | civitas breach notified ID [--at TIME]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.StringVar(&b.what, "what", "", "what happened: where, how, which systems, who if known")
			fs.StringVar(&b.detected, "detected", "", "when it was detected (`TIME`; default now)")
			fs.StringVar(&b.occurred, "occurred", "", "when it happened, if known (`TIME`)")
			fs.StringVar(&b.kinds, "data-kinds", "", "which kinds of personal data (names, ID numbers, phone numbers, ...)")
			fs.StringVar(&b.whom, "whom", "", "whose data: which people, described")
			fs.Int64Var(&b.count, "count", 0, "how many people, as far as known")
			fs.StringVar(&b.consequences, "consequences", "", "what may follow for them")
			fs.StringVar(&b.measures, "measures", "", "what was done to stop it and limit the harm")
			fs.StringVar(&b.contact, "contact", "", "who answers for data protection: name, phone, e-mail")
			fs.StringVar(&b.notified, "notified", "", "when the authority was notified, if it was (`TIME`)")
			fs.StringVar(&b.late, "late-reason", "", "why the authority is told after 72 hours")
			fs.StringVar(&b.at, "at", "", "notified: when (`TIME`; default now)")
			fs.BoolVar(&b.asJSON, "json", false, "list: JSON lines")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) == 0 {
				return usageError("expected: civitas breach record|list|notified")
			}
			s, done, err := openPrivacy(ctx, c)
			if err != nil {
				return err
			}
			defer done()
			switch {
			case args[0] == "record" && len(args) == 1:
				det, err := parseWhen("--detected", b.detected)
				if err != nil {
					return err
				}
				if det.IsZero() {
					det = time.Now()
				}
				occ, err := parseWhen("--occurred", b.occurred)
				if err != nil {
					return err
				}
				not, err := parseWhen("--notified", b.notified)
				if err != nil {
					return err
				}
				rec, err := s.RecordBreach(ctx, privacy.Breach{DetectedAt: det, OccurredAt: occ, Description: b.what, Categories: b.kinds,
					Subjects: b.whom, SubjectsCount: b.count, Consequences: b.consequences, Measures: b.measures, Contact: b.contact,
					NotifiedAt: not, LateReason: b.late})
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "breach %s recorded; the authority must be told by %s\n", rec.ID, rec.Deadline().In(kernel.Zone()).Format(time.RFC3339))
				fmt.Fprintf(stdout, "send this notification (then: civitas breach notified %s --at TIME):\n\n%s", rec.ID, rec.Notification)
				return nil
			case args[0] == "list" && len(args) == 1:
				list, err := s.Breaches(ctx)
				if err != nil {
					return err
				}
				if b.asJSON {
					enc := json.NewEncoder(stdout)
					for _, x := range list {
						if err := enc.Encode(x); err != nil {
							return err
						}
					}
					return nil
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tDETECTED\tDEADLINE\tNOTIFIED\tPEOPLE")
				for _, x := range list {
					notified := "NOT YET"
					if !x.NotifiedAt.IsZero() {
						notified = x.NotifiedAt.In(kernel.Zone()).Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", x.ID, x.DetectedAt.In(kernel.Zone()).Format(time.RFC3339),
						x.Deadline().In(kernel.Zone()).Format(time.RFC3339), notified, x.SubjectsCount)
				}
				return tw.Flush()
			case args[0] == "notified" && len(args) == 2:
				at, err := parseWhen("--at", b.at)
				if err != nil {
					return err
				}
				if at.IsZero() {
					at = time.Now()
				}
				if err := s.BreachNotified(ctx, args[1], at); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "breach %s: notified at %s (recorded in the audit log)\n", args[1], at.In(kernel.Zone()).Format(time.RFC3339))
				return nil
			}
			return usageError("expected: civitas breach record|list|notified ID")
		},
	}
}
