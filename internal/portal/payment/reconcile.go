package payment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Kinds of mismatch a reconciliation lists.
const (
	MismatchMissing   = "missing"   // paid here, on no statement
	MismatchUnknown   = "unknown"   // on a statement, no order of ours
	MismatchAmount    = "amount"    // on a statement with another amount than the order's
	MismatchDuplicate = "duplicate" // an order paid twice
	MismatchLate      = "late"      // money for an order that had expired, failed or was paid before
)

// Mismatch is one thing a reconciliation could not match.
type Mismatch struct {
	Kind          string
	Agency        string
	Reference     string
	OrderID       string
	ApplicationID string
	Expected      int64 // the order's amount
	Got           int64 // the statement's (or the gateway's)
	StatementID   string
	Line          int
	BankTxn       string
}

// Report is a reconciliation of one day.
type Report struct {
	RunID      string
	Day        string
	Lines      int // statement lines of the day
	Matched    int
	Settled    int // pending orders the statement showed paid by transfer
	Mismatches []Mismatch
	RunAt      time.Time
}

// Statement is an imported statement.
type Statement struct {
	ID     string
	Name   string
	Agency string
	Lines  int
	Days   []string
	New    bool // false when the same file was imported before
}

// ImportStatement reads a statement and keeps its lines, the order
// reference each names resolved against the orders. The same file (by
// SHA-256) imported again changes nothing. agency is whose account it is
// ("" for the default account).
func (s *Service) ImportStatement(ctx context.Context, name string, data []byte, agency string) (Statement, error) {
	lines, err := ParseStatement(bytes.NewReader(data))
	if err != nil {
		return Statement{}, err
	}
	sum := sha256.Sum256(data)
	st := Statement{ID: kernel.NewOrderedID(s.now()), Name: filepath.Base(name), Agency: agency, Lines: len(lines), New: true}
	days := map[string]bool{}
	for _, l := range lines {
		days[l.Day] = true
	}
	for d := range days {
		st.Days = append(st.Days, d)
	}
	sort.Strings(st.Days)
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM payment_statements WHERE sha256 = ?`, hex.EncodeToString(sum[:])).Scan(&id)
		if err == nil {
			st.ID, st.New = id, false
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return kernel.Wrap(err, "payment: statement")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO payment_statements (id, sha256, name, agency, lines, imported_at) VALUES (?, ?, ?, ?, ?, ?)`,
			st.ID, hex.EncodeToString(sum[:]), st.Name, agency, len(lines), kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "payment: statement")
		}
		for _, l := range lines {
			ref := ""
			for _, c := range l.Candidates {
				if _, err := findOrderByReference(ctx, tx, c); err == nil {
					ref = c
					break
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO payment_settlements (statement_id, line, day, reference, amount, bank_txn, description)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, st.ID, l.Line, l.Day, ref, l.Amount, l.BankTxn, l.Description); err != nil {
				return kernel.Wrap(err, "payment: settlement")
			}
		}
		return s.audit(ctx, tx, "payment.statement.import", order{ID: st.ID}, map[string]any{"lines": len(lines), "agency": agency, "sha256": hex.EncodeToString(sum[:])})
	})
	return st, err
}

type settlement struct {
	StatementID string
	Line        int
	Day         string
	Reference   string
	Amount      int64
	BankTxn     string
	Agency      string // the statement's
}

// Reconcile matches the statement lines of day (YYYY-MM-DD, the
// province's calendar) to the orders: a line naming an order with its
// amount matches it, and a pending order so matched becomes paid by
// transfer; every order paid that day must be on some statement. What
// does not match is listed and kept as the day's latest run.
func (s *Service) Reconcile(ctx context.Context, day string) (Report, error) {
	start, err := time.ParseInLocation(time.DateOnly, day, kernel.Zone())
	if err != nil {
		return Report{}, kernel.E(kernel.Invalid, "payment.error.day", day)
	}
	rep := Report{Day: day}
	var settled []order
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		rep = Report{Day: day, RunID: kernel.NewOrderedID(tx.Now), RunAt: tx.Now}
		settled = nil
		lines, err := findSettlements(ctx, tx, `s.day = ?`, day)
		if err != nil {
			return err
		}
		rep.Lines = len(lines)
		seenTxn := map[string]bool{}
		for _, l := range lines {
			if l.BankTxn != "" {
				if seenTxn[l.BankTxn] {
					continue // the same transaction on two statements
				}
				seenTxn[l.BankTxn] = true
			}
			item := Mismatch{Agency: l.Agency, Reference: l.Reference, StatementID: l.StatementID, Line: l.Line, BankTxn: l.BankTxn, Got: l.Amount}
			if l.Reference == "" {
				item.Kind = MismatchUnknown
				rep.Mismatches = append(rep.Mismatches, item)
				continue
			}
			o, err := findOrderByReference(ctx, tx, l.Reference)
			if err != nil {
				return err
			}
			item.Agency, item.OrderID, item.ApplicationID, item.Expected = o.Agency, o.ID, o.ApplicationID, o.Amount
			if l.Amount < 0 {
				// Money out: the refund of a refunded order.
				if o.Status == StatusRefunded && -l.Amount == o.Amount {
					rep.Matched++
					continue
				}
				item.Kind = MismatchAmount
				rep.Mismatches = append(rep.Mismatches, item)
				continue
			}
			if l.Amount != o.Amount {
				item.Kind = MismatchAmount
				rep.Mismatches = append(rep.Mismatches, item)
				continue
			}
			first, err := firstSettlement(ctx, tx, o.Reference)
			if err != nil {
				return err
			}
			if first.StatementID != l.StatementID || first.Line != l.Line {
				item.Kind = MismatchDuplicate
				rep.Mismatches = append(rep.Mismatches, item)
				continue
			}
			switch o.Status {
			case StatusPending:
				if err := setStatus(ctx, tx, o.ID, StatusPending, StatusPaid, orderChange{paid: tx.Now, method: MethodTransfer,
					provider: "statement", txn: cmpOr(l.BankTxn, l.StatementID+":"+fmt.Sprint(l.Line))}); err != nil {
					return err
				}
				o.Status, o.PaidAt, o.Method = StatusPaid, tx.Now, MethodTransfer
				tallyPaid(ctx, tx, o)
				if err := s.audit(ctx, tx, "payment.order.paid", o, map[string]any{"method": MethodTransfer, "statement": l.StatementID,
					"line": l.Line, "amount": l.Amount}); err != nil {
					return err
				}
				settled = append(settled, o)
				rep.Settled++
				rep.Matched++
			case StatusPaid, StatusRefunding, StatusRefunded:
				rep.Matched++
			default:
				item.Kind = MismatchLate
				rep.Mismatches = append(rep.Mismatches, item)
			}
		}
		// Orders paid that day (through the gateway, or settled by an
		// earlier statement) must each be on some statement.
		end := start.AddDate(0, 0, 1)
		paid, err := queryOrders(ctx, tx, `SELECT `+orderColumns+` FROM payment_orders o WHERE paid_at >= ? AND paid_at < ?
			AND NOT EXISTS (SELECT 1 FROM payment_settlements s WHERE s.reference = o.reference AND s.amount > 0)
			ORDER BY paid_at`, kernel.Micros(start), kernel.Micros(end))
		if err != nil {
			return err
		}
		for _, o := range paid {
			rep.Mismatches = append(rep.Mismatches, Mismatch{Kind: MismatchMissing, Agency: o.Agency, Reference: o.Reference, OrderID: o.ID,
				ApplicationID: o.ApplicationID, Expected: o.Amount})
		}
		// Payments the gateway took for orders already settled.
		late, err := findLateCallbacks(ctx, tx, start, end)
		if err != nil {
			return err
		}
		rep.Mismatches = append(rep.Mismatches, late...)
		if err := insertRun(ctx, tx, rep); err != nil {
			return err
		}
		return s.audit(ctx, tx, "payment.reconcile", order{ID: rep.RunID}, map[string]any{"day": day, "lines": rep.Lines,
			"matched": rep.Matched, "settled": rep.Settled, "mismatches": len(rep.Mismatches)})
	})
	if err != nil {
		return Report{}, kernel.Wrap(err, "payment: reconcile")
	}
	for _, o := range settled {
		s.tell(ctx, o)
	}
	return rep, nil
}

func findSettlements(ctx context.Context, tx *db.Tx, where string, args ...any) ([]settlement, error) {
	rows, err := tx.Query(ctx, `SELECT s.statement_id, s.line, s.day, s.reference, s.amount, s.bank_txn, st.agency
		FROM payment_settlements s JOIN payment_statements st ON st.id = s.statement_id WHERE `+where+`
		ORDER BY s.statement_id, s.line`, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "payment: settlements")
	}
	defer rows.Close()
	var out []settlement
	for rows.Next() {
		var l settlement
		if err := rows.Scan(&l.StatementID, &l.Line, &l.Day, &l.Reference, &l.Amount, &l.BankTxn, &l.Agency); err != nil {
			return nil, kernel.Wrap(err, "payment: settlements")
		}
		out = append(out, l)
	}
	return out, kernel.Wrap(rows.Err(), "payment: settlements")
}

// firstSettlement is the earliest line paying an order (by statement,
// then line): the one that counts; any later one with another bank
// transaction is a second payment.
func firstSettlement(ctx context.Context, tx *db.Tx, ref string) (settlement, error) {
	rows, err := tx.Query(ctx, `SELECT statement_id, line, bank_txn FROM payment_settlements WHERE reference = ? AND amount > 0
		ORDER BY statement_id, line`, ref)
	if err != nil {
		return settlement{}, kernel.Wrap(err, "payment: settlements")
	}
	defer rows.Close()
	var first settlement
	for rows.Next() {
		var l settlement
		if err := rows.Scan(&l.StatementID, &l.Line, &l.BankTxn); err != nil {
			return settlement{}, kernel.Wrap(err, "payment: settlements")
		}
		if first.StatementID == "" {
			first = l
		}
	}
	return first, kernel.Wrap(rows.Err(), "payment: settlements")
}

func findLateCallbacks(ctx context.Context, tx *db.Tx, start, end time.Time) ([]Mismatch, error) {
	rows, err := tx.Query(ctx, `SELECT c.txn_id, c.amount, o.id, o.reference, o.agency, o.application_id, o.amount
		FROM payment_callbacks c JOIN payment_orders o ON o.id = c.order_id
		WHERE c.outcome = 'late' AND c.success = 1 AND c.received_at >= ? AND c.received_at < ? ORDER BY c.received_at`,
		kernel.Micros(start), kernel.Micros(end))
	if err != nil {
		return nil, kernel.Wrap(err, "payment: late callbacks")
	}
	defer rows.Close()
	var out []Mismatch
	for rows.Next() {
		m := Mismatch{Kind: MismatchLate}
		if err := rows.Scan(&m.BankTxn, &m.Got, &m.OrderID, &m.Reference, &m.Agency, &m.ApplicationID, &m.Expected); err != nil {
			return nil, kernel.Wrap(err, "payment: late callbacks")
		}
		out = append(out, m)
	}
	return out, kernel.Wrap(rows.Err(), "payment: late callbacks")
}

func insertRun(ctx context.Context, tx *db.Tx, rep Report) error {
	if _, err := tx.Exec(ctx, `INSERT INTO payment_runs (id, day, run_at, matched, mismatches) VALUES (?, ?, ?, ?, ?)`,
		rep.RunID, rep.Day, kernel.Micros(rep.RunAt), rep.Matched, len(rep.Mismatches)); err != nil {
		return kernel.Wrap(err, "payment: run")
	}
	for i, m := range rep.Mismatches {
		if _, err := tx.Exec(ctx, `INSERT INTO payment_run_items (run_id, seq, kind, agency, reference, order_id, application_id,
			expected, got, statement_id, line, bank_txn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rep.RunID, i, m.Kind, m.Agency, m.Reference, m.OrderID, m.ApplicationID, m.Expected, m.Got, m.StatementID, m.Line, m.BankTxn); err != nil {
			return kernel.Wrap(err, "payment: run item")
		}
	}
	return nil
}

// ReconcileStatement imports a statement and reconciles the days it
// covers (or only day, when given).
func (s *Service) ReconcileStatement(ctx context.Context, name string, data []byte, agency, day string) (Statement, []Report, error) {
	st, err := s.ImportStatement(ctx, name, data, agency)
	if err != nil {
		return Statement{}, nil, err
	}
	days := st.Days
	if day != "" {
		days = []string{day}
	}
	var reps []Report
	for _, d := range days {
		rep, err := s.Reconcile(ctx, d)
		if err != nil {
			return st, reps, err
		}
		reps = append(reps, rep)
	}
	return st, reps, nil
}

// RunDaily is the daily job: it imports every statement dropped into
// inbox (DATA/payments/inbox/*.csv), moving each to done/ once imported
// or to failed/ with a note of why, reconciles the days they cover, and
// once a day reconciles yesterday, so that orders paid and never settled
// are listed even when no statement came.
func (s *Service) RunDaily(ctx context.Context, inbox string) error {
	files, err := filepath.Glob(filepath.Join(inbox, "*.csv"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.importInboxFile(ctx, inbox, f)
	}
	yesterday := s.now().In(kernel.Zone()).AddDate(0, 0, -1).Format(time.DateOnly)
	var runs int
	today, _ := time.ParseInLocation(time.DateOnly, s.now().In(kernel.Zone()).Format(time.DateOnly), kernel.Zone())
	if err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM payment_runs WHERE day = ? AND run_at >= ?`, yesterday, kernel.Micros(today)).Scan(&runs)
	}); err != nil {
		return kernel.Wrap(err, "payment: daily")
	}
	if runs == 0 {
		_, err := s.Reconcile(ctx, yesterday)
		return err
	}
	return nil
}

func (s *Service) importInboxFile(ctx context.Context, inbox, f string) {
	move := func(dir string) string {
		to := filepath.Join(inbox, dir)
		_ = os.MkdirAll(to, 0o700)
		dst := filepath.Join(to, filepath.Base(f))
		if _, err := os.Stat(dst); err == nil {
			dst = filepath.Join(to, strings.TrimSuffix(filepath.Base(f), ".csv")+"-"+kernel.NewID()[:6]+".csv")
		}
		if err := os.Rename(f, dst); err != nil {
			s.o.Logger.Error("payment: moving a statement", slog.String("file", filepath.Base(f)), slog.Any("error", err))
		}
		return dst
	}
	data, err := os.ReadFile(f)
	if err == nil {
		_, _, err = s.ReconcileStatement(ctx, f, data, "", "")
	}
	if err != nil {
		if kernel.ErrorCode(err) != kernel.Invalid {
			s.o.Logger.Error("payment: importing a statement", slog.String("file", filepath.Base(f)), slog.Any("error", err))
			return // tried again at the next run
		}
		dst := move("failed")
		key, args := kernel.ErrorKey(err)
		note := fmt.Sprintf("%s %v\n", key, args)
		_ = os.WriteFile(dst+".error.txt", []byte(note), 0o600)
		s.o.Logger.Warn("payment: a statement in the inbox was refused", slog.String("file", filepath.Base(f)), slog.String("reason", key))
		return
	}
	move("done")
}

// Run is a reconciliation run as the officials' page lists it.
type Run struct {
	ID         string
	Day        string
	RunAt      time.Time
	Matched    int
	Mismatches int
}

// Runs lists reconciliation runs, newest first, a page at a time.
func (s *Service) Runs(ctx context.Context, p kernel.Page) ([]Run, error) {
	p = p.Normalize(50)
	var out []Run
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		q, args := `SELECT id, day, run_at, matched, mismatches FROM payment_runs`, []any{}
		if p.After != "" {
			q += ` WHERE id < ?`
			args = append(args, p.After)
		}
		rows, err := tx.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, p.Limit)...)
		if err != nil {
			return kernel.Wrap(err, "payment: runs")
		}
		defer rows.Close()
		for rows.Next() {
			var r Run
			var at int64
			if err := rows.Scan(&r.ID, &r.Day, &at, &r.Matched, &r.Mismatches); err != nil {
				return kernel.Wrap(err, "payment: runs")
			}
			r.RunAt = kernel.FromMicros(at)
			out = append(out, r)
		}
		return kernel.Wrap(rows.Err(), "payment: runs")
	})
	return out, err
}

// RunItems lists a run's mismatches of the agencies named (and those of
// no agency's order); nil agencies lists them all.
func (s *Service) RunItems(ctx context.Context, runID string, agencies []string) (Run, []Mismatch, error) {
	var run Run
	var out []Mismatch
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var at int64
		err := tx.QueryRow(ctx, `SELECT id, day, run_at, matched, mismatches FROM payment_runs WHERE id = ?`, runID).
			Scan(&run.ID, &run.Day, &at, &run.Matched, &run.Mismatches)
		if errors.Is(err, sql.ErrNoRows) {
			return kernel.E(kernel.NotFound, "payment.error.not_found")
		}
		if err != nil {
			return kernel.Wrap(err, "payment: run")
		}
		run.RunAt = kernel.FromMicros(at)
		rows, err := tx.Query(ctx, `SELECT kind, agency, reference, order_id, application_id, expected, got, statement_id, line, bank_txn
			FROM payment_run_items WHERE run_id = ? ORDER BY seq`, runID)
		if err != nil {
			return kernel.Wrap(err, "payment: run items")
		}
		defer rows.Close()
		for rows.Next() {
			var m Mismatch
			if err := rows.Scan(&m.Kind, &m.Agency, &m.Reference, &m.OrderID, &m.ApplicationID, &m.Expected, &m.Got, &m.StatementID, &m.Line, &m.BankTxn); err != nil {
				return kernel.Wrap(err, "payment: run items")
			}
			if agencies == nil || m.Agency == "" || contains(agencies, m.Agency) {
				out = append(out, m)
			}
		}
		return kernel.Wrap(rows.Err(), "payment: run items")
	})
	return run, out, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
