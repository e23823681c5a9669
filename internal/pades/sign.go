package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"civitas/internal/cms"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// Session is a signature waiting for the holder: the prepared file's
// layout and digest, and what cms.Prepare needs to build the same signed
// attributes again. It holds no key and no document content, and is meant
// to be stored as JSON between Begin and Complete.
type Session struct {
	Level    Level        `json:"level"`
	Prepared pdf.Prepared `json:"prepared"`
	// Certificate and Chain (DER) go into the signed attributes and the
	// CMS; cms.Prepare is deterministic, so they and Prepared.Digest give
	// the same bytes again.
	Certificate []byte   `json:"certificate"`
	Chain       [][]byte `json:"chain"`
	// Digest is what the holder's key signs (SHA-256 of the signed
	// attributes); kept to check that Complete rebuilt the same thing.
	Digest []byte `json:"digest"`
}

// ToSign returns the SHA-256 digest the holder's key must sign.
func (s *Session) ToSign() []byte { return bytes.Clone(s.Digest) }

// Sign signs at once with signer, whose key must be o.Certificate's (an
// agency seal): it writes to w the file read from r (size bytes) with the
// signature and, by level, its time-stamp, a DSS and a document
// time-stamp, and returns the final size. From B-LT, w must be readable
// too (an *os.File), since the later updates read the signed file.
func Sign(ctx context.Context, w io.WriterAt, r io.ReaderAt, size int64, signer crypto.Signer, o Options) (int64, error) {
	s, pending, err := begin(w, r, size, o)
	if err != nil {
		return 0, err
	}
	// A key in memory signs inside cms, which need not verify the result.
	if k, ok := signer.(*ecdsa.PrivateKey); ok && k.PublicKey.Equal(o.Certificate.PublicKey) {
		der, err := pending.SignWithKey(k)
		if err != nil {
			return 0, err
		}
		return completeCMS(ctx, w, s, der, o.Certificate, o.Chain, o)
	}
	sig, err := signer.Sign(rand.Reader, s.Digest, crypto.SHA256)
	if err != nil {
		// A key backend's own coded error (a locked token) keeps its code.
		return 0, kernel.Wrap(err, "pades: sign")
	}
	// The certificates and signed attributes are at hand: no need to read
	// them back from the session as Complete must.
	return complete(ctx, w, s, pending, o.Certificate, o.Chain, sig, o)
}

// Begin writes to w the file read from r with a new signature field whose
// signature is still empty, and returns the session whose ToSign the
// holder's key must sign, minutes later perhaps, before Complete.
func Begin(ctx context.Context, w io.WriterAt, r io.ReaderAt, size int64, o Options) (*Session, error) {
	s, _, err := begin(w, r, size, o)
	return s, err
}

func begin(w io.WriterAt, r io.ReaderAt, size int64, o Options) (*Session, *cms.Pending, error) {
	if err := o.check(w); err != nil {
		return nil, nil, err
	}
	po := o.PDF
	po.SubFilter = pdf.SubFilterCAdES
	if po.SignTime.IsZero() {
		po.SignTime = time.Now()
	}
	if po.Reserve == 0 {
		po.Reserve = reserveFor(o)
	}
	p, err := pdf.Prepare(w, r, size, po)
	if err != nil {
		return nil, nil, err
	}
	pending, err := cms.Prepare(p.Digest, cmsOptions(o.Certificate, o.Chain))
	if err != nil {
		return nil, nil, err
	}
	s := &Session{Level: o.Level, Prepared: *p, Certificate: o.Certificate.Raw, Digest: pending.Digest()}
	for _, c := range o.Chain {
		s.Chain = append(s.Chain, c.Raw)
	}
	return s, pending, nil
}

// cmsOptions are the CMS options of a PAdES signature: no signing-time
// attribute (the time is the PDF's /M, ETSI EN 319 142-1 §5.3), SHA-256.
func cmsOptions(cert *x509.Certificate, chain []*x509.Certificate) cms.SignOptions {
	return cms.SignOptions{Certificate: cert, Chain: chain, Hash: crypto.SHA256}
}

// reserveFor estimates the room the CMS needs: the certificates it carries,
// the signature and attributes, and a time-stamp token with the TSA's.
func reserveFor(o Options) int {
	n := 2048 + len(o.Certificate.Raw)
	for _, c := range o.Chain {
		n += len(c.Raw)
	}
	if o.Level.rank() >= LevelBT.rank() {
		n += 4096
		for _, c := range o.TSAChain {
			n += len(c.Raw)
		}
	}
	return max(n, 16384)
}

// Complete takes the holder's signature over s.ToSign (ASN.1 or raw r||s
// ECDSA, or RSA PKCS #1 v1.5), puts the CMS into the file Begin wrote to w,
// and adds what the session's level needs. o gives the Stamper, the
// Revocation and the TSA chain; the level and certificates are the
// session's. It returns the final size of the file.
func Complete(ctx context.Context, w io.WriterAt, s *Session, signature []byte, o Options) (int64, error) {
	cert, err := x509.ParseCertificate(s.Certificate)
	if err != nil {
		return 0, kernel.E(kernel.Invalid, "pades.error.bad_session").WithCause(err)
	}
	var chain []*x509.Certificate
	for _, der := range s.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return 0, kernel.E(kernel.Invalid, "pades.error.bad_session").WithCause(err)
		}
		chain = append(chain, c)
	}
	o.Level, o.Certificate, o.Chain = s.Level, cert, chain
	if err := o.check(w); err != nil {
		return 0, err
	}
	pending, err := cms.Prepare(s.Prepared.Digest, cmsOptions(cert, chain))
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(pending.Digest(), s.Digest) {
		return 0, kernel.E(kernel.Invalid, "pades.error.bad_session").WithCause(errors.New("pades: the signed attributes differ from the session's"))
	}
	return complete(ctx, w, s, pending, cert, chain, signature, o)
}

// complete is Complete once the session's certificates are read and its
// signed attributes rebuilt.
func complete(ctx context.Context, w io.WriterAt, s *Session, pending *cms.Pending, cert *x509.Certificate, chain []*x509.Certificate, signature []byte, o Options) (int64, error) {
	der, err := pending.Finish(signature)
	if err != nil {
		return 0, err
	}
	return completeCMS(ctx, w, s, der, cert, chain, o)
}

// completeCMS is complete once the CMS is made: the time-stamp, the
// embedding, and what the level adds.
func completeCMS(ctx context.Context, w io.WriterAt, s *Session, der []byte, cert *x509.Certificate, chain []*x509.Certificate, o Options) (int64, error) {
	o.Level = s.Level
	var err error
	var token []byte
	if o.Level.rank() >= LevelBT.rank() {
		sv, err := cms.SignatureValue(der)
		if err != nil {
			return 0, err
		}
		sum := sha256.Sum256(sv)
		if token, err = o.Stamper.Stamp(ctx, sum[:]); err != nil {
			return 0, stampError(err)
		}
		if der, err = cms.AddTimestamp(der, token); err != nil {
			return 0, err
		}
	}
	p := s.Prepared
	if err := p.Embed(w, der); err != nil {
		return 0, err
	}
	size := p.Size
	if o.Level.rank() < LevelBLT.rank() {
		return size, nil
	}

	rw := w.(readWriterAt) // o.check made sure
	signer := buildChain(cert, chain)
	tsa := buildChain(tokenSigner(token), append(tokenCerts(token), o.TSAChain...))
	ev, err := gather(ctx, o.Revocation, signer, tsa)
	if err != nil {
		return 0, err
	}
	dss := pdf.DSS{InPlace: true, VRI: map[string]pdf.VRI{p.Field: ev}}
	if size, err = pdf.AddDSS(rw, rw, size, dss); err != nil {
		return 0, err
	}
	if o.Level.rank() < LevelBLTA.rank() {
		return size, nil
	}
	return docTimestamp(ctx, rw, size, o)
}

func stampError(err error) error {
	var ke *kernel.Error
	if errors.As(err, &ke) {
		return fmt.Errorf("pades: time-stamp: %w", err)
	}
	return kernel.E(kernel.Unavailable, "pades.error.timestamp_unavailable").WithCause(err)
}

// gather asks the revocation source about each chain and returns the
// certificates and the evidence, for the DSS.
func gather(ctx context.Context, rev Revocation, chains ...[]*x509.Certificate) (pdf.VRI, error) {
	var v pdf.VRI
	for _, chain := range chains {
		if len(chain) == 0 || chain[0] == nil {
			continue
		}
		for _, c := range chain {
			v.Certs = append(v.Certs, c.Raw)
		}
		ocsps, crls, err := rev.Evidence(ctx, chain)
		if err != nil {
			var ke *kernel.Error
			if errors.As(err, &ke) {
				return v, fmt.Errorf("pades: revocation evidence: %w", err)
			}
			return v, kernel.E(kernel.Unavailable, "pades.error.revocation_unavailable").WithCause(err)
		}
		v.OCSPs = append(v.OCSPs, ocsps...)
		v.CRLs = append(v.CRLs, crls...)
	}
	return v, nil
}

// docTimestamp adds a document time-stamp (ETSI.RFC3161) to the file in
// rw, in place, and returns the new size.
func docTimestamp(ctx context.Context, rw readWriterAt, size int64, o Options) (int64, error) {
	reserve := 8192
	for _, c := range o.TSAChain {
		reserve += len(c.Raw)
	}
	if len(o.TSAChain) == 0 {
		reserve = 16384
	}
	// /M is the time asked, a moment before the token's genTime: what
	// viewers that do not read the token show as the signing time.
	p, err := pdf.Prepare(rw, rw, size, pdf.SignOptions{SubFilter: pdf.SubFilterRFC3161, Reserve: reserve, InPlace: true, SignTime: time.Now()})
	if err != nil {
		return 0, err
	}
	token, err := o.Stamper.Stamp(ctx, p.Digest)
	if err != nil {
		return 0, stampError(err)
	}
	if err := p.Embed(rw, token); err != nil {
		return 0, err
	}
	return p.Size, nil
}

// Extend renews a B-LTA file: it writes to w the file read from r with a
// DSS holding the evidence for the TSA of the newest document time-stamp,
// and a new document time-stamp over everything, so that the proof
// outlives the old TSA's certificate and algorithms. w must be readable
// (an *os.File); o needs Stamper and Revocation, and TSAChain for the new
// time-stamp's DSS room. It returns the new size.
func Extend(ctx context.Context, w io.WriterAt, r io.ReaderAt, size int64, o Options) (int64, error) {
	if o.Stamper == nil {
		return 0, kernel.E(kernel.Invalid, "pades.error.no_stamper")
	}
	if o.Revocation == nil {
		return 0, kernel.E(kernel.Invalid, "pades.error.no_revocation")
	}
	rw, ok := w.(readWriterAt)
	if !ok {
		return 0, kernel.E(kernel.Invalid, "pades.error.output_not_readable")
	}
	d, err := pdf.Open(r, size)
	if err != nil {
		return 0, err
	}
	sigs, err := d.Signatures()
	if err != nil {
		return 0, err
	}
	var last *pdf.Signature
	for i := range sigs {
		if sigs[i].SubFilter == pdf.SubFilterRFC3161 {
			last = &sigs[i]
		}
	}
	if last == nil {
		return 0, kernel.E(kernel.Invalid, "pades.error.not_lta")
	}
	chain := buildChain(tokenSigner(last.Contents), append(tokenCerts(last.Contents), o.TSAChain...))
	ev, err := gather(ctx, o.Revocation, chain)
	if err != nil {
		return 0, err
	}
	size, err = pdf.AddDSS(rw, r, size, pdf.DSS{VRI: map[string]pdf.VRI{last.Field: ev}})
	if err != nil {
		return 0, err
	}
	return docTimestamp(ctx, rw, size, o)
}

// buildChain orders a chain from leaf up through the certificates given,
// each the issuer of the one before, up to a self-signed one or as far as
// the pool goes.
func buildChain(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	if leaf == nil {
		return nil
	}
	chain := []*x509.Certificate{leaf}
	for cur := leaf; len(chain) < 8; {
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) && cur.CheckSignatureFrom(cur) == nil {
			break
		}
		var next *x509.Certificate
		for _, c := range pool {
			if c != nil && !c.Equal(cur) && bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	return chain
}
