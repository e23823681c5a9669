package backup

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// TestDirectFileWritesEveryByte writes 3.5 MiB in uneven pieces through a
// directFile (O_DIRECT where the temporary directory's file system allows
// it): the file holds exactly what was written, whole blocks and the
// partial last one.
func TestDirectFileWritesEveryByte(t *testing.T) {
	want := make([]byte, 3*directBlock+directBlock/2+17)
	_, _ = rand.Read(want)
	path := filepath.Join(t.TempDir(), "b.age")
	f, direct, err := openDirect(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("O_DIRECT: %v", direct)
	d := newDirectFile(f, direct)
	for rest, n := want, 1; len(rest) > 0; n = (n*7 + 13) % (70 << 10) {
		k := min(n+1, len(rest))
		if m, err := d.Write(rest[:k]); err != nil || m != k {
			t.Fatalf("wrote %d of %d: %v", m, k, err)
		}
		rest = rest[k:]
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file differs from what was written: %d bytes, want %d", len(got), len(want))
	}
}
