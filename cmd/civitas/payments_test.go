package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// TestPaymentsReconcileCommand holds the contract:
// civitas payments reconcile --data DIR --statement FILE.csv [--date YYYY-MM-DD] [--json]
// prints each day's matches and mismatches; a malformed statement is
// refused naming the line, and nothing of it is kept.
func TestPaymentsReconcileCommand(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("day.csv", "Ngày giao dịch,Số tiền ghi có,Nội dung\n02/03/2026,50000,ung ho\n02/03/2026,\"20.000\",CV7K2M9Q4X1B\n")
	code, out, errs := civitas(t, "payments", "reconcile", "--data", dir, "--statement", good)
	if code != exitOK || !strings.Contains(out, "statement day.csv: 2 lines, imported") ||
		!strings.Contains(out, "2026-03-02: 2 lines, 0 matched (0 paid by transfer), 2 mismatches") || strings.Count(out, "  unknown ") != 2 {
		t.Fatalf("%d\n%s\n%s", code, out, errs)
	}
	code, out, errs = civitas(t, "payments", "reconcile", "--data", dir, "--statement", good, "--date", "2026-03-02", "--json")
	var rep map[string]any
	if code != exitOK || json.Unmarshal([]byte(strings.TrimSpace(out)), &rep) != nil || rep["day"] != "2026-03-02" || len(rep["mismatches"].([]any)) != 2 {
		t.Fatalf("%d\n%s\n%s", code, out, errs)
	}
	bad := write("bad.csv", "date,amount,description\n2026-03-02,50000,ok\n2026-03-02,5O000,letter O\n")
	code, out, errs = civitas(t, "payments", "reconcile", "--data", dir, "--statement", bad)
	if code == exitOK || !strings.Contains(errs, "Line 3") || !strings.Contains(errs, "5O000") {
		t.Fatalf("malformed: %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ := civitas(t, "payments", "reconcile", "--data", dir); code != exitUsage {
		t.Fatalf("without --statement: %d", code)
	}
}
