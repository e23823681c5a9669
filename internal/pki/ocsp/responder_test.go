package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"math/big"
	"sync"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/kernel"
	"civitas/internal/pki/pkitest"
)

func TestNewResponder(t *testing.T) {
	ca := newTestCA(t, "civitas Test CA")
	other := newTestCA(t, "civitas Other CA")
	src := &mapSource{}
	noEKU := ca.Signer(t, "not a responder")
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"ok/delegated", Options{Issuer: ca.Cert, Signer: ca.signer.Key, SignerCert: ca.signer.Cert, Source: src}, true},
		{"ok/ca-signs", Options{Issuer: ca.Cert, Signer: ca.Key, Source: src}, true},
		{"fail/no-source", Options{Issuer: ca.Cert, Signer: ca.Key}, false},
		{"fail/key-not-of-cert", Options{Issuer: ca.Cert, Signer: ca.Key, SignerCert: ca.signer.Cert, Source: src}, false},
		{"fail/signer-of-another-ca", Options{Issuer: ca.Cert, Signer: other.signer.Key, SignerCert: other.signer.Cert, Source: src}, false},
		{"fail/signer-without-eku", Options{Issuer: ca.Cert, Signer: noEKU.Key, SignerCert: noEKU.Cert, Source: src}, false},
		{"fail/refresh-not-below-validity", Options{Issuer: ca.Cert, Signer: ca.Key, Source: src, Validity: time.Hour, Refresh: time.Hour}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewResponder(tt.o)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if err != nil && kernel.ErrorCode(err) != kernel.Invalid {
				t.Errorf("code %q", kernel.ErrorCode(err))
			}
			if tt.ok && (r.o.Validity != time.Hour || r.o.Refresh != 15*time.Minute || r.o.CacheSize != 100000) {
				t.Errorf("defaults %v %v %d", r.o.Validity, r.o.Refresh, r.o.CacheSize)
			}
		})
	}
}

// status parses a response of f's CA, checking its signature.
func status(t *testing.T, f *fixture, der []byte) *xocsp.Response {
	t.Helper()
	resp, err := xocsp.ParseResponse(der, f.ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestRevocationReachesClients: a cached "good" becomes "revoked" at once
// with Invalidate, and without it once the cached answer is due for
// refresh.
func TestRevocationReachesClients(t *testing.T) {
	clock := kernel.NewManualClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	f := newFixture(t, "civitas Test CA", func(_ *fixture, o *Options) { o.Clock = clock.Now })
	ctx := context.Background()
	revoke := func(serial *big.Int) {
		f.src.Set(serial, Status{Known: true, Revoked: true, RevokedAt: clock.Now(), Reason: xocsp.Superseded})
	}

	t.Run("ok/invalidate", func(t *testing.T) {
		req := f.ca.parsed(t, f.good)
		first, err := f.r.Response(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp := status(t, f, first); resp.Status != xocsp.Good || !resp.ThisUpdate.Equal(clock.Now()) || !resp.NextUpdate.Equal(clock.Now().Add(time.Hour)) {
			t.Fatalf("first: status %d %v..%v", resp.Status, resp.ThisUpdate, resp.NextUpdate)
		}
		revoke(f.good.SerialNumber)
		calls := f.src.Calls()
		clock.Advance(time.Minute)
		again, _ := f.r.Response(ctx, req)
		if !bytes.Equal(again, first) || f.src.Calls() != calls {
			t.Fatal("a fresh cached answer was not served from the cache")
		}
		f.r.Invalidate(f.good.SerialNumber)
		after, _ := f.r.Response(ctx, req)
		if resp := status(t, f, after); resp.Status != xocsp.Revoked || resp.RevocationReason != xocsp.Superseded {
			t.Fatalf("after Invalidate: status %d reason %d", resp.Status, resp.RevocationReason)
		}
	})

	t.Run("ok/refresh", func(t *testing.T) {
		leaf := f.ca.issue(t, pkitest.Serial(t))
		f.src.Set(leaf.SerialNumber, Status{Known: true})
		req := f.ca.parsed(t, leaf)
		first, _ := f.r.Response(ctx, req)
		revoke(leaf.SerialNumber)
		// Refresh is 15 minutes: served from the cache until 45 minutes in.
		clock.Advance(45*time.Minute - time.Second)
		if got, _ := f.r.Response(ctx, req); !bytes.Equal(got, first) {
			t.Fatal("re-signed before the refresh point")
		}
		clock.Advance(time.Second)
		got, _ := f.r.Response(ctx, req)
		if resp := status(t, f, got); resp.Status != xocsp.Revoked || !resp.ThisUpdate.Equal(clock.Now()) {
			t.Fatalf("at the refresh point: status %d this update %v", resp.Status, resp.ThisUpdate)
		}
	})
}

// RenewDue signs the answers clients ask for before a request finds them
// stale, so a request keeps being a lookup; it leaves fresh answers alone.
func TestRenewDue(t *testing.T) {
	clock := kernel.NewManualClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	f := newFixture(t, "civitas Test CA", func(_ *fixture, o *Options) { o.Clock = clock.Now })
	ctx := context.Background()
	req := f.ca.parsed(t, f.good)
	first, err := f.r.Response(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.r.RenewDue(ctx, time.Minute); n != 0 || err != nil {
		t.Fatalf("renewed a fresh answer: %d %v", n, err)
	}
	// 44 minutes in, the answer goes stale at 45 (Refresh is 15 of 60).
	clock.Advance(44 * time.Minute)
	if n, err := f.r.RenewDue(ctx, 2*time.Minute); n != 1 || err != nil {
		t.Fatalf("RenewDue: %d %v", n, err)
	}
	calls := f.src.Calls()
	clock.Advance(2 * time.Minute) // past the old answer's refresh point
	got, _ := f.r.Response(ctx, req)
	if bytes.Equal(got, first) || f.src.Calls() != calls {
		t.Fatal("the request did not find the renewed answer ready")
	}
	if resp := status(t, f, got); resp.Status != xocsp.Good || !resp.ThisUpdate.Equal(clock.Now().Add(-2*time.Minute)) {
		t.Fatalf("renewed answer: status %d this update %v", resp.Status, resp.ThisUpdate)
	}
	// A failing store leaves the answer in place.
	clock.Advance(39 * time.Minute) // 4 minutes before the renewed answer's refresh point
	f.src.Fail(errStoreDown)
	if n, err := f.r.RenewDue(ctx, 5*time.Minute); n != 0 || err == nil {
		t.Fatalf("with the store down: %d %v", n, err)
	}
	if again, _ := f.r.Response(ctx, req); !bytes.Equal(again, got) {
		t.Fatal("a failed renewal dropped the answer")
	}
}

// TestResponseDetails checks what x/crypto does not: the responder is
// named by key, producedAt is the responder's clock, and each CertID hash
// gets its own cached answer.
func TestResponseDetails(t *testing.T) {
	clock := kernel.NewManualClock(time.Date(2026, 3, 1, 9, 0, 0, 500, time.UTC))
	f := newFixture(t, "civitas Test CA", func(_ *fixture, o *Options) { o.Clock = clock.Now })
	ctx := context.Background()
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		req, err := xocsp.ParseRequest(f.ca.request(t, f.revoked, h))
		if err != nil {
			t.Fatal(err)
		}
		der, err := f.r.Response(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		resp := status(t, f, der)
		if resp.IssuerHash != h || resp.Status != xocsp.Revoked || !resp.RevokedAt.Equal(f.revokedAt) || resp.RevocationReason != xocsp.KeyCompromise {
			t.Errorf("%v: hash %v status %d at %v reason %d", h, resp.IssuerHash, resp.Status, resp.RevokedAt, resp.RevocationReason)
		}
		if !bytes.Equal(resp.ResponderKeyHash, digest(crypto.SHA1, mustKey(t, f))) {
			t.Errorf("%v: responder key hash %x", h, resp.ResponderKeyHash)
		}
		if tbs := tbsOf(t, der); !tbs.ProducedAt.Equal(clock.Now().Truncate(time.Second)) || len(tbs.Extensions) != 0 {
			t.Errorf("%v: producedAt %v extensions %v", h, tbs.ProducedAt, tbs.Extensions)
		}
	}
	if f.r.size.Load() != 1 {
		t.Errorf("cache holds %d serials, want 1", f.r.size.Load())
	}
	// Outside RFC 5280's serials: answered, never cached.
	for _, serial := range []*big.Int{big.NewInt(0), big.NewInt(-5), new(big.Int).Lsh(big.NewInt(1), 200)} {
		req := f.ca.parsed(t, f.good)
		req.SerialNumber = serial
		der, err := f.r.Response(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp := status(t, f, der); resp.Status != xocsp.Unknown || resp.SerialNumber.Cmp(serial) != 0 {
			t.Errorf("serial %v: status %d serial %v", serial, resp.Status, resp.SerialNumber)
		}
	}
	if f.r.size.Load() != 1 {
		t.Errorf("cache holds %d serials after odd ones, want 1", f.r.size.Load())
	}
}

// mustKey is the delegated signer's public key, as ResponderID hashes it.
func mustKey(t *testing.T, f *fixture) []byte {
	t.Helper()
	k, err := subjectPublicKey(f.ca.signer.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConcurrentMissSignsOnce: many requests for a serial not yet cached
// read the Source and sign once.
func TestConcurrentMissSignsOnce(t *testing.T) {
	f := newFixture(t, "civitas Test CA", nil)
	f.src.Delay(50 * time.Millisecond)
	req := f.ca.parsed(t, f.good)
	var wg sync.WaitGroup
	out := make([][]byte, 32)
	for i := range out {
		wg.Go(func() {
			der, err := f.r.Response(context.Background(), req)
			if err != nil {
				t.Error(err)
			}
			out[i] = der
		})
	}
	wg.Wait()
	if n := f.src.Calls(); n != 1 {
		t.Errorf("Source read %d times", n)
	}
	for _, der := range out[1:] {
		if !bytes.Equal(der, out[0]) {
			t.Fatal("answers differ")
		}
	}
}

// TestWaiterGivesUp: a request waiting behind a slow signature leaves when
// its context ends.
func TestWaiterGivesUp(t *testing.T) {
	f := newFixture(t, "civitas Test CA", nil)
	f.src.Delay(300 * time.Millisecond)
	req := f.ca.parsed(t, f.good)
	go func() { _, _ = f.r.Response(context.Background(), req) }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.r.Response(ctx, req)
	if kernel.ErrorCode(err) != kernel.Unavailable || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

// TestCacheBound: the cache never holds more than CacheSize serials.
func TestCacheBound(t *testing.T) {
	f := newFixture(t, "civitas Test CA", func(_ *fixture, o *Options) { o.CacheSize = 8 })
	req := f.ca.parsed(t, f.good)
	for i := range 100 {
		req.SerialNumber = big.NewInt(int64(1000 + i))
		if _, err := f.r.Response(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if n := f.r.size.Load(); n > 8 {
			t.Fatalf("after %d serials the cache holds %d", i+1, n)
		}
	}
	n := 0
	f.r.cache.Range(func(_, _ any) bool { n++; return true })
	if int64(n) != f.r.size.Load() || n == 0 {
		t.Errorf("map holds %d, counter says %d", n, f.r.size.Load())
	}
}

func TestSourceFailure(t *testing.T) {
	f := newFixture(t, "civitas Test CA", nil)
	f.src.Fail(errStoreDown)
	_, err := f.r.Response(context.Background(), f.ca.parsed(t, f.good))
	if kernel.ErrorCode(err) != kernel.Unavailable {
		t.Fatalf("err %v", err)
	}
	// A failure is not cached: the next request asks again.
	f.src.Fail(nil)
	if _, err := f.r.Response(context.Background(), f.ca.parsed(t, f.good)); err != nil {
		t.Fatal(err)
	}
}
