package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
	"civitas/internal/pdf/pdftest"
)

// TestSealAndVerify holds the fixed contracts:
// civitas seal --data DIR --agency CODE --in IN.pdf --out OUT.pdf [--level ...] [--visible]
// civitas verify FILE [--json] (exit 0 only when every signature passes)
func TestSealAndVerify(t *testing.T) {
	dir := t.TempDir()
	dsn := dbtest.DSN(t)
	if dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := civitas(t, append(args, "--data", dir)...)
		return code, out + errs
	}
	if code, out := run("demo", "--persons", "1000", "--seed", "3"); code != exitOK {
		t.Fatalf("demo: %s", out)
	}
	if code, out := run("ca", "init"); code != exitOK {
		t.Fatalf("ca init: %s", out)
	}
	_, out := run("registry", "list", "agencies", "--limit", "1", "--json")
	var agency struct{ Code string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &agency); err != nil || agency.Code == "" {
		t.Fatalf("agencies: %s", out)
	}
	in, notPDF := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(in, pdftest.Tiny(), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(notPDF, []byte("Biên bản họp, không phải PDF\n"), 0o644)
	sealed := filepath.Join(dir, "sealed.pdf")
	for _, s := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/no agency", []string{"seal", "--in", in, "--out", sealed}, exitUsage, "--agency"},
		{"fail/bad level", []string{"seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--level", "B-X"}, exitUsage, "--level"},
		{"fail/visible", []string{"seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--visible"}, exitUsage, "not available"},
		{"fail/no such agency", []string{"seal", "--agency", "NO-SUCH", "--in", in, "--out", sealed}, exitFailure, ""},
		{"fail/not a pdf", []string{"seal", "--agency", agency.Code, "--in", notPDF, "--out", sealed}, exitFailure, "PDF"},
		{"ok/seal", []string{"seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--level", "B-LTA"}, exitOK, "at B-LTA"},
		{"ok/verify", []string{"verify", sealed}, exitOK, "verdict: TOTAL_PASSED"},
		{"fail/verify nothing", []string{"verify"}, exitUsage, "one file"},
	} {
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}
	code, out := run("verify", sealed, "--json")
	var rep struct {
		Verdict    string
		Signatures []struct {
			Level             string
			DocumentTimestamp bool
		}
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); err != nil || code != exitOK || rep.Verdict != "TOTAL_PASSED" ||
		len(rep.Signatures) != 2 || rep.Signatures[0].Level != "B-LTA" || !rep.Signatures[1].DocumentTimestamp {
		t.Fatalf("verify --json: exit %d %v %s", code, err, out)
	}
	// One byte changed inside the signed range: exit 1, TOTAL_FAILED.
	b, _ := os.ReadFile(sealed)
	i := bytes.Index(b, []byte("/MediaBox"))
	b[i+1] = 'N'
	tampered := filepath.Join(dir, "tampered.pdf")
	_ = os.WriteFile(tampered, b, 0o644)
	if code, out := run("verify", tampered); code != exitFailure || !strings.Contains(out, "TOTAL_FAILED") {
		t.Fatalf("tampered: exit %d %s", code, out)
	}
	// Without this province's data and no --trust, nothing is trusted.
	if dsn != "" {
		return // the database is named by CIVITAS_DB, not by --data
	}
	if code, out, errs := civitas(t, "verify", sealed, "--data", t.TempDir()); code != exitUsage || !strings.Contains(out+errs, "--trust") {
		t.Fatalf("no roots: exit %d %s", code, out+errs)
	}
}
