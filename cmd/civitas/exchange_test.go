package main

import (
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// TestExchangeCommands is the command-line contract of the data exchange:
// services as JSON lines with code, provider and fields; grants to
// clients, desks and peers' consumers, and revocations; the log as JSON
// lines; peers added with their root and refused without one.
func TestExchangeCommands(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := civitas(t, append(args, "--data", dir)...)
		return code, out + errs
	}
	if code, out := run("demo", "--persons", "50", "--seed", "4"); code != exitOK {
		t.Fatalf("demo: %s", out)
	}
	code, out := run("exchange", "services", "--json")
	if code != exitOK {
		t.Fatal(out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first struct {
		Code     string   `json:"code"`
		Provider string   `json:"provider"`
		Fields   []string `json:"fields"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Code != "population.person" || first.Provider == "" || len(first.Fields) == 0 {
		t.Fatalf("%v %s", err, lines[0])
	}
	_, agencies := run("registry", "list", "agencies", "--limit", "500", "--json")
	desk := ""
	for _, line := range strings.Split(strings.TrimSpace(agencies), "\n") {
		var a struct{ Code, Kind string }
		_ = json.Unmarshal([]byte(line), &a)
		if a.Kind == "police" && desk == "" {
			desk = "desk:" + a.Code
		}
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ok/grant a client", []string{"exchange", "grant", "--consumer", "hcc-sys", "--service", "population.person", "--fields", "full_name,birth_date", "--basis", "Decree 107/2021"},
			exitOK, "granted population.person to hcc-sys: full_name,birth_date (until revoked)"},
		{"ok/grant a desk until a day", []string{"exchange", "grant", "--consumer", desk, "--service", "insurance.card", "--fields", "valid_to", "--basis", "b", "--until", "2099-12-31"},
			exitOK, "through 2099-12-31"},
		{"ok/grant a peer's consumer", []string{"exchange", "grant", "--consumer", "tinhb:hcc", "--service", "vehicle.of_owner", "--fields", "plate", "--basis", "b"},
			exitOK, "no peer \"tinhb\" is registered yet"},
		{"fail/an unknown field", []string{"exchange", "grant", "--consumer", "hcc-sys", "--service", "population.person", "--fields", "password", "--basis", "b"},
			exitFailure, "has no field password"},
		{"fail/no basis", []string{"exchange", "grant", "--consumer", "hcc-sys", "--service", "population.person", "--fields", "full_name"}, exitUsage, "--basis"},
		{"ok/list grants", []string{"exchange", "grants", "--json"}, exitOK, `"consumer":"hcc-sys"`},
		{"ok/revoke", []string{"exchange", "revoke", "--consumer", "hcc-sys", "--service", "population.person"}, exitOK, "revoked"},
		{"fail/revoke twice", []string{"exchange", "revoke", "--consumer", "hcc-sys", "--service", "population.person"}, exitFailure, "no live grant"},
		{"ok/an empty log", []string{"exchange", "log", "--subject", "099034091772", "--json"}, exitOK, ""},
		{"fail/a log of no one", []string{"exchange", "log", "--subject", "12", "--json"}, exitFailure, ""},
		{"ok/verify", []string{"exchange", "verify"}, exitOK, "exchange log intact: 0 entries"},
		{"ok/purposes", []string{"exchange", "purposes", "--json"}, exitOK, `{"code":"administrative_procedure"}`},
		{"fail/a peer without its root", []string{"peer", "add", "--name", "tinhb", "--url", "https://civitas.example.vn"}, exitUsage, "--ca"},
		{"fail/a peer over plain http elsewhere", []string{"peer", "add", "--name", "tinhb", "--url", "http://civitas.example.vn", "--ca", "nope.pem"}, exitFailure, "nope.pem"},
	} {
		code, out := run(tt.args...)
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit %d and %q", tt.name, code, out, tt.code, tt.want)
		}
	}
	// A peer with a root (this province's own, for the test): listed.
	if code, out := run("ca", "init"); code != exitOK {
		t.Fatal(out)
	}
	if code, out := run("ca", "export", "--out", filepath.Join(dir, "ca")); code != exitOK {
		t.Fatal(out)
	}
	root, err := os.ReadFile(filepath.Join(dir, "ca", "root.pem"))
	if b, _ := pem.Decode(root); err != nil || b == nil {
		t.Fatalf("root.pem: %v", err)
	}
	if code, out := run("peer", "add", "--name", "tinhb", "--url", "http://127.0.0.1:9", "--ca", filepath.Join(dir, "ca", "root.pem")); code != exitOK ||
		!strings.Contains(out, "looked for at the first query") {
		t.Fatalf("peer add: %d %s", code, out)
	}
	if code, out := run("peer", "list", "--json"); code != exitOK || !strings.Contains(out, `"name":"tinhb"`) {
		t.Fatalf("peer list: %d %s", code, out)
	}
	if code, out := run("peer", "remove", "--name", "tinhb"); code != exitOK {
		t.Fatalf("peer remove: %d %s", code, out)
	}
}
