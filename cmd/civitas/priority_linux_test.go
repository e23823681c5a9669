package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func init() {
	// The commands run inside the test process: a backup must not lower
	// the priority of every test after it.
	yieldToServe = func(int) error { return nil }
}

// threadNices reads the nice value of every thread of this process.
func threadNices(t *testing.T) map[string]int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	nices := map[string]int{}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		// Field 19 is the nice value; field 2, the name, ends with ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		n, err := strconv.Atoi(f[16])
		if err != nil {
			t.Fatal(err)
		}
		nices[task.Name()] = n
	}
	return nices
}

// TestLowerPriorityReachesEveryThread runs in a child process (the nice
// value would stay with this one): after lowerPriority(7) every thread,
// and every thread started afterwards, runs at nice 7.
func TestLowerPriorityReachesEveryThread(t *testing.T) {
	if os.Getenv("CIVITAS_TEST_NICE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLowerPriorityReachesEveryThread$", "-test.v")
		cmd.Env = append(os.Environ(), "CIVITAS_TEST_NICE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	before := threadNices(t)
	if err := lowerPriority(7); err != nil {
		t.Fatal(err)
	}
	// New threads: goroutines locked to their thread while others block.
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			<-release
		}()
	}
	after := threadNices(t)
	close(release)
	wg.Wait()
	if len(after) <= len(before) {
		t.Logf("no new thread started (%d before, %d after)", len(before), len(after))
	}
	for tid, n := range after {
		if n != 7 {
			t.Errorf("thread %s runs at nice %d, want 7 (threads before: %v)", tid, n, before)
		}
	}
	// Asking for less lowers nothing back up (it could not).
	if err := lowerPriority(3); err != nil {
		t.Fatal(err)
	}
	for tid, n := range threadNices(t) {
		if n != 7 {
			t.Errorf("thread %s now at nice %d", tid, n)
		}
	}
}
