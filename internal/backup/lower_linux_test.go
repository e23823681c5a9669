package backup_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
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
