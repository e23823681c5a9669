package main

import (
	"encoding/json"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
)

func TestDemoPeople(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data", dir}
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	if code, _, errs := civitas(t, append([]string{"demo", "--persons", "1000", "--seed", "3"}, storage...)...); code != exitOK {
		t.Fatalf("demo: %s", errs)
	}
	_, officials, _ := civitas(t, append([]string{"registry", "list", "officials", "--limit", "100000", "--json"}, storage...)...)
	posts := map[string]string{}
	for line := range strings.Lines(officials) {
		var o struct {
			CitizenID string `json:"citizen_id"`
			Role      string `json:"role"`
		}
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatal(err)
		}
		posts[o.CitizenID] = o.Role
	}
	for _, role := range demo.Roles {
		code, out, errs := civitas(t, append([]string{"demo", "people", "--role", role, "--limit", "5", "--json"}, storage...)...)
		if code != exitOK {
			t.Fatalf("%s: %d %s", role, code, errs)
		}
		n := 0
		for line := range strings.Lines(out) {
			var p demo.DemoPerson
			if err := json.Unmarshal([]byte(line), &p); err != nil {
				t.Fatalf("%s: %v in %q", role, err, line)
			}
			n++
			_, official := posts[p.CitizenID]
			switch role {
			case "citizen", "guardian":
				if official || p.Phone == "" {
					t.Errorf("%s %s holds a post or has no phone", role, p.CitizenID)
				}
				if role == "guardian" && (p.ChildID == "" || p.ChildName == "") {
					t.Errorf("guardian %s without a child", p.CitizenID)
				}
			case "officer":
				if p.Role != "police_officer" && p.Role != "one_stop_officer" {
					t.Errorf("officer %s is a %s", p.CitizenID, p.Role)
				}
			case "official":
				if !official || p.Role == "police_officer" || p.Role == "one_stop_officer" || p.AgencyName == "" {
					t.Errorf("official %s: %+v", p.CitizenID, p)
				}
			}
		}
		if n == 0 || n > 5 {
			t.Errorf("%s: %d people", role, n)
		}
	}
	code, out, _ := civitas(t, append([]string{"demo", "people", "--role", "citizen", "--limit", "2"}, storage...)...)
	if code != exitOK || !strings.HasPrefix(out, "CITIZEN ID") || strings.Count(out, "\n") != 3 {
		t.Errorf("table: %d %q", code, out)
	}
	if code, _, errs := civitas(t, append([]string{"demo", "people", "--role", "mayor"}, storage...)...); code != exitUsage || !strings.Contains(errs, "--role must be one of") {
		t.Errorf("unknown role: %d %s", code, errs)
	}
}
