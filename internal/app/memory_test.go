package app

import (
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	if n, err := SetMemoryLimit("96MiB"); err != nil || n != 96<<20 || debug.SetMemoryLimit(-1) != 96<<20 {
		t.Fatalf("SetMemoryLimit(96MiB) = %d, %v; runtime has %d", n, err, debug.SetMemoryLimit(-1))
	}
	if n, err := SetMemoryLimit(""); err != nil || n != 96<<20 {
		t.Fatalf("an empty limit changed it: %d, %v", n, err)
	}
	if _, err := SetMemoryLimit("lots"); err == nil {
		t.Fatal("a bad limit was accepted")
	}
}
