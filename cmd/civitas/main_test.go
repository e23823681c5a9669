package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
)

func civitas(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/no command", nil, exitUsage, "Usage:"},
		{"ok/help", []string{"help"}, exitOK, "civitas serve"},
		{"ok/version", []string{"version"}, exitOK, "civitas"},
		{"fail/unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"ok/serve --help", []string{"serve", "--help"}, exitOK, "--public-url"},
		{"fail/bad flag", []string{"migrate", "--nope"}, exitUsage, "flag provided but not defined"},
		{"fail/bad addr", []string{"serve", "--addr", "nowhere"}, exitUsage, "HOST:PORT"},
		{"fail/backup --nice out of range", []string{"backup", "--out", "x.age", "--nice", "20"}, exitUsage, "--nice between 0 and 19"},
		{"fail/backup --rate negative", []string{"backup", "--out", "x.age", "--rate", "-1"}, exitUsage, "--rate must be 0 or more"},
		{"fail/serve without --demo needs a real SMS driver", []string{"serve", "--data", t.TempDir()}, exitUsage, "--sms must be http or smpp"},
		{"fail/serve without --demo refuses the log driver", []string{"serve", "--data", t.TempDir(), "--sms", "log"}, exitUsage, "--sms must be http or smpp"},
		{"fail/serve with smpp needs its SMSC", []string{"serve", "--data", t.TempDir(), "--sms", "smpp"}, exitUsage, "--smpp-addr"},
		{"fail/demo too big", []string{"demo", "--data", t.TempDir(), "--persons", "0"}, exitUsage, "--persons"},
		{"fail/audit without verb", []string{"audit", "--data", t.TempDir()}, exitUsage, "audit verify"},
		{"fail/registry unknown table", []string{"registry", "list", "cats", "--data", t.TempDir()}, exitUsage, "unknown registry"},
		{"fail/registry at nowhere", []string{"registry", "at", "north", "east", "--data", t.TempDir()}, exitUsage, "LAT LON"},
		{"fail/demo of a real province", []string{"demo", "--data", t.TempDir(), "--persons", "1000", "--province", "001"}, exitUsage, "--province"},
		{"fail/serve a real province", []string{"serve", "--demo", "--demo-province", "079"}, exitUsage, "--demo-province"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := civitas(t, tt.args...)
			if code != tt.code || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d, want %d; output:\n%s%s", code, tt.code, out, errs)
			}
		})
	}
}

// The operator reads the catalogue text of a coded error with its own
// cause (however often kernel.Wrap added context), and the whole chain of
// an internal one.
func TestMessage(t *testing.T) {
	missing := kernel.E(kernel.NotFound, "error.not_found").WithCause(errors.New("no row 42"))
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"ok/coded", missing, "We could not find the page or item you asked for.: no row 42"},
		{"ok/coded under Wrap", kernel.Wrap(kernel.Wrap(missing, "registry: unit"), "demo: load"), "We could not find the page or item you asked for.: no row 42"},
		{"ok/coded under fmt", fmt.Errorf("cli: %w", missing), "We could not find the page or item you asked for.: no row 42"},
		{"ok/internal shows its chain", kernel.Wrap(errors.New("disk full"), "db: write"), "internal error: db: write: disk full"},
		{"ok/plain", errors.New("bad flag"), "bad flag"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := message(tt.err); got != tt.want {
				t.Fatalf("message = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseInterleaved(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "units", "--limit", "3"}, "list,units|3"},
		{[]string{"--limit", "3", "list", "units"}, "list,units|3"},
		{[]string{"list", "--limit", "3", "units"}, "list,units|3"},
		{[]string{"list", "--", "--limit"}, "list,--limit|0"},
	} {
		fs := newTestFlagSet(registryCommand())
		pos, err := parseInterleaved(fs, tt.args)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(pos, ",") + "|" + fs.Lookup("limit").Value.String()
		if got != tt.want {
			t.Errorf("%v: got %s, want %s", tt.args, got, tt.want)
		}
	}
}

// TestOperatorCommands runs the commands an operator uses, on SQLite or (with
// CIVITAS_TEST_POSTGRES) on a fresh PostgreSQL database given through CIVITAS_DB.
func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data", dir}
	if dsn := dbtest.DSN(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	if code, out, errs := civitas(t, append([]string{"migrate"}, storage...)...); code != exitOK || !strings.Contains(out, "applied") {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	if code, out, _ := civitas(t, append([]string{"migrate"}, storage...)...); code != exitOK || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %d %s", code, out)
	}
	if code, out, errs := civitas(t, append([]string{"demo", "--persons", "1000", "--seed", "5"}, storage...)...); code != exitOK || !strings.Contains(out, "loaded 1000 persons") {
		t.Fatalf("demo: %d %s %s", code, out, errs)
	}
	if code, _, errs := civitas(t, append([]string{"demo", "--persons", "1000"}, storage...)...); code != exitFailure || !strings.Contains(errs, "already holds a population") {
		t.Fatalf("second demo: %d %s", code, errs)
	}
	for _, tt := range []struct {
		table  string
		fields []string
	}{
		{"units", []string{"code", "name"}},
		{"persons", []string{"citizen_id", "full_name", "birth_date"}},
		{"agencies", []string{"code", "name"}},
		{"officials", []string{"citizen_id", "agency", "role"}},
		{"boundaries", []string{"unit"}},
		{"areas", []string{"code", "name", "kind", "unit"}},
		{"households", []string{"id", "address", "area_code", "head_citizen_id"}},
		{"residences", []string{"id", "citizen_id", "kind", "address", "from"}},
		{"births", []string{"citizen_id", "full_name", "place_of_birth", "registration_number", "agency"}},
		{"deaths", []string{"citizen_id", "died_on", "registration_number"}},
		{"marriages", []string{"id", "husband_citizen_id", "wife_citizen_id", "married_on"}},
		{"land", []string{"parcel_id", "land_use", "unit"}},
		{"insurance", []string{"card_number", "citizen_id", "participation"}},
		{"vehicles", []string{"plate", "owner"}},
		{"businesses", []string{"reg_number", "name", "legal_rep", "kind"}},
		{"household-businesses", []string{"reg_number", "name", "owner", "activity"}},
		{"schools", []string{"code", "name", "level"}},
		{"classes", []string{"id", "school", "school_year"}},
		{"pupils", []string{"citizen_id", "class_id", "school"}},
		{"registries", []string{"code", "name", "agency"}},
	} {
		code, out, errs := civitas(t, append([]string{"registry", "list", tt.table, "--limit", "3", "--json"}, storage...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != exitOK || len(lines) != 3 {
			t.Fatalf("registry list %s: %d %q %s", tt.table, code, out, errs)
		}
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%s: not JSON: %s", tt.table, l)
			}
			for _, f := range tt.fields {
				if s, _ := m[f].(string); s == "" {
					t.Fatalf("%s: field %s missing in %s", tt.table, f, l)
				}
			}
		}
	}
	if code, out, errs := civitas(t, append([]string{"registry", "at", "12.68", "108.05", "--json"}, storage...)...); code != exitOK || !strings.Contains(out, `"level":"commune"`) {
		t.Fatalf("registry at: %d %s %s", code, out, errs)
	}
	code, out, _ := civitas(t, append([]string{"registry", "list", "persons"}, storage...)...)
	if code != exitOK || strings.Count(out, "\n") != 1000 {
		t.Fatalf("registry list persons (all, table): %d, %d lines", code, strings.Count(out, "\n"))
	}
	if code, out, errs := civitas(t, append([]string{"audit", "verify"}, storage...)...); code != exitOK || !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %d %s %s", code, out, errs)
	}
	// Break the log: verify must fail and name the record.
	d, err := db.Open(context.Background(), db.Options{DSN: dbtestDSN(), DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WritePool().Exec("UPDATE audit_log SET subject_id = 'x' WHERE seq = 1"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if code, _, errs := civitas(t, append([]string{"audit", "verify"}, storage...)...); code != exitFailure || !strings.Contains(errs, "record 1") {
		t.Fatalf("audit verify on a broken log: %d %s", code, errs)
	}
}
