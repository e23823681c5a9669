package main

import (
	"os"
	"strconv"
	"syscall"
)

// lowerPriority gives every thread of this process the nice value n (0–19),
// as `nice -n N` would have: on Linux a nice value belongs to a thread, and
// the threads the Go runtime starts later inherit it from the thread that
// starts them, all of which have it by then. It only lowers: a value at or
// below the threads' own is left alone (raising needs privilege).
func lowerPriority(n int) error {
	if n <= 0 {
		return nil
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// getpriority's raw system call answers 20 - nice.
		cur, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
		if err == nil && 20-cur >= n {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(n, 19)); err != nil {
			return err
		}
	}
	return nil
}
