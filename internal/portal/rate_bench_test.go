package portal_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/loadtest"
	"civitas/internal/portal"
)

// BenchmarkSubmitAt500 is BenchmarkSubmit's application (start with three
// registry reads, then submit) as an open loop at the target rate of issue
// 18, 500 a second (CIVITAS_PORTAL_RATE to change; CIVITAS_LOAD_DURATION,
// default 10s): each application starts on schedule whatever the earlier
// ones are doing, and its latency counts from then, so the p99 is the one
// a citizen would see at that rate. Run it with -benchtime 1x.
func BenchmarkSubmitAt500(b *testing.B) {
	rate, err := loadtest.RateFromEnv("CIVITAS_PORTAL_RATE", 500)
	if err != nil {
		b.Fatal(err)
	}
	dur, err := loadtest.DurationFromEnv(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	warm, err := loadtest.WarmupFromEnv(2 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	e, ctxs := benchEnv(b, 2000)
	var n atomic.Int64
	apply := func() error {
		ctx := ctxs[int(n.Add(1))%len(ctxs)]
		a, err := e.svc.Start(ctx, portal.StartRequest{Procedure: "bench_three_reads", Fields: map[string]string{"purpose": "bench"}})
		if err != nil {
			return err
		}
		if len(a.Sources) != 3 {
			return fmt.Errorf("%d reads", len(a.Sources))
		}
		_, err = e.svc.Submit(ctx, a.ID, portal.SubmitRequest{})
		return err
	}
	// Warm the caches (routing, providers) and the statements.
	for range 20 {
		if err := apply(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		r, err := loadtest.Run(context.Background(), loadtest.Config{Rate: rate, Duration: dur, Warmup: warm}, apply)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(r)
		if r.Errors > 0 {
			b.Fatalf("%d of %d failed, the first: %v", r.Errors, r.Completed, r.FirstErr)
		}
		r.Report(b, "applications/s")
	}
}
