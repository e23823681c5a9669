package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// TestEdocCommands holds the contract: civitas edoc send prints the
// envelope ID; edoc status --json prints its status messages (code, at,
// agency) in order; edoc export writes an envelope valid against
// docs/edxml/civitas-edxml.xsd.
func TestEdocCommands(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	if code, _, errs := civitas(t, "demo", "--data", dir, "--persons", "1000", "--seed", "5"); code != exitOK {
		t.Fatalf("demo: %s", errs)
	}
	pdf := filepath.Join(t.TempDir(), "cong-van.pdf")
	att := filepath.Join(t.TempDir(), "phu-luc.csv")
	_ = os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 0o600)
	_ = os.WriteFile(att, []byte("a,b\n1,2\n"), 0o600)
	code, out, errs := civitas(t, "edoc", "send", "--data", dir, "--from", "H910.UBND", "--to", "H920.UBND", "--subject", "Về việc chuyển đổi số",
		"--type", "CV", "--file", pdf, "--attach", att)
	id := strings.TrimSpace(out)
	if code != exitOK || len(id) != 26 {
		t.Fatalf("send: %d %q %s", code, out, errs)
	}
	code, out, errs = civitas(t, "edoc", "status", "--data", dir, "--id", id, "--json")
	var ms []struct{ Code, At, Agency string }
	if code != exitOK || json.Unmarshal([]byte(out), &ms) != nil || len(ms) != 1 || ms[0].Code != "01" || ms[0].Agency != "H920.UBND" || ms[0].At == "" {
		t.Fatalf("status: %d %s %s", code, out, errs)
	}
	xmlFile := filepath.Join(t.TempDir(), "env.xml")
	if code, out, errs := civitas(t, "edoc", "export", "--data", dir, "--id", id, "--out", xmlFile); code != exitOK {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	b, _ := os.ReadFile(xmlFile)
	if !strings.Contains(string(b), "<Symbol>1/UBND-VP</Symbol>") {
		t.Fatalf("an official letter's symbol: %.600s", b)
	}
	if _, err := exec.LookPath("xmllint"); err == nil {
		if msg, err := exec.Command("xmllint", "--noout", "--schema", "../../docs/edxml/civitas-edxml.xsd", xmlFile).CombinedOutput(); err != nil {
			t.Fatalf("xmllint: %v %s", err, msg)
		}
	}
	// A decision is numbered in its own register.
	code, out, _ = civitas(t, "edoc", "send", "--data", dir, "--from", "H910.UBND", "--to", "H920.UBND", "--to", "H930.UBND", "--subject", "Quyết định",
		"--type", "QĐ", "--file", pdf)
	if ids := strings.Fields(out); code != exitOK || len(ids) != 2 {
		t.Fatalf("two recipients: %d %q", code, out)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"fail/type", []string{"--to", "H920.UBND", "--type", "XYZ"}, "Decree 30"},
		{"fail/recipient", []string{"--to", "NOPE", "--type", "TB"}, "NOPE"},
		{"fail/peer", []string{"--to", "H920.UBND@nowhere", "--type", "TB"}, "nowhere"},
	} {
		args := append([]string{"edoc", "send", "--data", dir, "--from", "H910.UBND", "--subject", "x", "--file", pdf}, tt.args...)
		if code, _, errs := civitas(t, args...); code == exitOK || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: %d %s", tt.name, code, errs)
		}
	}
	if code, _, errs := civitas(t, "edoc", "status", "--data", dir, "--id", "nosuchenvelope"); code == exitOK || !strings.Contains(errs, "envelope") {
		t.Errorf("unknown envelope: %d %s", code, errs)
	}
	if code, _, _ := civitas(t, "edoc", "send", "--data", dir); code != exitUsage {
		t.Errorf("send without flags: %d", code)
	}
}
