//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// Signing throughput of the token against Go's own ECDSA, side by side, on
// all of GOMAXPROCS:
//
//	eval "$(bash .ci/softhsm)"
//	go test -run '^$' -bench SignP256 -benchtime 2s ./internal/pki/pkcs11

func BenchmarkSoftHSMSignP256(b *testing.B) {
	tok := openTest(b)
	s, err := tok.Generate(newLabel(b, "bench"), ECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	d := digest("benchmark")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(rand.Reader, d, crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

func BenchmarkSoftwareSignP256(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	d := digest("benchmark")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ecdsa.SignASN1(rand.Reader, key, d); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}
