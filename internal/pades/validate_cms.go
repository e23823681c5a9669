package pades

import (
	"context"
	"io"
	"time"

	"civitas/internal/cms"
	"civitas/internal/kernel"
)

// ValidateCMS checks a detached CMS signature (a .p7s, CAdES) over the
// content read from content, as Validate checks a PDF signature: the
// signature, the chain to t's roots at the time-stamp's time (now without
// one) and revocation from online, if given (a .p7s has no DSS). The
// content is hashed as it is read, never held.
func ValidateCMS(ctx context.Context, p7s []byte, content io.Reader, t Trust, online ...Revocation) (*Report, error) {
	if t.TSARoots == nil {
		t.TSARoots = t.Roots
	}
	v := &validator{ctx: ctx, trust: t, dss: &dssData{}, onlineCache: map[string]evidence{}}
	if len(online) > 0 {
		v.online = online[0]
	}
	rep := SignatureReport{Verdict: Passed, Revocation: statusNotChecked, CoversWholeRevision: true}
	res := result{&rep}
	report := &Report{}
	done := func() (*Report, error) {
		report.Signatures = []SignatureReport{rep}
		report.Verdict = overall(report.Signatures)
		return report, nil
	}
	if claimed, _ := claimedSigner(p7s); claimed != nil {
		rep.SignerName, rep.SignerSubject = claimed.Subject.CommonName, claimed.Subject.String()
	}
	h, err := cms.DigestAlgorithm(p7s)
	if err != nil {
		res.add(cmsReason(err))
		return done()
	}
	hh := h.New()
	if _, err := io.Copy(hh, content); err != nil {
		return nil, kernel.Wrap(err, "pades: read the signed content")
	}
	cr, err := cms.Verify(p7s, hh.Sum(nil), cms.VerifyOptions{Roots: t.Roots, TSARoots: t.TSARoots})
	if err != nil {
		res.add(cmsReason(err))
		return done()
	}
	rep.SignerName, rep.SignerSubject = cr.Signer.Subject.CommonName, cr.Signer.Subject.String()
	rep.SigningTime = cr.SigningTime
	at, poe := time.Now(), false
	if cr.Timestamp != nil {
		at, poe = cr.Timestamp.Time, true
		rep.SigningTime, rep.TimestampTime = at, &at
	}
	st, _, _ := v.status(cr.Chains[0], at)
	rep.Revocation = st
	v.judgeSigner(res, st, poe)
	if cr.Timestamp != nil && len(cr.Timestamp.Chains) > 0 {
		switch tst, _, _ := v.status(cr.Timestamp.Chains[0], at); tst {
		case statusGood:
		case statusRevoked:
			res.indeterminate("timestamp_revoked")
		default:
			res.indeterminate("timestamp_revocation_unknown")
		}
	}
	if rep.Verdict == Passed {
		rep.Level = LevelBB
		if poe {
			rep.Level = LevelBT
		}
	}
	return done()
}
