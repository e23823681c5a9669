package main

import (
	"encoding/json"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

func TestAccountAdd(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data", dir}
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	if code, _, errs := civitas(t, append([]string{"demo", "--persons", "1000", "--seed", "3"}, storage...)...); code != exitOK {
		t.Fatalf("demo: %s", errs)
	}
	_, out, _ := civitas(t, append([]string{"registry", "list", "persons", "--limit", "1", "--json"}, storage...)...)
	var p struct {
		CitizenID string `json:"citizen_id"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.CitizenID == "" {
		t.Fatalf("no person: %s", out)
	}
	add := func(password string, args ...string) (int, string, string) {
		t.Helper()
		stdin = strings.NewReader(password)
		defer func() { stdin = nil }()
		return civitas(t, append(append([]string{"account", "add"}, storage...), args...)...)
	}
	for _, tt := range []struct {
		name     string
		password string
		args     []string
		code     int
		want     string
	}{
		{"fail/no password-stdin", "x\n", []string{"--citizen-id", p.CitizenID}, exitUsage, "--password-stdin is required"},
		{"fail/no citizen id", "x\n", []string{"--password-stdin"}, exitUsage, "--citizen-id is required"},
		{"fail/bad level", "long enough pw\n", []string{"--citizen-id", p.CitizenID, "--level", "3", "--password-stdin"}, exitUsage, "--level"},
		{"fail/empty stdin", "", []string{"--citizen-id", p.CitizenID, "--password-stdin"}, exitUsage, "no password"},
		{"fail/short password", "short\n", []string{"--citizen-id", p.CitizenID, "--password-stdin"}, exitFailure, "at least 8"},
		{"fail/unknown person", "long enough pw\n", []string{"--citizen-id", "099190999999", "--password-stdin"}, exitFailure, "No person"},
		{"fail/bad phone", "long enough pw\n", []string{"--citizen-id", p.CitizenID, "--password-stdin", "--phone", "abc"}, exitFailure, "phone"},
		{"ok/level 2", "long enough pw\r\n", []string{"--citizen-id", p.CitizenID, "--level", "2", "--password-stdin", "--phone", "0912 345 678"}, exitOK, "at level 2"},
		{"fail/second account", "long enough pw\n", []string{"--citizen-id", p.CitizenID, "--password-stdin"}, exitFailure, "already has an account"},
	} {
		code, out, errs := add(tt.password, tt.args...)
		if code != tt.code || !strings.Contains(out+errs, tt.want) {
			t.Errorf("%s: exit %d, %q %q; want exit %d and %q", tt.name, code, out, errs, tt.code, tt.want)
		}
		if strings.Contains(out+errs, "long enough pw") {
			t.Errorf("%s: the password was echoed", tt.name)
		}
	}
}
