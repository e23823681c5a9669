package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
)

// TestWalletCommand holds the fixed contracts:
// civitas wallet issue --data DIR --agency CODE --citizen-id ID --type TYPE [--claims FILE.json] --out FILE
// civitas wallet types --data DIR [--json]
// and the flag added since: --plate PLATE.
func TestWalletCommand(t *testing.T) {
	dir := t.TempDir()
	dsn := dbtest.Migrated(t)
	if dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := civitas(t, append(args, "--data", dir)...)
		return code, out + errs
	}
	if code, out := run("demo", "--persons", "300", "--seed", "4"); code != exitOK {
		t.Fatalf("demo: %s", out)
	}
	if code, out := run("ca", "init"); code != exitOK {
		t.Fatalf("ca init: %s", out)
	}
	_, out := run("registry", "list", "agencies", "--limit", "500", "--json")
	police, insurance := "", ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a struct{ Code, Kind string }
		_ = json.Unmarshal([]byte(line), &a)
		switch {
		case a.Kind == "police" && police == "":
			police = a.Code
		case a.Kind == "social_insurance" && insurance == "":
			insurance = a.Code
		}
	}
	_, out = run("registry", "list", "persons", "--limit", "50", "--json")
	var person struct {
		CitizenID string `json:"citizen_id"`
		FullName  string `json:"full_name"`
		BirthDate string `json:"birth_date"`
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		_ = json.Unmarshal([]byte(line), &person)
		if b, _ := time.Parse("2006-01-02", person.BirthDate); time.Since(b) > 20*365*24*time.Hour {
			break
		}
	}
	if police == "" || insurance == "" || person.CitizenID == "" {
		t.Fatalf("demo: police %q, insurance %q, person %q", police, insurance, person.CitizenID)
	}
	claims := filepath.Join(dir, "claims.json")
	_ = os.WriteFile(claims, []byte(`{"card_number": "DN4797912345678", "full_name": "`+person.FullName+`", "birth_date": "`+person.BirthDate+`",
		"sex": "female", "hospital": "Bệnh viện Đa khoa tỉnh", "benefit_level": "80%"}`), 0o644)
	badClaims := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(badClaims, []byte(`["not", "an", "object"]`), 0o644)
	idCard, card := filepath.Join(dir, "id.sdjwt"), filepath.Join(dir, "card.sdjwt")
	for _, s := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ok/types", []string{"wallet", "types"}, exitOK, "health_insurance_card"},
		{"ok/types json", []string{"wallet", "types", "--json"}, exitOK, `"code":"citizen_id_card"`},
		{"fail/no type", []string{"wallet", "issue", "--agency", police, "--citizen-id", person.CitizenID, "--out", idCard}, exitUsage, "--type"},
		{"fail/claims not an object", []string{"wallet", "issue", "--agency", insurance, "--citizen-id", person.CitizenID, "--type", "health_insurance_card", "--claims", badClaims, "--out", card}, exitFailure, "JSON object"},
		{"fail/not the police's to issue", []string{"wallet", "issue", "--agency", insurance, "--citizen-id", person.CitizenID, "--type", "citizen_id_card", "--out", idCard}, exitFailure, "may not issue"},
		{"ok/from the registry", []string{"wallet", "issue", "--agency", police, "--citizen-id", person.CitizenID, "--type", "citizen_id_card", "--out", idCard}, exitOK, "issued citizen_id_card"},
		{"ok/with claims", []string{"wallet", "issue", "--agency", insurance, "--citizen-id", person.CitizenID, "--type", "health_insurance_card", "--claims", claims, "--out", card}, exitOK, "issued health_insurance_card"},
	} {
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}
	// What was written is an SD-JWT VC with every disclosure.
	b, _ := os.ReadFile(idCard)
	sd, err := sdjwt.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if c := sd.Claims(); c["full_name"] != person.FullName || c["citizen_id"] != person.CitizenID {
		t.Fatalf("claims of the written credential: %v", c)
	}

	// Vehicle registrations from the registry: a person's only vehicle, or
	// the one --plate names among several.
	ctx := context.Background()
	reg := registry.New(dbtest.OpenAt(t, dsn, dir), kernel.SystemClock{})
	var one, two registry.Person
	var onePlate string
	var twoPlates []string
	for after := ""; one.CitizenID == "" || two.CitizenID == ""; {
		ps, err := reg.ListPersons(ctx, kernel.Page{After: after, Limit: 100})
		if err != nil || len(ps) == 0 {
			t.Fatalf("no demo owner of one vehicle and of two: %v", err)
		}
		for _, p := range ps {
			vs, err := reg.VehiclesOf(ctx, p.CitizenID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case len(vs) == 1 && one.CitizenID == "":
				one, onePlate = p, vs[0].Plate
			case len(vs) == 2 && two.CitizenID == "":
				two, twoPlates = p, []string{vs[0].Plate, vs[1].Plate}
			}
		}
		after = ps[len(ps)-1].CitizenID
	}
	vehicle := func(id, out string, more ...string) []string {
		return append([]string{"wallet", "issue", "--agency", police, "--citizen-id", id, "--type", "vehicle_registration", "--out", out}, more...)
	}
	v1, v2 := filepath.Join(dir, "v1.sdjwt"), filepath.Join(dir, "v2.sdjwt")
	for _, s := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ok/the only vehicle", vehicle(one.CitizenID, v1), exitOK, "issued vehicle_registration"},
		{"fail/two vehicles and no --plate", vehicle(two.CitizenID, v2), exitFailure, "owns 2 vehicles; give the number plate"},
		{"fail/another person's plate", vehicle(two.CitizenID, v2, "--plate", onePlate), exitFailure, "owns no vehicle with this number plate"},
		{"fail/a plate that is no plate", vehicle(two.CitizenID, v2, "--plate", "nothing"), exitFailure, "number plate is not valid"},
		{"fail/--plate with --claims", vehicle(two.CitizenID, v2, "--plate", twoPlates[1], "--claims", claims), exitUsage, "--plate"},
		{"ok/the vehicle --plate names, written loosely", vehicle(two.CitizenID, v2, "--plate", strings.ToLower(strings.Replace(twoPlates[1], "-", " ", 1))), exitOK, "issued vehicle_registration"},
	} {
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}
	for file, want := range map[string]string{v1: onePlate, v2: twoPlates[1]} {
		b, _ := os.ReadFile(file)
		sd, err := sdjwt.Parse(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if c := sd.Claims(); c["plate"] != want {
			t.Fatalf("%s: plate %v, want %s", filepath.Base(file), c["plate"], want)
		}
	}
}
