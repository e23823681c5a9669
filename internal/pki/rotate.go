package pki

import (
	"context"
	"slices"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Services are the service certificates an operator rotates without
// downtime: the TSA, the delegated OCSP signers and the audit seal. The
// root and the issuing CAs are renewed by the procedure in
// docs/operating.md, not by a command.
var Services = []string{TSA, OCSPCitizens, OCSPOfficials, AuditSeal}

// Rotated is a certificate that replaced another.
type Rotated struct {
	Name      string
	OldSerial string
	Serial    string
}

// RotateService gives a service certificate a new key, made in the key
// backend, and a new certificate from the same issuer. What the old one
// signed stays valid: time-stamp tokens and OCSP answers carry their
// signer's certificate, which stays in the certificate store (and the
// checkpoint verifier accepts the time-stamps of every TSA certificate the
// store holds), and the old certificate is not revoked. Every instance
// takes the new one within RevocationPoll (Reload). Audited as
// pki.ca.rotate by the actor in ctx.
func (s *Service) RotateService(ctx context.Context, name string) (Rotated, error) {
	if !slices.Contains(Services, name) {
		return Rotated{}, kernel.E(kernel.Invalid, "pki.error.not_rotatable", name)
	}
	cur, err := s.CA(name)
	if err != nil {
		return Rotated{}, err
	}
	issuer, err := s.CA(cur.Issuer)
	if err != nil {
		return Rotated{}, err
	}
	label := "ca:" + name + ":" + kernel.NewID()
	signer, err := s.o.Keys.Generate(ctx, label, s.o.Algorithm)
	if err != nil {
		return Rotated{}, err
	}
	now := s.o.Clock.Now()
	cert, err := s.sign(s.template(name, issuer, now), signer.Public(), issuer)
	if err != nil {
		return Rotated{}, err
	}
	r := Rotated{Name: name, OldSerial: serialHex(cur.Cert.SerialNumber), Serial: serialHex(cert.SerialNumber)}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		// Only from the certificate this rotation replaces: two rotations
		// at once, one wins.
		res, err := tx.Exec(ctx, `UPDATE pki_cas SET key_label = ?, cert = ?, created_at = ? WHERE name = ? AND key_label = ?`,
			label, stored(cert.Raw), kernel.Micros(tx.Now), name, cur.label)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return kernel.E(kernel.Conflict, "pki.error.rotated_meanwhile", name)
		}
		if err := insertCert(ctx, tx, issuer.Name, "service", "", label, cert); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "pki.ca.rotate", SubjectType: "certificate", SubjectID: r.Serial,
			Details: map[string]any{"ca": name, "issuer": issuer.Name, "replaces": r.OldSerial, "backend": s.o.Keys.Name(),
				"algorithm": string(s.o.Algorithm)}})
		return err
	})
	if err != nil {
		return Rotated{}, kernel.Wrap(err, "pki: rotate %s", name)
	}
	if _, err := s.Reload(ctx); err != nil {
		return r, err
	}
	return r, nil
}

// RotateSeal gives an agency a new seal (key and certificate): what it
// issues and signs from now on — wallet credentials, its status lists
// (signed with the seal), sealed PDFs — carries the new one, while the old
// seal stays valid, unrevoked and published in the issuer metadata, so
// every credential and document made before verifies as before. Audited
// as pki.seal.rotate beside the issuance's own record.
func (s *Service) RotateSeal(ctx context.Context, agencyCode string) (Rotated, error) {
	var old string
	err := s.o.DB.QueryRow(ctx, `SELECT serial FROM pki_certs WHERE account_id = ? AND kind = 'seal' AND revoked_at = 0 AND not_after > ?
		ORDER BY created_at DESC LIMIT 1`, SealOwner(agencyCode), kernel.Micros(s.o.Clock.Now())).Scan(&old)
	if err != nil && !errNoRows(err) {
		return Rotated{}, kernel.Wrap(err, "pki: seal of %s", agencyCode)
	}
	issued, err := s.IssueSeal(ctx, agencyCode)
	if err != nil {
		return Rotated{}, err
	}
	r := Rotated{Name: "seal:" + agencyCode, OldSerial: old, Serial: serialHex(issued.Cert.SerialNumber)}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "pki.seal.rotate", SubjectType: "agency", SubjectID: agencyCode,
			Details: map[string]any{"serial": r.Serial, "replaces": old}})
		return err
	})
	return r, kernel.Wrap(err, "pki: rotate seal")
}

// Reload brings a rotation made by another process (the operator's
// command, another instance) into this one: when a key of the hierarchy
// in the database is not the one loaded, it loads the hierarchy again and
// rebuilds the OCSP responders and the TSA on it. PollRevocations calls
// it, so every instance follows within RevocationPoll. It reports whether
// anything changed.
func (s *Service) Reload(ctx context.Context) (bool, error) {
	rows, err := s.o.DB.Query(ctx, `SELECT name, key_label FROM pki_cas`)
	if err != nil {
		return false, kernel.Wrap(err, "pki: read CAs")
	}
	changed := false
	n := 0
	s.mu.RLock()
	for rows.Next() {
		var name, label string
		if err := rows.Scan(&name, &label); err != nil {
			s.mu.RUnlock()
			rows.Close()
			return false, kernel.Wrap(err, "pki: read CAs")
		}
		n++
		if ca := s.cas[name]; ca == nil || ca.label != label {
			changed = true
		}
	}
	changed = changed || n != len(s.cas)
	s.mu.RUnlock()
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, kernel.Wrap(err, "pki: read CAs")
	}
	if !changed {
		return false, nil
	}
	if err := s.load(ctx); err != nil {
		return false, err
	}
	s.onlineMu.Lock()
	defer s.onlineMu.Unlock()
	if s.online.Load() == nil || !s.Ready() {
		return true, nil
	}
	on, err := s.startOnline(ctx)
	if err != nil {
		return true, err
	}
	s.online.Store(on)
	s.o.Logger.InfoContext(ctx, "pki: reloaded the hierarchy after a rotation")
	return true, nil
}
