package feedback

import (
	"sync"
	"time"

	"civitas/internal/kernel"
)

// limiter is a token bucket per client: limit tokens, refilled evenly over
// window. It is kept in memory, per instance: behind a load balancer a
// client gets the limit at each instance, which still bounds a flood.
type limiter struct {
	limit  float64
	window time.Duration
	mu     sync.Mutex
	bucket map[string]*bucket
	swept  time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxLimiterKeys bounds the memory of the buckets: past it, full buckets
// (clients quiet for a whole window) are forgotten.
const maxLimiterKeys = 100_000

func newLimiter(limit int, window time.Duration) *limiter {
	return &limiter{limit: float64(limit), window: window, bucket: map[string]*bucket{}}
}

// allow takes a token for key at now, or reports false when it has none.
func (l *limiter) allow(key string, now time.Time) bool { return l.use(key, now, true) }

// has reports whether key has a token at now, taking none: a budget of
// failures is checked with has and spent with allow.
func (l *limiter) has(key string, now time.Time) bool { return l.use(key, now, false) }

func (l *limiter) use(key string, now time.Time, take bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.bucket[key]
	if !ok {
		if len(l.bucket) >= maxLimiterKeys {
			l.sweep(now)
		}
		b = &bucket{tokens: l.limit, at: now}
		l.bucket[key] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.limit, b.tokens+l.limit*float64(d)/float64(l.window))
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	if take {
		b.tokens--
	}
	return true
}

func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Second {
		return
	}
	l.swept = now
	for k, b := range l.bucket {
		if now.Sub(b.at) >= l.window {
			delete(l.bucket, k)
		}
	}
}

func errTooMany() error { return kernel.E(kernel.TooManyRequests, "feedback.error.too_many") }
