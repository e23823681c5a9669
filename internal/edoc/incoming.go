package edoc

import (
	"context"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// incomingStep moves an incoming document one step: checks the actor's
// capacity, moves the status, closes the open step and opens the next,
// and tells the sender with the QCVN 102 code.
func (s *Service) incomingStep(ctx context.Context, id string, cap Capacity, from []Status, to Status, closeKind, nextKind, nextActor, code, action string, extra func(tx *db.Tx, d *Document) error) error {
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d, err := findDocument(ctx, tx, id)
		if err != nil {
			return err
		}
		if d.Direction != Incoming {
			return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
		}
		acct, err := s.official(ctx, d.Agency, cap)
		if err != nil {
			return err
		}
		if cap == CanDraft && d.Handler != acct {
			return kernel.E(kernel.Forbidden, "edoc.error.not_yours")
		}
		if err := setStatus(ctx, tx, id, to, from...); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(tx, &d); err != nil {
				return err
			}
		}
		if closeKind != "" {
			if err := closeStep(ctx, tx, id, closeKind, "done", "", acct); err != nil {
				return err
			}
		}
		if nextKind != "" {
			if err := openStep(ctx, tx, id, d.Agency, nextKind, nextActor, d.Version); err != nil {
				return err
			}
		}
		if err := appendStatus(ctx, tx, d.EnvelopeID, code, s.o.Installation, d.Agency, ""); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: action, SubjectType: "edoc", SubjectID: id,
			Details: map[string]any{"envelope": d.EnvelopeID, "code": code}})
	})
}

// RegisterIncoming gives an arrived document its number in the agency's
// incoming register (the clerk); the sender hears 03.
func (s *Service) RegisterIncoming(ctx context.Context, id string) error {
	return s.incomingStep(ctx, id, CanRegister, []Status{Received}, InRegister, "register", "assign", "", StatusRegistered, "edoc.register_incoming",
		func(tx *db.Tx, d *Document) error { return register(ctx, tx, d) })
}

// Assign gives a registered incoming document to a handler with a
// deadline (the leader); the sender hears 04.
func (s *Service) Assign(ctx context.Context, id, handler string, due time.Time) error {
	caps, err := s.Capacities(ctx, handler)
	if err != nil {
		return err
	}
	return s.incomingStep(ctx, id, CanAssign, []Status{InRegister}, Assigned, "assign", "process", handler, StatusAssigned, "edoc.assign",
		func(tx *db.Tx, d *Document) error {
			if caps[d.Agency] == 0 {
				return kernel.E(kernel.Invalid, "edoc.error.not_staff")
			}
			_, err := tx.Exec(ctx, `UPDATE edoc_documents SET handler = ?, due_at = ? WHERE id = ?`, handler, micros(due), id)
			return err
		})
}

// StartProcessing marks the handler at work (05).
func (s *Service) StartProcessing(ctx context.Context, id string) error {
	return s.incomingStep(ctx, id, CanDraft, []Status{Assigned}, Processing, "", "", "", StatusProcessing, "edoc.process", nil)
}

// Complete closes the handling (06).
func (s *Service) Complete(ctx context.Context, id string) error {
	return s.incomingStep(ctx, id, CanDraft, []Status{Assigned, Processing}, Completed, "process", "", "", StatusCompleted, "edoc.complete", nil)
}
