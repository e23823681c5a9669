//go:build unix

package db_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"civitas/internal/db"
)

// TestFileModes: the database and its -wal and -shm files are the owner's
// alone, whether serve made the data directory or found it, and whatever
// the umask lets through.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask: SQLite alone would make 0644
	defer syscall.Umask(old)
	ctx := context.Background()
	base := t.TempDir()
	tests := []struct {
		name string
		opts func() (db.Options, string)
	}{
		{"ok/data directory made by Open", func() (db.Options, string) {
			dir := filepath.Join(base, "new")
			return db.Options{DataDir: dir}, filepath.Join(dir, db.SQLiteFile)
		}},
		{"ok/data directory already there", func() (db.Options, string) {
			dir := filepath.Join(base, "existing")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			return db.Options{DataDir: dir}, filepath.Join(dir, db.SQLiteFile)
		}},
		{"ok/sqlite: DSN", func() (db.Options, string) {
			path := filepath.Join(base, "elsewhere.db")
			return db.Options{DSN: "sqlite:" + path}, path
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, path := tt.opts()
			d, err := db.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			err = d.Update(ctx, time.Now(), func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1 {
				t.Fatalf("count %d, %v", n, err)
			}
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatalf("%s: %v", filepath.Base(f), err)
				}
				if mode := fi.Mode().Perm(); mode != 0o600 {
					t.Errorf("%s is %o, want 600", filepath.Base(f), mode)
				}
			}
		})
	}
	// A file the operator made keeps the mode they chose.
	path := filepath.Join(base, "chosen.db")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, db.Options{DSN: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("an existing file's mode changed to %o", fi.Mode().Perm())
	}
}
