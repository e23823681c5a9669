package pki

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Anchor is a trusted root imported for validation: the national root CA,
// another province's root, a CA an agreement names. Signatures chaining to
// it pass validation as signatures chaining to this province's root do.
type Anchor struct {
	Fingerprint string // hex SHA-256 of the DER certificate
	Name        string
	Cert        *x509.Certificate
	AddedAt     time.Time
}

// Anchors is the store of imported trust anchors. It needs the database
// only — no keys — so that validating, on a server or from the command
// line, never opens the key backend.
type Anchors struct {
	db    *db.DB
	clock kernel.Clock

	mu     sync.Mutex
	parsed map[string]*x509.Certificate // by stored form: certificates parse once
}

// NewAnchors returns the store of d.
func NewAnchors(d *db.DB, clock kernel.Clock) *Anchors {
	return &Anchors{db: d, clock: clock, parsed: map[string]*x509.Certificate{}}
}

// Fingerprint is how anchors are named: hex SHA-256 of the DER certificate.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Add imports cert as a trust anchor named name. Only a CA certificate
// within its validity may be an anchor; the same certificate twice is a
// Conflict. The import is audited.
func (a *Anchors) Add(ctx context.Context, name string, cert *x509.Certificate) (Anchor, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		return Anchor{}, kernel.E(kernel.Invalid, "pki.error.anchor_name")
	}
	now := a.clock.Now()
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return Anchor{}, kernel.E(kernel.Invalid, "pki.error.anchor_not_ca")
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return Anchor{}, kernel.E(kernel.Invalid, "pki.error.anchor_expired")
	}
	an := Anchor{Fingerprint: Fingerprint(cert), Name: name, Cert: cert, AddedAt: now.Truncate(time.Microsecond)}
	err := a.db.Update(ctx, now, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pki_anchors WHERE fingerprint = ?`, an.Fingerprint).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return kernel.E(kernel.Conflict, "pki.error.anchor_exists")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pki_anchors (fingerprint, name, cert, added_at) VALUES (?, ?, ?, ?)`,
			an.Fingerprint, name, stored(cert.Raw), kernel.Micros(tx.Now)); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "pki.anchor.add", SubjectType: "trust_anchor", SubjectID: an.Fingerprint,
			Details: map[string]string{"subject": cert.Subject.String()}})
		return err
	})
	if err != nil {
		return Anchor{}, err
	}
	return an, nil
}

// Remove stops trusting the anchor with that fingerprint; audited.
func (a *Anchors) Remove(ctx context.Context, fingerprint string) error {
	fingerprint = strings.ToLower(strings.TrimSpace(fingerprint))
	err := a.db.Update(ctx, a.clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM pki_anchors WHERE fingerprint = ?`, fingerprint)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.NotFound, "pki.error.no_anchor")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "pki.anchor.remove", SubjectType: "trust_anchor", SubjectID: fingerprint})
		return err
	})
	return err
}

// List returns the imported anchors, oldest first.
func (a *Anchors) List(ctx context.Context) ([]Anchor, error) {
	rows, err := a.db.Query(ctx, `SELECT fingerprint, name, cert, added_at FROM pki_anchors ORDER BY added_at, fingerprint`)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: anchors")
	}
	defer rows.Close()
	var out []Anchor
	for rows.Next() {
		var an Anchor
		var b64 string
		var at int64
		if err := rows.Scan(&an.Fingerprint, &an.Name, &b64, &at); err != nil {
			return nil, kernel.Wrap(err, "pki: anchors")
		}
		if an.Cert, err = a.parse(b64); err != nil {
			return nil, err
		}
		an.AddedAt = time.UnixMicro(at).UTC()
		out = append(out, an)
	}
	return out, kernel.Wrap(rows.Err(), "pki: anchors")
}

// parse parses a stored certificate once.
func (a *Anchors) parse(b64 string) (*x509.Certificate, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.parsed[b64]; c != nil {
		return c, nil
	}
	c, err := parseStored(b64)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: anchor")
	}
	a.parsed[b64] = c
	return c, nil
}

// Roots returns this province's root (from d, without keys) and every
// imported anchor, and how many that is: what validation trusts. It is
// read for every call, so an anchor added or removed counts at once.
func (a *Anchors) Roots(ctx context.Context) (*x509.CertPool, int, error) {
	pool, n := x509.NewCertPool(), 0
	var b64 string
	err := a.db.QueryRow(ctx, `SELECT cert FROM pki_cas WHERE name = ?`, Root).Scan(&b64)
	switch {
	case err == nil:
		c, err := a.parse(b64)
		if err != nil {
			return nil, 0, err
		}
		pool.AddCert(c)
		n++
	case !errNoRows(err):
		return nil, 0, kernel.Wrap(err, "pki: roots")
	}
	list, err := a.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, an := range list {
		pool.AddCert(an.Cert)
	}
	return pool, n + len(list), nil
}
