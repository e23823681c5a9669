package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
)

// appendN writes n records, one transaction each.
func appendN(t testing.TB, d *db.DB, n int) {
	t.Helper()
	ctx := kernel.WithActor(context.Background(), kernel.Actor{Kind: kernel.ActorOfficial, ID: "off-1", OnBehalfOf: "acc-9"})
	ctx = kernel.WithRequestID(ctx, "req-1")
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		err := d.Update(ctx, t0.Add(time.Duration(i)*time.Second), func(tx *db.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Entry{
				Action: "person.read", SubjectType: "person", SubjectID: fmt.Sprintf("p%d", i%3),
				Purpose: "birth registration", Details: map[string]any{"n": i},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendAndVerify(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	rep, err := audit.Verify(ctx, d)
	if err != nil || !rep.OK() || rep.Records != 0 {
		t.Fatalf("empty log: %+v, %v", rep, err)
	}
	appendN(t, d, 5)
	rep, err = audit.Verify(ctx, d)
	if err != nil || !rep.OK() || rep.Records != 5 || rep.Head.Seq != 5 {
		t.Fatalf("intact log: %+v, %v", rep, err)
	}
	recs, err := audit.List(ctx, d, audit.Query{SubjectType: "person", SubjectID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Seq != 5 || recs[1].Seq != 2 {
		t.Fatalf("list p1 = %+v", recs)
	}
	r := recs[0]
	if r.ActorID != "off-1" || r.OnBehalfOf != "acc-9" || r.RequestID != "req-1" || r.Purpose != "birth registration" ||
		r.Details != `{"n":4}` || !r.At.Equal(time.Date(2026, 3, 1, 8, 0, 4, 0, time.UTC)) {
		t.Fatalf("record fields lost: %+v", r)
	}
	mine, err := audit.List(ctx, d, audit.Query{OnBehalfOf: "acc-9", Page: kernel.Page{After: "3", Limit: 10}})
	if err != nil || len(mine) != 2 || mine[0].Seq != 2 {
		t.Fatalf("paged on-behalf list = %+v, %v", mine, err)
	}
	if _, err := audit.List(ctx, d, audit.Query{Page: kernel.Page{After: "x"}}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestAppendRequiresAction(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, audit.Entry{})
		return err
	})
	if kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("err = %v", err)
	}
}

func TestAppendRolledBackWithItsChange(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	appendN(t, d, 1)
	_ = d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		if _, err := audit.Append(ctx, tx, audit.Entry{Action: "x"}); err != nil {
			return err
		}
		return fmt.Errorf("the change failed")
	})
	rep, err := audit.Verify(ctx, d)
	if err != nil || !rep.OK() || rep.Records != 1 {
		t.Fatalf("after rollback: %+v, %v", rep, err)
	}
}

func TestConcurrentAppendsKeepTheChain(t *testing.T) {
	ctx := context.Background()
	dsn, dir := dbtest.Migrated(t), t.TempDir()
	// Two handles on one database, as two civitas instances have.
	a, b := dbtest.OpenAt(t, dsn, dir), dbtest.OpenAt(t, dsn, dir)
	done := make(chan error, 2)
	for _, d := range []*db.DB{a, b} {
		go func() {
			for range 50 {
				err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
					_, err := audit.Append(ctx, tx, audit.Entry{Action: "x"})
					return err
				})
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	rep, err := audit.Verify(ctx, a)
	if err != nil || !rep.OK() || rep.Records != 100 {
		t.Fatalf("after concurrent appends: %+v, %v", rep, err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name     string
		tamper   []string
		firstBad int64
		problem  string
	}{
		{"fail/edited purpose", []string{"UPDATE audit_log SET purpose = 'curiosity' WHERE seq = 3"}, 3, "hash"},
		{"fail/edited time", []string{"UPDATE audit_log SET at = at + 1 WHERE seq = 2"}, 2, "hash"},
		{"fail/edited hash", []string{"UPDATE audit_log SET hash = prev_hash WHERE seq = 2"}, 2, "hash"},
		{"fail/deleted record", []string{"DELETE FROM audit_log WHERE seq = 2"}, 2, "missing"},
		{"fail/deleted last record", []string{"DELETE FROM audit_log WHERE seq = 5"}, 5, "head"},
		{"fail/reordered", []string{
			"UPDATE audit_log SET seq = 100 WHERE seq = 2",
			"UPDATE audit_log SET seq = 2 WHERE seq = 3",
			"UPDATE audit_log SET seq = 3 WHERE seq = 100",
		}, 2, "link"},
		{"fail/inserted record", []string{
			"UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3",
			"INSERT INTO audit_log SELECT 3, at, actor_kind, actor_id, on_behalf_of, 'forged', subject_type, subject_id, purpose, details, request_id, prev_hash, hash FROM audit_log WHERE seq = 2",
		}, 3, "link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t)
			appendN(t, d, 5)
			for _, q := range tt.tamper {
				if _, err := d.WritePool().ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			rep, err := audit.Verify(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.FirstBad != tt.firstBad || !strings.Contains(rep.Problem, tt.problem) {
				t.Fatalf("report = %+v, want first bad %d (%s)", rep, tt.firstBad, tt.problem)
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	now := time.Now()
	for b.Loop() {
		err := d.Update(ctx, now, func(tx *db.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Entry{Action: "bench", SubjectType: "person", SubjectID: "099000000001", Details: map[string]int{"n": 1}})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendBatch appends 100 records per transaction, as bulk work does.
func BenchmarkAppendBatch(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	now := time.Now()
	for b.Loop() {
		err := d.Update(ctx, now, func(tx *db.Tx) error {
			for range 100 {
				if _, err := audit.Append(ctx, tx, audit.Entry{Action: "bench", SubjectType: "person", SubjectID: "099000000001"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	appendN(b, d, 2000)
	for b.Loop() {
		if rep, err := audit.Verify(ctx, d); err != nil || !rep.OK() {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(b.N*2000)/b.Elapsed().Seconds(), "records/s")
}

// AppendMany chains its records as one-by-one appends would: the log
// verifies, and records appended after it follow on.
func TestAppendMany(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	appendN(t, d, 2)
	err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		rs, err := audit.AppendMany(ctx, tx, []audit.Entry{{Action: "signing.sign", SubjectID: "a"}, {Action: "signing.sign", SubjectID: "b"}, {Action: "signing.sign", SubjectID: "c"}})
		if err == nil && (len(rs) != 3 || rs[0].Seq != 3 || rs[2].Seq != 5 || rs[1].PrevHash != rs[0].Hash) {
			t.Errorf("records %+v", rs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		_, err := audit.AppendMany(ctx, tx, []audit.Entry{{Action: "ok"}, {}})
		return err
	}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("an entry without action: %v", err)
	}
	appendN(t, d, 1)
	rep, err := audit.Verify(ctx, d)
	if err != nil || !rep.OK() || rep.Records != 6 {
		t.Fatalf("after AppendMany: %+v %v", rep, err)
	}
}

// Queued records from many calls sharing Batch transactions form one
// intact chain with the records appended directly; a call that fails takes
// its records with it; more than one INSERT's worth of rows goes in too.
func TestQueue(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	appendN(t, d, 1)
	errNo := errors.New("no")
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Batch(ctx, time.Now(), func(tx *db.Tx) error {
				if err := audit.Queue(ctx, tx, audit.Entry{Action: "test.queue", SubjectID: strconv.Itoa(i)}); err != nil {
					return err
				}
				if i%5 == 0 {
					return errNo
				}
				if i%7 == 0 { // a direct append in the same transaction
					_, err := audit.Append(ctx, tx, audit.Entry{Action: "test.direct", SubjectID: strconv.Itoa(i)})
					return err
				}
				return nil
			})
			if err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		entries := make([]audit.Entry, 70) // two full INSERTs and some single ones
		for i := range entries {
			entries[i] = audit.Entry{Action: "test.many", Details: map[string]int{"i": i}}
		}
		return audit.Queue(ctx, tx, entries...)
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
		return audit.Queue(ctx, tx, audit.Entry{Action: "ok"}, audit.Entry{})
	}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("an entry without action: %v", err)
	}
	rep, err := audit.Verify(ctx, d)
	// 1 before, 160 queued by calls that succeeded (23 of them also
	// appended directly), 70 at once.
	if err != nil || !rep.OK() || ok.Load() != 160 || rep.Records != 1+160+23+70 {
		t.Fatalf("after Queue: %+v %v (%d calls succeeded)", rep, err, ok.Load())
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'test.queue' AND subject_id IN ('5', '10', '195')").Scan(&n); err != nil || n != 0 {
		t.Fatalf("records of failed calls: %d %v", n, err)
	}
}
