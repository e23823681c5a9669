package tsa_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"testing"

	"civitas/internal/pki/pkitest"
)

// Token throughput against the bare signature it is built around, side by
// side, on all of GOMAXPROCS. Respond should stay well above half the raw
// rate: everything but the signature is precomputed or small.
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/pki/tsa/

// benchKey is the one key both benchmarks sign with.
var benchKey = sync.OnceValues(func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) })

func BenchmarkRespond(b *testing.B) {
	key, err := benchKey()
	if err != nil {
		b.Fatal(err)
	}
	p := newTestPKI(b, key)
	a := p.Authority(b)
	req := marshal(b, sha256Req("benchmark"))
	if r := pkitest.ParseStampResponse(b, a.Respond(req)); r.Status.Status != 0 {
		b.Fatalf("status %d", r.Status.Status)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if len(a.Respond(req)) < 500 {
				b.Error("no token")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkRawECDSASign(b *testing.B) {
	key, err := benchKey()
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("benchmark"))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ecdsa.SignASN1(rand.Reader, key, d[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}
