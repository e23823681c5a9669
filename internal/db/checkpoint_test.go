package db_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/db"
)

// fillWAL writes about mib MiB of rows, one transaction of 1 MiB at a time.
func fillWAL(t *testing.T, d *db.DB, mib int) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.WritePool().ExecContext(ctx, "CREATE TABLE IF NOT EXISTS wal_fill (id INTEGER PRIMARY KEY, v BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	blob := []byte(strings.Repeat("x", 4000))
	for range mib {
		err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
			for range 256 {
				if _, err := tx.Exec(ctx, "INSERT INTO wal_fill (v) VALUES (?)", blob); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func openSQLite(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestCheckpointTruncatesWAL: with no reader in the WAL, a checkpoint of a
// WAL past the limit leaves it empty, and the background checkpointer
// keeps it under the limit by itself.
func TestCheckpointTruncatesWAL(t *testing.T) {
	ctx := context.Background()
	d := openSQLite(t)
	// Nothing checkpoints while the WAL grows (the writer never does).
	resume := d.PauseCheckpoints()
	fillWAL(t, d, 24)
	if n := d.WALSize(); n < 24<<20 {
		t.Fatalf("the WAL is %d bytes after 24 MiB written with checkpoints paused", n)
	}
	r, err := d.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mode != "TRUNCATE" || r.Busy || r.WALBytes != 0 {
		t.Fatalf("checkpoint: %+v, want TRUNCATE, not busy, an empty WAL", r)
	}
	resume()
	// The background checkpointer, alone: it truncates above 16 MiB, so
	// the WAL ends at most that large, whenever its last truncation came.
	fillWAL(t, d, 40)
	deadline := time.Now().Add(10 * time.Second)
	for d.WALSize() > 16<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL is still %d bytes after 10 s", d.WALSize())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT count(*) FROM wal_fill").Scan(&n); err != nil || n != 64*256 {
		t.Fatalf("rows after the checkpoints: %d, %v", n, err)
	}
}

// TestCheckpointWaitsBrieflyForReaders: a reader that keeps its snapshot
// open makes the TRUNCATE give up after a short wait, without holding up a
// write for long; once the reader is done the WAL is truncated.
func TestCheckpointWaitsBrieflyForReaders(t *testing.T) {
	ctx := context.Background()
	d := openSQLite(t)
	fillWAL(t, d, 1)
	// A reader holding a snapshot from before the WAL grows.
	conn, err := d.ReadPool().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM wal_fill").Scan(&n); err != nil {
		t.Fatal(err)
	}
	fillWAL(t, d, 20)
	start := time.Now()
	r, err := d.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a checkpoint blocked by a reader took %v", took)
	}
	if !r.Busy || r.WALBytes == 0 {
		t.Errorf("checkpoint beside an open reader: %+v, want busy and the WAL kept", r)
	}
	// Writes go on beside the reader.
	fillWAL(t, d, 1)
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if r, err := d.Checkpoint(ctx); err != nil || r.Busy || r.WALBytes != 0 {
		t.Fatalf("checkpoint after the reader ended: %+v, %v", r, err)
	}
}

// TestPauseCheckpoints: while paused the background checkpointer leaves a
// large WAL alone; resumed, it truncates it.
func TestPauseCheckpoints(t *testing.T) {
	d := openSQLite(t)
	resume := d.PauseCheckpoints()
	fillWAL(t, d, 20)
	time.Sleep(3 * checkpointTick)
	if n := d.WALSize(); n < 16<<20 {
		t.Fatalf("the WAL is %d bytes while checkpoints are paused", n)
	}
	resume()
	resume() // a second call changes nothing
	deadline := time.Now().Add(10 * time.Second)
	for d.WALSize() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL is still %d bytes after resuming", d.WALSize())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const checkpointTick = 200 * time.Millisecond

// TestWALStaysBoundedUnderReadsAndWrites: requests that write (group
// commits of small transactions, as the services make) beside readers that
// never stop — where the writer alone never finds the moment to start the
// log over — leave a WAL file within journal_size_limit and what a tick or
// two writes, not one that grows with everything written.
func TestWALStaysBoundedUnderReadsAndWrites(t *testing.T) {
	ctx := context.Background()
	d := openSQLite(t)
	fillWAL(t, d, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := d.QueryRow(ctx, "SELECT count(*) FROM wal_fill WHERE id < 5").Scan(&n); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	blob := []byte(strings.Repeat("y", 4000))
	var written, most atomic.Int64
	var writers sync.WaitGroup
	for range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for written.Add(16*4000) < 192<<20 {
				err := d.Batch(ctx, time.Now(), func(tx *db.Tx) error {
					for range 16 {
						if _, err := tx.Exec(ctx, "INSERT INTO wal_fill (v) VALUES (?)", blob); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if n := d.WALSize(); n > most.Load() {
					most.Store(n)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if most.Load() > 96<<20 {
		t.Fatalf("the WAL reached %d MiB with 192 MiB written under reads", most.Load()>>20)
	}
	t.Logf("largest WAL %d MiB for 192 MiB written", most.Load()>>20)
}
