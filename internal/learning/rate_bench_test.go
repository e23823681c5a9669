package learning

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/loadtest"
)

// The open-loop variants of the benchmarks: each operation starts on
// schedule whatever the earlier ones are doing, and its latency counts
// from then, so the p99 is the one a user sees at that rate (the
// closed-loop ones measure the queue among their own goroutines). The
// rates are the targets of issue 22, each configurable; the duration is
// CIVITAS_LOAD_DURATION (default 10s). Run them with -benchtime 1x.

// BenchmarkSubmitAttemptAt3000 is BenchmarkSubmitAttempt's submission at
// 3,000 a second (CIVITAS_LEARNING_RATE to change).
func BenchmarkSubmitAttemptAt3000(b *testing.B) {
	rate, err := loadtest.RateFromEnv("CIVITAS_LEARNING_RATE", 3000)
	if err != nil {
		b.Fatal(err)
	}
	dur, err := loadtest.DurationFromEnv(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	warmup, err := loadtest.WarmupFromEnv(2 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	const warm = 100
	n := int(math.Round(rate * dur.Seconds()))
	nw := int(math.Round(rate * warmup.Seconds()))
	submit := newSubmissions(b, b.N*(n+nw)+warm)
	var next atomic.Int64
	op := func() error { return submit(int(next.Add(1) - 1)) }
	for range warm {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		openLoop(b, loadtest.Config{Rate: rate, Count: n, Warmup: warmup}, op, "submissions/s")
	}
}

// classPageRate is the class pages a second the open-loop benchmark asks
// by default. Dak Lak has some half a million pupils, some 13,000 classes
// of 40; if every class's page were opened 25 times in the busiest hour
// (a deadline day, the teacher and the school's staff checking), that is
// 13,000 × 25 / 3,600 ≈ 90 pages a second: 100/s is the whole province
// at its peak on one instance.
const classPageRate = 100

// BenchmarkClassPageAt100 is BenchmarkClassPage's page (40 students × 3
// courses, every read logged) at 100 pages a second
// (CIVITAS_CLASSPAGE_RATE to change).
func BenchmarkClassPageAt100(b *testing.B) {
	pageAt(b, "CIVITAS_CLASSPAGE_RATE", classPageRate, 1, "/learning/teach/classes/C00", `class="card student"`)
}

// schoolPageRate is the school pages opened a second at the peak: half a
// million pupils are in the order of 1,000 schools; if each school's page
// were opened 60 times in the busiest hour (the head, the staff and the
// commune checking on a deadline day), that is 1,000 × 60 / 3,600 ≈ 17
// pages a second: 20/s is the whole province at its peak on one instance.
const schoolPageRate = 20

// BenchmarkSchoolPageAt20 is BenchmarkSchoolPage's page (50 classes of 40
// students × 3 courses) at 20 pages a second (CIVITAS_SCHOOLPAGE_RATE to
// change).
func BenchmarkSchoolPageAt20(b *testing.B) {
	pageAt(b, "CIVITAS_SCHOOLPAGE_RATE", schoolPageRate, 50, "/learning/teach/schools/S-BENCH", "school-total")
}

// pageAt opens a teacher's page of a school of classes × 40 students at
// the rate in env (def by default) and reports what it measured; want is
// a piece of the page that shows it was rendered.
func pageAt(b *testing.B, env string, def float64, classes int, path, want string) {
	rate, err := loadtest.RateFromEnv(env, def)
	if err != nil {
		b.Fatal(err)
	}
	dur, err := loadtest.DurationFromEnv(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	warmup, err := loadtest.WarmupFromEnv(2 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	s := newPageSite(b, classes, 40)
	get := func() error { return s.get(path, want) }
	for range 20 {
		if err := get(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		openLoop(b, loadtest.Config{Rate: rate, Duration: dur, Warmup: warmup}, get, "pages/s")
	}
}

// openLoop runs op at cfg's rate and reports what it measured.
func openLoop(b *testing.B, cfg loadtest.Config, op func() error, unit string) {
	b.Helper()
	r, err := loadtest.Run(context.Background(), cfg, op)
	if err != nil {
		b.Fatal(err)
	}
	b.Log(r)
	if r.Errors > 0 {
		b.Fatalf("%d of %d failed, the first: %v", r.Errors, r.Completed, r.FirstErr)
	}
	r.Report(b, unit)
}
