package app

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"civitas/internal/config"
)

// SetMemoryLimit applies --memory-limit as the Go runtime's soft memory
// limit (what GOMEMLIMIT sets): near it the collector runs more often,
// whatever GOGC says, and gives freed memory back to the system. Empty
// leaves GOMEMLIMIT, or no limit. It returns the limit in force.
func SetMemoryLimit(limit string) (int64, error) {
	if limit == "" {
		return debug.SetMemoryLimit(-1), nil
	}
	n, err := config.ParseBytes(limit)
	if err != nil {
		return 0, err
	}
	debug.SetMemoryLimit(n)
	return n, nil
}

// ReleaseMemory collects now and gives every free page back to the system:
// for the end of start-up (the demo province, migrations and the catalogue
// leave tens of MiB of garbage that GOGC=400 would keep until the next
// collection, which an idle server may not reach for minutes).
func ReleaseMemory() { debug.FreeOSMemory() }

// idleSamples are the runtime metrics TrimWhenIdle reads.
var idleSamples = []metrics.Sample{
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
}

// trimSlack is the memory the heap may hold beyond its live objects before
// an idle server gives it back.
const trimSlack = 4 << 20

// TrimWhenIdle gives memory back to the system after load: every period it
// looks at the runtime's metrics, and when no collection ran since the last
// look (the server is idle, or nearly) while the heap holds more than
// trimSlack of garbage and free pages, it collects and releases them. Under
// load collections run many times a period and it does nothing. It returns
// when ctx ends.
func TrimWhenIdle(ctx context.Context, every time.Duration) {
	s := make([]metrics.Sample, len(idleSamples))
	copy(s, idleSamples)
	metrics.Read(s)
	last := s[0].Value.Uint64()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(s)
		cycles := s[0].Value.Uint64()
		live, objects, free := s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()
		if cycles == last && objects+free > live+trimSlack {
			debug.FreeOSMemory()
			metrics.Read(s)
			cycles = s[0].Value.Uint64()
		}
		last = cycles
	}
}
