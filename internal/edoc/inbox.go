package edoc

import (
	"context"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Waiting is a document waiting for someone's step.
type Waiting struct {
	ID              string
	Subject         string
	Type            DocType
	Urgency         Urgency
	Confidentiality Confidentiality
	Version         int
	Kind            string // the step waited for
	Since           time.Time
	Waited          time.Duration
	Status          Status
	Symbol          string
	FromAgency      string
	Due             time.Time
}

// Waiting lists what waits for the acting leader's signature in the
// agency, oldest first, with the waiting time.
func (s *Service) Waiting(ctx context.Context, agency string) ([]Waiting, error) {
	acct, err := s.official(ctx, agency, CanSign)
	if err != nil {
		return nil, err
	}
	return s.waiting(ctx, `st.actor = ? AND st.kind = 'sign'`, acct, agency, 200)
}

// Inbox lists what waits at the agency's desks the actor may act on:
// documents to register (clerks), to assign (leaders), to handle (the
// handler) and the actor's own drafts returned; oldest first.
func (s *Service) Inbox(ctx context.Context, agency string) ([]Waiting, error) {
	a := kernel.ActorFrom(ctx)
	caps, err := s.Capacities(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	c := caps[agency]
	if _, err := s.official(ctx, agency, CanDraft|CanSign|CanRegister|CanAssign); err != nil {
		return nil, err
	}
	var out []Waiting
	add := func(where string, arg string) error {
		w, err := s.waiting(ctx, where, arg, agency, 200)
		out = append(out, w...)
		return err
	}
	if c&CanRegister != 0 {
		if err := add(`st.kind = 'register' AND st.actor = ?`, ""); err != nil {
			return nil, err
		}
	}
	if c&CanAssign != 0 {
		if err := add(`st.kind = 'assign' AND st.actor = ?`, ""); err != nil {
			return nil, err
		}
	}
	if c&CanSign != 0 {
		if err := add(`st.kind = 'sign' AND st.actor = ?`, a.ID); err != nil {
			return nil, err
		}
	}
	if err := add(`st.kind = 'process' AND st.actor = ?`, a.ID); err != nil {
		return nil, err
	}
	// Returned drafts: their last sign step ended returned.
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, subject, doc_type, urgency, confidentiality, version, updated_at, status FROM edoc_documents
			WHERE agency = ? AND drafter = ? AND status IN ('draft', 'returned') ORDER BY updated_at LIMIT 200`, agency, a.ID)
		if err != nil {
			return kernel.Wrap(err, "edoc: drafts")
		}
		defer rows.Close()
		now := s.o.Clock.Now()
		for rows.Next() {
			var w Waiting
			var typ, urg, conf, st string
			var at int64
			if err := rows.Scan(&w.ID, &w.Subject, &typ, &urg, &conf, &w.Version, &at, &st); err != nil {
				return kernel.Wrap(err, "edoc: drafts")
			}
			w.Type, w.Urgency, w.Confidentiality, w.Status, w.Kind = DocType(typ), Urgency(urg), Confidentiality(conf), Status(st), "revise"
			w.Since = fromMicros(at)
			w.Waited = now.Sub(w.Since)
			out = append(out, w)
		}
		return rows.Err()
	})
	return out, err
}

func (s *Service) waiting(ctx context.Context, where, arg, agency string, limit int) ([]Waiting, error) {
	var out []Waiting
	acct := kernel.ActorFrom(ctx).ID
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT d.id, d.subject, d.doc_type, d.urgency, d.confidentiality, d.version, st.kind, st.started_at,
			d.status, d.symbol, d.from_agency, d.due_at, d.drafter, d.signer, d.handler, st.actor
			FROM edoc_steps st JOIN edoc_documents d ON d.id = st.document_id
			WHERE st.agency = ? AND st.ended_at = 0 AND `+where+` ORDER BY st.started_at LIMIT ?`, agency, arg, limit)
		if err != nil {
			return kernel.Wrap(err, "edoc: waiting")
		}
		defer rows.Close()
		now := s.o.Clock.Now()
		for rows.Next() {
			var w Waiting
			var typ, urg, conf, st, drafter, signer, handler, stepActor string
			var since, due int64
			if err := rows.Scan(&w.ID, &w.Subject, &typ, &urg, &conf, &w.Version, &w.Kind, &since, &st, &w.Symbol, &w.FromAgency, &due,
				&drafter, &signer, &handler, &stepActor); err != nil {
				return kernel.Wrap(err, "edoc: waiting")
			}
			w.Type, w.Urgency, w.Confidentiality, w.Status = DocType(typ), Urgency(urg), Confidentiality(conf), Status(st)
			// A confidential document is listed to the people on it, and
			// at the agency's desk (register, assign) to whoever holds it.
			if w.Confidentiality != Public && acct != drafter && acct != signer && acct != handler && stepActor != "" {
				continue
			}
			w.Since, w.Due = fromMicros(since), fromMicros(due)
			w.Waited = now.Sub(w.Since)
			out = append(out, w)
		}
		return rows.Err()
	})
	return out, err
}
