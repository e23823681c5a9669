package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"civitas/internal/app"
	"civitas/internal/config"
	"civitas/internal/kernel"
	"civitas/internal/portal/payment"
	"civitas/internal/registry"
)

// paymentsCommand is the operators' contract for fees:
// civitas payments reconcile --data DIR --statement FILE.csv [--date YYYY-MM-DD] [--agency CODE] [--json]
func paymentsCommand() command {
	var statement, date, agency string
	var asJSON bool
	return command{
		name:  "payments",
		usage: "civitas payments reconcile --data DIR --statement FILE.csv [--date YYYY-MM-DD] [--agency CODE] [--json]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			c.BindPayment(fs)
			fs.StringVar(&statement, "statement", "", "the bank statement, CSV `file` with a header line")
			fs.StringVar(&date, "date", "", "reconcile only this `day` (YYYY-MM-DD); default: every day the statement covers")
			fs.StringVar(&agency, "agency", "", "the `agency` whose account the statement is of (default: the province's collection account)")
			fs.BoolVar(&asJSON, "json", false, "one JSON object per day")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 1 || args[0] != "reconcile" {
				return usageError("expected: civitas payments reconcile --statement FILE.csv")
			}
			if statement == "" {
				return usageError("--statement names the bank statement (CSV)")
			}
			if date != "" {
				if _, err := time.Parse(time.DateOnly, date); err != nil {
					return usageError("--date must be YYYY-MM-DD")
				}
			}
			data, err := readLimited(statement, payment.MaxStatementBytes)
			if err != nil {
				return err
			}
			d, err := openDB(ctx, c)
			if err != nil {
				return err
			}
			defer d.Close()
			clock := kernel.SystemClock{}
			s, _, err := app.OpenPayments(c, app.PaymentDeps{DB: d, Clock: clock, Registry: registry.New(d, clock), Operator: true,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				return err
			}
			st, reps, err := s.ReconcileStatement(ctx, statement, data, agency, date)
			if err != nil {
				return err
			}
			if !asJSON {
				state := "imported"
				if !st.New {
					state = "already imported"
				}
				fmt.Fprintf(stdout, "statement %s: %d lines, %s\n", st.Name, st.Lines, state)
			}
			for _, r := range reps {
				printReconciliation(stdout, r, asJSON)
			}
			return nil
		},
	}
}

// printReconciliation writes a day's reconciliation: a summary line, then a line
// per mismatch.
func printReconciliation(w io.Writer, r payment.Report, asJSON bool) {
	if asJSON {
		items := make([]map[string]any, 0, len(r.Mismatches))
		for _, m := range r.Mismatches {
			items = append(items, map[string]any{"kind": m.Kind, "agency": m.Agency, "reference": m.Reference, "order": m.OrderID,
				"application": m.ApplicationID, "expected": m.Expected, "got": m.Got, "statement": m.StatementID, "line": m.Line, "bank_txn": m.BankTxn})
		}
		b, _ := json.Marshal(map[string]any{"day": r.Day, "run": r.RunID, "lines": r.Lines, "matched": r.Matched, "settled": r.Settled, "mismatches": items})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "%s: %d lines, %d matched (%d paid by transfer), %d mismatches\n", r.Day, r.Lines, r.Matched, r.Settled, len(r.Mismatches))
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "  %-9s reference %-12s order %-26s application %s expected %d got %d", m.Kind, dash(m.Reference), dash(m.OrderID),
			dash(m.ApplicationID), m.Expected, m.Got)
		if m.Line > 0 {
			fmt.Fprintf(w, " line %d", m.Line)
		}
		if m.BankTxn != "" {
			fmt.Fprintf(w, " bank %s", m.BankTxn)
		}
		fmt.Fprintln(w)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
