package loadtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSleepAtRate: an operation of 1 ms at 200/s keeps up, and its
// percentiles are its own 1 ms (plus the timer's slack), not more.
func TestSleepAtRate(t *testing.T) {
	r, err := Run(context.Background(), Config{Rate: 200, Duration: time.Second}, func() error {
		time.Sleep(time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.Scheduled != 200 || r.Completed != 200 || r.Errors != 0 {
		t.Fatalf("scheduled %d, completed %d, errors %d; want 200, 200, 0", r.Scheduled, r.Completed, r.Errors)
	}
	if r.P50 < time.Millisecond || r.P50 > 5*time.Millisecond {
		t.Errorf("p50 %v, want about 1 ms", r.P50)
	}
	// On a shared machine the process itself waits for a core now and
	// then, which shows as the scheduler starting an operation late (and
	// the operation's goroutine may wait as long again): allow that, but
	// nothing of the harness's own on top. Quiet, p99 is 1–2 ms.
	if r.P99 < time.Millisecond || r.P99 > 10*time.Millisecond+2*r.MaxLag {
		t.Errorf("p99 %v, want about 1 ms (start lag up to %v)", r.P99, r.MaxLag)
	}
	if r.Rate < 180 || r.Rate > 201 {
		t.Errorf("achieved %.1f/s, want about 200/s", r.Rate)
	}
	if r.Elapsed < time.Second || r.Elapsed > 1100*time.Millisecond {
		t.Errorf("elapsed %v, want about 1 s", r.Elapsed)
	}
	if r.Overruns != 0 {
		t.Errorf("%d overruns with a ceiling of %d", r.Overruns, DefaultMaxInFlight)
	}
}

// TestOperationsStartOnScheduleWhileOthersRun: an open loop does not wait
// for earlier operations: ops of 50 ms at 100/s run five at a time, and
// the run lasts its schedule, not 50 ms × ops.
func TestOperationsStartOnScheduleWhileOthersRun(t *testing.T) {
	var in, peak atomic.Int64
	r, err := Run(context.Background(), Config{Rate: 100, Count: 50}, func() error {
		n := in.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		in.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r, "peak in flight", peak.Load())
	if peak.Load() < 4 {
		t.Errorf("at most %d operations at once: the loop waited for earlier ones", peak.Load())
	}
	if r.Elapsed > 800*time.Millisecond {
		t.Errorf("50 operations at 100/s took %v: a closed loop would take 2.5 s", r.Elapsed)
	}
	if r.P50 < 50*time.Millisecond || r.P50 > 100*time.Millisecond {
		t.Errorf("p50 %v, want about 50 ms", r.P50)
	}
}

// TestStallShowsInLaterOperations: the server stalls 200 ms once (one
// operation holds the lock every operation needs). The operations due
// during the stall wait behind it, and since their latency counts from
// when they were due, some forty of them show a wait of up to 200 ms: a
// closed loop would have recorded one slow operation.
func TestStallShowsInLaterOperations(t *testing.T) {
	for _, ceiling := range []int{1, 0} {
		var mu sync.Mutex
		var calls atomic.Int64
		r, err := Run(context.Background(), Config{Rate: 200, Count: 200, MaxInFlight: ceiling}, func() error {
			mu.Lock()
			defer mu.Unlock()
			if calls.Add(1) == 50 {
				time.Sleep(200 * time.Millisecond)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ceiling %d: %v", ceiling, r)
		slow := 0
		for _, d := range r.Latencies {
			if d >= 50*time.Millisecond {
				slow++
			}
		}
		// Due during the stall's 200 ms at 5 ms apart: 40, of which those
		// due in its first 150 ms waited at least 50 ms.
		if slow < 25 {
			t.Errorf("ceiling %d: %d operations of ≥ 50 ms, want the ~30 due during the stall", ceiling, slow)
		}
		if r.P90 < 50*time.Millisecond {
			t.Errorf("ceiling %d: p90 %v: the stall is hidden", ceiling, r.P90)
		}
		if r.Max < 190*time.Millisecond {
			t.Errorf("ceiling %d: max %v, want the stall's 200 ms", ceiling, r.Max)
		}
		if ceiling == 1 && r.Overruns < 25 {
			t.Errorf("ceiling 1: %d overruns, want the operations due during the stall", r.Overruns)
		}
		if ceiling == 1 && r.MaxLag < 150*time.Millisecond {
			t.Errorf("ceiling 1: start lag ≤ %v, want the stall's", r.MaxLag)
		}
		if r.Completed != 200 {
			t.Errorf("ceiling %d: %d completed", ceiling, r.Completed)
		}
	}
}

// TestErrorsCounted: errors are counted and the first one kept; the
// operations still count in the latencies.
func TestErrorsCounted(t *testing.T) {
	boom := errors.New("boom")
	var n atomic.Int64
	r, err := Run(context.Background(), Config{Rate: 1000, Count: 100}, func() error {
		if n.Add(1)%10 == 0 {
			return boom
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 10 || !errors.Is(r.FirstErr, boom) || r.Completed != 100 {
		t.Fatalf("errors %d (%v), completed %d; want 10 (boom), 100", r.Errors, r.FirstErr, r.Completed)
	}
}

// TestCancelStopsScheduling: a done context stops the schedule; what was
// started is waited for and measured.
func TestCancelStopsScheduling(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r, err := Run(ctx, Config{Rate: 100, Duration: time.Minute}, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if r.Scheduled != 6000 || r.Completed < 10 || r.Completed > 40 {
		t.Fatalf("scheduled %d, completed %d: want 6000 and about 20", r.Scheduled, r.Completed)
	}
	if r.Elapsed > time.Second {
		t.Fatalf("ran %v after the context was done", r.Elapsed)
	}
}

// TestCPUPerOp: an operation that computes costs more CPU than one that
// sleeps, by far.
func TestCPUPerOp(t *testing.T) {
	buf := make([]byte, 1<<20)
	work, err := Run(context.Background(), Config{Rate: 100, Count: 50}, func() error {
		for range 4 {
			sha256.Sum256(buf)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	idle, err := Run(context.Background(), Config{Rate: 100, Count: 50}, func() error {
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hashing 4 MiB: %v CPU/op; sleeping: %v CPU/op", work.CPUPerOp, idle.CPUPerOp)
	if work.CPUPerOp < 500*time.Microsecond {
		t.Errorf("hashing 4 MiB: %v CPU/op, want at least 0.5 ms", work.CPUPerOp)
	}
	if idle.CPUPerOp*5 > work.CPUPerOp {
		t.Errorf("sleeping %v CPU/op is not far below hashing's %v", idle.CPUPerOp, work.CPUPerOp)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []Config{{Rate: 0, Count: 1}, {Rate: -1, Count: 1}, {Rate: 10}, {Rate: 10, Duration: time.Millisecond}} {
		if _, err := Run(context.Background(), c, func() error { return nil }); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.5: 50, 0.9: 90, 0.99: 99, 1: 100, 0.001: 1} {
		if got := Percentile(d, q); got != want {
			t.Errorf("Percentile(1..100, %v) = %v, want %v", q, got, want)
		}
	}
	if Percentile(nil, 0.99) != 0 || Percentile(d[:1], 0.99) != 1 {
		t.Error("empty or single")
	}
}

func TestRateFromEnv(t *testing.T) {
	t.Setenv("CIVITAS_TEST_RATE", "")
	if r, err := RateFromEnv("CIVITAS_TEST_RATE", 500); err != nil || r != 500 {
		t.Fatalf("unset: %v %v", r, err)
	}
	t.Setenv("CIVITAS_TEST_RATE", "1234.5")
	if r, err := RateFromEnv("CIVITAS_TEST_RATE", 500); err != nil || r != 1234.5 {
		t.Fatalf("set: %v %v", r, err)
	}
	for _, bad := range []string{"0", "-3", "fast", "+Inf"} {
		t.Setenv("CIVITAS_TEST_RATE", bad)
		if _, err := RateFromEnv("CIVITAS_TEST_RATE", 500); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	t.Setenv(DurationEnv, "3s")
	if d, err := DurationFromEnv(time.Second); err != nil || d != 3*time.Second {
		t.Fatalf("duration: %v %v", d, err)
	}
	t.Setenv(DurationEnv, "soon")
	if _, err := DurationFromEnv(time.Second); err == nil {
		t.Fatal("bad duration accepted")
	}
}

// TestWarmupIsNotMeasured: the warm-up runs the operation at the rate for
// its duration, and nothing it met — here the first calls fail, as a cold
// pool might — reaches the result.
func TestWarmupIsNotMeasured(t *testing.T) {
	var calls atomic.Int64
	fn := func() error {
		if calls.Add(1) <= 10 {
			return errors.New("cold")
		}
		return nil
	}
	r, err := Run(context.Background(), Config{Rate: 200, Warmup: 200 * time.Millisecond, Count: 50}, fn)
	if err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 40+50 {
		t.Errorf("%d calls, want 40 in the warm-up and 50 measured", got)
	}
	if r.Completed != 50 || r.Errors != 0 || r.Warmup != 200*time.Millisecond {
		t.Errorf("result %v: want the 50 measured calls, none failed", r)
	}
	if !strings.Contains(r.String(), "after a 200ms warm-up") {
		t.Errorf("String() = %q does not name the warm-up", r.String())
	}
}

// TestDurationsFromEnv: the run's length must be positive; the warm-up
// may be 0 (none); anything else that is not a duration is refused.
func TestDurationsFromEnv(t *testing.T) {
	for _, c := range []struct {
		env, v string
		ok     bool
	}{
		{DurationEnv, "20s", true}, {DurationEnv, "0", false}, {DurationEnv, "ten", false},
		{WarmupEnv, "0", true}, {WarmupEnv, "1s", true}, {WarmupEnv, "-1s", false}, {WarmupEnv, "x", false},
	} {
		t.Setenv(c.env, c.v)
		var err error
		if c.env == DurationEnv {
			_, err = DurationFromEnv(time.Second)
		} else {
			_, err = WarmupFromEnv(time.Second)
		}
		if (err == nil) != c.ok {
			t.Errorf("%s=%q: error %v, want ok=%v", c.env, c.v, err, c.ok)
		}
	}
	t.Setenv(WarmupEnv, "")
	if d, err := WarmupFromEnv(3 * time.Second); err != nil || d != 3*time.Second {
		t.Errorf("unset: %v %v, want the default", d, err)
	}
}
