package wallet

import (
	"context"
	"crypto/ecdsa"
	"database/sql"
	"errors"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
)

// Issuance is an agency issuing a document.
type Issuance struct {
	Agency string // code of the issuing agency
	Type   string
	Holder Holder
	// Claims are the document's claims; nil fills them from the registry
	// that holds the type (the population or business registry).
	Claims map[string]any
	// Replaces names a document of the same holder and type this one
	// re-issues; it is revoked in the same transaction.
	Replaces string
	// Record names the registry record to fill the claims from, where the
	// registry holds several for one holder: a vehicle's number plate. Empty
	// takes the holder's only record; it needs nil Claims.
	Record string
}

// VCT is the credential type (vct) of a document type: a URL under the
// issuer, where the type's metadata is served.
func (s *Service) VCT(typeCode string) string { return s.o.Issuer + "/wallet/types/" + typeCode }

// prepared is an issuance checked and ready to sign.
type prepared struct {
	in      Issuance
	t       Type
	claims  map[string]any
	expires time.Time // when the registry's record ends; zero: the type's validity
	seal    cachedSeal
}

// prepare checks an issuance: the type exists and is for this kind of
// holder, the agency may issue it, the holder exists, the claims fit.
func (s *Service) prepare(ctx context.Context, in Issuance) (prepared, error) {
	t, err := s.o.Catalogue.Type(in.Type)
	if err != nil {
		return prepared{}, err
	}
	if in.Holder.Kind != t.Holder {
		return prepared{}, kernel.E(kernel.Invalid, "wallet.error.wrong_holder")
	}
	agency, err := s.o.Registries.Agency(ctx, in.Agency)
	if err != nil {
		return prepared{}, err
	}
	if !t.IssuedBy(agency.Kind) {
		return prepared{}, kernel.E(kernel.Forbidden, "wallet.error.not_issuer")
	}
	var claims map[string]any
	var expires time.Time
	if in.Claims == nil {
		if t.Source == "" {
			return prepared{}, kernel.E(kernel.Invalid, "wallet.error.no_source")
		}
		rec, err := s.claimsFromRegistry(ctx, t, in.Holder, in.Record)
		if err != nil {
			return prepared{}, err
		}
		claims, expires = rec.claims, rec.expires
	} else {
		if in.Record != "" {
			return prepared{}, kernel.E(kernel.Invalid, "wallet.error.record_not_used")
		}
		if err := s.holderExists(ctx, in.Holder); err != nil {
			return prepared{}, err
		}
		claims = normaliseClaims(in.Claims)
	}
	if err := t.CheckClaims(claims); err != nil {
		return prepared{}, err
	}
	seal, err := s.seal(ctx, agency.Code)
	if err != nil {
		return prepared{}, err
	}
	return prepared{in: in, t: t, claims: claims, expires: expires, seal: seal}, nil
}

// holderExists: documents go to people of the population registry and
// organisations of the business registry only.
func (s *Service) holderExists(ctx context.Context, h Holder) error {
	switch h.Kind {
	case HolderPerson:
		if _, err := registry.ParseCitizenID(h.ID); err != nil {
			return err
		}
		_, err := s.o.Registries.Person(ctx, h.ID)
		return err
	case HolderOrganisation:
		_, err := s.o.Registries.Business(ctx, h.ID)
		return err
	}
	return kernel.E(kernel.Invalid, "wallet.error.wrong_holder")
}

// Issue issues a document: an SD-JWT VC signed with the agency's seal key,
// every claim selectively disclosable, bound to the holder's key, with an
// entry in the agency's status list; stored sealed in the holder's wallet
// and audited, all in one transaction (shared with concurrent issuances).
func (s *Service) Issue(ctx context.Context, in Issuance) (Detailed, error) {
	p, err := s.prepare(ctx, in)
	if err != nil {
		return Detailed{}, err
	}
	holderKey, err := s.existingHolderKey(ctx, in.Holder)
	if err != nil {
		return Detailed{}, err
	}
	if err := s.ensureGroup(ctx, StatusGroup(in.Agency)); err != nil {
		return Detailed{}, err
	}
	var out Detailed
	err = s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		out, err = s.issueIn(ctx, tx, p, holderKey)
		return err
	})
	if err != nil {
		return Detailed{}, err
	}
	return out, nil
}

// ensureGroup makes sure of an agency's status lists once per process:
// Ensure is a transaction of its own and reloads the group's free indexes,
// far too much for every issuance.
func (s *Service) ensureGroup(ctx context.Context, g string) error {
	if _, ok := s.ensured.Load(g); ok {
		return nil
	}
	if err := s.o.Status.Ensure(ctx, g); err != nil {
		return err
	}
	s.ensured.Store(g, struct{}{})
	return nil
}

// existingHolderKey is the holder's key if they have one already (read
// outside the writer); nil means issueIn makes it.
func (s *Service) existingHolderKey(ctx context.Context, h Holder) (*ecdsa.PrivateKey, error) {
	var stored string
	err := s.o.DB.QueryRow(ctx, `SELECT private_sealed FROM wallet_holder_keys WHERE holder_kind = ? AND holder_id = ?`, h.Kind, h.ID).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: holder key")
	}
	return s.openHolderKey(h, stored)
}

func (s *Service) issueIn(ctx context.Context, tx *db.Tx, p prepared, holderKey *ecdsa.PrivateKey) (Detailed, error) {
	var err error
	if holderKey == nil {
		if holderKey, err = s.holderKey(ctx, tx, p.in.Holder); err != nil {
			return Detailed{}, err
		}
	}
	if p.in.Replaces != "" {
		if err := s.supersede(ctx, tx, p); err != nil {
			return Detailed{}, err
		}
	}
	entry, err := s.o.Status.Allocate(ctx, tx, StatusGroup(p.in.Agency))
	if err != nil {
		return Detailed{}, err
	}
	now := tx.Now.Truncate(time.Second)
	expires := p.expires
	if expires.IsZero() {
		expires = p.t.ExpiresAt(now)
	}
	d := Document{ID: kernel.NewID(), Type: p.t.Code, Holder: p.in.Holder, Agency: p.in.Agency,
		IssuedAt: tx.Now.Truncate(time.Microsecond), ExpiresAt: expires, Status: StatusValid, Replaces: p.in.Replaces}
	claims := make(map[string]any, len(p.claims)+1)
	for k, v := range p.claims {
		claims[k] = v
	}
	claims["issuing_authority"] = p.in.Agency
	// Every claim the type has may be disclosed alone; which agency issued
	// it stays visible, as the signature shows it anyway.
	paths := make([][]string, 0, len(p.claims))
	for k := range p.claims {
		paths = append(paths, []string{k})
	}
	cred, err := sdjwt.Issue(p.seal.signer, jose.Header{Alg: p.seal.alg, Kid: p.seal.kid}, claims, sdjwt.Selective{Paths: paths},
		sdjwt.IssueOptions{Issuer: s.o.Issuer, VCT: s.VCT(p.t.Code), IssuedAt: now, Expiry: d.ExpiresAt, Holder: &holderKey.PublicKey,
			Status: &sdjwt.StatusRef{Index: int64(entry.Index), URI: entry.URI}})
	if err != nil {
		return Detailed{}, kernel.Wrap(err, "wallet: issue")
	}
	stored, err := s.sealDocument(d.ID, sealedDocument{Credential: cred, Claims: p.claims})
	if err != nil {
		return Detailed{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO wallet_documents (id, type, holder_kind, holder_id, agency, issued_at, expires_at, status,
		status_list, status_idx, sealed, hidden, replaces, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		d.ID, d.Type, d.Holder.Kind, d.Holder.ID, d.Agency, kernel.Micros(d.IssuedAt), micros(d.ExpiresAt), d.Status,
		entry.List, entry.Index, stored, d.Replaces, kernel.Micros(tx.Now)); err != nil {
		return Detailed{}, kernel.Wrap(err, "wallet: issue")
	}
	if err := audit.Queue(ctx, tx, auditDocument("wallet.issue", d, nil)); err != nil {
		return Detailed{}, err
	}
	return Detailed{Document: d, Claims: p.claims, Credential: cred}, nil
}

// StatusGroup is the group of status lists of an agency's documents,
// signed with its seal: the agency code in lower case (list names are).
func StatusGroup(agency string) string { return strings.ToLower(agency) }

// AgencyOfGroup is the agency whose documents a status-list group holds.
func (s *Service) AgencyOfGroup(ctx context.Context, group string) (string, error) {
	var code string
	err := s.o.DB.QueryRow(ctx, `SELECT code FROM agencies WHERE LOWER(code) = ? ORDER BY code LIMIT 1`, group).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", kernel.E(kernel.NotFound, "wallet.error.no_agency")
	}
	if err != nil {
		return "", kernel.Wrap(err, "wallet: agency of group")
	}
	return code, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return kernel.Micros(t)
}

// supersede revokes the document a re-issue replaces: same holder, same
// type, same issuing agency, still valid or suspended.
func (s *Service) supersede(ctx context.Context, tx *db.Tx, p prepared) error {
	d, list, idx, err := s.forAgency(ctx, tx, p.in.Agency, p.in.Replaces)
	if err != nil {
		return err
	}
	if d.Holder != p.in.Holder || d.Type != p.t.Code {
		return kernel.E(kernel.Invalid, "wallet.error.replaces_other")
	}
	return s.setStatus(ctx, tx, d, list, idx, StatusRevoked, "superseded")
}

// forAgency reads a document for a status change by the agency that
// issued it; another agency's document is NotFound.
func (s *Service) forAgency(ctx context.Context, tx *db.Tx, agency, id string) (Document, string, int, error) {
	var list string
	var idx int
	d, err := scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+`, status_list, status_idx FROM wallet_documents WHERE id = ? AND agency = ?`,
		id, agency), &list, &idx)
	if errors.Is(err, sql.ErrNoRows) {
		return Document{}, "", 0, kernel.E(kernel.NotFound, "wallet.error.no_document")
	}
	if err != nil {
		return Document{}, "", 0, kernel.Wrap(err, "wallet: document")
	}
	return d, list, idx, nil
}

// setStatus moves a document to status, in its status list too.
func (s *Service) setStatus(ctx context.Context, tx *db.Tx, d Document, list string, idx int, status, reason string) error {
	switch {
	case d.Status == StatusRevoked:
		return kernel.E(kernel.Conflict, "wallet.error.revoked")
	case d.Status == status:
		return kernel.E(kernel.Conflict, "wallet.error.same_status")
	}
	st := statuslist.Valid
	switch status {
	case StatusRevoked:
		st = statuslist.Invalid
	case StatusSuspended:
		st = statuslist.Suspended
	}
	if err := s.o.Status.Set(ctx, tx, list, idx, st); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE wallet_documents SET status = ?, changed_at = ? WHERE id = ?`, status, kernel.Micros(tx.Now), d.ID); err != nil {
		return kernel.Wrap(err, "wallet: status")
	}
	if status == StatusRevoked {
		// A revoked document is never served as a PDF again: its copies go.
		if _, err := tx.Exec(ctx, `DELETE FROM wallet_renderings WHERE document_id = ?`, d.ID); err != nil {
			return kernel.Wrap(err, "wallet: status")
		}
	}
	action := map[string]string{StatusRevoked: "wallet.revoke", StatusSuspended: "wallet.suspend", StatusValid: "wallet.reinstate"}[status]
	_, err := audit.Append(ctx, tx, auditDocument(action, d, map[string]any{"reason": reason}))
	return err
}

// Status reasons an agency gives (audited, not shown to verifiers).
var statusReasons = map[string]bool{"superseded": true, "lost": true, "error": true, "withdrawn": true, "investigation": true, "deceased": true, "other": true}

// SetStatus is the issuing agency revoking, suspending or reinstating
// (StatusValid) one of its documents. A revoked document stays revoked.
func (s *Service) SetStatus(ctx context.Context, agency, id, status, reason string) error {
	if status != StatusRevoked && status != StatusSuspended && status != StatusValid {
		return kernel.E(kernel.Invalid, "wallet.error.bad_status")
	}
	if !statusReasons[reason] {
		return kernel.E(kernel.Invalid, "wallet.error.bad_reason")
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d, list, idx, err := s.forAgency(ctx, tx, agency, id)
		if err != nil {
			return err
		}
		return s.setStatus(ctx, tx, d, list, idx, status, reason)
	})
}
