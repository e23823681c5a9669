package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

func TestRetentionAndBreachCommands(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"name":"x","table":"audit_log","key":"seq","column":"at","keep":"1d"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ok/rules", []string{"retention", "rules"}, exitOK, `"table": "wallet_shares"`},
		{"ok/dry run", []string{"retention", "run", "--dry-run"}, exitOK, "WOULD DELETE"},
		{"ok/run", []string{"retention", "run"}, exitOK, "audit chain is untouched"},
		{"fail/a rule on the audit log", []string{"retention", "run", "--rules", bad}, exitFailure, "protected"},
		{"fail/no verb", []string{"retention"}, exitUsage, "expected"},
		{"fail/breach without contact", []string{"breach", "record", "--what", "x", "--data-kinds", "names", "--whom", "some"}, exitFailure, "contact"},
		{"fail/breach time", []string{"breach", "record", "--what", "x", "--detected", "yesterday"}, exitUsage, "RFC 3339"},
		{"ok/breach", []string{"breach", "record", "--what", "Máy chủ bị truy cập", "--data-kinds", "họ tên", "--whom", "công dân xã A",
			"--count", "12", "--contact", "dpo@example.vn", "--occurred", "2099-01-01 00:00"}, exitFailure, "not possible"},
		{"ok/breach now", []string{"breach", "record", "--what", "Máy chủ bị truy cập", "--data-kinds", "họ tên", "--whom", "công dân xã A",
			"--count", "12", "--contact", "dpo@example.vn"}, exitOK, "THÔNG BÁO VI PHẠM"},
		{"ok/list", []string{"breach", "list"}, exitOK, "NOT YET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := civitas(t, append(tc.args, "--data", dir)...)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("exit %d\n%s%s\nwant %d and %q", code, out, errs, tc.code, tc.want)
			}
		})
	}
	_, out, _ := civitas(t, "breach", "list", "--json", "--data", dir)
	id := strings.SplitN(strings.SplitN(out, `"ID":"`, 2)[1], `"`, 2)[0]
	if code, out, errs := civitas(t, "breach", "notified", id, "--data", dir); code != exitOK {
		t.Fatalf("notified: %s %s", out, errs)
	}
	if _, out, _ := civitas(t, "breach", "list", "--data", dir); strings.Contains(out, "NOT YET") {
		t.Fatalf("still not notified:\n%s", out)
	}
}
