package web

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time the calling OS thread has used: what a
// benchmark costs even when other processes share the cores, which the
// wall-clock ns/op does not show.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
