package pades

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"slices"
	"time"

	"civitas/internal/cms"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// Trust is what a validator trusts: our roots and imported anchors.
type Trust struct {
	Roots    *x509.CertPool
	TSARoots *x509.CertPool // nil means Roots
}

// Verdict is the result of validating a signature (ETSI EN 319 102-1 §5.1.3).
type Verdict string

// The verdicts.
const (
	Passed        Verdict = "TOTAL_PASSED"
	Failed        Verdict = "TOTAL_FAILED"
	Indeterminate Verdict = "INDETERMINATE" // a check could not be made: not valid, not proven invalid
)

// SignatureReport is what validation found about one signature or
// document time-stamp.
type SignatureReport struct {
	Field         string
	SignerName    string // the certificate's common name
	SignerSubject string
	SigningTime   time.Time  // the time-stamp's time if there is one, else /M (claimed)
	TimestampTime *time.Time // the earliest time-stamp proving the signature existed
	Level         Level      // the baseline level reached; "" for a document time-stamp or a non-PAdES signature
	Verdict       Verdict
	Reasons       []string // message keys "pades.reason.*", in the order found
	// CoversWholeRevision says the byte range is the whole revision the
	// signature added, less its /Contents.
	CoversWholeRevision bool
	// ModifiedAfter says a later update made a change that signing does not
	// allow (a page or other content changed).
	ModifiedAfter     bool
	Revocation        string // "good", "revoked", "unknown" or "not_checked"
	DocumentTimestamp bool
}

// Report is the validation of a whole document.
type Report struct {
	Signatures []SignatureReport
	Verdict    Verdict // TOTAL_PASSED only if every signature passes
}

// Validate checks every signature and document time-stamp of the PDF read
// from r (size bytes): integrity, coverage, changes made after signing,
// the chain to t's roots at the signing time (the time-stamp's when there
// is one), revocation at that time from the DSS or, if the DSS does not
// tell, from online (which may be nil), the time-stamps, and the level
// reached. A file that cannot be read is an error; a bad signature is a
// report.
func Validate(ctx context.Context, r io.ReaderAt, size int64, t Trust, online Revocation) (*Report, error) {
	d, err := pdf.Open(r, size)
	if err != nil {
		return nil, err
	}
	sigs, err := d.Signatures()
	if err != nil {
		return nil, err
	}
	if len(sigs) == 0 {
		return nil, kernel.E(kernel.Invalid, "pades.error.no_signatures")
	}
	v := &validator{ctx: ctx, r: r, size: size, d: d, trust: t, online: online,
		onlineCache: map[string]evidence{}, dssAt: map[int64]*dssData{}}
	if v.trust.TSARoots == nil {
		v.trust.TSARoots = v.trust.Roots
	}
	if v.dss, err = v.readDSS(d); err != nil {
		return nil, err
	}

	rep := &Report{Signatures: make([]SignatureReport, len(sigs))}
	// Document time-stamps first: a later one is proof of existence for
	// the signatures before it.
	for i, s := range sigs {
		if s.SubFilter == pdf.SubFilterRFC3161 {
			rep.Signatures[i] = v.docTimestamp(s)
		}
	}
	for i, s := range sigs {
		if s.SubFilter != pdf.SubFilterRFC3161 {
			rep.Signatures[i] = v.signature(s)
		}
	}
	rep.Verdict = overall(rep.Signatures)
	return rep, nil
}

func overall(sigs []SignatureReport) Verdict {
	out := Passed
	for _, s := range sigs {
		switch s.Verdict {
		case Failed:
			return Failed
		case Indeterminate:
			out = Indeterminate
		}
	}
	return out
}

type dssData struct {
	ev    evidence
	certs []*x509.Certificate
}

type validator struct {
	ctx         context.Context
	r           io.ReaderAt
	size        int64
	d           *pdf.Document
	trust       Trust
	online      Revocation
	dss         *dssData
	onlineCache map[string]evidence
	dssAt       map[int64]*dssData // the DSS as it was at a revision
	proofs      []proof            // valid document time-stamps
}

// proof is a valid document time-stamp: everything before its revision
// existed at its time.
type proof struct {
	revision int64
	at       time.Time
}

func (v *validator) readDSS(d *pdf.Document) (*dssData, error) {
	s, err := d.DSS()
	if err != nil {
		return nil, err
	}
	out := &dssData{ev: evidence{ocsps: s.OCSPs, crls: s.CRLs}}
	for i, der := range s.Certs {
		if i >= maxEvidence {
			break
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			out.certs = append(out.certs, c)
		}
	}
	return out, nil
}

// dssOf is the DSS of the file as it was at revision.
func (v *validator) dssOf(revision int64) *dssData {
	if dd, ok := v.dssAt[revision]; ok {
		return dd
	}
	var dd *dssData
	if d, err := pdf.Open(io.NewSectionReader(v.r, 0, revision), revision); err == nil {
		dd, _ = v.readDSS(d)
	}
	if dd == nil {
		dd = &dssData{}
	}
	v.dssAt[revision] = dd
	return dd
}

func (v *validator) intermediates(extra []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range v.dss.certs {
		p.AddCert(c)
	}
	for _, c := range extra {
		p.AddCert(c)
	}
	return p
}

// result collects the reasons of one report and keeps its verdict the
// worst of them.
type result struct{ rep *SignatureReport }

func (r result) fail(key string)          { r.add(Failed, key) }
func (r result) indeterminate(key string) { r.add(Indeterminate, key) }

func (r result) add(v Verdict, key string) {
	key = "pades.reason." + key
	if !slices.Contains(r.rep.Reasons, key) {
		r.rep.Reasons = append(r.rep.Reasons, key)
	}
	if r.rep.Verdict != Failed {
		r.rep.Verdict = v
	}
}

// common does the checks every signature and time-stamp share: coverage
// and the changes made after it.
func (v *validator) common(s pdf.Signature, rep *SignatureReport) result {
	*rep = SignatureReport{Field: s.Field, Verdict: Passed, CoversWholeRevision: s.CoversRevision, Revocation: statusNotChecked}
	res := result{rep}
	if !s.CoversRevision {
		res.fail("byte_range")
		return res
	}
	changes, err := v.d.ChangesSince(s.Revision)
	if err != nil {
		res.indeterminate("malformed")
		return res
	}
	for _, c := range changes {
		if !c.Allowed {
			rep.ModifiedAfter = true
			res.fail("modified")
			break
		}
	}
	return res
}

// signature validates a CMS signature (ETSI.CAdES.detached, or the older
// adbe.pkcs7.detached, which gets no PAdES level).
func (v *validator) signature(s pdf.Signature) SignatureReport {
	var rep SignatureReport
	res := v.common(s, &rep)
	if s.SubFilter != pdf.SubFilterCAdES && s.SubFilter != pdf.SubFilterPKCS7 {
		res.indeterminate("unsupported_sub_filter")
		return rep
	}
	if claimed, _ := claimedSigner(s.Contents); claimed != nil {
		rep.SignerName, rep.SignerSubject = claimed.Subject.CommonName, claimed.Subject.String()
	}
	rep.SigningTime = s.Time
	if !s.CoversRevision {
		return rep
	}
	h, err := cms.DigestAlgorithm(s.Contents)
	if err != nil {
		res.add(cmsReason(err))
		return rep
	}
	digest, err := pdf.DigestRanges(v.r, s.ByteRange, h)
	if err != nil {
		res.fail("byte_range")
		return rep
	}

	// The earliest later document time-stamp proves the signature existed
	// then, even without a signature time-stamp (ETSI EN 319 142-1 §5.4.3).
	var later *proof
	for i := range v.proofs {
		if p := &v.proofs[i]; p.revision > s.Revision && (later == nil || p.at.Before(later.at)) {
			later = p
		}
	}
	opts := cms.VerifyOptions{Roots: v.trust.Roots, TSARoots: v.trust.TSARoots, Intermediates: v.intermediates(nil)}
	if later != nil {
		opts.At = later.at
	}
	cr, err := cms.Verify(s.Contents, digest, opts)
	if err == nil && cr.Timestamp != nil && later != nil && later.at.Before(cr.Timestamp.Time) {
		// Verified at the document time-stamp's time; the signature's own
		// time-stamp is later, and both are proofs: keep the earliest.
		cr.Timestamp = nil
	}
	if err != nil {
		res.add(cmsReason(err))
		return rep
	}
	rep.SignerName, rep.SignerSubject = cr.Signer.Subject.CommonName, cr.Signer.Subject.String()
	at := time.Now()
	poe := false
	switch {
	case cr.Timestamp != nil:
		at, poe = cr.Timestamp.Time, true
	case later != nil:
		at, poe = later.at, true
	}
	if poe {
		t := at
		rep.TimestampTime = &t
		rep.SigningTime = at
	}

	chain := cr.Chains[0]
	st, fromDSS, _ := v.status(chain, at)
	rep.Revocation = st
	v.judgeSigner(res, st, poe)

	tsaFromDSS := true
	if cr.Timestamp != nil && len(cr.Timestamp.Chains) > 0 {
		var tst string
		tst, tsaFromDSS, _ = v.status(cr.Timestamp.Chains[0], cr.Timestamp.Time)
		switch tst {
		case statusGood:
		case statusRevoked:
			res.indeterminate("timestamp_revoked")
		default:
			res.indeterminate("timestamp_revocation_unknown")
		}
	}

	if s.SubFilter != pdf.SubFilterCAdES || rep.Verdict != Passed {
		return rep
	}
	rep.Level = LevelBB
	if !poe {
		return rep
	}
	rep.Level = LevelBT
	if !fromDSS || !tsaFromDSS {
		return rep
	}
	rep.Level = LevelBLT
	// B-LTA: a document time-stamp after the signature over a DSS that
	// already held the evidence.
	for _, p := range v.proofs {
		if p.revision <= s.Revision {
			continue
		}
		dd := v.dssOf(p.revision)
		if st, _ := chainStatus(chain, at, dd.ev); st != statusGood {
			continue
		}
		if cr.Timestamp != nil && len(cr.Timestamp.Chains) > 0 {
			if st, _ := chainStatus(cr.Timestamp.Chains[0], cr.Timestamp.Time, dd.ev); st != statusGood {
				continue
			}
		}
		rep.Level = LevelBLTA
		break
	}
	return rep
}

// judgeSigner turns the signer's revocation status into reasons: revoked
// before a proven signing time means it was signed with a revoked key
// (failed); revoked with no proof of when it was signed cannot be decided
// (ETSI EN 319 102-1 REVOKED_NO_POE).
func (v *validator) judgeSigner(res result, st string, poe bool) {
	switch st {
	case statusGood:
	case statusRevoked:
		if poe {
			res.fail("revoked")
		} else {
			res.indeterminate("revoked_no_poe")
		}
	case statusNotChecked:
		res.indeterminate("revocation_not_checked")
	default:
		res.indeterminate("revocation_unknown")
	}
}

// docTimestamp validates a document time-stamp and, if valid, records it
// as proof of existence for what comes before it.
func (v *validator) docTimestamp(s pdf.Signature) SignatureReport {
	var rep SignatureReport
	res := v.common(s, &rep)
	rep.DocumentTimestamp = true
	if tsa := tokenSigner(s.Contents); tsa != nil {
		rep.SignerName, rep.SignerSubject = tsa.Subject.CommonName, tsa.Subject.String()
	}
	if !s.CoversRevision {
		return rep
	}
	h, err := cms.TimestampHash(s.Contents)
	if err != nil {
		res.add(cmsReason(err))
		return rep
	}
	digest, err := pdf.DigestRanges(v.r, s.ByteRange, h)
	if err != nil {
		res.fail("byte_range")
		return rep
	}
	ts, err := cms.ParseTimestampToken(s.Contents, digest, v.dss.certs...)
	if err != nil {
		if errors.Is(err, cms.ErrImprintMismatch) {
			res.fail("digest_mismatch")
		} else {
			res.add(cmsReason(err))
		}
		return rep
	}
	at := ts.Time
	rep.SigningTime, rep.TimestampTime = at, &at
	rep.SignerName, rep.SignerSubject = ts.TSA.Subject.CommonName, ts.TSA.Subject.String()
	chains, err := ts.TSA.Verify(x509.VerifyOptions{
		Roots: orEmpty(v.trust.TSARoots), Intermediates: v.intermediates(ts.Certificates),
		CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		res.add(chainReason(err))
		return rep
	}
	st, _, _ := v.status(chains[0], at)
	rep.Revocation = st
	switch st {
	case statusGood:
	case statusRevoked:
		res.indeterminate("timestamp_revoked")
	default:
		res.indeterminate("timestamp_revocation_unknown")
	}
	if rep.Verdict == Passed {
		v.proofs = append(v.proofs, proof{revision: s.Revision, at: at})
	}
	return rep
}

func orEmpty(p *x509.CertPool) *x509.CertPool {
	if p == nil {
		return x509.NewCertPool()
	}
	return p
}

// status is the revocation status of chain at `at`: from the DSS if it
// decides, else from the online source, else unknown ("not_checked" when
// there was no evidence at all). fromDSS says the DSS alone decided.
func (v *validator) status(chain []*x509.Certificate, at time.Time) (string, bool, time.Time) {
	if !v.dss.ev.empty() {
		if st, when := chainStatus(chain, at, v.dss.ev); st != statusUnknown {
			return st, true, when
		}
	}
	if v.online == nil || len(chain) == 0 {
		if v.dss.ev.empty() {
			return statusNotChecked, false, time.Time{}
		}
		return statusUnknown, false, time.Time{}
	}
	key := string(chain[0].Raw)
	ev, ok := v.onlineCache[key]
	if !ok {
		ocsps, crls, err := v.online.Evidence(v.ctx, chain)
		if err == nil {
			ev = evidence{ocsps: ocsps, crls: crls}
		}
		v.onlineCache[key] = ev
	}
	all := evidence{ocsps: slices.Concat(v.dss.ev.ocsps, ev.ocsps), crls: slices.Concat(v.dss.ev.crls, ev.crls)}
	st, when := chainStatus(chain, at, all)
	return st, false, when
}

// cmsReason maps a cms error to a verdict and reason: a proven mismatch
// fails; what depends on trust, time or algorithms is indeterminate.
func cmsReason(err error) (Verdict, string) {
	switch {
	case errors.Is(err, cms.ErrDigestMismatch):
		return Failed, "digest_mismatch"
	case errors.Is(err, cms.ErrBadSignature):
		return Failed, "bad_signature"
	case errors.Is(err, cms.ErrSigningCertificateMismatch):
		return Failed, "signing_certificate_mismatch"
	case errors.Is(err, cms.ErrUntrusted):
		return Indeterminate, "untrusted"
	case errors.Is(err, cms.ErrExpired):
		return Indeterminate, "certificate_expired"
	case errors.Is(err, cms.ErrKeyUsage):
		return Indeterminate, "key_usage"
	case errors.Is(err, cms.ErrTimestamp), errors.Is(err, cms.ErrImprintMismatch):
		return Indeterminate, "timestamp"
	case errors.Is(err, cms.ErrUnsupportedAlgorithm):
		return Indeterminate, "unsupported_algorithm"
	}
	return Failed, "malformed"
}

// chainReason maps an x509 chain error the way cmsReason does.
func chainReason(err error) (Verdict, string) {
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		switch invalid.Reason {
		case x509.Expired:
			return Indeterminate, "certificate_expired"
		case x509.IncompatibleUsage:
			return Indeterminate, "key_usage"
		}
	}
	return Indeterminate, "untrusted"
}
