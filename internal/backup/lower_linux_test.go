package backup_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"civitas/internal/backup"
)

// TestLowerRunsOnAThreadOfItsOwn: Options.Lower is called on a thread that
// is not the caller's and that ends with the backup, so the lowered
// priority stays with the stream and the audit record after it is written
// at the caller's.
func TestLowerRunsOnAThreadOfItsOwn(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	caller := syscall.Gettid()
	o := p.options(id.Recipient())
	lowered := 0
	o.Lower = func() error {
		lowered = syscall.Gettid()
		return syscall.Setpriority(syscall.PRIO_PROCESS, 0, 5)
	}
	var buf bytes.Buffer
	res, err := backup.Create(opCtx(), &buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if lowered == 0 || lowered == caller {
		t.Fatalf("Lower ran on thread %d, the caller's is %d", lowered, caller)
	}
	if len(res.Manifest.Members) < 2 || res.Size != int64(buf.Len()) {
		t.Errorf("backup incomplete: %d members, %d of %d bytes", len(res.Manifest.Members), res.Size, buf.Len())
	}
	if lowered == os.Getpid() {
		t.Log("the stream ran on the main thread, which the runtime parks")
		// The process's main thread cannot exit: the runtime parks it for
		// good instead, and runs no goroutine on it again.
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				if syscall.Gettid() == lowered {
					t.Errorf("a goroutine ran on the lowered main thread after the backup")
				}
			}()
		}
		wg.Wait()
		return
	}
	task := fmt.Sprintf("/proc/self/task/%d", lowered)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lowered thread %d lives on after the backup", lowered)
		}
	}
}
