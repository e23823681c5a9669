package edoc

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return kernel.Micros(t)
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return kernel.FromMicros(us)
}

func insertDocument(ctx context.Context, tx *db.Tx, d *Document) error {
	_, err := tx.Exec(ctx, `INSERT INTO edoc_documents (id, agency, unit, direction, doc_type, subject, urgency, confidentiality,
		drafting_unit, status, drafter, signer, signed_by, handler, version, reg_year, reg_number, symbol, issued_at, due_at,
		from_peer, from_agency, from_symbol, envelope_id, traces, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Agency, d.Unit, string(d.Direction), string(d.Type), d.Subject, string(d.Urgency), string(d.Confidentiality),
		d.DraftingUnit, string(d.Status), d.Drafter, d.Signer, d.SignedBy, d.Handler, d.Version, d.Year, d.Number, d.Symbol,
		micros(d.IssuedAt), micros(d.Due), d.FromPeer, d.FromAgency, d.FromSymbol, d.EnvelopeID, strings.Join(d.Traces, " "),
		micros(d.CreatedAt), micros(d.UpdatedAt))
	if err != nil {
		return kernel.Wrap(err, "edoc: insert document")
	}
	for _, r := range d.Recipients {
		if _, err := tx.Exec(ctx, `INSERT INTO edoc_recipients (document_id, peer, agency) VALUES (?, ?, ?)`, d.ID, r.Peer, r.Agency); err != nil {
			if db.IsUniqueViolation(err) {
				continue
			}
			return kernel.Wrap(err, "edoc: insert recipient")
		}
	}
	return nil
}

const documentColumns = `id, agency, unit, direction, doc_type, subject, urgency, confidentiality, drafting_unit, status, drafter,
	signer, signed_by, handler, version, reg_year, reg_number, symbol, issued_at, due_at, from_peer, from_agency, from_symbol,
	envelope_id, traces, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanDocument(r scanner) (Document, error) {
	var d Document
	var dir, typ, urg, conf, status, traces string
	var issued, due, created, updated int64
	err := r.Scan(&d.ID, &d.Agency, &d.Unit, &dir, &typ, &d.Subject, &urg, &conf, &d.DraftingUnit, &status, &d.Drafter,
		&d.Signer, &d.SignedBy, &d.Handler, &d.Version, &d.Year, &d.Number, &d.Symbol, &issued, &due, &d.FromPeer, &d.FromAgency,
		&d.FromSymbol, &d.EnvelopeID, &traces, &created, &updated)
	if err != nil {
		return Document{}, err
	}
	d.Direction, d.Type, d.Urgency, d.Confidentiality, d.Status = Direction(dir), DocType(typ), Urgency(urg), Confidentiality(conf), Status(status)
	d.IssuedAt, d.Due, d.CreatedAt, d.UpdatedAt = fromMicros(issued), fromMicros(due), fromMicros(created), fromMicros(updated)
	if traces != "" {
		d.Traces = strings.Split(traces, " ")
	}
	return d, nil
}

// findDocument reads a document with its recipients.
func findDocument(ctx context.Context, tx *db.Tx, id string) (Document, error) {
	d, err := scanDocument(tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM edoc_documents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Document{}, kernel.E(kernel.NotFound, "edoc.error.not_found")
	}
	if err != nil {
		return Document{}, kernel.Wrap(err, "edoc: find document")
	}
	rows, err := tx.Query(ctx, `SELECT peer, agency FROM edoc_recipients WHERE document_id = ? ORDER BY peer, agency`, id)
	if err != nil {
		return Document{}, kernel.Wrap(err, "edoc: recipients")
	}
	defer rows.Close()
	for rows.Next() {
		var r Recipient
		if err := rows.Scan(&r.Peer, &r.Agency); err != nil {
			return Document{}, kernel.Wrap(err, "edoc: recipients")
		}
		d.Recipients = append(d.Recipients, r)
	}
	return d, rows.Err()
}

// setStatus moves a document from one of the statuses in from to to,
// checking none moved it meanwhile.
func setStatus(ctx context.Context, tx *db.Tx, id string, to Status, from ...Status) error {
	q := `UPDATE edoc_documents SET status = ?, updated_at = ? WHERE id = ? AND status IN (` + placeholders(len(from)) + `)`
	args := []any{string(to), micros(tx.Now), id}
	for _, f := range from {
		args = append(args, string(f))
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return kernel.Wrap(err, "edoc: status")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func insertFile(ctx context.Context, tx *db.Tx, docID string, version, seq int, f File) error {
	_, err := tx.Exec(ctx, `INSERT INTO edoc_files (document_id, version, seq, name, media_type, sha256, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, docID, version, seq, f.Name, f.MediaType, digest(f.Data), f.Data, micros(tx.Now))
	if err != nil {
		return kernel.Wrap(err, "edoc: insert file")
	}
	return nil
}

// findFiles reads the main file of version and every attachment.
func findFiles(ctx context.Context, tx *db.Tx, docID string, version int) (File, []File, error) {
	rows, err := tx.Query(ctx, `SELECT seq, name, media_type, sha256, data FROM edoc_files
		WHERE document_id = ? AND (seq > 0 OR version = ?) ORDER BY seq, version`, docID, version)
	if err != nil {
		return File{}, nil, kernel.Wrap(err, "edoc: files")
	}
	defer rows.Close()
	var main File
	var att []File
	for rows.Next() {
		var seq int
		var f File
		if err := rows.Scan(&seq, &f.Name, &f.MediaType, &f.SHA256, &f.Data); err != nil {
			return File{}, nil, kernel.Wrap(err, "edoc: files")
		}
		if seq == 0 {
			main = f
		} else {
			att = append(att, f)
		}
	}
	if err := rows.Err(); err != nil {
		return File{}, nil, kernel.Wrap(err, "edoc: files")
	}
	if main.Data == nil {
		return File{}, nil, kernel.E(kernel.NotFound, "edoc.error.not_found")
	}
	return main, att, nil
}

// nextNumber moves the register's sequence in tx and returns the new
// number: the row is written by this transaction, so a rollback returns
// the number and a concurrent registration waits for the writer.
func nextNumber(ctx context.Context, tx *db.Tx, agency string, dir Direction, year int, t DocType) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `INSERT INTO edoc_sequences (agency, direction, reg_year, doc_type, last) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (agency, direction, reg_year, doc_type) DO UPDATE SET last = edoc_sequences.last + 1 RETURNING last`,
		agency, string(dir), year, string(t)).Scan(&n)
	if err != nil {
		return 0, kernel.Wrap(err, "edoc: sequence")
	}
	return n, nil
}

// Step is one desk's work on a document.
type Step struct {
	ID         string
	DocumentID string
	Agency     string
	Kind       string // review, sign, register, assign, process
	Actor      string
	Version    int
	StartedAt  time.Time
	EndedAt    time.Time
	Outcome    string
	Comment    string
	DoneBy     string
}

// Waited is how long the step waited (until now while open).
func (s Step) Waited(now time.Time) time.Duration {
	if s.EndedAt.IsZero() {
		return now.Sub(s.StartedAt)
	}
	return s.EndedAt.Sub(s.StartedAt)
}

func openStep(ctx context.Context, tx *db.Tx, docID, agency, kind, actor string, version int) error {
	_, err := tx.Exec(ctx, `INSERT INTO edoc_steps (id, document_id, agency, kind, actor, version, started_at, ended_at, outcome, comment, done_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', '', '')`, kernel.NewOrderedID(tx.Now), docID, agency, kind, actor, version, micros(tx.Now))
	if err != nil {
		return kernel.Wrap(err, "edoc: open step")
	}
	return nil
}

// closeStep ends the document's open step of kind; it is a Conflict when
// there is none (someone else ended it).
func closeStep(ctx context.Context, tx *db.Tx, docID, kind, outcome, comment, by string) error {
	res, err := tx.Exec(ctx, `UPDATE edoc_steps SET ended_at = ?, outcome = ?, comment = ?, done_by = ?
		WHERE document_id = ? AND kind = ? AND ended_at = 0`, micros(tx.Now), outcome, comment, by, docID, kind)
	if err != nil {
		return kernel.Wrap(err, "edoc: close step")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
	}
	return nil
}

func scanStep(r scanner) (Step, error) {
	var s Step
	var started, ended int64
	err := r.Scan(&s.ID, &s.DocumentID, &s.Agency, &s.Kind, &s.Actor, &s.Version, &started, &ended, &s.Outcome, &s.Comment, &s.DoneBy)
	s.StartedAt, s.EndedAt = fromMicros(started), fromMicros(ended)
	return s, err
}

const stepColumns = `id, document_id, agency, kind, actor, version, started_at, ended_at, outcome, comment, done_by`

func findSteps(ctx context.Context, tx *db.Tx, docID string) ([]Step, error) {
	rows, err := tx.Query(ctx, `SELECT `+stepColumns+` FROM edoc_steps WHERE document_id = ? ORDER BY started_at, id`, docID)
	if err != nil {
		return nil, kernel.Wrap(err, "edoc: steps")
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		st, err := scanStep(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "edoc: steps")
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// eachSignature calls fn for every approved signing step, with its
// document's unit.
func eachSignature(ctx context.Context, tx *db.Tx, fn func(unit string, started, ended int64)) error {
	rows, err := tx.Query(ctx, `SELECT d.unit, s.started_at, s.ended_at FROM edoc_steps s JOIN edoc_documents d ON d.id = s.document_id
		WHERE s.kind = 'sign' AND s.outcome = 'approved' AND s.ended_at <> 0`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var unit string
		var started, ended int64
		if err := rows.Scan(&unit, &started, &ended); err != nil {
			return err
		}
		fn(unit, started, ended)
	}
	return rows.Err()
}

// eachEnvelope calls fn for every envelope sent or received, with the unit
// of the document it carries here.
func eachEnvelope(ctx context.Context, tx *db.Tx, fn func(direction, unit string, at int64)) error {
	rows, err := tx.Query(ctx, `SELECT e.direction, d.unit, e.created_at FROM edoc_envelopes e JOIN edoc_documents d ON d.id = e.document_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var dir, unit string
		var at int64
		if err := rows.Scan(&dir, &unit, &at); err != nil {
			return err
		}
		fn(dir, unit, at)
	}
	return rows.Err()
}
