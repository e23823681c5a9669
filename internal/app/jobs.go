package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Job is background work done once every Every by exactly one instance.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(context.Context) error
}

// jobRunner runs jobs under database leases: before each run an instance
// takes the job's lease for one period, so two instances on one database
// never run the same job in the same period, and a dead instance's jobs are
// taken over when its leases expire.
type jobRunner struct {
	db     *db.DB
	clock  kernel.Clock
	log    *slog.Logger
	holder string
	jobs   []Job
}

func newHolderID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), kernel.NewID()[:8])
}

// run runs the jobs until ctx ends, then waits for any job under way.
func (r *jobRunner) run(ctx context.Context) {
	if len(r.jobs) == 0 {
		return
	}
	tick := time.Second
	for _, j := range r.jobs {
		tick = min(tick, max(j.Every/4, 10*time.Millisecond))
	}
	next := make([]time.Time, len(r.jobs))
	t := time.NewTicker(tick)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	running := make([]bool, len(r.jobs))
	var mu sync.Mutex
	for {
		now := r.clock.Now()
		for i, j := range r.jobs {
			mu.Lock()
			busy := running[i]
			mu.Unlock()
			if busy || now.Before(next[i]) {
				continue
			}
			ok, err := r.db.AcquireLease(ctx, "job:"+j.Name, r.holder, now, j.Every)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("job lease", slog.String("job", j.Name), slog.Any("err", err))
				}
				next[i] = now.Add(tick)
				continue
			}
			if !ok {
				// Another instance holds it; look again within the period.
				next[i] = now.Add(max(j.Every/4, tick))
				continue
			}
			next[i] = now.Add(j.Every)
			mu.Lock()
			running[i] = true
			mu.Unlock()
			wg.Add(1)
			leased := now
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); running[i] = false; mu.Unlock() }()
				// The run must end within its lease, counted from when the
				// lease was taken, or another instance could start it. A
				// run that could not start within half its lease (a machine
				// starved of CPU) is skipped: the next period runs it.
				late := r.clock.Now().Sub(leased)
				if late > j.Every/2 {
					r.log.Warn("job skipped: started too late in its lease", slog.String("job", j.Name))
					return
				}
				jctx, cancel := context.WithTimeout(kernel.WithActor(ctx, kernel.System("job:"+j.Name)), j.Every-late)
				defer cancel()
				if err := j.Run(jctx); err != nil && ctx.Err() == nil {
					r.log.Error("job failed", slog.String("job", j.Name), slog.Any("err", err))
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
