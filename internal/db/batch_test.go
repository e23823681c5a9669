package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

// Calls that share a transaction succeed or fail alone: a failing call's
// writes are rolled back, its neighbours' are committed, a panic reaches
// only its own caller, and a cancelled call never runs.
func TestBatchCallsSucceedOrFailAlone(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.WritePool().ExecContext(ctx, "CREATE TABLE batch_t (id BIGINT PRIMARY KEY, at BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	errOdd := errors.New("odd")
	now := time.Unix(1700000000, 0)
	const n = 400
	var wg sync.WaitGroup
	errs := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = d.Batch(ctx, now.Add(time.Duration(i)*time.Second), func(tx *db.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO batch_t (id, at) VALUES (?, ?)", i, tx.Now.Unix()); err != nil {
					return err
				}
				switch {
				case i%10 == 7:
					panic(fmt.Sprintf("call %d", i))
				case i%2 == 1:
					return errOdd // after writing: the write must go
				case i%10 == 4:
					// A duplicate key fails this call only.
					_, err := tx.Exec(ctx, "INSERT INTO batch_t (id, at) VALUES (?, ?)", i, 0)
					return err
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		switch {
		case i%10 == 7:
			if panics[i] != fmt.Sprintf("call %d", i) {
				t.Errorf("call %d: panic %v, want its own", i, panics[i])
			}
		case i%2 == 1:
			if !errors.Is(errs[i], errOdd) {
				t.Errorf("call %d: %v, want errOdd", i, errs[i])
			}
		case i%10 == 4:
			if !db.IsUniqueViolation(errs[i]) {
				t.Errorf("call %d: %v, want a unique violation", i, errs[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("call %d: %v %v", i, errs[i], panics[i])
			}
		}
	}
	rows, err := d.Query(ctx, "SELECT id, at FROM batch_t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		if at != now.Unix()+id {
			t.Errorf("row %d stamped %d, want its own call's time %d", id, at, now.Unix()+id)
		}
		got = append(got, int(id))
	}
	want := 0
	for i := range n {
		if i%2 == 0 && i%10 != 4 {
			want++
		}
	}
	if len(got) != want {
		t.Fatalf("%d rows committed, want %d", len(got), want)
	}
	for _, id := range got {
		if id%2 == 1 || id%10 == 4 {
			t.Errorf("row %d of a failed call was committed", id)
		}
	}

	// A call whose caller has gone runs nothing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	err = d.Batch(cancelled, now, func(tx *db.Tx) error { ran = true; return nil })
	if ran || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: ran=%v err=%v", ran, err)
	}
}

func TestBatchAfterClose(t *testing.T) {
	d := dbtest.Open(t)
	if d.Dialect() != db.SQLite {
		t.Skip("PostgreSQL batches are plain transactions")
	}
	d.Close()
	if err := d.Batch(context.Background(), time.Now(), func(*db.Tx) error { return nil }); err == nil {
		t.Error("Batch on a closed database succeeded")
	}
}
