package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"

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
