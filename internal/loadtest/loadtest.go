// Package loadtest drives an operation at a fixed rate (an open loop) and
// measures it the way a user would see it: each operation is started at
// its scheduled time whether or not the earlier ones have finished, and
// its latency is counted from that scheduled time, not from when a worker
// got round to it. A closed loop (N goroutines as fast as they can go)
// hides a stall: while one operation waits, the operations that should
// have started meanwhile are not sent, so they never record the wait
// ("coordinated omission"). Here they are sent, or if the concurrency
// ceiling is reached they wait for a slot with their clock running.
//
// It is test support for the benchmarks of the capabilities: it imports
// no package of civitas.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is a load: Rate operations a second, for Duration or Count
// operations (Count wins when both are set).
type Config struct {
	Rate     float64       // operations started per second; > 0
	Duration time.Duration // how long to schedule operations for
	Count    int           // how many operations; 0 means Rate × Duration
	// MaxInFlight is the concurrency ceiling: at most this many operations
	// run at once. An operation due while the ceiling is reached waits for
	// a slot (counted in Overruns) and its latency still counts from when
	// it was due. 0 means DefaultMaxInFlight.
	MaxInFlight int
	// Warmup, when set, runs the operation at Rate for that long before
	// the measured run and discards what it measured, so that the
	// process's pools — connections, database readers, their prepared
	// statements, caches — have grown to the load, as a serving process's
	// have. A cold run counts their growth as its tail: at 3,000/s the
	// first 100 ms, when they grow, are 1 % of a 10 s run, and they alone
	// set its p99.
	Warmup time.Duration
}

// DefaultMaxInFlight is the concurrency ceiling when Config leaves it 0.
const DefaultMaxInFlight = 1024

// Result is what a run measured. Latencies are from each operation's
// scheduled start to its end, errors included.
type Result struct {
	Target    float64       // the rate asked, per second
	Warmup    time.Duration // the unmeasured run before this one (Config.Warmup)
	Scheduled int           // operations the run was to start
	Completed int           // operations that ran to the end (errors included)
	Errors    int           // operations whose fn returned an error
	FirstErr  error         // the first of them
	Overruns  int           // operations that found the ceiling reached and waited for a slot
	MaxLag    time.Duration // the latest an operation was started after its scheduled time
	Elapsed   time.Duration // from the first scheduled start to the last end (at least the schedule's length)
	Rate      float64       // Completed / Elapsed
	P50       time.Duration
	P90       time.Duration
	P99       time.Duration
	Max       time.Duration
	CPU       time.Duration // user + system CPU of the whole process during the run
	CPUPerOp  time.Duration // CPU / Completed
	Latencies []time.Duration
}

// Run starts fn at cfg.Rate per second, each at its scheduled time, until
// cfg.Count operations are started or ctx is done, waits for those
// started, and returns what it measured. It returns an error only for a
// bad cfg; the operations' errors are counted in the Result.
func Run(ctx context.Context, cfg Config, fn func() error) (Result, error) {
	if cfg.Rate <= 0 || math.IsInf(cfg.Rate, 0) || math.IsNaN(cfg.Rate) {
		return Result{}, fmt.Errorf("loadtest: rate %v: must be a positive number", cfg.Rate)
	}
	n := cfg.Count
	if n == 0 {
		n = int(math.Round(cfg.Rate * cfg.Duration.Seconds()))
	}
	if n <= 0 {
		return Result{}, errors.New("loadtest: no operations: set Count or a Duration of at least one interval")
	}
	ceiling := cfg.MaxInFlight
	if ceiling <= 0 {
		ceiling = DefaultMaxInFlight
	}
	if cfg.Warmup > 0 {
		if _, err := Run(ctx, Config{Rate: cfg.Rate, Duration: cfg.Warmup, MaxInFlight: cfg.MaxInFlight}, fn); err != nil {
			return Result{}, err
		}
	}
	interval := float64(time.Second) / cfg.Rate
	lat := make([]time.Duration, n)
	done := make([]bool, n)
	slots := make(chan struct{}, ceiling)
	var (
		wg       sync.WaitGroup
		errCount atomic.Int64
		errOnce  sync.Once
		firstErr error
		lastEnd  atomic.Int64 // nanoseconds after start
		overruns int
		maxLag   time.Duration
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	cpu0 := cpuTime()
	start := time.Now()
	started := 0
schedule:
	for i := range n {
		due := start.Add(time.Duration(float64(i) * interval))
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break schedule
			}
		} else if ctx.Err() != nil {
			break schedule
		}
		select {
		case slots <- struct{}{}:
		default:
			overruns++
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				break schedule
			}
		}
		maxLag = max(maxLag, time.Since(due))
		started++
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			err := fn()
			end := time.Now()
			<-slots
			lat[i], done[i] = end.Sub(due), true
			if err != nil {
				errCount.Add(1)
				errOnce.Do(func() { firstErr = err })
			}
			for e := int64(end.Sub(start)); ; {
				old := lastEnd.Load()
				if e <= old || lastEnd.CompareAndSwap(old, e) {
					break
				}
			}
		}(i, due)
	}
	wg.Wait()
	cpu := cpuTime() - cpu0
	r := Result{Target: cfg.Rate, Warmup: cfg.Warmup, Scheduled: n, Errors: int(errCount.Load()), FirstErr: firstErr, Overruns: overruns, MaxLag: maxLag, CPU: cpu}
	r.Latencies = make([]time.Duration, 0, started)
	for i := range started {
		if done[i] {
			r.Latencies = append(r.Latencies, lat[i])
		}
	}
	r.Completed = len(r.Latencies)
	// The schedule of started operations lasts started × interval; a run
	// that kept up ends just after it, one that fell behind later.
	r.Elapsed = max(time.Duration(lastEnd.Load()), time.Duration(float64(started)*interval))
	if r.Elapsed > 0 {
		r.Rate = float64(r.Completed) / r.Elapsed.Seconds()
	}
	if r.Completed > 0 {
		r.CPUPerOp = cpu / time.Duration(r.Completed)
	}
	slices.Sort(r.Latencies)
	r.P50, r.P90, r.P99 = Percentile(r.Latencies, 0.50), Percentile(r.Latencies, 0.90), Percentile(r.Latencies, 0.99)
	if r.Completed > 0 {
		r.Max = r.Latencies[r.Completed-1]
	}
	return r, nil
}

// Percentile is the q-quantile (0 < q ≤ 1) of sorted by the nearest-rank
// method: the smallest value with at least q of the values at or below
// it. It is 0 for an empty slice.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// Metrics is what a benchmark reports to (testing.B satisfies it).
type Metrics interface {
	ReportMetric(n float64, unit string)
}

// Report writes r to b as benchmark metrics, the rate in unit (such as
// "reports/s"): the target and achieved rates, p50/p90/p99/max in
// milliseconds, CPU per operation in microseconds, errors and overruns.
// ns/op is set to 0: an open loop's time per operation is its rate's.
func (r Result) Report(b Metrics, unit string) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(r.Target, "target-"+unit)
	b.ReportMetric(r.Rate, unit)
	b.ReportMetric(ms(r.P50), "p50-ms")
	b.ReportMetric(ms(r.P90), "p90-ms")
	b.ReportMetric(ms(r.P99), "p99-ms")
	b.ReportMetric(ms(r.Max), "max-ms")
	b.ReportMetric(float64(r.CPUPerOp.Nanoseconds())/1000, "cpu-µs/op")
	b.ReportMetric(float64(r.Errors), "errors")
	b.ReportMetric(float64(r.Overruns), "overruns")
	b.ReportMetric(0, "ns/op")
}

// String is r on one line, for a log.
func (r Result) String() string {
	warm := ""
	if r.Warmup > 0 {
		warm = fmt.Sprintf(" after a %v warm-up", r.Warmup)
	}
	return fmt.Sprintf("target %.0f/s%s: %d of %d done in %v (%.0f/s), p50 %v p90 %v p99 %v max %v, CPU %v/op, %d errors, %d overruns, start lag ≤ %v",
		r.Target, warm, r.Completed, r.Scheduled, r.Elapsed.Round(time.Millisecond), r.Rate, r.P50, r.P90, r.P99, r.Max,
		r.CPUPerOp, r.Errors, r.Overruns, r.MaxLag)
}

// RateFromEnv is the rate in the environment variable name (operations a
// second, a positive number), or def when it is unset.
func RateFromEnv(name string, def float64) (float64, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("loadtest: %s=%q: want a positive number of operations a second", name, v)
	}
	return f, nil
}

// DurationEnv names the variable that sets how long the open-loop
// benchmarks run (a Go duration, such as 10s).
const DurationEnv = "CIVITAS_LOAD_DURATION"

// DurationFromEnv is the duration in DurationEnv, or def when it is unset.
func DurationFromEnv(def time.Duration) (time.Duration, error) {
	return durationFromEnv(DurationEnv, def, false, "a positive duration such as 10s")
}

// WarmupEnv names the variable that sets the open-loop benchmarks'
// Warmup (a Go duration; 0 for none).
const WarmupEnv = "CIVITAS_LOAD_WARMUP"

// WarmupFromEnv is the duration in WarmupEnv, or def when it is unset.
func WarmupFromEnv(def time.Duration) (time.Duration, error) {
	return durationFromEnv(WarmupEnv, def, true, "a duration such as 2s, or 0")
}

// durationFromEnv reads a Go duration from the variable name: def when it
// is unset, an error saying what it wants when it is not a positive
// duration (or zero, when zero is allowed).
func durationFromEnv(name string, def time.Duration, zero bool, want string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && !zero) {
		return 0, fmt.Errorf("loadtest: %s=%q: want %s", name, v, want)
	}
	return d, nil
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
