package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// threadNice reads a thread's nice value from /proc.
func threadNice(t *testing.T, stat string) (int, bool) {
	t.Helper()
	b, err := os.ReadFile(stat)
	if err != nil {
		return 0, false // gone
	}
	// Field 19 is the nice value; field 2, the name, ends with ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	n, err := strconv.Atoi(f[16])
	if err != nil {
		t.Fatal(err)
	}
	return n, true
}

// niceOfThreads reads every thread's nice value, by thread ID.
func niceOfThreads(t *testing.T) map[string]int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, task := range tasks {
		if n, ok := threadNice(t, "/proc/self/task/"+task.Name()+"/stat"); ok {
			out[task.Name()] = n
		}
	}
	return out
}

// TestLowerThreadLowersOnlyItsThread: the backup's stream runs at the nice
// value asked on its own thread; the process's other threads (the one
// that records the backup in the audit log, holding the write lock) keep
// theirs, and threads started meanwhile run at the caller's. The test
// compares each thread with itself before: an earlier in-process backup
// may have left the main thread lowered (the runtime parks a locked main
// thread for good instead of ending it), so /proc/self/stat, which shows
// the main thread, is not the process's priority.
func TestLowerThreadLowersOnlyItsThread(t *testing.T) {
	runtime.LockOSThread()
	own, _ := threadNice(t, "/proc/thread-self/stat")
	runtime.UnlockOSThread()
	before := niceOfThreads(t)
	type result struct {
		tid, nice int
		err       error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		err := lowerThread(own + 7)
		n, _ := threadNice(t, "/proc/thread-self/stat")
		done <- result{tid: syscall.Gettid(), nice: n, err: err}
	}()
	r := <-done
	if r.err != nil || r.nice != min(own+7, 19) {
		t.Fatalf("the lowered thread runs at nice %d (%v), want %d", r.nice, r.err, min(own+7, 19))
	}
	for tid, n := range niceOfThreads(t) {
		if tid == strconv.Itoa(r.tid) {
			continue
		}
		if was, ok := before[tid]; ok && n != was {
			t.Errorf("thread %s runs at nice %d, it ran at %d before", tid, n, was)
		} else if !ok && n != own {
			t.Errorf("thread %s, started meanwhile, runs at nice %d, want the caller's %d", tid, n, own)
		}
	}
}
