package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/kernel"
)

// Status is what the CA knows of one serial number.
type Status struct {
	Known   bool // false: this CA never issued the serial, and OCSP says "unknown"
	Revoked bool
	// RevokedAt is when the certificate was revoked. A zero time is reported
	// as the Unix epoch: an early date errs towards distrust.
	RevokedAt time.Time
	Reason    int // RFC 5280 CRLReason code
}

// Source tells a Responder the status of its CA's serial numbers.
type Source interface {
	Status(ctx context.Context, serial *big.Int) (Status, error)
}

// Options configure a Responder.
type Options struct {
	Issuer *x509.Certificate // the CA whose certificates this responder answers for
	Signer crypto.Signer     // the delegated OCSP signer's key, or the CA's own
	// SignerCert is the delegated responder's certificate (extended key
	// usage OCSPSigning, issued by Issuer), sent with every response so
	// clients can check it. It may be Issuer itself; nil means Issuer.
	SignerCert *x509.Certificate
	Source     Source
	Validity   time.Duration    // nextUpdate - thisUpdate; default 1h
	Refresh    time.Duration    // re-sign a cached response with less than this left; default Validity/4
	Clock      func() time.Time // nil means time.Now
	CacheSize  int              // most cached serials; default 100000
}

// Responder answers OCSP requests for one CA.
type Responder struct {
	o           Options
	alg         signingAlg
	responderID []byte // DER of ResponderID byKey
	certs       [][]byte
	ids         [len(certIDHashes)]issuerID

	cache    sync.Map // serial.Text(16) → *entry
	size     atomic.Int64
	evicting sync.Mutex
}

// issuerID is the pair of hashes a request names the CA by, for one hash
// algorithm.
type issuerID struct {
	name, key []byte
}

// entry holds the signed answers for one serial, one per CertID hash
// algorithm (a response must repeat the request's CertID, so a SHA-1 and a
// SHA-256 request get different DER).
type entry struct {
	// sem lets one caller at a time sign for this serial, so many requests
	// for a serial not yet cached cost one Source read and one signature. It
	// is a channel, not a mutex, so a waiter can give up with its context.
	sem   chan struct{}
	slots [len(certIDHashes)]atomic.Pointer[signed]
}

// signed is one signed response and what the HTTP headers say about it.
type signed struct {
	der                    []byte
	thisUpdate, nextUpdate time.Time
	lastModified, expires  string // formatted once: the hot path only copies them
	etag                   string
}

// NewResponder checks o and builds a Responder for o.Issuer.
func NewResponder(o Options) (*Responder, error) {
	if o.Issuer == nil || o.Signer == nil || o.Source == nil {
		return nil, invalidOptions(errors.New("ocsp: Issuer, Signer and Source are required"))
	}
	if o.SignerCert == nil {
		o.SignerCert = o.Issuer
	}
	if o.Validity == 0 {
		o.Validity = time.Hour
	}
	if o.Refresh == 0 {
		o.Refresh = o.Validity / 4
	}
	if o.Validity < time.Second || o.Refresh < 0 || o.Refresh >= o.Validity {
		// A Refresh as long as the validity would re-sign every request.
		return nil, invalidOptions(fmt.Errorf("ocsp: need 1s <= Validity (%v) and 0 <= Refresh (%v) < Validity", o.Validity, o.Refresh))
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 100000
	}
	// Fail at start-up on what every client would refuse later.
	if !publicKeyEqual(o.SignerCert.PublicKey, o.Signer.Public()) {
		return nil, invalidOptions(errors.New("ocsp: Signer is not the key of SignerCert"))
	}
	if !o.SignerCert.Equal(o.Issuer) {
		if err := o.SignerCert.CheckSignatureFrom(o.Issuer); err != nil {
			return nil, invalidOptions(fmt.Errorf("ocsp: SignerCert not issued by Issuer: %w", err))
		}
		if !hasOCSPSigning(o.SignerCert) {
			return nil, invalidOptions(errors.New("ocsp: SignerCert lacks extended key usage OCSPSigning"))
		}
	}
	alg, err := signingAlgorithm(o.Signer.Public())
	if err != nil {
		return nil, invalidOptions(err)
	}
	signerKey, err := subjectPublicKey(o.SignerCert)
	if err != nil {
		return nil, invalidOptions(err)
	}
	issuerKey, err := subjectPublicKey(o.Issuer)
	if err != nil {
		return nil, invalidOptions(err)
	}
	r := &Responder{o: o, alg: alg, responderID: responderIDByKey(signerKey)}
	if !o.SignerCert.Equal(o.Issuer) {
		r.certs = [][]byte{o.SignerCert.Raw}
	}
	for i, h := range certIDHashes {
		r.ids[i] = issuerID{name: digest(h, o.Issuer.RawSubject), key: digest(h, issuerKey)}
	}
	return r, nil
}

func invalidOptions(err error) error {
	return kernel.E(kernel.Invalid, "ocsp.error.options").WithCause(err)
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func hasOCSPSigning(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageOCSPSigning {
			return true
		}
	}
	return false
}

func digest(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

// Invalidate drops the cached answers for serial, so the next request is
// signed from the Source again. The CA calls it after a revocation commits.
func (r *Responder) Invalidate(serial *big.Int) {
	if serial == nil {
		return
	}
	// Deleting the entry (rather than clearing its answers) matters: a
	// signature already under way for it, begun from the old status, lands
	// in the orphaned entry and never reaches a later request.
	if _, ok := r.cache.LoadAndDelete(serial.Text(16)); ok {
		r.size.Add(-1)
	}
}

// Response returns the signed DER answer for req, without a nonce: the
// cached one while it is fresh, else a new one from the Source. The bytes are
// shared with the cache and must not be changed. A request for another CA
// gives a Forbidden error; a Source failure an Unavailable one.
func (r *Responder) Response(ctx context.Context, req *xocsp.Request) ([]byte, error) {
	s, err := r.answer(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	return s.der, nil
}

// slot is the index of req's hash algorithm if req names this CA.
func (r *Responder) slot(req *xocsp.Request) (int, bool) {
	i, ok := hashSlot(req.HashAlgorithm)
	if !ok || !bytes.Equal(req.IssuerNameHash, r.ids[i].name) || !bytes.Equal(req.IssuerKeyHash, r.ids[i].key) {
		return 0, false
	}
	return i, true
}

// answer is Response with an optional nonce (the DER extension value to
// echo); answers with a nonce are signed afresh and never cached.
func (r *Responder) answer(ctx context.Context, req *xocsp.Request, nonce []byte) (*signed, error) {
	if req == nil || req.SerialNumber == nil {
		return nil, kernel.E(kernel.Invalid, "ocsp.error.malformed")
	}
	slot, ok := r.slot(req)
	if !ok {
		return nil, kernel.E(kernel.Forbidden, "ocsp.error.unauthorized")
	}
	if nonce != nil || !cacheable(req.SerialNumber) {
		return r.sign(ctx, req.SerialNumber, slot, nonce)
	}
	return r.cached(ctx, req.SerialNumber, slot)
}

// cacheable: RFC 5280 serials are positive and at most 20 octets. Longer
// ones cannot be ours; caching them would let a client fill memory with
// large keys and large responses.
func cacheable(serial *big.Int) bool {
	return serial.Sign() > 0 && serial.BitLen() <= 160
}

// fresh reports whether s may still be served at now.
func (r *Responder) fresh(s *signed, now time.Time) bool {
	return s != nil && now.Before(s.nextUpdate.Add(-r.o.Refresh)) && !now.Before(s.thisUpdate)
}

func (r *Responder) cached(ctx context.Context, serial *big.Int, slot int) (*signed, error) {
	key := serial.Text(16)
	v, ok := r.cache.Load(key)
	if ok {
		if s := v.(*entry).slots[slot].Load(); r.fresh(s, r.now()) {
			return s, nil
		}
	} else {
		var loaded bool
		v, loaded = r.cache.LoadOrStore(key, &entry{sem: make(chan struct{}, 1)})
		if !loaded && r.size.Add(1) > int64(r.o.CacheSize) {
			r.evict()
		}
	}
	e := v.(*entry)
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, kernel.E(kernel.Unavailable, "ocsp.error.try_later").WithCause(ctx.Err())
	}
	defer func() { <-e.sem }()
	// Whoever held sem before us has probably just signed what we need.
	if s := e.slots[slot].Load(); r.fresh(s, r.now()) {
		return s, nil
	}
	s, err := r.sign(ctx, serial, slot, nil)
	if err != nil {
		return nil, err
	}
	e.slots[slot].Store(s)
	return s, nil
}

// RenewDue re-signs, from the Source, the cached answers that a request
// would find stale within ahead. Called every few seconds, it keeps the
// answers clients ask for signed before they are due, so that answering
// stays a lookup; answers nobody asked for are never signed. It reports how
// many answers it renewed. A Source or signing failure leaves the old
// answer in place (a request will try again) and is returned after the pass.
func (r *Responder) RenewDue(ctx context.Context, ahead time.Duration) (int, error) {
	due := r.now().Add(ahead)
	n := 0
	var failed error
	r.cache.Range(func(k, v any) bool {
		e := v.(*entry)
		for slot := range e.slots {
			old := e.slots[slot].Load()
			if old == nil || r.fresh(old, due) {
				continue
			}
			serial, ok := new(big.Int).SetString(k.(string), 16)
			if !ok {
				continue
			}
			select {
			case e.sem <- struct{}{}:
			case <-ctx.Done():
				failed = ctx.Err()
				return false
			}
			if e.slots[slot].Load() == old { // nobody renewed it meanwhile
				s, err := r.sign(ctx, serial, slot, nil)
				if err != nil {
					failed = err
				} else {
					e.slots[slot].Store(s)
					n++
				}
			}
			<-e.sem
		}
		return true
	})
	return n, failed
}

// evict drops about half the cache, in the map's own (arbitrary) order,
// when it has grown past CacheSize. Dropping half at once makes the cost
// (one pass over the map) rare; one evictor at a time is enough.
func (r *Responder) evict() {
	if !r.evicting.TryLock() {
		return
	}
	defer r.evicting.Unlock()
	drop := r.size.Load() - int64(r.o.CacheSize/2)
	r.cache.Range(func(k, _ any) bool {
		if drop <= 0 {
			return false
		}
		if _, ok := r.cache.LoadAndDelete(k); ok {
			r.size.Add(-1)
			drop--
		}
		return true
	})
}

// now is the responder's clock to the second, the precision of
// GeneralizedTime in a response.
func (r *Responder) now() time.Time {
	return r.o.Clock().UTC().Truncate(time.Second)
}
