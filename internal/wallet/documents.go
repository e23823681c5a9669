package wallet

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/sdjwt"
)

// sealedDocument is what is sealed at rest for a document: the credential
// with every disclosure, and its claims as issued (for the holder's pages,
// without reparsing the credential).
type sealedDocument struct {
	Credential string         `json:"credential"`
	Claims     map[string]any `json:"claims"`
}

func (s *Service) sealDocument(id string, d sealedDocument) (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", kernel.Wrap(err, "wallet: seal document")
	}
	return base64.StdEncoding.EncodeToString(s.o.Box.Seal(b, credentialAAD(id))), nil
}

func (s *Service) openDocument(id, stored string) (sealedDocument, error) {
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return sealedDocument{}, kernel.Wrap(err, "wallet: open document")
	}
	b, err := s.o.Box.Open(raw, credentialAAD(id))
	if err != nil {
		return sealedDocument{}, kernel.Wrap(err, "wallet: open document")
	}
	var d sealedDocument
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return sealedDocument{}, kernel.Wrap(err, "wallet: open document")
	}
	return d, nil
}

const documentColumns = `id, type, holder_kind, holder_id, agency, issued_at, expires_at, status, hidden, replaces`

// scanDocument reads documentColumns, then any further columns into extra.
func scanDocument(sc interface{ Scan(...any) error }, extra ...any) (Document, error) {
	var d Document
	var issued, expires int64
	var hidden int
	dest := append([]any{&d.ID, &d.Type, &d.Holder.Kind, &d.Holder.ID, &d.Agency, &issued, &expires, &d.Status, &hidden, &d.Replaces}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return Document{}, err
	}
	d.IssuedAt = time.UnixMicro(issued).UTC()
	if expires != 0 {
		d.ExpiresAt = time.UnixMicro(expires).UTC()
	}
	d.Hidden = hidden != 0
	return d, nil
}

// Documents lists a holder's documents, newest first; hidden ones only
// when asked. The caller has checked that whoever asks may act for h (the
// holder, their guardian, an organisation's representative).
func (s *Service) Documents(ctx context.Context, h Holder, withHidden bool) ([]Document, error) {
	q := `SELECT ` + documentColumns + ` FROM wallet_documents WHERE holder_kind = ? AND holder_id = ?`
	if !withHidden {
		q += ` AND hidden = 0`
	}
	rows, err := s.o.DB.Query(ctx, q+` ORDER BY issued_at DESC, id`, h.Kind, h.ID)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: documents")
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "wallet: documents")
		}
		out = append(out, d)
	}
	return out, kernel.Wrap(rows.Err(), "wallet: documents")
}

// Detailed is a document with its claims and its credential.
type Detailed struct {
	Document
	Claims     map[string]any
	Credential string // the SD-JWT VC with every disclosure: only for its holder
}

// Document returns one of h's documents with its claims. Another holder's
// document is NotFound, as one that does not exist.
func (s *Service) Document(ctx context.Context, h Holder, id string) (Detailed, error) {
	var stored string
	d, err := scanDocument(s.o.DB.QueryRow(ctx, `SELECT `+documentColumns+`, sealed FROM wallet_documents WHERE id = ? AND holder_kind = ? AND holder_id = ?`,
		id, h.Kind, h.ID), &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return Detailed{}, kernel.E(kernel.NotFound, "wallet.error.no_document")
	}
	if err != nil {
		return Detailed{}, kernel.Wrap(err, "wallet: document")
	}
	sd, err := s.openDocument(d.ID, stored)
	if err != nil {
		return Detailed{}, err
	}
	return Detailed{Document: d, Claims: sd.Claims, Credential: sd.Credential}, nil
}

// IssuedDocument is a document as the agency that issued it sees it: what,
// to whom, when and its status — never the holder's credential or claims.
// Another agency's document is not found.
func (s *Service) IssuedDocument(ctx context.Context, agency, id string) (Document, error) {
	d, err := scanDocument(s.o.DB.QueryRow(ctx, `SELECT `+documentColumns+` FROM wallet_documents WHERE id = ? AND agency = ?`, id, agency))
	if errors.Is(err, sql.ErrNoRows) {
		return Document{}, kernel.E(kernel.NotFound, "wallet.error.no_document")
	}
	if err != nil {
		return Document{}, kernel.Wrap(err, "wallet: document")
	}
	return d, nil
}

// SetHidden hides a document from the holder's list, or shows it again;
// hiding changes nothing of its validity.
func (s *Service) SetHidden(ctx context.Context, h Holder, id string, hidden bool) error {
	v := 0
	if hidden {
		v = 1
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE wallet_documents SET hidden = ? WHERE id = ? AND holder_kind = ? AND holder_id = ?`, v, id, h.Kind, h.ID)
		if err != nil {
			return kernel.Wrap(err, "wallet: hide")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.NotFound, "wallet.error.no_document")
		}
		return nil
	})
}

// Present makes a presentation of one of h's valid documents disclosing
// only the named claims, bound with the holder's key to the verifier (aud)
// and its nonce. The issuing agency is always shown.
func (s *Service) Present(ctx context.Context, h Holder, id string, claims []string, aud, nonce string) (string, error) {
	d, err := s.Document(ctx, h, id)
	if err != nil {
		return "", err
	}
	if !d.Valid(s.o.Clock.Now()) {
		return "", kernel.E(kernel.Conflict, "wallet.error.not_valid")
	}
	keep := map[string]bool{}
	for _, c := range claims {
		if _, ok := d.Claims[c]; !ok {
			return "", kernel.E(kernel.Invalid, "wallet.error.claim_unknown", c)
		}
		keep[c] = true
	}
	if len(keep) == 0 {
		return "", kernel.E(kernel.Invalid, "wallet.error.no_claims")
	}
	key, err := s.existingHolderKey(ctx, h)
	if err != nil {
		return "", err
	}
	if key == nil { // a document always comes with its holder's key
		return "", kernel.Wrap(errors.New("no holder key"), "wallet: present")
	}
	sd, err := sdjwt.Parse(d.Credential)
	if err != nil {
		return "", kernel.Wrap(err, "wallet: present")
	}
	p, err := sd.Present(func(path []string) bool { return len(path) == 1 && keep[path[0]] },
		&sdjwt.KeyBinding{Signer: key, Audience: aud, Nonce: nonce, IssuedAt: s.o.Clock.Now()})
	if err != nil {
		return "", kernel.Wrap(err, "wallet: present")
	}
	return p, nil
}
