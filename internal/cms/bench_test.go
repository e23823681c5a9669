package cms_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"civitas/internal/cms"
	"civitas/internal/pki/pkitest"
)

// A signature against the bare ECDSA operation it is built around, side by
// side, on one goroutine: a signing service's cost per document is what
// matters, and the machine may have one core to give.
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/cms/

func benchSetup(b *testing.B) (*ecdsa.PrivateKey, *testPKI, []byte) {
	key := pkitest.ECKey(b, elliptic.P256())
	return key, newTestPKI(b, key), sum256([]byte("benchmark"))
}

func BenchmarkSign(b *testing.B) {
	key, p, digest := benchSetup(b)
	o := p.signOptions()
	for b.Loop() {
		if _, err := cms.Sign(digest, key, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

func BenchmarkRawECDSASign(b *testing.B) {
	key, _, digest := benchSetup(b)
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

// BenchmarkVerify includes the chain to the root: three ECDSA
// verifications (signature, issuing CA's signature on the signer's
// certificate, root's on the CA's) and the parsing of two certificates.
func BenchmarkVerify(b *testing.B) {
	key, p, digest := benchSetup(b)
	sig := sign(b, digest, key, p.signOptions())
	o := p.verifyOptions()
	for b.Loop() {
		if _, err := cms.Verify(sig, digest, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

func BenchmarkRawECDSAVerify(b *testing.B) {
	key, _, digest := benchSetup(b)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest, sig) {
			b.Fatal("does not verify")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
