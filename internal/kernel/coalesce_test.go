package kernel_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/kernel"
)

// Every item is run exactly once, in groups no larger than MaxBatch, with
// no more than MaxInFlight groups at once, and Do returns only after the
// group holding its item has run.
func TestCoalescer(t *testing.T) {
	type item struct {
		n   int
		ran atomic.Bool
	}
	var inFlight, most, groups atomic.Int64
	var biggest atomic.Int64
	c := &kernel.Coalescer[*item]{MaxBatch: 8, MaxInFlight: 2, Run: func(batch []*item) {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		groups.Add(1)
		if int64(len(batch)) > biggest.Load() {
			biggest.Store(int64(len(batch)))
		}
		time.Sleep(time.Millisecond) // a commit
		for _, it := range batch {
			if it.ran.Swap(true) {
				t.Errorf("item %d ran twice", it.n)
			}
		}
	}}
	const n = 500
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := &item{n: i}
			c.Do(it)
			if !it.ran.Load() {
				t.Errorf("Do(%d) returned before its item ran", i)
			}
		}()
	}
	wg.Wait()
	if biggest.Load() > 8 || most.Load() > 2 {
		t.Errorf("largest group %d (max 8), most in flight %d (max 2)", biggest.Load(), most.Load())
	}
	if groups.Load() >= n {
		t.Errorf("%d groups for %d items: nothing was grouped", groups.Load(), n)
	}
}
