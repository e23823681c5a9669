package db_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

type logKey struct{}

// writeLog is a flush that writes the kept items as rows, in order.
func writeLog(ctx context.Context, tx *db.Tx, items []int) error {
	for _, it := range items {
		if _, err := tx.Exec(ctx, "INSERT INTO deferred_t (id) VALUES (?)", it); err != nil {
			return err
		}
	}
	return nil
}

func deferredTable(t *testing.T) *db.DB {
	t.Helper()
	d := dbtest.Open(t)
	if _, err := d.WritePool().ExecContext(context.Background(), "CREATE TABLE deferred_t (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return d
}

func deferredRows(t *testing.T, d *db.DB) map[int]bool {
	t.Helper()
	rows, err := d.Query(context.Background(), "SELECT id FROM deferred_t")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got[id] = true
	}
	return got
}

// What Defer keeps is written once, before commit, by one flush per
// transaction; a Batch call that fails takes its items with it.
func TestDeferWritesBeforeCommitAndOnlyForCallsThatSucceed(t *testing.T) {
	ctx := context.Background()
	d := deferredTable(t)
	var flushes, sizes sync.Map
	flush := func(ctx context.Context, tx *db.Tx, items []int) error {
		flushes.Store(items[0], true)
		sizes.Store(items[0], len(items))
		return writeLog(ctx, tx, items)
	}
	if err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		db.Defer(tx, logKey{}, 1, flush)
		db.Defer(tx, logKey{}, 2, flush)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, _ := sizes.Load(1); n != 2 {
		t.Fatalf("one flush of both items expected, flushed %v", n)
	}
	// A failed Update writes nothing and flushes nothing.
	errNo := errors.New("no")
	if err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		db.Defer(tx, logKey{}, 3, flush)
		return errNo
	}); !errors.Is(err, errNo) {
		t.Fatalf("got %v", err)
	}
	if _, ok := flushes.Load(3); ok {
		t.Fatal("a failed transaction flushed")
	}

	var wg sync.WaitGroup
	for i := 100; i < 300; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = d.Batch(ctx, time.Now(), func(tx *db.Tx) error {
				db.Defer(tx, logKey{}, i, flush)
				if i%3 == 0 {
					return errNo
				}
				return nil
			})
		}()
	}
	wg.Wait()
	got := deferredRows(t, d)
	for i := 100; i < 300; i++ {
		if got[i] != (i%3 != 0) {
			t.Errorf("item %d written: %v", i, got[i])
		}
	}
	if !got[1] || !got[2] || got[3] {
		t.Errorf("Update's items: %v", got)
	}
}

// A flush that fails fails its transaction: nothing of it commits, and
// with Batch every call in it gets the error.
func TestDeferFlushFailureFailsTheTransaction(t *testing.T) {
	ctx := context.Background()
	d := deferredTable(t)
	errFlush := errors.New("flush")
	failing := func(ctx context.Context, tx *db.Tx, items []int) error {
		if err := writeLog(ctx, tx, items); err != nil {
			return err
		}
		return errFlush
	}
	err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO deferred_t (id) VALUES (?)", 7); err != nil {
			return err
		}
		db.Defer(tx, logKey{}, 8, failing)
		return nil
	})
	if !errors.Is(err, errFlush) {
		t.Fatalf("got %v", err)
	}
	err = d.Batch(ctx, time.Now(), func(tx *db.Tx) error {
		db.Defer(tx, logKey{}, 9, failing)
		return nil
	})
	if !errors.Is(err, errFlush) {
		t.Fatalf("batch: got %v", err)
	}
	if got := deferredRows(t, d); len(got) != 0 {
		t.Errorf("rows of failed transactions committed: %v", got)
	}
}
