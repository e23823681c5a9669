package identity

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/kernel"
)

// TestHashQueueBoundsHashesInFlight: however many ask at once, no more
// hashes run than there are slots, and every request that fits in the line
// is served.
func TestHashQueueBoundsHashesInFlight(t *testing.T) {
	q := newHashQueue(2, 64, time.Minute)
	var running, most atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- q.do(context.Background(), func() {
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				running.Add(-1)
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a request that fitted in the line was refused: %v", err)
		}
	}
	if m := most.Load(); m > 2 || m < 1 {
		t.Fatalf("%d hashes ran at once, want at most 2", m)
	}
}

// TestHashQueueFullOrLateSaysTryAgain: a request beyond the line, or one
// that would wait past the deadline, is told at once to try again.
func TestHashQueueFullOrLateSaysTryAgain(t *testing.T) {
	q := newHashQueue(1, 1, time.Hour)
	hold, held := make(chan struct{}), make(chan struct{})
	go func() { _ = q.do(context.Background(), func() { close(held); <-hold }) }()
	<-held
	waited := make(chan error, 1)
	go func() { waited <- q.do(context.Background(), func() {}) }() // takes the one place in line
	for q.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	err := q.do(context.Background(), func() { t.Error("ran past a full line") })
	if kernel.ErrorCode(err) != kernel.Unavailable {
		t.Fatalf("full line: %v, want Unavailable", err)
	}
	if k, args := kernel.ErrorKey(err); k != "error.identity.busy" || len(args) != 1 {
		t.Fatalf("full line: key %s %v", k, args)
	}
	close(hold)
	if err := <-waited; err != nil {
		t.Fatalf("the request in line: %v", err)
	}

	late := newHashQueue(1, 8, 20*time.Millisecond)
	hold2, held2 := make(chan struct{}), make(chan struct{})
	go func() { _ = late.do(context.Background(), func() { close(held2); <-hold2 }) }()
	<-held2
	defer close(hold2)
	if err := late.do(context.Background(), func() { t.Error("ran past its deadline") }); kernel.ErrorCode(err) != kernel.Unavailable {
		t.Fatalf("past the deadline: %v, want Unavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := late.do(ctx, func() { t.Error("ran for a gone request") }); kernel.ErrorCode(err) != kernel.Unavailable {
		t.Fatalf("cancelled: %v", err)
	}
	if n := late.waiting.Load(); n != 0 {
		t.Fatalf("%d still counted waiting", n)
	}
}

// TestNewHashesNothing: the dummy hash for unknown accounts is made at the
// first login that needs it, not when the service starts (argon2id would
// take 19 MiB and a good part of a second of CPU at every start, also of
// the command-line tools).
func TestNewHashesNothing(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := New(Options{Clock: kernel.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Fatalf("New allocated %d bytes: it hashed something", grew)
	}
	// The first check of an unknown account makes it, once.
	ok, _, err := s.verifyPassword(context.Background(), "a password", "")
	if err != nil || ok {
		t.Fatalf("dummy check: %v %v", ok, err)
	}
	d1, _ := s.dummy()
	d2, _ := s.dummy()
	if d1 == "" || d1 != d2 {
		t.Fatal("the dummy hash is not made once")
	}
}
