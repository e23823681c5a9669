package wallet

import (
	"context"
	"crypto"
	"database/sql"
	"errors"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
)

// A copy of a document for a wallet app outside civitas (OpenID4VCI, which
// the oid4vc package speaks): the same document, bound to the app's key.

// IssueCopy issues a fresh SD-JWT VC of one of h's valid documents, bound
// to another key (an outside wallet app's, cnf): the same claims, every one
// selectively disclosable, the same issuing agency's seal, the same expiry
// and the same status-list entry, so that revoking or suspending the
// document does the same to the copy. Audited with the key's thumbprint,
// without claims. Another holder's document is NotFound.
func (s *Service) IssueCopy(ctx context.Context, h Holder, id string, holderKey crypto.PublicKey) (string, Document, error) {
	jwk, err := jose.PublicJWK(holderKey)
	if err != nil {
		return "", Document{}, kernel.E(kernel.Invalid, "oid4vc.error.bad_key").WithCause(err)
	}
	jkt, err := jwk.Thumbprint()
	if err != nil {
		return "", Document{}, kernel.E(kernel.Invalid, "oid4vc.error.bad_key").WithCause(err)
	}
	var stored, list string
	var idx int
	d, err := scanDocument(s.o.DB.QueryRow(ctx, `SELECT `+documentColumns+`, status_list, status_idx, sealed FROM wallet_documents WHERE id = ? AND holder_kind = ? AND holder_id = ?`,
		id, h.Kind, h.ID), &list, &idx, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", Document{}, kernel.E(kernel.NotFound, "wallet.error.no_document")
	}
	if err != nil {
		return "", Document{}, kernel.Wrap(err, "wallet: issue copy")
	}
	now := s.o.Clock.Now()
	if !d.Valid(now) {
		return "", Document{}, kernel.E(kernel.Conflict, "wallet.error.not_valid")
	}
	sd, err := s.openDocument(d.ID, stored)
	if err != nil {
		return "", Document{}, err
	}
	seal, err := s.seal(ctx, d.Agency)
	if err != nil {
		return "", Document{}, err
	}
	claims := make(map[string]any, len(sd.Claims)+1)
	paths := make([][]string, 0, len(sd.Claims))
	for k, v := range sd.Claims {
		claims[k] = v
		paths = append(paths, []string{k})
	}
	claims["issuing_authority"] = d.Agency
	cred, err := sdjwt.Issue(seal.signer, jose.Header{Alg: seal.alg, Kid: seal.kid}, claims, sdjwt.Selective{Paths: paths},
		sdjwt.IssueOptions{Issuer: s.o.Issuer, VCT: s.VCT(d.Type), IssuedAt: now.Truncate(time.Second), Expiry: d.ExpiresAt, Holder: holderKey,
			Status: &sdjwt.StatusRef{Index: int64(idx), URI: s.o.Issuer + statuslist.PathPrefix + list}})
	if err != nil {
		return "", Document{}, kernel.Wrap(err, "wallet: issue copy")
	}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, auditDocument("wallet.oid4vci.issue", d, map[string]any{"jkt": jkt}))
		return err
	})
	if err != nil {
		return "", Document{}, err
	}
	return cred, d, nil
}

// NewestValid is h's newest valid document of a type; NotFound when h
// holds none.
func (s *Service) NewestValid(ctx context.Context, h Holder, typeCode string) (Document, error) {
	docs, err := s.Documents(ctx, h, true)
	if err != nil {
		return Document{}, err
	}
	now := s.o.Clock.Now()
	for _, d := range docs {
		if d.Type == typeCode && d.Valid(now) {
			return d, nil
		}
	}
	return Document{}, kernel.E(kernel.NotFound, "oid4vc.error.no_valid_document")
}
