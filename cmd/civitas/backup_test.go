package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"civitas/internal/db/dbtest"
)

// The fixed contract of backup, restore and backup verify, as scripts
// outside the repository run it: a backup restores into a new directory
// (or an empty PostgreSQL database) where audit verify exits 0 and the
// registry lists the same people; verify refuses a cut or altered file,
// naming the problem; the file is not readable without the identity.
func init() {
	// The commands run inside the test process: a backup must not leave
	// every test after it on one core.
	oneCore = func() {}
}

func TestBackupRestoreContract(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	storage := []string{"--data", data}
	var target []string
	if dsn := dbtest.Migrated(t); dsn != "" {
		storage = append(storage, "--db", dsn)
		target = []string{"--db", dbtest.DSN(t)}
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return civitas(t, args...)
	}
	if code, out, errs := run(append([]string{"demo", "--persons", "1000"}, storage...)...); code != exitOK {
		t.Fatalf("demo: %s %s", out, errs)
	}
	if code, out, errs := run(append([]string{"ca", "init"}, storage...)...); code != exitOK {
		t.Fatalf("ca init: %s %s", out, errs)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(dir, "backup.key")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "province.age")
	code, out, errs := run(append([]string{"backup", "--recipient", id.Recipient().String(), "--out", file}, storage...)...)
	if code != exitOK || !strings.Contains(out, "manifest sealed with the key-encryption key") {
		t.Fatalf("backup: %d %s %s", code, out, errs)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("SQLite format 3")) || bytes.Contains(b, []byte("PGDMP")) {
		t.Fatal("the backup holds the database in plain text")
	}

	restored := filepath.Join(dir, "restored")
	code, out, errs = run(append([]string{"restore", "--in", file, "--identity", idFile, "--data", restored,
		"--key-file", filepath.Join(data, "secret.key")}, target...)...)
	if code != exitOK || !strings.Contains(out, "manifest MAC checked") || !strings.Contains(out, "as the backup recorded") {
		t.Fatalf("restore: %d %s %s", code, out, errs)
	}
	newStorage := append([]string{"--data", restored}, target...)
	if code, out, errs := run(append([]string{"audit", "verify"}, newStorage...)...); code != exitOK {
		t.Fatalf("audit verify of the restored province: %s %s", out, errs)
	}
	_, before, _ := run(append([]string{"registry", "list", "persons"}, storage...)...)
	_, after, _ := run(append([]string{"registry", "list", "persons"}, newStorage...)...)
	if before != after || strings.Count(after, "\n") != 1000 {
		t.Fatalf("the restored registry lists %d lines, the original %d", strings.Count(after, "\n"), strings.Count(before, "\n"))
	}
	if _, err := os.Stat(filepath.Join(restored, "secret.key")); err == nil {
		t.Fatal("the key-encryption key was restored from the backup")
	}
	// A second restore into the same place is refused.
	if code, _, errs := run(append([]string{"restore", "--in", file, "--identity", idFile, "--data", restored}, target...)...); code != exitFailure || !strings.Contains(errs, "not empty") && !strings.Contains(errs, "already holds") {
		t.Fatalf("restore over a restored province: %d %s", code, errs)
	}

	if code, out, errs := run("backup", "verify", "--in", file, "--identity", idFile, "--db", ""); code != exitOK || !strings.Contains(out, "is intact") {
		t.Fatalf("backup verify: %d %s %s", code, out, errs)
	}
	for _, tc := range []struct {
		name string
		body []byte
		says string
	}{
		{"fail/truncated", b[:len(b)*2/3], "truncated after"},
		{"fail/altered", func() []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c }(), "altered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.age")
			if err := os.WriteFile(bad, tc.body, 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errs := run("backup", "verify", "--in", bad, "--identity", idFile, "--db", "")
			if code == exitOK || !strings.Contains(errs, tc.says) {
				t.Fatalf("verify of a damaged backup: %d %s %s", code, out, errs)
			}
		})
	}
}
