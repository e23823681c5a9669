package edoc

import (
	"context"
	"strconv"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// The figures edoc publishes per unit (the agency's) and day.
const (
	IndicatorSigned   = "edoc.documents_signed"  // outgoing documents signed digitally by a leader
	IndicatorWaitMins = "edoc.sign_wait_minutes" // minutes they waited for the signature, summed
	IndicatorSent     = "edoc.envelopes_sent"
	IndicatorReceived = "edoc.envelopes_received"
)

// Indicators are edoc's figures, for the dashboards.
func Indicators() []tally.Indicator {
	return []tally.Indicator{
		{Name: IndicatorSigned, TitleKey: "edoc.indicator.signed", Kind: tally.Flow},
		{Name: IndicatorWaitMins, TitleKey: "edoc.indicator.wait_minutes", Kind: tally.Flow},
		{Name: IndicatorSent, TitleKey: "edoc.indicator.sent", Kind: tally.Flow},
		{Name: IndicatorReceived, TitleKey: "edoc.indicator.received", Kind: tally.Flow},
	}
}

// Draft is what a drafter gives for a new outgoing document.
type Draft struct {
	Agency          string
	Type            DocType
	Subject         string
	Urgency         Urgency
	Confidentiality Confidentiality
	DraftingUnit    string
	Recipients      []Recipient
	Due             time.Time
	Traces          []string
	Main            File
	Attachments     []File
}

// Create records a draft of the acting official's agency.
func (s *Service) Create(ctx context.Context, dr Draft) (Document, error) {
	acct, err := s.official(ctx, dr.Agency, CanDraft)
	if err != nil {
		return Document{}, err
	}
	ag, err := s.o.Directory.Agency(ctx, dr.Agency)
	if err != nil {
		return Document{}, err
	}
	d := Document{ID: kernel.NewID(), Agency: dr.Agency, Unit: ag.Unit, Direction: Outgoing, Type: dr.Type, Subject: dr.Subject,
		Urgency: dr.Urgency, Confidentiality: dr.Confidentiality, DraftingUnit: dr.DraftingUnit, Status: Drafted, Drafter: acct,
		Version: 1, Due: dr.Due, Traces: dr.Traces, Recipients: dr.Recipients}
	if err := d.validate(); err != nil {
		return Document{}, err
	}
	if err := checkFiles(dr.Main, dr.Attachments); err != nil {
		return Document{}, err
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d.CreatedAt, d.UpdatedAt = tx.Now, tx.Now
		if err := insertDocument(ctx, tx, &d); err != nil {
			return err
		}
		if err := insertFile(ctx, tx, d.ID, 1, 0, dr.Main); err != nil {
			return err
		}
		for i, f := range dr.Attachments {
			if err := insertFile(ctx, tx, d.ID, 1, i+1, f); err != nil {
				return err
			}
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.draft", SubjectType: "edoc", SubjectID: d.ID,
			Details: map[string]any{"agency": d.Agency, "type": string(d.Type)}})
	})
	return d, err
}

// Submit asks a leader of the agency to sign the draft.
func (s *Service) Submit(ctx context.Context, id, signer string) error {
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d, err := findDocument(ctx, tx, id)
		if err != nil {
			return err
		}
		acct, err := s.official(ctx, d.Agency, CanDraft)
		if err != nil {
			return err
		}
		if d.Drafter != acct {
			return kernel.E(kernel.Forbidden, "edoc.error.not_yours")
		}
		caps, err := s.Capacities(ctx, signer)
		if err != nil {
			return err
		}
		if caps[d.Agency]&CanSign == 0 {
			return kernel.E(kernel.Invalid, "edoc.error.not_a_signer")
		}
		if err := setStatus(ctx, tx, id, Signing, Drafted, Returned); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE edoc_documents SET signer = ? WHERE id = ?`, signer, id); err != nil {
			return kernel.Wrap(err, "edoc: signer")
		}
		if err := openStep(ctx, tx, id, d.Agency, "sign", signer, d.Version); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.submit", SubjectType: "edoc", SubjectID: id,
			Details: map[string]any{"signer": signer, "version": d.Version}})
	})
}

// Revise gives a returned or drafted document a new version of its main file.
func (s *Service) Revise(ctx context.Context, id string, main File) error {
	if err := checkFiles(main, nil); err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d, err := findDocument(ctx, tx, id)
		if err != nil {
			return err
		}
		acct, err := s.official(ctx, d.Agency, CanDraft)
		if err != nil {
			return err
		}
		if d.Drafter != acct {
			return kernel.E(kernel.Forbidden, "edoc.error.not_yours")
		}
		if err := setStatus(ctx, tx, id, Drafted, Drafted, Returned); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE edoc_documents SET version = ? WHERE id = ?`, d.Version+1, id); err != nil {
			return kernel.Wrap(err, "edoc: version")
		}
		if err := insertFile(ctx, tx, id, d.Version+1, 0, main); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.revise", SubjectType: "edoc", SubjectID: id,
			Details: map[string]any{"version": d.Version + 1}})
	})
}

// Return sends a document back to its drafter with the leader's comment.
func (s *Service) Return(ctx context.Context, id, comment string) error {
	if !checkText(comment, 2000) {
		return kernel.E(kernel.Invalid, "edoc.error.bad_comment")
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d, err := findDocument(ctx, tx, id)
		if err != nil {
			return err
		}
		acct, err := s.official(ctx, d.Agency, CanSign)
		if err != nil {
			return err
		}
		if d.Signer != acct {
			return kernel.E(kernel.Forbidden, "edoc.error.not_yours")
		}
		if err := setStatus(ctx, tx, id, Returned, Signing); err != nil {
			return err
		}
		if err := closeStep(ctx, tx, id, "sign", "returned", comment, acct); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.return", SubjectType: "edoc", SubjectID: id,
			Details: map[string]any{"version": d.Version}})
	})
}

// Approval names a document and the version of its main file the leader saw.
type Approval struct {
	ID      string
	Version int
}

// Approve signs the documents with the leader's official credential,
// one second-factor approval (code) for the batch. A document whose
// version moved since the leader saw it is refused, and nothing is signed.
func (s *Service) Approve(ctx context.Context, agency string, items []Approval, code string) error {
	if s.o.Signer == nil {
		return kernel.E(kernel.Unavailable, "edoc.error.no_signer")
	}
	if len(items) == 0 || len(items) > 100 {
		return kernel.E(kernel.Invalid, "edoc.error.nothing_chosen")
	}
	acct, err := s.official(ctx, agency, CanSign)
	if err != nil {
		return err
	}
	mains := make([]File, len(items))
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		for i, it := range items {
			d, err := findDocument(ctx, tx, it.ID)
			if err != nil {
				return err
			}
			if d.Agency != agency || d.Signer != acct {
				return kernel.E(kernel.Forbidden, "edoc.error.not_yours")
			}
			if d.Status != Signing || d.Version != it.Version {
				return kernel.E(kernel.Conflict, "edoc.error.changed")
			}
			if mains[i], _, err = findFiles(ctx, tx, d.ID, d.Version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	signed, err := s.o.Signer.SignPDFs(ctx, acct, agency, code, mains)
	if err != nil {
		return err
	}
	if len(signed) != len(items) {
		return kernel.E(kernel.Internal, "error.internal")
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		for i, it := range items {
			res, err := tx.Exec(ctx, `UPDATE edoc_documents SET status = ?, version = ?, signed_by = ?, updated_at = ?
				WHERE id = ? AND status = ? AND version = ?`, string(Signed), it.Version+1, acct, micros(tx.Now), it.ID, string(Signing), it.Version)
			if err != nil {
				return kernel.Wrap(err, "edoc: sign")
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return kernel.E(kernel.Conflict, "edoc.error.changed")
			}
			f := mains[i]
			f.Data = signed[i]
			if err := insertFile(ctx, tx, it.ID, it.Version+1, 0, f); err != nil {
				return err
			}
			var started int64
			var unit string
			if err := tx.QueryRow(ctx, `SELECT s.started_at, d.unit FROM edoc_steps s JOIN edoc_documents d ON d.id = s.document_id
				WHERE s.document_id = ? AND s.kind = 'sign' AND s.ended_at = 0`, it.ID).Scan(&started, &unit); err != nil {
				return kernel.E(kernel.Conflict, "edoc.error.changed")
			}
			if err := closeStep(ctx, tx, it.ID, "sign", "approved", "", acct); err != nil {
				return err
			}
			if err := openStep(ctx, tx, it.ID, agency, "register", "", it.Version+1); err != nil {
				return err
			}
			tally.Add(ctx, tx, IndicatorSigned, unit, 1)
			tally.Add(ctx, tx, IndicatorWaitMins, unit, int64(tx.Now.Sub(fromMicros(started)).Minutes()))
			if err := audit.Queue(ctx, tx, audit.Entry{Action: "edoc.sign", SubjectType: "edoc", SubjectID: it.ID,
				Details: map[string]any{"version": it.Version, "sha256": digest(mains[i].Data), "signed_sha256": digest(signed[i]), "batch": len(items)}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Register gives a signed document its number and symbol in the agency's
// register; the clerk does it.
func (s *Service) Register(ctx context.Context, id string) (Document, error) {
	var d Document
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		if d, err = findDocument(ctx, tx, id); err != nil {
			return err
		}
		acct, err := s.official(ctx, d.Agency, CanRegister)
		if err != nil {
			return err
		}
		if err := register(ctx, tx, &d); err != nil {
			return err
		}
		if err := setStatus(ctx, tx, id, Registered, Signed); err != nil {
			return err
		}
		if err := closeStep(ctx, tx, id, "register", "done", "", acct); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.register", SubjectType: "edoc", SubjectID: id,
			Details: map[string]any{"symbol": d.Symbol}})
	})
	if err != nil || s.o.PDFSeal == nil {
		return d, err
	}
	return d, s.sealRegistered(ctx, &d)
}

// sealRegistered applies the agency's seal to a registered document's
// main file, as a new version (the key is used outside the writer).
func (s *Service) sealRegistered(ctx context.Context, d *Document) error {
	var main File
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		main, _, err = findFiles(ctx, tx, d.ID, d.Version)
		return err
	})
	if err != nil {
		return err
	}
	sealed, err := s.o.PDFSeal.SealPDF(ctx, d.Agency, main.Data)
	if err != nil {
		return err
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE edoc_documents SET version = ?, updated_at = ? WHERE id = ? AND version = ? AND status = ?`,
			d.Version+1, micros(tx.Now), d.ID, d.Version, string(Registered))
		if err != nil {
			return kernel.Wrap(err, "edoc: seal")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
		}
		main.Data = sealed
		if err := insertFile(ctx, tx, d.ID, d.Version+1, 0, main); err != nil {
			return err
		}
		d.Version++
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.seal", SubjectType: "edoc", SubjectID: d.ID,
			Details: map[string]any{"version": d.Version, "sha256": digest(sealed)}})
	})
}

// register numbers d in tx (the sequence moves in the same transaction).
func register(ctx context.Context, tx *db.Tx, d *Document) error {
	year := tx.Now.In(kernel.Zone()).Year()
	seq := d.Type
	if d.Direction == Incoming {
		seq = "" // one incoming register for every type
	}
	n, err := nextNumber(ctx, tx, d.Agency, d.Direction, year, seq)
	if err != nil {
		return err
	}
	d.Year, d.Number, d.IssuedAt = year, n, tx.Now
	d.Symbol = Symbol(n, d.Type, d.Agency, d.DraftingUnit)
	if d.Direction == Incoming {
		d.Symbol = strconv.FormatInt(n, 10) // số đến: the incoming register's number
	}
	res, err := tx.Exec(ctx, `UPDATE edoc_documents SET reg_year = ?, reg_number = ?, symbol = ?, issued_at = ?, updated_at = ?
		WHERE id = ? AND reg_number = 0`, year, n, d.Symbol, micros(tx.Now), micros(tx.Now), d.ID)
	if err != nil {
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "edoc.error.number_taken")
		}
		return kernel.Wrap(err, "edoc: register")
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return kernel.E(kernel.Conflict, "edoc.error.wrong_status")
	}
	return nil
}

// Document returns a document to its agency's staff (a confidential one
// only to the people on it).
func (s *Service) Document(ctx context.Context, id string) (Document, []Step, error) {
	var d Document
	var steps []Step
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		if d, err = findDocument(ctx, tx, id); err != nil {
			return err
		}
		if steps, err = findSteps(ctx, tx, id); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return Document{}, nil, err
	}
	if err := s.mayRead(ctx, d, steps); err != nil {
		return Document{}, nil, err
	}
	return d, steps, nil
}

// mayRead lets operators, and officials of the agency, read; confidential
// documents only the drafter, the signer, the handler and the people on
// a step.
func (s *Service) mayRead(ctx context.Context, d Document, steps []Step) error {
	if operatorOrSystem(ctx) == nil {
		return nil
	}
	acct, err := s.official(ctx, d.Agency, CanDraft|CanSign|CanRegister|CanAssign)
	if err != nil {
		return kernel.E(kernel.NotFound, "edoc.error.not_found")
	}
	if d.Confidentiality == Public {
		return nil
	}
	if acct == d.Drafter || acct == d.Signer || acct == d.Handler || acct == d.SignedBy {
		return nil
	}
	caps, err := s.Capacities(ctx, acct)
	if err != nil {
		return err
	}
	for _, st := range steps {
		if st.Actor == acct || st.DoneBy == acct {
			return nil
		}
		// The agency's desk of an open step: its clerks register, its
		// leaders assign.
		if st.Actor == "" && st.EndedAt.IsZero() && (st.Kind == "register" && caps[d.Agency]&CanRegister != 0 ||
			st.Kind == "assign" && caps[d.Agency]&CanAssign != 0) {
			return nil
		}
	}
	return kernel.E(kernel.NotFound, "edoc.error.not_found")
}

// MainFile returns the current main file of a document the actor may read.
func (s *Service) MainFile(ctx context.Context, id string) (File, error) {
	d, _, err := s.Document(ctx, id)
	if err != nil {
		return File{}, err
	}
	var f File
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		f, _, err = findFiles(ctx, tx, id, d.Version)
		return err
	})
	return f, err
}
