package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// civitas keys: rotations of every kind, then a change of key-encryption
// key. After the rewrap the province works with the new key alone (the
// CA's keys, the OpenID Provider's, the wallet's holder keys and
// credentials open) and no longer with the old one.
func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	oldKey := filepath.Join(dir, "old.key")
	newKey := filepath.Join(dir, "new.key")
	both := filepath.Join(dir, "both.key")
	if err := os.WriteFile(oldKey, []byte(strings.Repeat("a1", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newKey, []byte(strings.Repeat("b2", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// During the change the servers run with the new key first, the old after.
	if err := os.WriteFile(both, []byte("# new first, old after\n"+strings.Repeat("b2", 32)+"\n"+strings.Repeat("a1", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(key string, args ...string) (int, string) {
		t.Helper()
		code, out, errs := civitas(t, append(args, "--data", filepath.Join(dir, "data"), "--key-file", key)...)
		return code, out + errs
	}
	for _, args := range [][]string{{"demo", "--persons", "300", "--seed", "4"}, {"ca", "init"}} {
		if code, out := run(oldKey, args...); code != exitOK {
			t.Fatalf("%v: %s", args, out)
		}
	}
	_, out := run(oldKey, "registry", "list", "agencies", "--limit", "500", "--json")
	police := ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a struct{ Code, Kind string }
		_ = json.Unmarshal([]byte(line), &a)
		if a.Kind == "police" && police == "" {
			police = a.Code
		}
	}
	_, out = run(oldKey, "registry", "list", "persons", "--limit", "1", "--json")
	var person struct {
		CitizenID string `json:"citizen_id"`
	}
	_ = json.Unmarshal([]byte(out), &person)
	issue := func(key, name string) (int, string) {
		return run(key, "wallet", "issue", "--agency", police, "--citizen-id", person.CitizenID, "--type", "citizen_id_card",
			"--out", filepath.Join(dir, name))
	}
	if code, out := issue(oldKey, "first.sdjwt"); code != exitOK {
		t.Fatalf("wallet issue: %s", out)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ok/oidc", []string{"keys", "rotate", "--what", "oidc", "--ahead", "3m"}, exitOK, "signs from"},
		{"fail/oidc pending", []string{"keys", "rotate", "--what", "oidc"}, exitFailure, "already"},
		{"fail/oidc too soon", []string{"keys", "rotate", "--what", "oidc", "--ahead", "10s"}, exitFailure, "2m0s"},
		{"ok/tsa", []string{"keys", "rotate", "--what", "tsa"}, exitOK, "tsa: new key"},
		{"ok/ocsp", []string{"keys", "rotate", "--what", "ocsp"}, exitOK, "ocsp-officials: new key"},
		{"ok/audit", []string{"keys", "rotate", "--what", "audit"}, exitOK, "audit: new key"},
		{"ok/seal", []string{"keys", "rotate", "--what", "seal:" + police}, exitOK, "has a new seal"},
		{"ok/statuslist is the seal", []string{"keys", "rotate", "--what", "statuslist:" + police}, exitOK, "status lists"},
		{"fail/unknown", []string{"keys", "rotate", "--what", "root"}, exitUsage, "--what must be"},
		{"fail/no agency", []string{"keys", "rotate", "--what", "seal:"}, exitUsage, "agency"},
		{"ok/list", []string{"keys", "list"}, exitOK, "next"},
		{"fail/rewrap without a key", []string{"keys", "rewrap"}, exitUsage, "--new-key-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := run(oldKey, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d %q; want %d and %q", code, out, tc.code, tc.want)
			}
		})
	}
	if code, out := issue(oldKey, "second.sdjwt"); code != exitOK {
		t.Fatalf("wallet issue with the rotated seal: %s", out)
	}

	code, out := run(both, "keys", "rewrap", "--new-key-file", newKey)
	if code != exitOK || !strings.Contains(out, "open under it alone") {
		t.Fatalf("rewrap: %s", out)
	}
	// Resumable: a second run finds nothing left to do.
	if code, out := run(both, "keys", "rewrap", "--new-key-file", newKey); code != exitOK || !strings.Contains(out, " 0 sealed again") {
		t.Fatalf("second rewrap: %s", out)
	}
	if code, out := issue(newKey, "third.sdjwt"); code != exitOK {
		t.Fatalf("wallet issue with the new key alone: %s", out)
	}
	if code, out := run(newKey, "keys", "list"); code != exitOK || !strings.Contains(out, "signing") {
		t.Fatalf("keys list with the new key alone: %s", out)
	}
	if code, out := issue(oldKey, "fourth.sdjwt"); code == exitOK {
		t.Fatalf("the old key still opens the province's secrets: %s", out)
	}
}
