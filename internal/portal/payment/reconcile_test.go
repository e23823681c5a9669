package payment

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

func fixture(t *testing.T, name string, refs map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range refs {
		b = bytes.ReplaceAll(b, []byte("{{"+k+"}}"), []byte(v))
	}
	return b
}

// TestReconcile: a day's statements matched to the orders. A gateway
// payment on the statement matches; a VietQR transfer naming a pending
// order settles it (paid by transfer, the portal told); an amount that
// differs, a line naming nothing of ours, a second payment of an order
// and a gateway payment on no statement are listed; the same bank
// transaction on a second statement counts once, and the refund of a
// refunded order matches its debit line.
func TestReconcile(t *testing.T) {
	e := newSite(t)
	gw := e.start("acct1", "app-gw", 50000)
	qr := e.start("acct2", "app-qr", 50000)
	amt := e.start("acct3", "app-amt", 40000)
	missing := e.start("acct4", "app-missing", 70000)
	refunded := e.start("acct5", "app-refund", 50000)
	for i, c := range []Checkout{gw, missing, refunded} {
		if e.ipn(paid(c, itoa(int64(9000+i))), true) != "00" {
			t.Fatal("not paid")
		}
	}
	if err := e.s.Refund(e.ctx, refunded.OrderID, "withdrawn"); err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{"GW": gw.Reference, "QR": qr.Reference, "AMT": amt.Reference, "REFUND": refunded.Reference}
	ctx := kernel.WithActor(e.ctx, kernel.Actor{Kind: kernel.ActorOperator, ID: "test"})
	st, reps, err := e.s.ReconcileStatement(ctx, "day.csv", fixture(t, "statement_day.csv", refs), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !st.New || st.Lines != 5 || len(reps) != 1 || reps[0].Day != "2026-03-02" {
		t.Fatalf("statement %+v, reports %d", st, len(reps))
	}
	rep := reps[0]
	kinds := map[string][]Mismatch{}
	for _, m := range rep.Mismatches {
		kinds[m.Kind] = append(kinds[m.Kind], m)
	}
	if rep.Matched != 2 || rep.Settled != 1 || len(rep.Mismatches) != 5 {
		t.Fatalf("matched %d, settled %d, mismatches %+v", rep.Matched, rep.Settled, rep.Mismatches)
	}
	check := func(kind, order string, line int) {
		t.Helper()
		ms := kinds[kind]
		if len(ms) != 1 || ms[0].OrderID != order || ms[0].Line != line {
			t.Errorf("%s: %+v, want order %q line %d", kind, ms, order, line)
		}
	}
	check(MismatchAmount, amt.OrderID, 4)
	check(MismatchUnknown, "", 6)
	check(MismatchDuplicate, qr.OrderID, 7)
	// Paid through the gateway, on no statement: the refunded one too,
	// whose payment the day's statement does not show either.
	if ms := kinds[MismatchMissing]; len(ms) != 2 {
		t.Errorf("missing: %+v", ms)
	}
	if got, _ := e.s.Status(e.ctx, qr.OrderID); got.Status != StatusPaid || got.Method != MethodTransfer {
		t.Fatalf("the transfer did not settle the order: %+v", got)
	}
	if got, _ := e.s.Status(e.ctx, amt.OrderID); got.Status != StatusPending {
		t.Fatalf("a wrong amount settled the order: %s", got.Status)
	}

	// The same file again: nothing new (reconciled again, a fresh run).
	e.clock.Advance(time.Minute)
	st2, _, err := e.s.ReconcileStatement(ctx, "day-copy.csv", fixture(t, "statement_day.csv", refs), "", "")
	if err != nil || st2.New || st2.ID != st.ID {
		t.Fatalf("re-import: %+v %v", st2, err)
	}
	e.clock.Advance(time.Minute)
	// A second statement, semicolons and English headers: the bank
	// transaction already seen counts once; the refund's debit matches.
	_, reps, err = e.s.ReconcileStatement(ctx, "again.csv", fixture(t, "statement_again.csv", refs), "", "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	var dup, missingN int
	for _, m := range reps[0].Mismatches {
		switch m.Kind {
		case MismatchDuplicate:
			dup++
		case MismatchMissing:
			missingN++
		}
	}
	if dup != 1 || missingN != 2 || reps[0].Matched != 3 {
		t.Fatalf("second run: matched %d, %+v", reps[0].Matched, reps[0].Mismatches)
	}
	// The officials' page lists runs newest first.
	runs, err := e.s.Runs(e.ctx, kernel.Page{Limit: 10})
	if err != nil || len(runs) != 3 || runs[0].ID != reps[0].RunID {
		t.Fatalf("runs %+v %v", runs, err)
	}
	run, items, err := e.s.RunItems(e.ctx, rep.RunID, []string{"T99.CA"})
	if err != nil || run.Day != "2026-03-02" || len(items) != 1 || items[0].Kind != MismatchUnknown {
		t.Fatalf("items for another agency: %+v %v", items, err)
	}
	_ = missing
}

func TestStatementErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		file string
		key  string
		line any
	}{
		{"bad_date.csv", "payment.error.statement.date", 4},
		{"bad_amount.csv", "payment.error.statement.amount", 5},
		{"bad_quote.csv", "payment.error.statement.csv", 2},
		{"bad_fields.csv", "payment.error.statement.fields", 3},
		{"no_amount_column.csv", "payment.error.statement.column", "amount"},
		{"bad_currency.csv", "payment.error.statement.currency", 2},
		{"empty.csv", "payment.error.statement.empty", nil},
	} {
		t.Run("fail/"+tc.file, func(t *testing.T) {
			_, err := ParseStatement(bytes.NewReader(fixture(t, tc.file, nil)))
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("%v", err)
			}
			key, args := kernel.ErrorKey(err)
			if key != tc.key || tc.line != nil && (len(args) == 0 || args[0] != tc.line) {
				t.Fatalf("%s %v, want %s %v", key, args, tc.key, tc.line)
			}
		})
	}
}

func TestParseStatement(t *testing.T) {
	in := "\xef\xbb\xbfNgày,Số tiền,Nội dung\r\n2/3/2026,\"1.250.000\",Nop phi cv7k2m9q4x1b\r\n02-03-2026 10:15:00,\"2.000,00\",CV7K2M9Q4X1B-CV0000000000\r\n"
	lines, err := ParseStatement(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Day != "2026-03-02" || lines[0].Amount != 1_250_000 || lines[1].Amount != 2000 || lines[1].Line != 3 {
		t.Fatalf("%+v", lines)
	}
	if len(lines[0].Candidates) != 1 || lines[0].Candidates[0] != "CV7K2M9Q4X1B" || len(lines[1].Candidates) != 2 {
		t.Fatalf("candidates %v %v", lines[0].Candidates, lines[1].Candidates)
	}
	for s, want := range map[string]int64{"50000": 50000, "50.000": 50000, "50,000": 50000, "1 250 000": 1250000, "-20.000": -20000,
		"1.000,00": 1000, "1,000.00": 1000, "7,00": 7} {
		if got, ok := parseAmount(s); !ok || got != want {
			t.Errorf("parseAmount(%q) = %d %v, want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "abc", "50.00.0", "1.0000", "1,000.000", "1.000,000", "12345.678", "1.000,50", "1,5"} {
		if got, ok := parseAmount(s); ok {
			t.Errorf("parseAmount(%q) = %d", s, got)
		}
	}
}

// FuzzParseStatement: any file either is refused with a line-naming
// Invalid error or gives lines with a day, a line number past the header
// and at least one amount that is not zero.
func FuzzParseStatement(f *testing.F) {
	for _, name := range []string{"statement_day.csv", "statement_again.csv", "bad_quote.csv", "bad_amount.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := ParseStatement(bytes.NewReader(b))
		if err != nil {
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("not Invalid: %v", err)
			}
			return
		}
		for _, l := range lines {
			if l.Line < 2 || len(l.Day) != 10 || l.Amount == 0 {
				t.Fatalf("line %+v", l)
			}
		}
	})
}

// TestRunDaily: a statement dropped into the inbox is imported and moved
// to done/, a malformed one to failed/ with a note naming the line, and
// yesterday is reconciled once a day.
func TestRunDaily(t *testing.T) {
	e := newSite(t)
	qr := e.start("acct1", "app-qr", 50000)
	inbox := t.TempDir()
	good := "date,amount,description\n2026-03-02,50000," + qr.Reference + "\n"
	if err := os.WriteFile(filepath.Join(inbox, "a.csv"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbox, "b.csv"), fixture(t, "bad_date.csv", nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RunDaily(e.ctx, inbox); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(inbox, "done", "a.csv")); err != nil {
		t.Fatal(err)
	}
	note, err := os.ReadFile(filepath.Join(inbox, "failed", "b.csv.error.txt"))
	if err != nil || !strings.Contains(string(note), "payment.error.statement.date [4") {
		t.Fatalf("note %q %v", note, err)
	}
	if got, _ := e.s.Status(e.ctx, qr.OrderID); got.Status != StatusPaid {
		t.Fatalf("%s", got.Status)
	}
	count := func() (n int) {
		_ = e.d.View(e.ctx, func(tx *db.Tx) error {
			return tx.QueryRow(e.ctx, `SELECT COUNT(*) FROM payment_runs WHERE day = '2026-03-01'`).Scan(&n)
		})
		return n
	}
	if count() != 1 {
		t.Fatalf("yesterday reconciled %d times", count())
	}
	if err := e.s.RunDaily(e.ctx, inbox); err != nil || count() != 1 {
		t.Fatalf("second run the same day: %v, %d runs", err, count())
	}
}
