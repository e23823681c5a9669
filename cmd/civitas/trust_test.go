package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
	"civitas/internal/pdf/pdftest"
)

// A seal of another province verifies only once its root is imported with
// civitas trust add, and no longer once removed.
func TestTrustAnchors(t *testing.T) {
	type province struct{ dir, dsn string }
	newProvince := func() province {
		p := province{dir: t.TempDir(), dsn: dbtest.Migrated(t)}
		return p
	}
	run := func(p province, args ...string) (int, string) {
		t.Helper()
		args = append(args, "--data", p.dir)
		if p.dsn != "" {
			args = append(args, "--db", p.dsn)
		}
		code, out, errs := civitas(t, args...)
		return code, out + errs
	}
	a, b := newProvince(), newProvince()
	for _, p := range []province{a, b} {
		if code, out := run(p, "demo", "--persons", "200", "--seed", "5"); code != exitOK {
			t.Fatalf("demo: %s", out)
		}
		if code, out := run(p, "ca", "init"); code != exitOK {
			t.Fatalf("ca init: %s", out)
		}
	}
	_, out := run(b, "registry", "list", "agencies", "--limit", "1", "--json")
	var agency struct{ Code string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &agency); err != nil || agency.Code == "" {
		t.Fatalf("agencies: %s", out)
	}
	in, sealed := filepath.Join(b.dir, "in.pdf"), filepath.Join(b.dir, "sealed.pdf")
	if err := os.WriteFile(in, pdftest.Tiny(), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := run(b, "seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--level", "B-LT"); code != exitOK {
		t.Fatalf("seal: %s", out)
	}
	export := filepath.Join(b.dir, "export")
	if code, out := run(b, "ca", "export", "--out", export); code != exitOK {
		t.Fatalf("export: %s", out)
	}
	rootB := filepath.Join(export, "root.pem")
	notPEM := filepath.Join(b.dir, "in.pdf")

	for _, s := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/untrusted", []string{"verify", sealed}, exitFailure, "verdict: INDETERMINATE"},
		{"fail/add without name", []string{"trust", "add", rootB}, exitUsage, "--name"},
		{"fail/add not PEM", []string{"trust", "add", "--name", "x", notPEM}, exitFailure, "no PEM certificate"},
		{"fail/bad subcommand", []string{"trust", "forget"}, exitUsage, "add | list | remove"},
		{"ok/add", []string{"trust", "add", "--name", "Tỉnh bạn", rootB}, exitOK, "trusted"},
		{"fail/add again", []string{"trust", "add", "--name", "Tỉnh bạn", rootB}, exitFailure, "already"},
		{"ok/trusted", []string{"verify", sealed}, exitOK, "verdict: TOTAL_PASSED"},
		{"ok/list", []string{"trust", "list"}, exitOK, "Tỉnh bạn"},
	} {
		code, out := run(a, s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}
	_, out = run(a, "trust", "list", "--json")
	var an struct{ Fingerprint, Name string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &an); err != nil || an.Name != "Tỉnh bạn" || len(an.Fingerprint) != 64 {
		t.Fatalf("list --json: %v %s", err, out)
	}
	if code, out := run(a, "trust", "remove", an.Fingerprint); code != exitOK {
		t.Fatalf("remove: %s", out)
	}
	if code, out := run(a, "verify", sealed); code != exitFailure {
		t.Fatalf("verify after remove: exit %d %s", code, out)
	}
	if code, out := run(a, "trust", "remove", an.Fingerprint); code != exitFailure || !strings.Contains(out, "no trust anchor") {
		t.Fatalf("remove twice: exit %d %s", code, out)
	}
}
