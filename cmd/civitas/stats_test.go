package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/tally"
)

// TestStatsRebuild holds the fixed contract of civitas stats rebuild
// --data DIR: zero when every figure matches a recount, non-zero printing
// where a figure differed (and corrected, so the next run is zero).
func TestStatsRebuild(t *testing.T) {
	dir := t.TempDir()
	dsn := dbtest.Migrated(t)
	if dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	code, out, errs := civitas(t, "stats", "rebuild", "--data", dir)
	if code != exitOK || !strings.Contains(out, "every figure matches") {
		t.Fatalf("fresh: %d %q %q", code, out, errs)
	}
	d := dbtest.OpenAt(t, dsn, dir)
	ctx := context.Background()
	if err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		tally.Add(ctx, tx, "eid.level2_activated", "00007", 2)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	code, out, errs = civitas(t, "stats", "rebuild", "--data", dir)
	if code != exitFailure || !strings.Contains(out, "eid.level2_activated unit 00007 total to date: kept 2, counted 0") || !strings.Contains(errs, "differed") {
		t.Fatalf("tampered: %d %q %q", code, out, errs)
	}
	if code, out, errs := civitas(t, "stats", "rebuild", "--data", dir); code != exitOK {
		t.Fatalf("after correction: %d %q %q", code, out, errs)
	}
	if code, _, _ := civitas(t, "stats", "nonsense", "--data", dir); code != exitUsage {
		t.Fatalf("usage: %d", code)
	}
}

// A command run without the --key-file the province was served with says
// so, instead of an internal error, and leaves no stray key behind.
func TestCommandWithoutTheProvincesKey(t *testing.T) {
	dir := t.TempDir()
	dsn := dbtest.Migrated(t)
	if dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	key := filepath.Join(t.TempDir(), "province.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := civitas(t, "stats", "rebuild", "--data", dir, "--key-file", key); code != exitOK {
		t.Fatalf("with the key: %d %q %q", code, out, errs)
	}
	code, _, errs := civitas(t, "stats", "rebuild", "--data", dir)
	if code == exitOK || !strings.Contains(errs, "--key-file") || strings.Contains(errs, "internal error") {
		t.Fatalf("without the key: %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !os.IsNotExist(err) {
		t.Fatalf("a key was left beside the data: %v", err)
	}
}
