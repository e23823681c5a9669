package pades

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Revocation statuses, as reported.
const (
	statusGood       = "good"
	statusRevoked    = "revoked"
	statusUnknown    = "unknown"
	statusNotChecked = "not_checked"
)

// maxEvidence bounds the OCSP responses and CRLs looked at for one chain.
const maxEvidence = 256

// clockSkew is how much earlier than the time in question an OCSP response
// or CRL may be issued and still count as issued after it: responders
// pre-sign and cache their answers.
const clockSkew = 5 * time.Minute

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// evidence is OCSP responses and CRLs, DER, from a DSS or a source online.
type evidence struct {
	ocsps, crls [][]byte
}

func (e evidence) empty() bool { return len(e.ocsps) == 0 && len(e.crls) == 0 }

// chainStatus is the revocation status at `at` of every certificate of
// chain but the root (a trust anchor is not revoked by its own word), and,
// for a revoked one, when it was revoked.
func chainStatus(chain []*x509.Certificate, at time.Time, ev evidence) (string, time.Time) {
	if len(chain) < 2 {
		// The anchor alone, or a chain we do not have: nothing proves a
		// leaf good.
		return statusUnknown, time.Time{}
	}
	worst := statusGood
	for i := 0; i < len(chain)-1; i++ {
		c := chain[i]
		if slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidOCSPNoCheck) }) {
			continue // an OCSP signer that its CA says need not be checked
		}
		st, when := certStatus(c, chain[i+1], at, ev)
		switch st {
		case statusRevoked:
			return statusRevoked, when
		case statusUnknown:
			worst = statusUnknown
		}
	}
	return worst, time.Time{}
}

// certStatus is one certificate's status at `at`: revoked if some evidence
// signed by its issuer (or the issuer's delegated OCSP signer) says it was
// revoked by then; good if evidence that speaks for `at` (issued after it,
// or valid over it) says it was not; unknown otherwise.
func certStatus(c, issuer *x509.Certificate, at time.Time, ev evidence) (string, time.Time) {
	good := false
	for i, der := range ev.ocsps {
		if i >= maxEvidence {
			break
		}
		resp, err := xocsp.ParseResponseForCert(der, c, issuer)
		if err != nil || resp.SerialNumber == nil || resp.SerialNumber.Cmp(c.SerialNumber) != 0 {
			continue
		}
		if rc := resp.Certificate; rc != nil && !rc.Equal(issuer) {
			// A delegated responder must be allowed to sign OCSP and be
			// valid when it signed (RFC 6960 §4.2.2.2).
			if !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) ||
				resp.ProducedAt.Before(rc.NotBefore) || resp.ProducedAt.After(rc.NotAfter) {
				continue
			}
		}
		switch resp.Status {
		case xocsp.Revoked:
			if !resp.RevokedAt.After(at) {
				return statusRevoked, resp.RevokedAt
			}
			good = good || speaksFor(resp.ThisUpdate, resp.NextUpdate, at)
		case xocsp.Good:
			good = good || speaksFor(resp.ThisUpdate, resp.NextUpdate, at)
		}
	}
	for i, der := range ev.crls {
		if i >= maxEvidence {
			break
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil || !bytes.Equal(crl.RawIssuer, issuer.RawSubject) || crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber != nil && e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				if !e.RevocationTime.After(at) {
					return statusRevoked, e.RevocationTime
				}
			}
		}
		good = good || speaksFor(crl.ThisUpdate, crl.NextUpdate, at)
	}
	if good {
		return statusGood, time.Time{}
	}
	return statusUnknown, time.Time{}
}

// speaksFor says a status issued at this, valid until next, tells the
// status at `at`: it was issued after `at` (so a revocation before would be
// in it), or `at` lies within its validity.
func speaksFor(this, next, at time.Time) bool {
	if !this.Before(at.Add(-clockSkew)) {
		return true
	}
	return !next.IsZero() && !at.After(next)
}
