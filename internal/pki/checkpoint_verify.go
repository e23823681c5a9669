package pki

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// sealChecker checks checkpoints' seals and time-stamps against the
// hierarchy in the database: the seal certificate the checkpoint names
// must chain to the root and be valid when it sealed, its signature must
// verify, and a time-stamp must be the TSA's, over the same digest, at
// about the sealed time. It needs only the public certificates.
type sealChecker struct {
	d            *db.DB
	roots, inter *x509.CertPool
	tsas         []*x509.Certificate   // the TSA's certificates, the rotated ones too
	signers      map[string]sealSigner // by serial, chains checked once
}

// sealSigner is a seal certificate and the window in which it and every
// certificate of its chain are valid (or why it cannot be used).
type sealSigner struct {
	cert        *x509.Certificate
	from, until time.Time
	problem     string
}

func newSealChecker(ctx context.Context, d *db.DB) (*sealChecker, error) {
	c := &sealChecker{d: d, roots: x509.NewCertPool(), inter: x509.NewCertPool(), signers: map[string]sealSigner{}}
	rows, err := d.Query(ctx, `SELECT name, cert FROM pki_cas`)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: read CAs")
	}
	defer rows.Close()
	for rows.Next() {
		var name, b64 string
		if err := rows.Scan(&name, &b64); err != nil {
			return nil, kernel.Wrap(err, "pki: read CAs")
		}
		cert, err := parseStored(b64)
		if err != nil {
			return nil, kernel.Wrap(err, "pki: CA %s", name)
		}
		switch {
		case name == Root:
			c.roots.AddCert(cert)
		case name == TSA:
			c.tsas = append(c.tsas, cert)
		case cert.IsCA:
			c.inter.AddCert(cert)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "pki: read CAs")
	}
	// A rotated TSA certificate stamped the checkpoints of its time.
	old, err := d.Query(ctx, `SELECT cert FROM pki_certs WHERE kind = 'service' AND key_label LIKE 'ca:tsa:%'`)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: read TSA certificates")
	}
	defer old.Close()
	for old.Next() {
		var b64 string
		if err := old.Scan(&b64); err != nil {
			return nil, kernel.Wrap(err, "pki: read TSA certificates")
		}
		cert, err := parseStored(b64)
		if err != nil {
			return nil, kernel.Wrap(err, "pki: TSA certificate")
		}
		if !slices.ContainsFunc(c.tsas, cert.Equal) {
			c.tsas = append(c.tsas, cert)
		}
	}
	if err := old.Err(); err != nil {
		return nil, kernel.Wrap(err, "pki: read TSA certificates")
	}
	return c, nil
}

// signer returns the seal certificate of serial with its validity window;
// the chain is built once per serial.
func (c *sealChecker) signer(ctx context.Context, serial string, at time.Time) (sealSigner, error) {
	if s, ok := c.signers[serial]; ok {
		return s, nil
	}
	var s sealSigner
	var b64 string
	err := c.d.QueryRow(ctx, `SELECT cert FROM pki_certs WHERE serial = ?`, serial).Scan(&b64)
	switch {
	case errNoRows(err):
		s.problem = "its seal certificate is unknown"
	case err != nil:
		return s, kernel.Wrap(err, "pki: read seal certificate")
	default:
		if s.cert, err = parseStored(b64); err != nil {
			s.problem = "its seal certificate does not parse"
			break
		}
		chains, err := s.cert.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: c.inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			s.problem = fmt.Sprintf("its seal certificate does not chain to the root: %v", err)
			break
		}
		s.from, s.until = s.cert.NotBefore, s.cert.NotAfter
		for _, cert := range chains[0] {
			s.from, s.until = later(s.from, cert.NotBefore), earlier(s.until, cert.NotAfter)
		}
	}
	c.signers[serial] = s
	return s, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// check returns why cp's seal or time-stamp does not verify ("" when they
// do) and whether it is time-stamped. It does not look at the log.
func (c *sealChecker) check(ctx context.Context, cp Checkpoint) (problem string, stamped bool, err error) {
	s, err := c.signer(ctx, cp.Signer, cp.At)
	if err != nil {
		return "", false, err
	}
	if s.problem != "" {
		return s.problem, false, nil
	}
	if cp.At.Before(s.from) || cp.At.After(s.until) {
		return fmt.Sprintf("its seal certificate (or a CA above it) was not valid at %s", cp.At.Format(time.RFC3339)), false, nil
	}
	digest := cp.digest()
	if !verifyDigest(s.cert.PublicKey, digest, cp.Signature) {
		return "its seal does not verify", false, nil
	}
	if len(cp.Token) == 0 {
		return "", false, nil
	}
	if len(c.tsas) == 0 {
		return "its time-stamp token is unreadable: no TSA certificate", false, nil
	}
	// The token names its signer: the TSA certificate of its time. The
	// reason given is that certificate's, when one of them is.
	var at time.Time
	var why error
	for _, tsa := range c.tsas {
		t, err := verifyTimestamp(cp.Token, digest, tsa)
		if err == nil {
			at, why = t, nil
			break
		}
		if why == nil || !errors.Is(err, errOtherSigner) {
			why = err
		}
	}
	if why != nil {
		return "its time-stamp does not verify: " + why.Error(), false, nil
	}
	// The stamp is asked for just after sealing: a genTime far from the
	// sealed time means one of the two was forged.
	if at.Before(cp.At.Add(-time.Minute)) || at.After(cp.At.Add(10*time.Minute)) {
		return fmt.Sprintf("its time-stamp says %s, the seal %s", at.UTC().Format(time.RFC3339), cp.At.Format(time.RFC3339)), false, nil
	}
	return "", true, nil
}

// CheckpointReport is the result of VerifyCheckpoints.
type CheckpointReport struct {
	Checkpoints int   // verified
	Stamped     int   // of which carry a time-stamp token
	FirstBad    int64 // sequence number of the first checkpoint that does not verify
	Problem     string
}

// VerifyCheckpoints checks every checkpoint in the database against the
// log as it is now: the record it names still has the sealed hash, the
// seal verifies, and the seal certificate chains to the root of the
// hierarchy. It needs only the public certificates, not the keys. It
// cannot see checkpoints deleted with the records they seal: witnesses'
// copies can (VerifyWitness).
func VerifyCheckpoints(ctx context.Context, d *db.DB) (CheckpointReport, error) {
	var rep CheckpointReport
	sc, err := newSealChecker(ctx, d)
	if err != nil {
		return rep, err
	}
	type stored struct {
		seq, at                 int64
		hash, signer, sig, stmp string
	}
	var all []stored
	rows, err := d.Query(ctx, `SELECT seq, hash, at, signer_serial, signature, timestamp_token FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return rep, kernel.Wrap(err, "pki: read checkpoints")
	}
	for rows.Next() {
		var c stored
		if err := rows.Scan(&c.seq, &c.hash, &c.at, &c.signer, &c.sig, &c.stmp); err != nil {
			rows.Close()
			return rep, kernel.Wrap(err, "pki: read checkpoints")
		}
		all = append(all, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, kernel.Wrap(err, "pki: read checkpoints")
	}
	for _, c := range all {
		fail := func(why string) (CheckpointReport, error) {
			rep.FirstBad, rep.Problem = c.seq, why
			return rep, nil
		}
		problem, err := recordProblem(ctx, d, c.seq, c.hash)
		if err != nil {
			return rep, err
		}
		if problem != "" {
			return fail("the record it seals " + problem)
		}
		cp := Checkpoint{Seq: c.seq, Hash: c.hash, At: kernel.FromMicros(c.at).UTC(), Signer: c.signer}
		if cp.Signature, err = base64.StdEncoding.DecodeString(c.sig); err != nil {
			return fail("its seal does not verify")
		}
		if cp.Token, err = base64.StdEncoding.DecodeString(c.stmp); err != nil {
			return fail("its time-stamp token is unreadable")
		}
		problem, stamped, err := sc.check(ctx, cp)
		if err != nil {
			return rep, err
		}
		if problem != "" {
			return fail(problem)
		}
		if stamped {
			rep.Stamped++
		}
		rep.Checkpoints++
	}
	return rep, nil
}

// recordProblem says what happened to record seq if its hash is no longer
// hash: "is gone" or "was rewritten"; "" while it is intact.
func recordProblem(ctx context.Context, d *db.DB, seq int64, hash string) (string, error) {
	var recorded string
	err := d.QueryRow(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, seq).Scan(&recorded)
	switch {
	case errNoRows(err):
		return "is gone", nil
	case err != nil:
		return "", kernel.Wrap(err, "pki: read log")
	case recorded != hash:
		return "was rewritten", nil
	}
	return "", nil
}

// Witnessed is a checkpoint from a witness's copies, with where it was read
// ("witness.jsonl line 7", a URL) and its bytes as published.
type Witnessed struct {
	Checkpoint
	Raw  []byte
	From string
}

// WitnessReport is the result of VerifyWitness.
type WitnessReport struct {
	Checkpoints int        // witnessed checkpoints verified
	Stamped     int        // of which carry a time-stamp token
	Newest      Checkpoint // the verified checkpoint sealing the most records
	// Bad is the first witnessed checkpoint that does not verify, Problem
	// says why in a sentence naming it.
	Bad     *Witnessed
	Problem string
}

// OK reports whether every witnessed checkpoint verified.
func (r WitnessReport) OK() bool { return r.Problem == "" }

// VerifyWitness checks checkpoints a witness kept against the log as it is
// now: each one's seal and time-stamp verify against the hierarchy, and the
// log still holds a record at each witnessed count whose hash is the
// witnessed head. With audit.Verify (every record links to the one before
// it) that proves no record up to the newest witnessed checkpoint was
// removed or changed, even by someone who deleted the tail of the log, set
// the head back and deleted the checkpoints that sealed it. It stops at the
// first that does not verify; an error of the source (an unreadable line)
// ends it with that error.
func VerifyWitness(ctx context.Context, d *db.DB, witnessed iter.Seq2[Witnessed, error]) (WitnessReport, error) {
	var rep WitnessReport
	sc, err := newSealChecker(ctx, d)
	if err != nil {
		return rep, err
	}
	head, err := audit.ReadHead(ctx, d)
	if err != nil {
		return rep, err
	}
	for w, err := range witnessed {
		if err != nil {
			return rep, err
		}
		name := fmt.Sprintf("the checkpoint witnessed in %s (%d records, head %s, sealed %s)", w.From, w.Seq, shortHash(w.Hash), w.At.Format(time.RFC3339))
		fail := func(why string) (WitnessReport, error) {
			rep.Bad, rep.Problem = &w, name+": "+why
			return rep, nil
		}
		problem, stamped, err := sc.check(ctx, w.Checkpoint)
		if err != nil {
			return rep, err
		}
		if problem != "" {
			return fail(problem)
		}
		problem, err = recordProblem(ctx, d, w.Seq, w.Hash)
		if err != nil {
			return rep, err
		}
		switch {
		case problem == "is gone" && head.Seq+1 == w.Seq:
			return fail(fmt.Sprintf("the log ends at record %d: record %d was removed", head.Seq, w.Seq))
		case problem == "is gone" && head.Seq < w.Seq:
			return fail(fmt.Sprintf("the log ends at record %d: records %d to %d were removed", head.Seq, head.Seq+1, w.Seq))
		case problem != "":
			return fail(fmt.Sprintf("record %d %s", w.Seq, problem))
		}
		if stamped {
			rep.Stamped++
		}
		rep.Checkpoints++
		if w.Seq > rep.Newest.Seq {
			rep.Newest = w.Checkpoint
		}
	}
	return rep, nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
