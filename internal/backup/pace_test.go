package backup

import (
	"testing"
	"time"
)

// fakeTime is a clock that moves only when the pacer sleeps or the test
// says work took time.
type fakeTime struct {
	t      time.Time
	sleeps []time.Duration
}

func (f *fakeTime) now() time.Time { return f.t }
func (f *fakeTime) sleep(d time.Duration) {
	f.sleeps = append(f.sleeps, d)
	f.t = f.t.Add(d)
}

// TestPacerHoldsTheRate writes 100 MB in 4 KiB pages at 10 MB/s on a fake
// clock: the pacer must take 10 s of (fake) time for it, give or take its
// burst, in short sleeps, never one long one.
func TestPacerHoldsTheRate(t *testing.T) {
	ft := &fakeTime{t: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	const rate, total, page = 10_000_000, 100_000_000, 4096
	p := newPacer(rate, ft.now, ft.sleep)
	start := ft.t
	for n := 0; n < total; n += page {
		p.take(page)
	}
	took := ft.t.Sub(start)
	want := time.Duration(float64(total) / rate * float64(time.Second))
	if took < want-paceBurst-paceQuantum || took > want+paceQuantum {
		t.Errorf("100 MB at 10 MB/s took %v, want %v ± %v", took, want, paceBurst+paceQuantum)
	}
	if len(ft.sleeps) < 1000 {
		t.Errorf("%d sleeps: the pace comes in bursts", len(ft.sleeps))
	}
	for _, d := range ft.sleeps {
		if d > 2*paceQuantum {
			t.Fatalf("a sleep of %v: sleeps must be short", d)
		}
	}
}

// TestPacerCreditsSlowWork: when the work itself is slower than the rate
// (the machine is busy), the pacer adds no sleep beyond the burst it saved.
func TestPacerCreditsSlowWork(t *testing.T) {
	ft := &fakeTime{t: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	p := newPacer(10_000_000, ft.now, ft.sleep)
	for range 1000 {
		ft.t = ft.t.Add(time.Millisecond) // 4 MB/s of work, under the 10 MB/s pace
		p.take(4096)
	}
	if len(ft.sleeps) != 0 {
		t.Errorf("slept %d times though the work was slower than the pace", len(ft.sleeps))
	}
	if newPacer(0, nil, nil) != nil {
		t.Error("rate 0 must not pace")
	}
}
