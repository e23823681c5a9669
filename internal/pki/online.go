package pki

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/http"
	"sync"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pki/ocsp"
	"civitas/internal/pki/tsa"
)

// The online services' timing. An OCSP response is valid for ocspValidity
// and re-signed when less than ocspRefresh is left, so most answers are a
// lookup. A revocation reaches the responders at once in this process and
// within RevocationPoll in every other process sharing the database.
const (
	ocspValidity   = time.Hour
	ocspRefresh    = 15 * time.Minute
	RevocationPoll = 5 * time.Second
	tsaAccuracy    = time.Second
)

// online holds the OCSP responders and the TSA, built once the hierarchy
// exists.
type online struct {
	responders map[string]*ocsp.Responder // by issuing CA
	ocsp       http.Handler
	tsa        *tsa.Authority
	pollMu     sync.Mutex
	seen       map[string]int64 // per issuing CA, when PollRevocations last looked
}

// ocspSource answers the OCSP responder of one issuing CA from the
// certificate store.
type ocspSource struct {
	s  *Service
	ca string
}

func (o ocspSource) Status(ctx context.Context, serial *big.Int) (ocsp.Status, error) {
	st, err := o.s.Status(ctx, o.ca, serial)
	if err != nil {
		return ocsp.Status{}, err
	}
	return ocsp.Status{Known: st.State != Unknown, Revoked: st.State == Revoked, RevokedAt: st.RevokedAt, Reason: st.Reason}, nil
}

// StartOnline builds the online services once the hierarchy exists; Mount
// calls it. Calling it again does nothing.
func (s *Service) StartOnline(ctx context.Context) error {
	s.onlineMu.Lock()
	defer s.onlineMu.Unlock()
	if s.online.Load() != nil {
		return nil
	}
	on, err := s.startOnline(ctx)
	if err != nil {
		return err
	}
	s.online.Store(on)
	return nil
}

// startOnline builds the OCSP responders (one per issuing CA, each signing
// with its delegated OCSP signer) and the TSA. It is called once the
// hierarchy is ready.
func (s *Service) startOnline(ctx context.Context) (*online, error) {
	on := &online{responders: map[string]*ocsp.Responder{}, seen: map[string]int64{}}
	var rs []*ocsp.Responder
	for ca, signer := range map[string]string{Citizens: OCSPCitizens, Officials: OCSPOfficials} {
		issuer, err := s.CA(ca)
		if err != nil {
			return nil, err
		}
		sig, err := s.CA(signer)
		if err != nil {
			return nil, err
		}
		r, err := ocsp.NewResponder(ocsp.Options{Issuer: issuer.Cert, Signer: sig.Signer, SignerCert: sig.Cert,
			Source: ocspSource{s: s, ca: ca}, Validity: ocspValidity, Refresh: ocspRefresh, Clock: s.o.Clock.Now})
		if err != nil {
			return nil, kernel.Wrap(err, "pki: OCSP responder of %s", ca)
		}
		on.responders[ca] = r
		rs = append(rs, r)
		on.seen[ca] = kernel.Micros(s.o.Clock.Now()) // the cache is empty: nothing older can be stale
	}
	on.ocsp = ocsp.NewHandler(rs...)

	unit, err := s.CA(TSA)
	if err != nil {
		return nil, err
	}
	officials, err := s.CA(unit.Issuer)
	if err != nil {
		return nil, err
	}
	root, err := s.CA(Root)
	if err != nil {
		return nil, err
	}
	on.tsa, err = tsa.New(tsa.Options{Signer: unit.Signer, Certificate: unit.Cert, Chain: dedupe(officials, root),
		Policy: asn1.ObjectIdentifier(PolicyTimestamp), Accuracy: tsaAccuracy, Clock: s.o.Clock.Now})
	if err != nil {
		return nil, kernel.Wrap(err, "pki: time-stamping unit")
	}
	return on, nil
}

func dedupe(cas ...*CA) []*x509.Certificate {
	var out []*x509.Certificate
	for _, ca := range cas {
		dup := false
		for _, c := range out {
			if c.Equal(ca.Cert) {
				dup = true
			}
		}
		if !dup {
			out = append(out, ca.Cert)
		}
	}
	return out
}

// PollRevocations tells the OCSP responders of revocations made by other
// processes sharing the database (an operator's `civitas cert revoke`,
// another server instance) since the last poll. Serve calls it every
// RevocationPoll. The window reaches a minute back, so a revocation written
// by a server whose clock is a little behind is not missed; invalidating an
// entry twice costs one signature.
func (s *Service) PollRevocations(ctx context.Context) error {
	// A rotated service certificate first: the responders polled below
	// are then the new ones.
	if _, err := s.Reload(ctx); err != nil {
		return err
	}
	on := s.online.Load()
	if on == nil {
		return nil
	}
	on.pollMu.Lock()
	defer on.pollMu.Unlock()
	now := kernel.Micros(s.o.Clock.Now())
	for ca, r := range on.responders {
		since := on.seen[ca] - int64(time.Minute/time.Microsecond)
		rows, err := s.o.DB.Query(ctx, `SELECT serial FROM pki_certs WHERE ca = ? AND revoked_at > ?`, ca, since)
		if err != nil {
			return kernel.Wrap(err, "pki: poll revocations")
		}
		for rows.Next() {
			var serial string
			if err := rows.Scan(&serial); err != nil {
				rows.Close()
				return kernel.Wrap(err, "pki: poll revocations")
			}
			if n, ok := new(big.Int).SetString(serial, 16); ok {
				r.Invalidate(n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return kernel.Wrap(err, "pki: poll revocations")
		}
		on.seen[ca] = now
	}
	return nil
}

// RenewOCSP re-signs the cached OCSP answers that will be due within a
// minute, so that relying parties keep getting a lookup, never a signature.
// Serve calls it every RevocationPoll, after PollRevocations.
func (s *Service) RenewOCSP(ctx context.Context) (int, error) {
	on := s.online.Load()
	if on == nil {
		return 0, nil
	}
	total := 0
	var errs []error
	for _, r := range on.responders {
		n, err := r.RenewDue(ctx, time.Minute)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// Stamper returns a Stamper backed by this process's TSA, for the audit
// checkpoints and signed PDFs, or nil before the hierarchy exists. It
// stamps with the TSA of the moment: one held since start-up (the signing
// service keeps its own) takes a rotated TSA certificate at the next
// Reload, as the /pki/tsa endpoint does, without a restart.
func (s *Service) Stamper() Stamper {
	if s.online.Load() == nil {
		return nil
	}
	return currentStamper{s: s}
}

// currentStamper stamps with the TSA the service holds when it is asked.
type currentStamper struct{ s *Service }

func (c currentStamper) Stamp(ctx context.Context, digest []byte) ([]byte, error) {
	on := c.s.online.Load()
	if on == nil {
		return nil, errors.New("pki: no time-stamping unit")
	}
	return LocalStamper{TSA: on.tsa}.Stamp(ctx, digest)
}
