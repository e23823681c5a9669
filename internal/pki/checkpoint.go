package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Stamper gets an RFC 3161 time-stamp token over a SHA-256 digest.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte) ([]byte, error)
}

// Checkpoint is a sealed head of the audit log.
type Checkpoint struct {
	Seq       int64
	Hash      string
	At        time.Time
	Signer    string // serial of the audit seal certificate
	Stamped   bool
	signature []byte
}

// checkpointDigest is what a checkpoint seals: a fixed label, so the
// signature means nothing else, and the head at a time.
func checkpointDigest(seq int64, hash string, at int64) []byte {
	sum := sha256.Sum256([]byte("civitas audit checkpoint v1\n" + strconv.FormatInt(seq, 10) + "\n" + hash + "\n" + strconv.FormatInt(at, 10)))
	return sum[:]
}

// Checkpoint seals the current head of the audit log with the audit key,
// time-stamped by stamper when it is not nil. Nothing is written when no
// record was added since the last checkpoint.
func (s *Service) Checkpoint(ctx context.Context, stamper Stamper) (Checkpoint, bool, error) {
	seal, err := s.CA(AuditSeal)
	if err != nil {
		return Checkpoint{}, false, err
	}
	head, err := audit.ReadHead(ctx, s.o.DB)
	if err != nil {
		return Checkpoint{}, false, err
	}
	var last int64
	if err := s.o.DB.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints`).Scan(&last); err != nil {
		return Checkpoint{}, false, kernel.Wrap(err, "pki: read checkpoints")
	}
	if head.Seq == 0 || head.Seq <= last {
		return Checkpoint{}, false, nil
	}
	at := kernel.Micros(s.o.Clock.Now())
	digest := checkpointDigest(head.Seq, head.Hash, at)
	sig, err := signDigest(seal.Signer, digest)
	if err != nil {
		return Checkpoint{}, false, kernel.Wrap(err, "pki: seal checkpoint")
	}
	var token []byte
	if stamper != nil {
		if token, err = stamper.Stamp(ctx, digest); err != nil {
			return Checkpoint{}, false, kernel.Wrap(err, "pki: time-stamp checkpoint")
		}
	}
	cp := Checkpoint{Seq: head.Seq, Hash: head.Hash, At: time.UnixMicro(at).UTC(), Signer: serialHex(seal.Cert.SerialNumber), Stamped: token != nil, signature: sig}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, signer_serial, signature, timestamp_token) VALUES (?, ?, ?, ?, ?, ?)`,
			cp.Seq, cp.Hash, at, cp.Signer, base64.StdEncoding.EncodeToString(sig), base64.StdEncoding.EncodeToString(token))
		return err
	})
	if db.IsUniqueViolation(err) {
		return Checkpoint{}, false, nil // another instance sealed this head
	}
	if err != nil {
		return Checkpoint{}, false, kernel.Wrap(err, "pki: store checkpoint")
	}
	return cp, true, nil
}

func signDigest(signer crypto.Signer, digest []byte) ([]byte, error) {
	return signer.Sign(rand.Reader, digest, crypto.SHA256)
}

func verifyDigest(pub crypto.PublicKey, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig) == nil
	}
	return false
}

// CheckpointReport is the result of VerifyCheckpoints.
type CheckpointReport struct {
	Checkpoints int   // verified
	Stamped     int   // of which carry a time-stamp token
	FirstBad    int64 // sequence number of the first checkpoint that does not verify
	Problem     string
}

// VerifyCheckpoints checks every checkpoint against the log as it is now:
// the record it names still has the sealed hash, the seal verifies, and the
// seal certificate chains to the root of the hierarchy. It needs only the
// public certificates, not the keys.
func VerifyCheckpoints(ctx context.Context, d *db.DB) (CheckpointReport, error) {
	var rep CheckpointReport
	certs := map[string]*x509.Certificate{}
	rows, err := d.Query(ctx, `SELECT name, cert FROM pki_cas`)
	if err != nil {
		return rep, kernel.Wrap(err, "pki: read CAs")
	}
	for rows.Next() {
		var name, c string
		if err := rows.Scan(&name, &c); err != nil {
			rows.Close()
			return rep, kernel.Wrap(err, "pki: read CAs")
		}
		if certs[name], err = parseStored(c); err != nil {
			rows.Close()
			return rep, kernel.Wrap(err, "pki: CA %s", name)
		}
	}
	rows.Close()
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	if certs[Root] != nil {
		roots.AddCert(certs[Root])
	}
	for name, c := range certs {
		if name != Root && c.IsCA {
			inter.AddCert(c)
		}
	}
	type cp struct {
		seq, at          int64
		hash, signer     string
		signature, stamp string
	}
	var cps []cp
	rows, err = d.Query(ctx, `SELECT seq, hash, at, signer_serial, signature, timestamp_token FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return rep, kernel.Wrap(err, "pki: read checkpoints")
	}
	for rows.Next() {
		var c cp
		if err := rows.Scan(&c.seq, &c.hash, &c.at, &c.signer, &c.signature, &c.stamp); err != nil {
			rows.Close()
			return rep, kernel.Wrap(err, "pki: read checkpoints")
		}
		cps = append(cps, c)
	}
	rows.Close()
	for _, c := range cps {
		fail := func(why string) (CheckpointReport, error) {
			rep.FirstBad, rep.Problem = c.seq, why
			return rep, nil
		}
		var recorded string
		err := d.QueryRow(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, c.seq).Scan(&recorded)
		if errNoRows(err) {
			return fail("the record it seals is gone")
		}
		if err != nil {
			return rep, kernel.Wrap(err, "pki: read log")
		}
		if recorded != c.hash {
			return fail("the record it seals was rewritten")
		}
		var certB64 string
		err = d.QueryRow(ctx, `SELECT cert FROM pki_certs WHERE serial = ?`, c.signer).Scan(&certB64)
		if err != nil {
			return fail("its seal certificate is unknown")
		}
		cert, err := parseStored(certB64)
		if err != nil {
			return fail("its seal certificate does not parse")
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: time.UnixMicro(c.at),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return fail(fmt.Sprintf("its seal certificate does not chain to the root: %v", err))
		}
		sig, err := base64.StdEncoding.DecodeString(c.signature)
		if err != nil || !verifyDigest(cert.PublicKey, checkpointDigest(c.seq, c.hash, c.at), sig) {
			return fail("its seal does not verify")
		}
		if c.stamp != "" {
			token, err := base64.StdEncoding.DecodeString(c.stamp)
			if err != nil || certs[TSA] == nil {
				return fail("its time-stamp token is unreadable")
			}
			at, err := verifyTimestamp(token, checkpointDigest(c.seq, c.hash, c.at), certs[TSA])
			if err != nil {
				return fail("its time-stamp does not verify: " + err.Error())
			}
			// The stamp is asked for just after sealing: a genTime far from
			// the sealed time means one of the two was forged.
			if sealed := time.UnixMicro(c.at); at.Before(sealed.Add(-time.Minute)) || at.After(sealed.Add(10*time.Minute)) {
				return fail(fmt.Sprintf("its time-stamp says %s, the seal %s", at.UTC().Format(time.RFC3339), sealed.UTC().Format(time.RFC3339)))
			}
			rep.Stamped++
		}
		rep.Checkpoints++
	}
	return rep, nil
}
