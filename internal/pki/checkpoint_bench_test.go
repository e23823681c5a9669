package pki_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/sealed"
)

// benchCheckpoints is a hierarchy on a fresh database with n stamped
// checkpoints, each over one more record, and their witness file.
func benchCheckpoints(b *testing.B, n int) (*db.DB, *pki.Service, []byte) {
	b.Helper()
	ctx := kernel.WithActor(context.Background(), kernel.System("bench"))
	d := dbtest.Open(b)
	clock := kernel.SystemClock{}
	box, _ := sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	s, err := pki.New(ctx, pki.Options{DB: d, Clock: clock, Keys: pki.Software{DB: d, Box: box, Clock: clock}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Init(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.StartOnline(ctx); err != nil {
		b.Fatal(err)
	}
	var file bytes.Buffer
	for i := range n {
		if err := d.Update(ctx, clock.Now(), func(tx *db.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Entry{Action: "bench.record", SubjectID: fmt.Sprint(i)})
			return err
		}); err != nil {
			b.Fatal(err)
		}
		cp, _, err := s.Checkpoint(ctx, s.Stamper())
		if err != nil {
			b.Fatal(err)
		}
		line, _ := json.Marshal(cp.Published())
		file.Write(append(line, '\n'))
	}
	return d, s, file.Bytes()
}

// BenchmarkCheckpointNotDue is what the audit.checkpoint job pays every
// second while nothing is due: two one-row reads, no write.
func BenchmarkCheckpointNotDue(b *testing.B) {
	_, s, _ := benchCheckpoints(b, 1)
	ctx := context.Background()
	p := pki.DefaultCheckpointPolicy()
	b.ResetTimer()
	for b.Loop() {
		if _, made, err := s.CheckpointIfDue(ctx, nil, p); err != nil || made {
			b.Fatal(made, err)
		}
	}
}

// BenchmarkVerifyWitness is audit verify --witness per witnessed
// checkpoint (seal, time-stamp, the record at its count): a year of a
// checkpoint a minute is 525,600 of them.
func BenchmarkVerifyWitness(b *testing.B) {
	const n = 200
	d, _, file := benchCheckpoints(b, n)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		rep, err := pki.VerifyWitness(ctx, d, pki.ReadWitness(bytes.NewReader(file), "bench"))
		if err != nil || !rep.OK() || rep.Checkpoints != n {
			b.Fatal(rep.Problem, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/checkpoint")
}
