package backup

import (
	"io"
	"time"
)

// DefaultRate is the pace of an online backup, in bytes of archived data a
// second (110 MB/s): above the ≥ 100 MB/s the project promises for the
// demo province, and a third of what one core can do (docs/benchmarks.md,
// "Operating civitas"), so the other cores and most of that one stay with
// serve's requests.
const DefaultRate = 110_000_000

// pacer is a token bucket over the bytes archived: each write takes its
// length in tokens, which flow in at rate a second up to burst; a write
// that leaves the bucket more than quantum in debt sleeps until the debt
// is paid. Sleeps are therefore few (one every quantum, a few
// milliseconds' worth) and short, so the backup's CPU comes in small,
// regular slices rather than in bursts at full speed.
type pacer struct {
	rate    float64 // bytes a second
	burst   float64 // most tokens saved while the backup waited on something else
	quantum float64 // debt below which writes go on without sleeping
	tokens  float64
	last    time.Time
	now     func() time.Time
	sleep   func(time.Duration)
}

// paceQuantum is the time's worth of bytes a pacer lets run ahead before it
// sleeps, and paceBurst how much it saves up.
const (
	paceQuantum = 4 * time.Millisecond
	paceBurst   = 20 * time.Millisecond
)

// newPacer paces to rate bytes a second; nil (no pacing) when rate ≤ 0.
func newPacer(rate int64, now func() time.Time, sleep func(time.Duration)) *pacer {
	if rate <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = time.Sleep
	}
	r := float64(rate)
	return &pacer{rate: r, burst: r * paceBurst.Seconds(), quantum: r * paceQuantum.Seconds(), now: now, sleep: sleep}
}

// take accounts for n bytes about to be (or just) archived, sleeping when
// the backup is ahead of its pace.
func (p *pacer) take(n int) {
	t := p.now()
	if p.last.IsZero() {
		p.last = t
		p.tokens = p.burst
	}
	p.tokens = min(p.burst, p.tokens+t.Sub(p.last).Seconds()*p.rate)
	p.last = t
	p.tokens -= float64(n)
	if p.tokens < -p.quantum {
		p.sleep(time.Duration(-p.tokens / p.rate * float64(time.Second)))
	}
}

// pacedWriter writes to w at p's pace.
type pacedWriter struct {
	w io.Writer
	p *pacer
}

func (w pacedWriter) Write(b []byte) (int, error) {
	w.p.take(len(b))
	return w.w.Write(b)
}
