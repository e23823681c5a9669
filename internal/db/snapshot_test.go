package db_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

// TestSnapshotImageIsOneMoment copies the SQLite file while a writer keeps
// committing, and checks the copy opens, passes integrity_check and holds
// exactly the rows the snapshot's own transaction counted.
func TestSnapshotImageIsOneMoment(t *testing.T) {
	if dbtest.Name() != "sqlite" {
		t.Skip("the image is SQLite's")
	}
	ctx := context.Background()
	d := dbtest.OpenAt(t, "", t.TempDir())
	insert := func(i int) error {
		return d.Update(ctx, time.Now(), func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", fmt.Sprint("row-", i), "x", i)
			return err
		})
	}
	for i := range 2000 {
		if err := insert(i); err != nil {
			t.Fatal(err)
		}
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // commits during the copy
		defer wg.Done()
		for i := 2000; !stop.Load(); i++ {
			if err := insert(i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var image bytes.Buffer
	var counted int
	err := d.Snapshot(ctx, func(s *db.Snapshot) error {
		if err := s.Tx.QueryRow(ctx, "SELECT COUNT(*) FROM leases").Scan(&counted); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond) // let the writer commit after the snapshot began
		n, err := s.WriteImage(ctx, &image)
		if err == nil && n != s.Size() {
			t.Errorf("wrote %d bytes, size %d", n, s.Size())
		}
		return err
	})
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(image.Bytes(), []byte("SQLite format 3\x00")) {
		t.Fatal("the image is not a SQLite file")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, db.SQLiteFile), image.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := db.Open(ctx, db.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var check string
	if err := c.QueryRow(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT COUNT(*) FROM leases").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != counted || n < 2000 {
		t.Fatalf("the copy holds %d rows, the snapshot counted %d", n, counted)
	}
	var live int
	if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM leases").Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live <= counted {
		t.Fatalf("the writer committed nothing during the copy (%d rows): the test proves nothing", live)
	}
}

// TestSnapshotPostgresExports checks that a PostgreSQL snapshot is named,
// so pg_dump --snapshot reads what Tx reads.
func TestSnapshotPostgresExports(t *testing.T) {
	if dbtest.Name() != "postgres" {
		t.Skip("PostgreSQL only")
	}
	ctx := context.Background()
	d := dbtest.Open(t)
	err := d.Snapshot(ctx, func(s *db.Snapshot) error {
		if s.ID == "" {
			t.Error("no snapshot ID")
		}
		if _, err := s.WriteImage(ctx, &bytes.Buffer{}); err == nil {
			t.Error("WriteImage on PostgreSQL succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSnapshotImage(b *testing.B) {
	if dbtest.Name() != "sqlite" {
		b.Skip("the image is SQLite's")
	}
	ctx := context.Background()
	d := dbtest.OpenAt(b, "", b.TempDir())
	err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		for i := range 50000 {
			if _, err := tx.Exec(ctx, "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)",
				fmt.Sprintf("row-%08d-padding-padding-padding-padding", i), "holder-holder-holder", i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	b.ResetTimer()
	for b.Loop() {
		err := d.Snapshot(ctx, func(s *db.Snapshot) error {
			size = s.Size()
			_, err := s.WriteImage(ctx, discard{})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
