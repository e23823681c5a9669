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

// TestLowerThreadLowersOnlyItsThread: the backup's stream runs at the nice
// value asked on its own thread; the process's other threads (the one
// that records the backup in the audit log, holding the write lock) keep
// theirs, and the lowered thread ends with its goroutine.
func TestLowerThreadLowersOnlyItsThread(t *testing.T) {
	own, _ := threadNice(t, "/proc/self/stat")
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
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if n, ok := threadNice(t, "/proc/self/task/"+task.Name()+"/stat"); ok && n != own && task.Name() != strconv.Itoa(r.tid) {
			t.Errorf("thread %s runs at nice %d, want the process's %d", task.Name(), n, own)
		}
	}
}
