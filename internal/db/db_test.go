package db_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

func TestMigrationsInStep(t *testing.T) {
	lite, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := db.Migrations(db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 {
		t.Fatal("no migrations embedded")
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, lite[i].Version, pg[i].Version)
		}
		// Each dialect's file must create the same tables.
		if a, b := tables(lite[i].SQL), tables(pg[i].SQL); a != b {
			t.Errorf("%s: tables differ:\nsqlite:   %s\npostgres: %s", lite[i].Version, a, b)
		}
	}
}

func tables(sql string) string {
	var names []string
	for _, line := range strings.Split(sql, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "CREATE TABLE ") || strings.HasPrefix(line, "CREATE INDEX ") {
			f := strings.Fields(line)
			names = append(names, f[2])
		}
	}
	return strings.Join(names, ",")
}

func TestMigrateIsIdempotentAndReady(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	again, err := d.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second migrate applied %v", again)
	}
	pending, err := d.Pending(ctx)
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending = %v, %v", pending, err)
	}
}

func TestPendingBeforeMigrate(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{DSN: dbtest.DSN(t), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pending, err := d.Pending(ctx)
	if err != nil || len(pending) == 0 {
		t.Fatalf("fresh database: pending = %v, %v; want all", pending, err)
	}
}

func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	dsn, dir := dbtest.DSN(t), t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := db.Open(ctx, db.Options{DSN: dsn, DataDir: dir})
			if err != nil {
				errs[i] = err
				return
			}
			defer d.Close()
			_, errs[i] = d.Migrate(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func TestRebind(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	q := "SELECT ? WHERE 'a?b' <> ? AND x = ?"
	got := d.Rebind(q)
	if d.Dialect() == db.Postgres {
		if got != "SELECT $1 WHERE 'a?b' <> $2 AND x = $3" {
			t.Fatalf("rebind = %q", got)
		}
	} else if got != q {
		t.Fatalf("sqlite rebind changed the query: %q", got)
	}
	var s string
	if err := d.QueryRow(ctx, "SELECT 'x?' || ?", "y").Scan(&s); err != nil || s != "x?y" {
		t.Fatalf("query with quoted ?: %q, %v", s, err)
	}
}

func TestUpdateRollsBackOnError(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	boom := errors.New("boom")
	err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", "x", "h", 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM leases").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled-back row visible: n=%d err=%v", n, err)
	}
}

func TestReadersCannotWrite(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	err := d.View(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO leases (name, holder, expires_at) VALUES ('a', 'b', 1)")
		return err
	})
	if err == nil {
		t.Fatal("write in a read-only transaction succeeded")
	}
}

func TestUniqueViolation(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	ins := func() error {
		return d.Update(ctx, time.Now(), func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO leases (name, holder, expires_at) VALUES ('a', 'b', 1)")
			return err
		})
	}
	if err := ins(); err != nil {
		t.Fatal(err)
	}
	if err := ins(); !db.IsUniqueViolation(err) {
		t.Fatalf("second insert: %v, want unique violation", err)
	}
}

func TestLease(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name   string
		holder string
		at     time.Duration
		want   bool
	}{
		{"ok/first holder takes it", "a", 0, true},
		{"fail/second holder while held", "b", time.Second, false},
		{"ok/holder renews", "a", 5 * time.Second, true},
		{"fail/renewed lease still held", "b", 12 * time.Second, false},
		{"ok/expired lease changes hands", "b", 15 * time.Second, true},
		{"fail/old holder locked out", "a", 16 * time.Second, false},
	}
	for _, s := range steps {
		got, err := d.AcquireLease(ctx, "job", s.holder, t0.Add(s.at), 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
	if err := d.ReleaseLease(ctx, "job", "b", t0.Add(17*time.Second)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := d.AcquireLease(ctx, "job", "a", t0.Add(17*time.Second), time.Second); !ok {
		t.Fatal("released lease not available")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := db.Open(ctx, db.Options{DSN: "mysql://x"}); err == nil {
		t.Fatal("unknown DSN accepted")
	}
	if _, err := db.Open(ctx, db.Options{}); err == nil {
		t.Fatal("no data dir accepted")
	}
	f, _ := os.CreateTemp(t.TempDir(), "file")
	f.Close()
	if _, err := db.Open(ctx, db.Options{DataDir: f.Name()}); err == nil {
		t.Fatal("data dir that is a file accepted")
	}
}
