package wallet_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"civitas/internal/pades"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

// BenchmarkRenderPDF measures the rendering alone (wallet.RenderPDF): the
// layout with wrapping, shaping, the font subset and the file, for a
// document with a long value, in Vietnamese only and beside Arabic. The
// font keeps its last subsets, as the server's does.
func BenchmarkRenderPDF(b *testing.B) {
	font := pdfFont(b)
	for _, lang := range []string{"vi", "ar"} {
		b.Run(lang, func(b *testing.B) {
			r := permitRendering(b, lang)
			var size int
			for b.Loop() {
				out, err := wallet.RenderPDF(font, r)
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(size), "bytes/pdf")
		})
	}
}

// BenchmarkSealPDF measures a first download's work less the database:
// render, then seal with the agency's seal from the trust services (the
// key opened from its backend each time, as SealPDF does), at B-B and at
// B-T (a time-stamp from the province's TSA, in process). Compare pdf/s
// with BenchmarkPDFRawECDSASign's sigs/s: B-B costs one seal signature,
// B-T a TSA signature more.
func BenchmarkSealPDF(b *testing.B) {
	e := newEnv(b)
	font := pdfFont(b)
	agency := e.agency(registry.SocialInsurance)
	r := permitRendering(b, "vi")
	for _, level := range []pades.Level{pades.LevelBB, pades.LevelBT} {
		b.Run(string(level), func(b *testing.B) {
			sealer := testPDFSealer{ca: e.ca, clock: e.clock, level: level}
			if _, _, err := e.ca.Seal(e.ctx, agency); err != nil { // issued on first use
				b.Fatal(err)
			}
			for b.Loop() {
				plain, err := wallet.RenderPDF(font, r)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sealer.SealPDF(e.ctx, agency, plain); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pdf/s")
		})
	}
}

// BenchmarkPDFRawECDSASign is one ECDSA P-256 signature at a time on one
// core: the floor of a seal, for the ratio with BenchmarkSealPDF.
func BenchmarkPDFRawECDSASign(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("civitas"))
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}
