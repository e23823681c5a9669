package edoc

import (
	"context"
	"database/sql"
	"errors"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// RequestRecall asks a recipient in this installation to give a sent
// document back (13): the sending agency's clerk or leader does it.
// Between provinces a recall is not carried yet.
func (s *Service) RequestRecall(ctx context.Context, envelope, reason string) error {
	if !checkText(reason, 500) {
		return kernel.E(kernel.Invalid, "edoc.error.bad_comment")
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var from, toPeer string
		err := tx.QueryRow(ctx, `SELECT from_agency, to_peer FROM edoc_envelopes WHERE id = ? AND direction = 'out'`, envelope).Scan(&from, &toPeer)
		if errors.Is(err, sql.ErrNoRows) {
			return kernel.E(kernel.NotFound, "edoc.error.no_envelope")
		}
		if err != nil {
			return kernel.Wrap(err, "edoc: recall")
		}
		if _, err := s.official(ctx, from, CanRegister|CanSign); err != nil {
			return err
		}
		if toPeer != "" {
			return kernel.E(kernel.Unavailable, "edoc.error.recall_between_provinces")
		}
		last, err := lastStatus(ctx, tx, envelope)
		if err != nil {
			return err
		}
		if last == StatusRecallRequested || last == StatusRecallAgreed || last == StatusRefused {
			return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
		}
		if err := appendStatus(ctx, tx, envelope, StatusRecallRequested, s.o.Installation, from, reason); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.recall_request", SubjectType: "envelope", SubjectID: envelope})
	})
}

// AnswerRecall agrees (15: the recipient's copy is withdrawn, its open
// steps closed) or refuses (16) a recall asked of the acting official's
// agency.
func (s *Service) AnswerRecall(ctx context.Context, documentID string, agree bool) error {
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d, err := findDocument(ctx, tx, documentID)
		if err != nil {
			return err
		}
		if d.Direction != Incoming {
			return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
		}
		acct, err := s.official(ctx, d.Agency, CanRegister|CanAssign)
		if err != nil {
			return err
		}
		last, err := lastStatus(ctx, tx, d.EnvelopeID)
		if err != nil {
			return err
		}
		if last != StatusRecallRequested {
			return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
		}
		code := StatusRecallRefused
		if agree {
			code = StatusRecallAgreed
			if _, err := tx.Exec(ctx, `UPDATE edoc_documents SET status = ?, updated_at = ? WHERE id = ?`, string(Recalled), micros(tx.Now), d.ID); err != nil {
				return kernel.Wrap(err, "edoc: recall")
			}
			if _, err := tx.Exec(ctx, `UPDATE edoc_steps SET ended_at = ?, outcome = 'recalled', done_by = ? WHERE document_id = ? AND ended_at = 0`,
				micros(tx.Now), acct, d.ID); err != nil {
				return kernel.Wrap(err, "edoc: recall")
			}
		}
		if err := appendStatus(ctx, tx, d.EnvelopeID, code, s.o.Installation, d.Agency, ""); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.recall_answer", SubjectType: "edoc", SubjectID: d.ID,
			Details: map[string]any{"envelope": d.EnvelopeID, "code": code}})
	})
}

func lastStatus(ctx context.Context, tx *db.Tx, envelope string) (string, error) {
	var code string
	err := tx.QueryRow(ctx, `SELECT code FROM edoc_status WHERE envelope_id = ? ORDER BY seq DESC LIMIT 1`, envelope).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", kernel.Wrap(err, "edoc: last status")
	}
	return code, nil
}
