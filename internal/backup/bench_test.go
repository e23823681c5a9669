package backup_test

import (
	"context"
	"io"
	"testing"
	"time"

	"filippo.io/age"

	"civitas/internal/backup"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
)

// BenchmarkCreate backs up a 100,000-person demo province (SQLite, tens of
// MiB): bytes/s is the database read, hashed, archived and encrypted.
func BenchmarkCreate(b *testing.B) {
	if dbtest.Name() != "sqlite" {
		b.Skip("the SQLite path")
	}
	ctx := kernel.WithActor(context.Background(), operator)
	d := dbtest.OpenAt(b, "", b.TempDir())
	if _, err := demo.Load(ctx, d, demo.Options{Persons: 100000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	id := identity(b)
	o := backup.Options{DB: d, Recipients: []age.Recipient{id.Recipient()}, Clock: kernel.SystemClock{}, Version: "bench"}
	var size int64
	b.ResetTimer()
	for b.Loop() {
		res, err := backup.Create(ctx, io.Discard, o)
		if err != nil {
			b.Fatal(err)
		}
		size = res.Manifest.Size()
	}
	b.SetBytes(size)
	_ = time.Second
}
