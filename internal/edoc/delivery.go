package edoc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// The status codes of QCVN 102:2016/BTTTT, as the two-digit strings the
// standard writes.
const (
	StatusArrived         = "01"
	StatusRefused         = "02"
	StatusRegistered      = "03"
	StatusAssigned        = "04"
	StatusProcessing      = "05"
	StatusCompleted       = "06"
	StatusRecallRequested = "13"
	StatusRecallAgreed    = "15"
	StatusRecallRefused   = "16"
)

// StatusMessage is one status of an envelope, in order.
type StatusMessage struct {
	Envelope     string    `json:"envelope"`
	Seq          int       `json:"seq"`
	Code         string    `json:"code"`
	At           time.Time `json:"at"`
	Installation string    `json:"installation,omitempty"`
	Agency       string    `json:"agency"`
	Note         string    `json:"note,omitempty"`
}

func appendStatus(ctx context.Context, tx *db.Tx, envelope, code, installation, agency, note string) error {
	var seq int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM edoc_status WHERE envelope_id = ?`, envelope).Scan(&seq); err != nil {
		return kernel.Wrap(err, "edoc: status seq")
	}
	_, err := tx.Exec(ctx, `INSERT INTO edoc_status (envelope_id, seq, code, at, peer, agency, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		envelope, seq+1, code, micros(tx.Now), installation, agency, note)
	if err != nil {
		return kernel.Wrap(err, "edoc: status")
	}
	// An envelope from another installation: the status goes back to it.
	var peer string
	err = tx.QueryRow(ctx, `SELECT from_peer FROM edoc_envelopes WHERE id = ? AND direction = 'in'`, envelope).Scan(&peer)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return kernel.Wrap(err, "edoc: status peer")
	}
	if peer != "" {
		if _, err := tx.Exec(ctx, `INSERT INTO edoc_status_outbox (envelope_id, seq, peer, attempts, next_at, holder, lease_until, delivered_at)
			VALUES (?, ?, ?, 0, ?, '', 0, 0)`, envelope, seq+1, peer, micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "edoc: status outbox")
		}
	}
	return nil
}

// Statuses returns an envelope's status messages in order, to an
// operator or the staff of the sending or receiving agency.
func (s *Service) Statuses(ctx context.Context, envelope string) ([]StatusMessage, error) {
	var out []StatusMessage
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		if err := s.mayEnvelope(ctx, tx, envelope); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT seq, code, at, peer, agency, note FROM edoc_status WHERE envelope_id = ? ORDER BY seq`, envelope)
		if err != nil {
			return kernel.Wrap(err, "edoc: statuses")
		}
		defer rows.Close()
		for rows.Next() {
			m := StatusMessage{Envelope: envelope}
			var at int64
			if err := rows.Scan(&m.Seq, &m.Code, &at, &m.Installation, &m.Agency, &m.Note); err != nil {
				return kernel.Wrap(err, "edoc: statuses")
			}
			m.At = fromMicros(at)
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// mayEnvelope lets an operator, or staff of either end, see an envelope.
func (s *Service) mayEnvelope(ctx context.Context, tx *db.Tx, envelope string) error {
	rows, err := tx.Query(ctx, `SELECT from_agency, to_agency, to_peer FROM edoc_envelopes WHERE id = ?`, envelope)
	if err != nil {
		return kernel.Wrap(err, "edoc: envelope")
	}
	defer rows.Close()
	found := false
	var agencies []string
	for rows.Next() {
		var from, to, peer string
		if err := rows.Scan(&from, &to, &peer); err != nil {
			return kernel.Wrap(err, "edoc: envelope")
		}
		found = true
		agencies = append(agencies, from)
		if peer == "" {
			agencies = append(agencies, to)
		}
	}
	if err := rows.Err(); err != nil {
		return kernel.Wrap(err, "edoc: envelope")
	}
	if !found {
		return kernel.E(kernel.NotFound, "edoc.error.no_envelope")
	}
	if operatorOrSystem(ctx) == nil {
		return nil
	}
	for _, ag := range agencies {
		if _, err := s.official(ctx, ag, CanDraft|CanSign|CanRegister|CanAssign); err == nil {
			return nil
		}
	}
	return kernel.E(kernel.NotFound, "edoc.error.no_envelope")
}

// Export returns an envelope's XML as it was sent (or, for one received
// from elsewhere, as it arrived).
func (s *Service) Export(ctx context.Context, envelope string) ([]byte, error) {
	var b []byte
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		if err := s.mayEnvelope(ctx, tx, envelope); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT xml FROM edoc_envelopes WHERE id = ? ORDER BY direction DESC LIMIT 1`, envelope).Scan(&b)
		if err != nil {
			return kernel.Wrap(err, "edoc: export")
		}
		return nil
	})
	return b, err
}

// Import is an operator's import of a document already signed elsewhere,
// registered and sent at once: `civitas edoc send`.
type Import struct {
	From            string
	To              []Recipient
	Type            DocType
	Subject         string
	Urgency         Urgency
	Confidentiality Confidentiality
	DraftingUnit    string
	Due             time.Time
	Traces          []string
	Main            File
	Attachments     []File
}

// Import registers the document in the sending agency's register and
// sends it; it returns the document and its envelopes' IDs, one per
// recipient.
func (s *Service) Import(ctx context.Context, im Import) (Document, []string, error) {
	if err := operatorOrSystem(ctx); err != nil {
		return Document{}, nil, err
	}
	ag, err := s.o.Directory.Agency(ctx, im.From)
	if err != nil {
		return Document{}, nil, err
	}
	d := Document{ID: kernel.NewID(), Agency: ag.Code, Unit: ag.Unit, Direction: Outgoing, Type: im.Type, Subject: im.Subject,
		Urgency: im.Urgency, Confidentiality: im.Confidentiality, DraftingUnit: im.DraftingUnit, Status: Registered,
		Version: 1, Due: im.Due, Traces: im.Traces, Recipients: im.To}
	if err := d.validate(); err != nil {
		return Document{}, nil, err
	}
	if err := checkFiles(im.Main, im.Attachments); err != nil {
		return Document{}, nil, err
	}
	if err := s.checkRecipients(ctx, d.Recipients); err != nil {
		return Document{}, nil, err
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		d.CreatedAt, d.UpdatedAt = tx.Now, tx.Now
		if err := insertDocument(ctx, tx, &d); err != nil {
			return err
		}
		if err := register(ctx, tx, &d); err != nil {
			return err
		}
		if err := insertFile(ctx, tx, d.ID, 1, 0, im.Main); err != nil {
			return err
		}
		for i, f := range im.Attachments {
			if err := insertFile(ctx, tx, d.ID, 1, i+1, f); err != nil {
				return err
			}
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.import", SubjectType: "edoc", SubjectID: d.ID,
			Details: map[string]any{"agency": d.Agency, "symbol": d.Symbol}})
	})
	if err != nil {
		return Document{}, nil, err
	}
	ids, err := s.dispatch(ctx, d, im.Main, im.Attachments)
	if err != nil {
		return d, nil, err
	}
	return d, ids, nil
}

// checkRecipients checks that every recipient is an agency here or of a
// configured peer.
func (s *Service) checkRecipients(ctx context.Context, rs []Recipient) error {
	for _, r := range rs {
		if r.Peer == "" {
			if _, err := s.o.Directory.Agency(ctx, r.Agency); err != nil {
				return kernel.E(kernel.Invalid, "edoc.error.unknown_recipient", r.Agency)
			}
			continue
		}
		if s.o.Peers == nil {
			return kernel.E(kernel.Invalid, "edoc.error.unknown_peer", r.Peer)
		}
		if _, err := s.o.Peers.Installation(ctx, r.Peer); err != nil {
			return kernel.E(kernel.Invalid, "edoc.error.unknown_peer", r.Peer)
		}
	}
	return nil
}

// Send sends a registered document to its recipients; the clerk does it.
func (s *Service) Send(ctx context.Context, id string) ([]string, error) {
	var d Document
	var main File
	var att []File
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		if d, err = findDocument(ctx, tx, id); err != nil {
			return err
		}
		main, att, err = findFiles(ctx, tx, id, d.Version)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.official(ctx, d.Agency, CanRegister); err != nil {
		return nil, err
	}
	if d.Status != Registered {
		return nil, kernel.E(kernel.Conflict, "edoc.error.wrong_status")
	}
	if err := s.checkRecipients(ctx, d.Recipients); err != nil {
		return nil, err
	}
	return s.dispatch(ctx, d, main, att)
}

// dispatch seals one envelope per recipient (keys used outside the
// writer), then records them and their deliveries in one transaction,
// moving the document from registered to sent.
func (s *Service) dispatch(ctx context.Context, d Document, main File, att []File) ([]string, error) {
	type sealed struct {
		to           Recipient
		installation string
		env          Envelope
		xml          []byte
		sum          string
	}
	now := s.o.Clock.Now()
	var out []sealed
	for _, r := range d.Recipients {
		inst := s.o.Installation
		if r.Peer != "" {
			var err error
			if inst, err = s.o.Peers.Installation(ctx, r.Peer); err != nil {
				return nil, kernel.E(kernel.Invalid, "edoc.error.unknown_peer", r.Peer)
			}
		}
		e, err := s.envelopeFor(ctx, d, r, inst, main, att, now)
		if err != nil {
			return nil, err
		}
		if err := s.seal(ctx, &e); err != nil {
			return nil, err
		}
		b, err := e.Marshal()
		if err != nil {
			return nil, err
		}
		canon, err := e.Canonical()
		if err != nil {
			return nil, err
		}
		out = append(out, sealed{to: r, installation: inst, env: e, xml: b, sum: digest(canon)})
	}
	ids := make([]string, len(out))
	err := s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		if err := setStatus(ctx, tx, d.ID, Sent, Registered); err != nil {
			return err
		}
		for i, x := range out {
			ids[i] = x.env.Header.ID
			if _, err := tx.Exec(ctx, `INSERT INTO edoc_envelopes (id, direction, document_id, from_peer, from_agency, to_peer, to_agency, xml, sha256, created_at)
				VALUES (?, 'out', ?, '', ?, ?, ?, ?, ?, ?)`, ids[i], d.ID, d.Agency, x.to.Peer, x.to.Agency, x.xml, x.sum, micros(tx.Now)); err != nil {
				return kernel.Wrap(err, "edoc: envelope")
			}
			if _, err := tx.Exec(ctx, `INSERT INTO edoc_outbox (envelope_id, attempts, next_at, holder, lease_until, last_error, delivered_at)
				VALUES (?, 0, ?, '', 0, '', 0)`, ids[i], micros(tx.Now)); err != nil {
				return kernel.Wrap(err, "edoc: outbox")
			}
			tally.Add(ctx, tx, IndicatorSent, d.Unit, 1)
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.send", SubjectType: "edoc", SubjectID: d.ID,
			Details: map[string]any{"symbol": d.Symbol, "envelopes": ids}})
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// deliveryLease is how long a holder keeps an envelope it delivers.
const deliveryLease = time.Minute

// backoff is the wait before the next attempt after n failures.
func backoff(n int) time.Duration {
	d := 5 * time.Second << min(n, 10)
	return min(d, time.Hour)
}

// DeliverDue delivers up to limit envelopes due, each under a lease taken
// by holder, and returns how many were delivered. Delivery is at least
// once; receipt is idempotent by envelope ID.
func (s *Service) DeliverDue(ctx context.Context, holder string, limit int) (int, error) {
	type job struct {
		id, peer string
		xml      []byte
		attempts int
	}
	var jobs []job
	now := s.o.Clock.Now()
	err := s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT o.envelope_id, o.attempts, e.to_peer FROM edoc_outbox o JOIN edoc_envelopes e ON e.id = o.envelope_id AND e.direction = 'out'
			WHERE o.delivered_at = 0 AND o.next_at <= ? AND o.lease_until <= ? ORDER BY o.next_at LIMIT ?`, micros(tx.Now), micros(tx.Now), limit)
		if err != nil {
			return kernel.Wrap(err, "edoc: outbox")
		}
		for rows.Next() {
			var j job
			if err := rows.Scan(&j.id, &j.attempts, &j.peer); err != nil {
				rows.Close()
				return kernel.Wrap(err, "edoc: outbox")
			}
			jobs = append(jobs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return kernel.Wrap(err, "edoc: outbox")
		}
		kept := jobs[:0]
		for _, j := range jobs {
			res, err := tx.Exec(ctx, `UPDATE edoc_outbox SET holder = ?, lease_until = ? WHERE envelope_id = ? AND delivered_at = 0 AND lease_until <= ?`,
				holder, micros(tx.Now.Add(deliveryLease)), j.id, micros(tx.Now))
			if err != nil {
				return kernel.Wrap(err, "edoc: lease")
			}
			if n, _ := res.RowsAffected(); n == 1 {
				kept = append(kept, j)
			}
		}
		jobs = kept
		return nil
	})
	if err != nil {
		return 0, err
	}
	delivered := 0
	sys := kernel.WithActor(ctx, kernel.System("edoc.delivery"))
	for _, j := range jobs {
		err := s.o.DB.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(ctx, `SELECT xml FROM edoc_envelopes WHERE id = ? AND direction = 'out'`, j.id).Scan(&j.xml)
		})
		if err == nil {
			if j.peer == "" {
				_, err = s.Receive(sys, "", j.xml)
			} else if s.o.Peers == nil {
				err = kernel.E(kernel.Unavailable, "edoc.error.unknown_peer", j.peer)
			} else {
				err = s.o.Peers.Deliver(ctx, j.peer, j.xml)
			}
		}
		now := s.o.Clock.Now()
		uerr := s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
			if err == nil || kernel.ErrorCode(err) == kernel.Invalid {
				// Delivered, or refused for good: no retry would change it.
				if err != nil && j.peer != "" {
					var to string
					if e := tx.QueryRow(ctx, `SELECT to_agency FROM edoc_envelopes WHERE id = ? AND direction = 'out'`, j.id).Scan(&to); e != nil {
						return e
					}
					if e := appendStatus(ctx, tx, j.id, StatusRefused, j.peer, to, errText(err)); e != nil {
						return e
					}
				}
				_, e := tx.Exec(ctx, `UPDATE edoc_outbox SET delivered_at = ?, holder = '', lease_until = 0, attempts = attempts + 1, last_error = ?
					WHERE envelope_id = ? AND holder = ?`, micros(tx.Now), errText(err), j.id, holder)
				return e
			}
			_, e := tx.Exec(ctx, `UPDATE edoc_outbox SET next_at = ?, holder = '', lease_until = 0, attempts = attempts + 1, last_error = ?
				WHERE envelope_id = ? AND holder = ?`, micros(tx.Now.Add(backoff(j.attempts))), errText(err), j.id, holder)
			return e
		})
		if uerr != nil {
			return delivered, kernel.Wrap(uerr, "edoc: outbox")
		}
		if err == nil {
			delivered++
		} else {
			s.o.Logger.Warn("edoc: delivery failed", slog.String("envelope", j.id), slog.String("peer", j.peer), slog.Any("error", err))
		}
	}
	n, err := s.deliverStatuses(ctx, holder, limit)
	return delivered + n, err
}

// deliverStatuses sends the status messages due to other installations.
func (s *Service) deliverStatuses(ctx context.Context, holder string, limit int) (int, error) {
	if s.o.Peers == nil {
		return 0, nil
	}
	var jobs []StatusMessage
	var peers []string
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT o.envelope_id, o.seq, o.peer, st.code, st.at, st.agency, st.note FROM edoc_status_outbox o
			JOIN edoc_status st ON st.envelope_id = o.envelope_id AND st.seq = o.seq
			WHERE o.delivered_at = 0 AND o.next_at <= ? AND o.lease_until <= ? ORDER BY o.envelope_id, o.seq LIMIT ?`, micros(tx.Now), micros(tx.Now), limit)
		if err != nil {
			return kernel.Wrap(err, "edoc: status outbox")
		}
		for rows.Next() {
			var m StatusMessage
			var peer string
			var at int64
			if err := rows.Scan(&m.Envelope, &m.Seq, &peer, &m.Code, &at, &m.Agency, &m.Note); err != nil {
				rows.Close()
				return kernel.Wrap(err, "edoc: status outbox")
			}
			m.At = fromMicros(at)
			jobs, peers = append(jobs, m), append(peers, peer)
		}
		rows.Close()
		for _, m := range jobs {
			if _, err := tx.Exec(ctx, `UPDATE edoc_status_outbox SET holder = ?, lease_until = ? WHERE envelope_id = ? AND seq = ?`,
				holder, micros(tx.Now.Add(deliveryLease)), m.Envelope, m.Seq); err != nil {
				return kernel.Wrap(err, "edoc: status lease")
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	done := 0
	for i, m := range jobs {
		// Statuses of one envelope go in order: a later one waits for an
		// earlier one that failed.
		if i > 0 && jobs[i-1].Envelope == m.Envelope && peers[i-1] == "" {
			continue
		}
		body, _ := json.Marshal(m)
		err := s.o.Peers.DeliverStatus(ctx, peers[i], body)
		uerr := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
			if err == nil || kernel.ErrorCode(err) == kernel.Invalid {
				_, e := tx.Exec(ctx, `UPDATE edoc_status_outbox SET delivered_at = ?, holder = '', lease_until = 0 WHERE envelope_id = ? AND seq = ?`,
					micros(tx.Now), m.Envelope, m.Seq)
				return e
			}
			_, e := tx.Exec(ctx, `UPDATE edoc_status_outbox SET next_at = ?, attempts = attempts + 1, holder = '', lease_until = 0 WHERE envelope_id = ? AND seq = ?`,
				micros(tx.Now.Add(backoff(1))), m.Envelope, m.Seq)
			return e
		})
		if uerr != nil {
			return done, kernel.Wrap(uerr, "edoc: status outbox")
		}
		if err == nil {
			done++
		} else {
			peers[i] = "" // marks the failure for the next of this envelope
			s.o.Logger.Warn("edoc: status delivery failed", slog.String("envelope", m.Envelope), slog.Any("error", err))
		}
	}
	return done, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	if k, _ := kernel.ErrorKey(err); k != "" {
		return k
	}
	return "error"
}

// Receive takes in an envelope from peer ("" for this installation):
// checks its form, its installation, its seal and its freshness, and
// registers it once in the recipient's inbox; a resend of the same
// envelope is answered as before. What is refused is logged. It returns
// the recipient's document ID.
func (s *Service) Receive(ctx context.Context, peer string, b []byte) (string, error) {
	e, err := ParseEnvelope(b)
	if err != nil {
		s.refuse(ctx, "", peer, "", "bad_envelope")
		return "", err
	}
	h := e.Header
	want := s.o.Installation
	if peer != "" {
		if s.o.Peers == nil {
			s.refuse(ctx, h.ID, peer, h.From.Agency, "unknown_peer")
			return "", kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", peer)
		}
		if want, err = s.o.Peers.Installation(ctx, peer); err != nil {
			s.refuse(ctx, h.ID, peer, h.From.Agency, "unknown_peer")
			return "", kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", peer)
		}
	}
	if h.From.Installation != want {
		s.refuse(ctx, h.ID, peer, h.From.Agency, "unknown_peer")
		return "", kernel.E(kernel.Forbidden, "edoc.error.unknown_peer", h.From.Installation)
	}
	if h.To.Installation != s.o.Installation {
		s.refuse(ctx, h.ID, peer, h.From.Agency, "not_ours")
		return "", kernel.E(kernel.Invalid, "edoc.error.not_ours")
	}
	sum, err := s.verify(ctx, e)
	if err != nil {
		s.refuse(ctx, h.ID, peer, h.From.Agency, "bad_signature")
		return "", err
	}
	sent, _ := time.Parse(time.RFC3339, h.SentAt)
	now := s.o.Clock.Now()
	// A resend of an envelope already here is answered as before; one
	// older than the replay window, or from the future, is refused.
	var prior, priorSum string
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(ctx, `SELECT r.document_id, e.sha256 FROM edoc_receipts r JOIN edoc_envelopes e ON e.id = r.envelope_id AND e.direction = 'in'
			WHERE r.envelope_id = ?`, h.ID).Scan(&prior, &priorSum)
	})
	switch {
	case err == nil:
		if priorSum != sum {
			s.refuse(ctx, h.ID, peer, h.From.Agency, "replay")
			return "", kernel.E(kernel.Conflict, "edoc.error.replay")
		}
		return prior, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", kernel.Wrap(err, "edoc: receipt")
	}
	if now.Sub(sent) > s.o.Replay || sent.Sub(now) > 5*time.Minute {
		s.refuse(ctx, h.ID, peer, h.From.Agency, "replay")
		return "", kernel.E(kernel.Invalid, "edoc.error.replay")
	}
	to, err := s.o.Directory.Agency(ctx, h.To.Agency)
	if err != nil {
		s.refuse(ctx, h.ID, peer, h.From.Agency, "unknown_recipient")
		_ = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
			return appendStatus(ctx, tx, h.ID, StatusRefused, s.o.Installation, h.To.Agency, "unknown_recipient")
		})
		return "", kernel.E(kernel.Invalid, "edoc.error.unknown_recipient", h.To.Agency)
	}
	main, att, err := e.files()
	if err != nil {
		s.refuse(ctx, h.ID, peer, h.From.Agency, "bad_files")
		return "", err
	}
	d := Document{ID: kernel.NewID(), Agency: to.Code, Unit: to.Unit, Direction: Incoming, Type: DocType(h.Type), Subject: h.Subject,
		Urgency: Urgency(h.Urgency), Confidentiality: Confidentiality(h.Confidentiality), DraftingUnit: "VP", Status: Received,
		Version: 1, FromPeer: peer, FromAgency: h.From.Agency, FromSymbol: h.Symbol, EnvelopeID: h.ID, Traces: h.traces()}
	if h.Due != "" {
		d.Due, _ = time.ParseInLocation(time.DateOnly, h.Due, kernel.Zone())
	}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		d.CreatedAt, d.UpdatedAt = tx.Now, tx.Now
		if _, err := tx.Exec(ctx, `INSERT INTO edoc_receipts (envelope_id, document_id, received_at) VALUES (?, ?, ?)`, h.ID, d.ID, micros(tx.Now)); err != nil {
			if db.IsUniqueViolation(err) {
				return kernel.E(kernel.Conflict, "edoc.error.replay")
			}
			return kernel.Wrap(err, "edoc: receipt")
		}
		if err := insertDocument(ctx, tx, &d); err != nil {
			return err
		}
		if err := insertFile(ctx, tx, d.ID, 1, 0, main); err != nil {
			return err
		}
		for i, f := range att {
			if err := insertFile(ctx, tx, d.ID, 1, i+1, f); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO edoc_envelopes (id, direction, document_id, from_peer, from_agency, to_peer, to_agency, xml, sha256, created_at)
			VALUES (?, 'in', ?, ?, ?, '', ?, ?, ?, ?)`, h.ID, d.ID, peer, h.From.Agency, h.To.Agency, b, sum, micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "edoc: envelope")
		}
		if err := appendStatus(ctx, tx, h.ID, StatusArrived, s.o.Installation, to.Code, ""); err != nil {
			return err
		}
		if err := openStep(ctx, tx, d.ID, to.Code, "register", "", 1); err != nil {
			return err
		}
		tally.Add(ctx, tx, IndicatorReceived, to.Unit, 1)
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.receive", SubjectType: "edoc", SubjectID: d.ID,
			Details: map[string]any{"envelope": h.ID, "from": h.From.Agency, "from_installation": h.From.Installation, "symbol": h.Symbol}})
	})
	if kernel.ErrorCode(err) == kernel.Conflict {
		// Two deliveries of one envelope raced: the other took it in.
		return s.Receive(ctx, peer, b)
	}
	if err != nil {
		return "", err
	}
	return d.ID, nil
}

// refuse logs a refused envelope: in the refusals table, the audit log and
// the process log.
func (s *Service) refuse(ctx context.Context, envelope, peer, from, reason string) {
	s.o.Logger.Warn("edoc: envelope refused", slog.String("envelope", envelope), slog.String("peer", peer),
		slog.String("from", from), slog.String("reason", reason))
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO edoc_refusals (id, envelope_id, peer, from_agency, reason, at) VALUES (?, ?, ?, ?, ?, ?)`,
			kernel.NewOrderedID(tx.Now), envelope, peer, from, reason, micros(tx.Now)); err != nil {
			return err
		}
		return audit.Queue(ctx, tx, audit.Entry{Action: "edoc.refuse", SubjectType: "envelope", SubjectID: envelope,
			Details: map[string]any{"peer": peer, "from": from, "reason": reason}})
	})
	if err != nil {
		s.o.Logger.Error("edoc: logging a refusal failed", slog.Any("error", err))
	}
}

// Refusal is an envelope refused on receipt.
type Refusal struct {
	Envelope, Peer, From, Reason string
	At                           time.Time
}

// Refusals lists the latest refusals (operators).
func (s *Service) Refusals(ctx context.Context, limit int) ([]Refusal, error) {
	if err := operatorOrSystem(ctx); err != nil {
		return nil, err
	}
	var out []Refusal
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT envelope_id, peer, from_agency, reason, at FROM edoc_refusals ORDER BY at DESC LIMIT ?`, limit)
		if err != nil {
			return kernel.Wrap(err, "edoc: refusals")
		}
		defer rows.Close()
		for rows.Next() {
			var r Refusal
			var at int64
			if err := rows.Scan(&r.Envelope, &r.Peer, &r.From, &r.Reason, &at); err != nil {
				return kernel.Wrap(err, "edoc: refusals")
			}
			r.At = fromMicros(at)
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// Empty reports whether no document was ever recorded (the demo seeds then).
func (s *Service) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.o.DB.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT id FROM edoc_documents LIMIT 1) x`).Scan(&n)
	if err != nil {
		return false, kernel.Wrap(err, "edoc: count")
	}
	return n == 0, nil
}
