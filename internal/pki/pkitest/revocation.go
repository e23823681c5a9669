package pkitest

import (
	"context"
	"crypto"
	"crypto/x509"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Statuses is a status source for an OCSP responder over a map of serial
// numbers, safe for concurrent use; S is the responder's status type (the
// ocsp package's Status), so that this package need not import it. A
// serial never set has S's zero value. It counts its reads, and can be
// made slow or failing.
type Statuses[S any] struct {
	mu    sync.Mutex
	m     map[string]S
	err   error
	delay time.Duration
	calls atomic.Int64
}

// Set records serial's status.
func (s *Statuses[S]) Set(serial *big.Int, st S) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]S{}
	}
	s.m[serial.Text(16)] = st
}

// Fail makes every later read fail with err (nil: succeed again).
func (s *Statuses[S]) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Delay makes every later read take d first.
func (s *Statuses[S]) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Calls is how many reads there were.
func (s *Statuses[S]) Calls() int64 { return s.calls.Load() }

// Status reads serial's status.
func (s *Statuses[S]) Status(_ context.Context, serial *big.Int) (S, error) {
	s.calls.Add(1)
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero S
	if s.err != nil {
		return zero, s.err
	}
	return s.m[serial.Text(16)], nil
}

// OCSPRequest is the DER OCSP request a client sends about cert, with the
// CertID hashed by h, and the same parsed as a responder reads it.
func OCSPRequest(t testing.TB, cert, issuer *x509.Certificate, h crypto.Hash) ([]byte, *xocsp.Request) {
	t.Helper()
	der, err := xocsp.CreateRequest(cert, issuer, &xocsp.RequestOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	req, err := xocsp.ParseRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return der, req
}

// Responder answers an OCSP request, as the ocsp package's Responder does.
type Responder interface {
	Response(ctx context.Context, req *xocsp.Request) ([]byte, error)
}

// Revocation gathers revocation evidence as a relying party's client
// would: for each certificate of a chain, the answer of its issuing CA's
// OCSP responder, and for a CA under Root, Root's CRL. It counts its calls.
type Revocation struct {
	Root       *x509.Certificate
	CRL        []byte
	Responders map[*x509.Certificate]Responder // by the issuing CA's certificate

	calls atomic.Int64
}

// Calls is how many times Evidence was asked.
func (r *Revocation) Calls() int64 { return r.calls.Load() }

// Evidence returns the OCSP answers and CRLs for chain, leaf first.
func (r *Revocation) Evidence(ctx context.Context, chain []*x509.Certificate) (ocsps, crls [][]byte, err error) {
	r.calls.Add(1)
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		if issuer.Equal(r.Root) {
			crls = append(crls, r.CRL)
			continue
		}
		for ca, resp := range r.Responders {
			if !ca.Equal(issuer) {
				continue
			}
			der, err := xocsp.CreateRequest(c, issuer, nil)
			if err != nil {
				return nil, nil, err
			}
			req, err := xocsp.ParseRequest(der)
			if err != nil {
				return nil, nil, err
			}
			answer, err := resp.Response(ctx, req)
			if err != nil {
				return nil, nil, err
			}
			ocsps = append(ocsps, answer)
		}
	}
	return ocsps, crls, nil
}
