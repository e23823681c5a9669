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

// With Spacing, the group after a backlog waits for the items that arrive
// within Spacing of the previous group's start and runs them together.
func TestCoalescerSpacingGathersABacklog(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	c := &kernel.Coalescer[int]{Spacing: 2 * time.Second, Run: func(batch []int) {
		mu.Lock()
		sizes = append(sizes, len(batch))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release // the first commit is slow: a backlog forms
		}
	}}
	var wg sync.WaitGroup
	do := func(i int) {
		wg.Add(1)
		go func() { defer wg.Done(); c.Do(i) }()
	}
	do(0)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	for i := 1; i <= 3; i++ {
		do(i) // queued behind the first group
	}
	waitFor(t, func() bool { return c.Waiting() == 3 })
	close(release)
	for i := 4; i <= 6; i++ {
		do(i) // arrive while the next group waits out the spacing
	}
	wg.Wait()
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 6 {
		t.Fatalf("group sizes %v, want [1 6]: the backlog's group should wait for the later arrivals", sizes)
	}
}

// A caller that finds nothing running never waits out the Spacing, so a
// sequential loop runs at its own pace.
func TestCoalescerSpacingLeavesALoneCallerAlone(t *testing.T) {
	c := &kernel.Coalescer[int]{Spacing: time.Hour, Run: func([]int) {}}
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			c.Do(i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("sequential calls waited for the spacing")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
	}
}
