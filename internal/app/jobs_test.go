package app

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
)

// TestTwoInstancesNeverRunAJobTwice starts two civitas instances on one
// database, each with the same job, and checks that the job's runs never
// overlap and never come closer together than (nearly) one period: the lease lets
// exactly one instance run it each time.
func TestTwoInstancesNeverRunAJobTwice(t *testing.T) {
	ctx := context.Background()
	dsn, dir := dbtest.Migrated(t), t.TempDir()
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL = dsn, dir, "http://127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	type run struct {
		holder     string
		start, end time.Time
	}
	var mu sync.Mutex
	var runs []run
	const every = 100 * time.Millisecond

	var apps []*App
	for range 2 {
		a, err := New(ctx, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		holder := a.jobs.holder
		a.jobs.jobs = []Job{{Name: "test.tick", Every: every, Run: func(ctx context.Context) error {
			start := time.Now()
			time.Sleep(20 * time.Millisecond) // long enough that overlaps would show
			mu.Lock()
			runs = append(runs, run{holder, start, time.Now()})
			mu.Unlock()
			return nil
		}}}
		apps = append(apps, a)
	}
	runCtx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Add(1)
		go func() { defer wg.Done(); a.jobs.run(runCtx) }()
	}
	wg.Wait()

	slices.SortFunc(runs, func(a, b run) int { return a.start.Compare(b.start) })
	if len(runs) < 4 {
		t.Fatalf("only %d runs in 1.5 s with a 100 ms period", len(runs))
	}
	if len(runs) > 16 {
		t.Fatalf("%d runs in 1.5 s with a 100 ms period: the job ran more than once a period", len(runs))
	}
	for i := 1; i < len(runs); i++ {
		if runs[i].start.Before(runs[i-1].end) {
			t.Fatalf("runs %d and %d overlap: %+v %+v", i-1, i, runs[i-1], runs[i])
		}
		// The period counts from taking the lease; a run starts one database
		// round trip later, which under -race on PostgreSQL can take
		// milliseconds, and on a loaded machine the scheduler can delay one
		// run's start by tens. Two runs in one period would start one run's
		// length (20 ms) apart.
		if gap := runs[i].start.Sub(runs[i-1].start); gap < every/2 {
			t.Fatalf("runs %d and %d only %v apart (period %v)", i-1, i, gap, every)
		}
	}
}

// TestJobMovesToTheOtherInstance checks that when the instance holding a job
// stops, the other takes the job over once the lease expires.
func TestJobMovesToTheOtherInstance(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var mu sync.Mutex
	ran := map[string]int{}
	job := func(holder string) *jobRunner {
		return &jobRunner{db: d, clock: kernel.SystemClock{}, log: log, holder: holder, jobs: []Job{{
			Name: "test.handover", Every: 50 * time.Millisecond,
			Run: func(context.Context) error { mu.Lock(); ran[holder]++; mu.Unlock(); return nil },
		}}}
	}
	first, cancelFirst := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { job("a").run(first); close(done) }()
	time.Sleep(120 * time.Millisecond)
	cancelFirst()
	<-done
	second, cancelSecond := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelSecond()
	job("b").run(second)
	if ran["a"] == 0 || ran["b"] == 0 {
		t.Fatalf("runs per holder = %v; want both", ran)
	}
}
