package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"syscall"
	"testing"
	"time"

	"civitas/internal/pades"
)

// BenchmarkSealBB1MiB: an agency seal signs a 1 MiB PDF at B-B with a key
// in memory, into an in-memory file.
func BenchmarkSealBB1MiB(b *testing.B) {
	e := newEnv(b)
	in := testPDF(1, 1<<20)
	o := e.options(e.seal, pades.LevelBB, "UBND Phường 1")
	out := &memFile{b: make([]byte, 0, len(in)+64<<10)}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		out.b = out.b[:0]
		if _, err := pades.Sign(context.Background(), out, bytes.NewReader(in), int64(len(in)), e.seal.Key, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawLimit1MiB is the floor for the one above: SHA-256 of the
// same bytes and one ECDSA P-256 signature.
func BenchmarkRawLimit1MiB(b *testing.B) {
	e := newEnv(b)
	in := testPDF(1, 1<<20)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(in)
		if _, err := e.seal.Key.Sign(rand.Reader, sum[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate1MiB validates the B-B seal on a 1 MiB PDF, offline.
func BenchmarkValidate1MiB(b *testing.B) {
	e := newEnv(b)
	signed := signMem(b, e, testPDF(1, 1<<20), e.seal, pades.LevelBB)
	b.SetBytes(int64(len(signed)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := pades.Validate(context.Background(), bytes.NewReader(signed), int64(len(signed)), e.trust, nil)
		if err != nil || len(rep.Signatures) != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealSmall seals PDFs of 200 KB and 1 MiB at B-B beside their
// floor (SHA-256 of the file and one ECDSA P-256 signature) in one run:
// what sealing adds to the floor is the fixed cost of parsing and writing.
func BenchmarkSealSmall(b *testing.B) {
	e := newEnv(b)
	o := e.options(e.seal, pades.LevelBB, "UBND Phường 1")
	for _, size := range []struct {
		name string
		n    int64
	}{{"200KB", 200 << 10}, {"1MiB", 1 << 20}} {
		in := testPDF(1, size.n)
		b.Run("floor/"+size.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			defer reportCPU(b)()
			for b.Loop() {
				sum := sha256.Sum256(in)
				if _, err := e.seal.Key.Sign(rand.Reader, sum[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("seal/"+size.name, func(b *testing.B) {
			out := &memFile{b: make([]byte, 0, len(in)+64<<10)}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				out.b = out.b[:0]
				if _, err := pades.Sign(context.Background(), out, bytes.NewReader(in), int64(len(in)), e.seal.Key, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU reports the process's CPU time per operation (user and system,
// the collector's included) beside ns/op: on a machine shared with other
// work the wall time per operation includes the time the benchmark waited
// for a core, the CPU time does not. Call the function it returns when the
// loop is done.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
