package tsa_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/pki"
	"civitas/internal/pki/pkitest"
	"civitas/internal/pki/tsa"
)

func TestNew(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	other := newTestPKI(t, pkitest.Key(t))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	plainEKU := *p.TSA.Cert
	plainEKU.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: false}}
	twoEKU := *p.TSA.Cert
	twoEKU.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping, x509.ExtKeyUsageCodeSigning}
	for _, tc := range []struct {
		name string
		edit func(*tsa.Options)
		ok   bool
	}{
		{"ok/ecdsa-with-chain", func(*tsa.Options) {}, true},
		{"ok/no-chain", func(o *tsa.Options) { o.Chain = nil }, true},
		{"ok/chain-to-root", func(o *tsa.Options) { o.Chain = append(o.Chain, p.Root.Cert) }, true},
		{"ok/no-accuracy", func(o *tsa.Options) { o.Accuracy = 0 }, true},
		{"fail/no-signer", func(o *tsa.Options) { o.Signer = nil }, false},
		{"fail/no-certificate", func(o *tsa.Options) { o.Certificate = nil }, false},
		{"fail/no-policy", func(o *tsa.Options) { o.Policy = nil }, false},
		{"fail/policy-not-an-oid", func(o *tsa.Options) { o.Policy = asn1.ObjectIdentifier{7} }, false},
		{"fail/negative-accuracy", func(o *tsa.Options) { o.Accuracy = -time.Second }, false},
		{"fail/key-not-the-certificate's", func(o *tsa.Options) { o.Signer = other.TSA.Key }, false},
		{"fail/ed25519", func(o *tsa.Options) { o.Signer = edKey }, false},
		{"fail/eku-not-critical", func(o *tsa.Options) { o.Certificate = &plainEKU }, false},
		{"fail/two-ekus", func(o *tsa.Options) { o.Certificate = &twoEKU }, false},
		{"fail/not-a-tsa-certificate", func(o *tsa.Options) { o.Certificate, o.Chain = p.Officials.Cert, []*x509.Certificate{p.Root.Cert} }, false},
		{"fail/chain-of-another", func(o *tsa.Options) { o.Chain = []*x509.Certificate{other.Officials.Cert} }, false},
		{"fail/nil-in-chain", func(o *tsa.Options) { o.Chain = []*x509.Certificate{nil} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.TSAOptions()
			tc.edit(&o)
			_, err := tsa.New(o)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

// The imprint, nonce and policy come back in a token that verifies.
func TestRespondGrants(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	a := p.Authority(t)
	req := sha256Req("hello")
	tok := wantToken(t, a.Respond(marshal(t, req)), p.TSA.Cert)
	if !bytes.Equal(tok.info.MessageImprint.FullBytes, marshal(t, req.MessageImprint)) {
		t.Error("messageImprint not copied")
	}
	if tok.info.Nonce == nil || tok.info.Nonce.Cmp(req.Nonce) != 0 {
		t.Errorf("nonce %v, want %v", tok.info.Nonce, req.Nonce)
	}
	if tok.certs != 2 {
		t.Errorf("%d certificates, want the TSA's and the issuer's", tok.certs)
	}
	if tok.info.Accuracy != (accuracy{Seconds: 1}) {
		t.Errorf("accuracy %+v", tok.info.Accuracy)
	}
	if d := time.Since(tok.genTime); d < -time.Second || d > time.Minute {
		t.Errorf("genTime %v is not now", tok.genTime)
	}

	req.CertReq, req.Nonce = asn1.RawValue{}, nil
	tok = wantToken(t, a.Respond(marshal(t, req)), p.TSA.Cert)
	if tok.certs != 0 || tok.info.Nonce != nil {
		t.Errorf("without certReq and nonce: %d certificates, nonce %v", tok.certs, tok.info.Nonce)
	}
}

// pki.LocalStamper, the in-process client, gets tokens from us.
func TestLocalStamper(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	digest := sha256.Sum256([]byte("checkpoint"))
	der, err := pki.LocalStamper{TSA: p.Authority(t)}.Stamp(context.Background(), digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := marshal(t, pkitest.TimeStampResp{Status: pkitest.PKIStatusInfo{Status: 0}, Token: asn1.RawValue{FullBytes: der}})
	tok := wantToken(t, resp, p.TSA.Cert)
	var mi pkitest.MessageImprint
	if _, err := asn1.Unmarshal(tok.info.MessageImprint.FullBytes, &mi); err != nil || !bytes.Equal(mi.HashedMessage, digest[:]) {
		t.Fatalf("imprint %x (%v)", mi.HashedMessage, err)
	}
}

// genTime never goes back, whatever the clock does, and keeps up with it
// when it goes forward.
func TestGenTimeMonotonic(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	base := time.Now().Truncate(time.Second)
	readings := []time.Duration{0, 1500 * time.Millisecond, -30 * time.Minute, time.Second, 2 * time.Second, -time.Minute, 3*time.Second + 123400*time.Microsecond}
	want := []string{"", ".5", ".5", ".5", "", "", ".1234"} // fractions, trailing zeros dropped
	wantAt := []time.Duration{0, 1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond, 2 * time.Second, 2 * time.Second, 3*time.Second + 123400*time.Microsecond}
	var i atomic.Int32
	a := p.Authority(t, func(o *tsa.Options) {
		o.Clock = func() time.Time { return base.Add(readings[i.Load()]) }
	})
	for n := range readings {
		i.Store(int32(n))
		tok := wantToken(t, a.Respond(marshal(t, sha256Req("x"))), p.TSA.Cert)
		if !tok.genTime.Equal(base.Add(wantAt[n])) {
			t.Errorf("reading %d: genTime %v, want %v", n, tok.genTime, base.Add(wantAt[n]))
		}
		s := string(tok.info.GenTime.Bytes)
		if frac := s[14 : len(s)-1]; frac != want[n] {
			t.Errorf("reading %d: genTime %q, want fraction %q", n, s, want[n])
		}
	}
}

// Default serial numbers are unique, positive and 128 bits at most, also
// when many goroutines ask at once.
func TestSerialsUnique(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	a := p.Authority(t)
	req := marshal(t, sha256Req("same document"))
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 125 {
				tok := wantToken(t, a.Respond(req), p.TSA.Cert)
				s := tok.info.SerialNumber
				if s.BitLen() > 128 {
					t.Errorf("serial %x has %d bits", s, s.BitLen())
				}
				mu.Lock()
				if seen[s.String()] {
					t.Errorf("serial %x twice", s)
				}
				seen[s.String()] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 1000 {
		t.Fatalf("%d serials", len(seen))
	}
}

func TestAccuracy(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	for _, tc := range []struct {
		name string
		d    time.Duration
		want accuracy
	}{
		{"ok/none", 0, accuracy{}},
		{"ok/second", time.Second, accuracy{Seconds: 1}},
		{"ok/mixed", 2*time.Second + 500*time.Millisecond + 7*time.Microsecond, accuracy{Seconds: 2, Millis: 500, Micros: 7}},
		{"ok/millis", 10 * time.Millisecond, accuracy{Millis: 10}},
		{"ok/rounded-up", 1500 * time.Nanosecond, accuracy{Micros: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := p.Authority(t, func(o *tsa.Options) { o.Accuracy = tc.d })
			tok := wantToken(t, a.Respond(marshal(t, sha256Req("x"))), p.TSA.Cert)
			if tok.info.Accuracy != tc.want {
				t.Fatalf("accuracy %+v, want %+v", tok.info.Accuracy, tc.want)
			}
		})
	}
}

// When the TSA cannot sign, the client gets systemFailure, never a panic
// or a bad token.
func TestSystemFailure(t *testing.T) {
	p := newTestPKI(t, pkitest.Key(t))
	var counter atomic.Int64
	for _, tc := range []struct {
		name string
		edit func(*tsa.Options)
		ok   bool
	}{
		{"ok/custom-serial", func(o *tsa.Options) {
			o.Serial = func() (*big.Int, error) { return big.NewInt(counter.Add(1)), nil }
		}, true},
		{"fail/signer-error", func(o *tsa.Options) { o.Signer = pkitest.FailingSigner{Signer: p.TSA.Key} }, false},
		{"fail/signer-panic", func(o *tsa.Options) { o.Signer = pkitest.FailingSigner{Signer: p.TSA.Key, Panics: true} }, false},
		{"fail/serial-error", func(o *tsa.Options) { o.Serial = func() (*big.Int, error) { return nil, errors.New("no") } }, false},
		{"fail/serial-zero", func(o *tsa.Options) { o.Serial = func() (*big.Int, error) { return new(big.Int), nil } }, false},
		{"fail/serial-too-long", func(o *tsa.Options) {
			o.Serial = func() (*big.Int, error) { return new(big.Int).Lsh(big.NewInt(1), 160), nil }
		}, false},
		{"fail/clock-before-certificate", func(o *tsa.Options) { o.Clock = func() time.Time { return p.TSA.Cert.NotBefore.Add(-time.Second) } }, false},
		{"fail/clock-after-certificate", func(o *tsa.Options) { o.Clock = func() time.Time { return p.TSA.Cert.NotAfter.Add(time.Second) } }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := p.Authority(t, tc.edit)
			resp := a.Respond(marshal(t, sha256Req("x")))
			if tc.ok {
				tok := wantToken(t, resp, p.TSA.Cert)
				if tok.info.SerialNumber.Cmp(big.NewInt(counter.Load())) != 0 {
					t.Fatalf("serial %v", tok.info.SerialNumber)
				}
				return
			}
			wantRefusal(t, resp, systemFailure)
		})
	}
}
