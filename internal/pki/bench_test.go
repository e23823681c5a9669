package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// anyone is a population where every citizen ID has a level-2 account, for
// issuing many certificates.
type anyone struct{}

func (anyone) Holder(_ context.Context, citizenID string) (pki.Holder, error) {
	return pki.Holder{AccountID: "acct-" + citizenID, CitizenID: citizenID, Name: "Nguyễn Văn Thử", Level: 2}, nil
}

// benchService is a hierarchy on a fresh database, with keys in software or
// (backend "softhsm") in the SoftHSM2 token .ci/softhsm made.
func benchService(b *testing.B, backend string) *pki.Service {
	b.Helper()
	ctx := context.Background()
	d := dbtest.Open(b)
	clock := kernel.SystemClock{}
	box, _ := sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	var keys pki.KeyBackend = pki.Software{DB: d, Box: box, Clock: clock}
	if backend == "softhsm" {
		keys = pki.PKCS11{DB: d, Token: openToken(b), Clock: clock}
	}
	s, err := pki.New(ctx, pki.Options{DB: d, Clock: clock, Keys: keys, PublicURL: "http://localhost:8080", Holders: anyone{}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Init(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.StartOnline(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}

var backends = []string{"software", "softhsm"}

// BenchmarkRawSign is the limit of every figure below: one ECDSA P-256
// signature over a digest, on all cores, with a key in software (Go's
// crypto/ecdsa) or in the token (through PKCS#11).
func BenchmarkRawSign(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			var signer crypto.Signer
			if backend == "softhsm" {
				var err error
				if signer, err = openToken(b).Generate(fmt.Sprintf("bench-raw-%d", time.Now().UnixNano()), "ecdsa-p256"); err != nil {
					b.Fatal(err)
				}
			} else {
				signer, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			}
			digest := sha256.Sum256([]byte("civitas"))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
		})
	}
}

// BenchmarkIssueCitizen: a whole issuance — a new key in the backend, the
// certificate signed by the Citizens CA, its row, the uniqueness check and
// the audit record in one transaction.
func BenchmarkIssueCitizen(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			s := benchService(b, backend)
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.IssueCitizen(context.Background(), fmt.Sprintf("0010%08d", n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
		})
	}
}

// BenchmarkTimeStamp: an RFC 3161 token from the TSA in this process, query
// built and answer parsed as a client would, all cores.
func BenchmarkTimeStamp(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			st := benchService(b, backend).Stamper()
			digest := sha256.Sum256([]byte("civitas"))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := st.Stamp(context.Background(), digest[:]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkOCSP: answers through the whole web middleware chain (request
// ID, access log, metrics, security headers) in process. "cached" is a GET
// for a certificate whose pre-signed answer is ready, what nearly every
// relying party gets; "nonce" is a POST with a nonce, signed for it.
func BenchmarkOCSP(b *testing.B) {
	for _, backend := range backends {
		for _, kind := range []string{"cached", "nonce"} {
			b.Run(backend+"/"+kind, func(b *testing.B) {
				s := benchService(b, backend)
				ctx := context.Background()
				issued, err := s.IssueCitizen(ctx, "001090000001")
				if err != nil {
					b.Fatal(err)
				}
				citizens, _ := s.CA(pki.Citizens)
				ws, err := web.NewServer(web.Options{DB: dbtest.Open(b), Clock: kernel.SystemClock{}, Ready: func(context.Context) error { return nil }})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Mount(ws); err != nil {
					b.Fatal(err)
				}
				h := ws.Handler()
				req, _ := xocsp.CreateRequest(issued.Cert, citizens.Cert, nil)
				newRequest := func() *http.Request {
					return httptest.NewRequest(http.MethodGet, "/pki/ocsp/"+base64URL(req), nil)
				}
				if kind == "nonce" {
					req = withNonce(b, req)
					newRequest = func() *http.Request {
						r := httptest.NewRequest(http.MethodPost, "/pki/ocsp", bytes.NewReader(req))
						r.Header.Set("Content-Type", "application/ocsp-request")
						return r
					}
				}
				check := httptest.NewRecorder()
				h.ServeHTTP(check, newRequest())
				if r, err := xocsp.ParseResponseForCert(check.Body.Bytes(), issued.Cert, citizens.Cert); err != nil || r.Status != xocsp.Good {
					b.Fatalf("answer: %v", err)
				}
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, newRequest())
						if w.Code != http.StatusOK {
							b.Errorf("status %d", w.Code)
							return
						}
						_, _ = io.Copy(io.Discard, w.Body)
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resp/s")
			})
		}
	}
}

func base64URL(der []byte) string { return url.PathEscape(base64.StdEncoding.EncodeToString(der)) }

// withNonce adds an RFC 8954 nonce to an OCSP request, as openssl does by
// default (x/crypto/ocsp makes none).
func withNonce(b *testing.B, req []byte) []byte {
	b.Helper()
	type extension struct {
		ID    asn1.ObjectIdentifier
		Value []byte
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	value, _ := asn1.Marshal(nonce)
	exts, err := asn1.MarshalWithParams([]extension{{ID: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}, Value: value}}, "explicit,tag:2")
	if err != nil {
		b.Fatal(err)
	}
	var outer struct{ TBS asn1.RawValue }
	if _, err := asn1.Unmarshal(req, &outer); err != nil {
		b.Fatal(err)
	}
	tbs, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: append(bytes.Clone(outer.TBS.Bytes), exts...)})
	full, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: tbs})
	return full
}
