package identity

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"civitas/internal/kernel"
)

// hashQueue bounds the argon2id computations in flight. Each one takes a
// core and 19 MiB for tens of milliseconds; with as many in flight as
// requests, they evict each other from the caches and keep the collector
// busy, and logins per second fall as clients are added. With at most one
// per core, the rest wait in line (first come, first served) and every hash
// runs at full speed. A request that would wait longer than the queue's
// deadline, or find the line full, is told to try again at once rather than
// time out.
type hashQueue struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	maxWait  time.Duration
}

// Defaults of the queue: one hash per core, 64 waiting per core, each for
// at most 10 seconds.
const (
	defaultHashQueuePerSlot = 64
	defaultHashWait         = 10 * time.Second
)

func newHashQueue(slots, queue int, wait time.Duration) *hashQueue {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = defaultHashQueuePerSlot * slots
	}
	if wait <= 0 {
		wait = defaultHashWait
	}
	return &hashQueue{slots: make(chan struct{}, slots), maxQueue: int64(queue), maxWait: wait}
}

// busyRetryAfter is the Retry-After of a "try again" answer, in seconds.
const busyRetryAfter = 5

// errBusy is the answer when the line of hashes is full: nothing was
// checked, and the same request a few seconds later will be.
func errBusy() *kernel.Error {
	return kernel.E(kernel.Unavailable, "error.identity.busy", busyRetryAfter)
}

// do runs fn when a slot is free, or returns errBusy.
func (q *hashQueue) do(ctx context.Context, fn func()) error {
	select {
	case q.slots <- struct{}{}:
	default:
		if q.waiting.Add(1) > q.maxQueue {
			q.waiting.Add(-1)
			return errBusy()
		}
		t := time.NewTimer(q.maxWait)
		select {
		case q.slots <- struct{}{}:
			t.Stop()
			q.waiting.Add(-1)
		case <-t.C:
			q.waiting.Add(-1)
			return errBusy()
		case <-ctx.Done():
			t.Stop()
			q.waiting.Add(-1)
			return errBusy().WithCause(ctx.Err())
		}
	}
	defer func() { <-q.slots }()
	fn()
	return nil
}

// hashPassword is HashPassword in the line of hashes.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	var hash string
	var err error
	if qerr := s.hashes.do(ctx, func() { hash, err = HashPassword(password, s.params) }); qerr != nil {
		return "", qerr
	}
	return hash, err
}

// verifyPassword is VerifyPassword in the line of hashes. An empty stored
// hash is checked against the dummy hash, so that an unknown account costs
// the same work as a known one.
func (s *Service) verifyPassword(ctx context.Context, password, stored string) (ok, rehash bool, err error) {
	qerr := s.hashes.do(ctx, func() {
		if stored == "" {
			if stored, err = s.dummy(); err != nil {
				return
			}
		}
		ok, rehash, err = VerifyPassword(password, stored, s.params)
	})
	if qerr != nil {
		return false, false, qerr
	}
	return ok, rehash, err
}
