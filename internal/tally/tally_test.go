package tally_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/tally"
)

func TestAddSumsPerTransactionAndDay(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	// 23:30 UTC on 6 December is 06:30 on 7 December in the province.
	late := time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC)
	if got := tally.Day(late); got != "2026-12-07" {
		t.Fatalf("Day = %s", got)
	}
	err := d.Update(ctx, late, func(tx *db.Tx) error {
		tally.Add(ctx, tx, "eid.level2_activated", "00001", 1)
		tally.Add(ctx, tx, "eid.level2_activated", "00001", 1)
		tally.Add(ctx, tx, "eid.level2_activated", "00002", 1)
		tally.Add(ctx, tx, "signing.holders", "00001", 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failed transaction adds nothing.
	boom := errors.New("boom")
	if err := d.Update(ctx, late, func(tx *db.Tx) error {
		tally.Add(ctx, tx, "eid.level2_activated", "00001", 5)
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	// A later transaction adds to the same row; a Batch call rolled back adds nothing.
	var calls [2]error
	done := make(chan int, 2)
	for i := range 2 {
		go func() {
			calls[i] = d.Batch(ctx, late, func(tx *db.Tx) error {
				tally.Add(ctx, tx, "eid.level2_activated", "00001", 10)
				if i == 1 {
					return boom
				}
				return nil
			})
			done <- i
		}()
	}
	<-done
	<-done
	if calls[0] != nil || !errors.Is(calls[1], boom) {
		t.Fatalf("batch calls: %v", calls)
	}
	var rows []tally.Row
	if err := d.View(ctx, func(tx *db.Tx) error {
		var err error
		rows, err = tally.Rows(ctx, tx, []string{"eid.level2_activated", "signing.holders"}, "2026-12-07", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []tally.Row{
		{Name: "eid.level2_activated", Unit: "00001", Day: "2026-12-07", Value: 12},
		{Name: "eid.level2_activated", Unit: "00002", Day: "2026-12-07", Value: 1},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Fatalf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}
