package db_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

// BenchmarkRawInsert is the limit the audit append is measured against: one
// single-row INSERT per write transaction on the same engine and pool.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	if _, err := d.WritePool().ExecContext(ctx, "CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	var id int64
	for b.Loop() {
		id++
		err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO bench_raw (id, v) VALUES (?, ?)", id, "0123456789abcdef0123456789abcdef")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkBatchInsert is the same insert from 32 concurrent callers through
// Batch: on SQLite they share transactions (group commit).
func BenchmarkBatchInsert(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	if _, err := d.WritePool().ExecContext(ctx, "CREATE TABLE bench_batch (id BIGINT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	var id atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := id.Add(1)
			err := d.Batch(ctx, time.Now(), func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO bench_batch (id, v) VALUES (?, ?)", n, "0123456789abcdef0123456789abcdef")
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
