package ocsp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandlerCachedGET is the common request: a GET for a serial
// already signed, through the whole handler.
func BenchmarkHandlerCachedGET(b *testing.B) {
	f := newFixture(b, "civitas Bench CA", nil)
	h := NewHandler(f.r)
	path := "/" + base64.StdEncoding.EncodeToString(f.ca.request(b, f.good, crypto.SHA1))
	if w := serve(h, "GET", path, "", nil); w.Code != 200 || w.Body.Len() < 100 {
		b.Fatalf("HTTP %d, %d bytes", w.Code, w.Body.Len())
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", path, nil)
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Errorf("HTTP %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
}

// BenchmarkHandlerNonce signs every response: the cost of a request with a
// nonce, through the whole handler.
func BenchmarkHandlerNonce(b *testing.B) {
	f := newFixture(b, "civitas Bench CA", nil)
	h := NewHandler(f.r)
	body := withExtensions(b, f.ca.request(b, f.good, crypto.SHA1), nonceExtension(b, bytes.Repeat([]byte{1}, 16)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/ocsp-request")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Errorf("HTTP %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
}

// BenchmarkRawECDSASign is the floor under BenchmarkHandlerNonce: one
// ECDSA P-256 signature with the same kind of key.
func BenchmarkRawECDSASign(b *testing.B) {
	f := newFixture(b, "civitas Bench CA", nil)
	key := f.ca.signer.Key.(*ecdsa.PrivateKey)
	sum := sha256.Sum256([]byte("tbsResponseData"))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ecdsa.SignASN1(rand.Reader, key, sum[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signatures/s")
}
