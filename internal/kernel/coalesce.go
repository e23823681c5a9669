package kernel

import (
	"sync"
	"time"
)

// Coalescer groups work that arrives together so that one expensive step
// (a commit, a database statement) serves many callers: a caller arriving
// while fewer than MaxInFlight groups run leads, running Run with
// everything queued (at most MaxBatch items); callers arriving meanwhile
// queue for the next group, which a new leader runs. Alone, a caller waits
// for nothing but its own Run. The zero value is not usable: set Run.
//
// With Spacing set, a group that follows a backlog (items queued while the
// previous group ran) starts no sooner than Spacing after the previous
// group's start, and the items arriving meanwhile join it: under steady
// load groups hold about rate × Spacing items, so one commit serves several
// callers instead of one or two. A caller that finds nothing running — a
// lone caller, a sequential loop — never waits.
type Coalescer[T any] struct {
	MaxBatch    int // default 64
	MaxInFlight int // default 1
	// Run does the work of one group. It reports to each item itself (the
	// items carry their results); Do returns once Run has returned.
	Run func(batch []T)
	// Spacing is the least time between the starts of a group and the
	// group that follows a backlog; 0 runs a backlog at once. It adds at
	// most Spacing to an item's wait.
	Spacing time.Duration

	mu        sync.Mutex
	queue     []coalesced[T]
	inFlight  int
	lastStart time.Time
}

type coalesced[T any] struct {
	item T
	done chan struct{}
}

// Do queues item and returns once a Run that included it has returned.
func (c *Coalescer[T]) Do(item T) {
	e := coalesced[T]{item, make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, e)
	lead := c.inFlight < max(c.MaxInFlight, 1)
	if lead {
		c.inFlight++
	}
	c.mu.Unlock()
	if lead {
		c.lead(false)
	}
	<-e.done
}

// Waiting is how many items are queued for a group not yet started.
func (c *Coalescer[T]) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// lead runs one group, then hands the lead to a new goroutine if more work
// arrived meanwhile, so the caller that led is not kept behind others.
// backlog is true for that handed-on lead, which keeps the Spacing.
func (c *Coalescer[T]) lead(backlog bool) {
	limit := c.MaxBatch
	if limit <= 0 {
		limit = 64
	}
	c.mu.Lock()
	if backlog && c.Spacing > 0 && len(c.queue) < limit {
		if wait := c.Spacing - time.Since(c.lastStart); wait > 0 {
			c.mu.Unlock()
			time.Sleep(wait)
			c.mu.Lock()
		}
	}
	c.lastStart = time.Now()
	n := min(len(c.queue), limit)
	group := c.queue[:n:n]
	c.queue = c.queue[n:]
	c.mu.Unlock()

	if n > 0 { // another leader may have taken them all
		items := make([]T, n)
		for i, e := range group {
			items[i] = e.item
		}
		c.Run(items)
	}

	c.mu.Lock()
	if len(c.queue) == 0 {
		c.inFlight--
		c.queue = nil
		c.mu.Unlock()
	} else {
		c.mu.Unlock()
		go c.lead(true)
	}
	for _, e := range group {
		close(e.done)
	}
}
