package kernel

import (
	"sync"
	"time"
)

// Clock tells the time. Services take one so tests can fix it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

var _ Clock = SystemClock{}

// ManualClock is a clock for tests that moves only when told.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock stopped at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t.UTC()} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var _ Clock = (*ManualClock)(nil)

// Micros converts t to Unix microseconds, the form every timestamp column holds.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros converts Unix microseconds from a timestamp column to a UTC time.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}
