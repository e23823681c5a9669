package portal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The portal's SQL: helpers run inside the caller's transaction.

const applicationColumns = `id, procedure, applicant_account, applicant_citizen, subject_kind, subject_id, subject_name, beneficiary,
	channel, assisted_by, status, unit_code, agency, delivery, delivery_address, fee, fee_exempt, payment_state, payment_ref, data,
	declaration, receipt_number, paperless, created_at, updated_at, submitted_at, finished_at, due_date, paused_on, apologised, overdue, requested, reason, version`

type scanner interface{ Scan(...any) error }

func scanApplication(r scanner) (Application, error) {
	var a Application
	var data, requested string
	var paperless, apologised, overdue int
	var created, updated, submitted, finished int64
	if err := r.Scan(&a.ID, &a.Procedure, &a.ApplicantAccount, &a.ApplicantCitizen, &a.Subject.Kind, &a.Subject.ID, &a.SubjectName,
		&a.Beneficiary, &a.Channel, &a.AssistedBy, &a.Status, &a.Unit, &a.Agency, &a.Delivery, &a.DeliveryAddress, &a.Fee, &a.FeeExempt,
		&a.PaymentState, &a.PaymentRef, &data, &a.Declaration, &a.Receipt, &paperless, &created, &updated, &submitted, &finished,
		&a.Due, &a.PausedOn, &apologised, &overdue, &requested, &a.Reason, &a.Version); err != nil {
		return a, err
	}
	a.Paperless, a.Apologised, a.Overdue = paperless == 1, apologised == 1, overdue == 1
	a.CreatedAt, a.UpdatedAt = kernel.FromMicros(created), kernel.FromMicros(updated)
	if submitted != 0 {
		a.SubmittedAt = kernel.FromMicros(submitted)
	}
	if finished != 0 {
		a.FinishedAt = kernel.FromMicros(finished)
	}
	a.Data = map[string]any{}
	if err := json.Unmarshal([]byte(data), &a.Data); err != nil {
		return a, fmt.Errorf("data: %w", err)
	}
	if requested != "" {
		a.Requested = strings.Split(requested, ",")
	}
	return a, nil
}

func findApplication(ctx context.Context, tx *db.Tx, id string) (Application, error) {
	a, err := scanApplication(tx.QueryRow(ctx, `SELECT `+applicationColumns+` FROM portal_applications WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, errNoApplication()
	}
	if err != nil {
		return Application{}, kernel.Wrap(err, "portal: application")
	}
	return a, nil
}

func errNoApplication() error { return kernel.E(kernel.NotFound, "portal.error.no_application") }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return kernel.Micros(t)
}

func insertApplication(ctx context.Context, tx *db.Tx, a *Application) error {
	data, err := json.Marshal(a.Data)
	if err != nil {
		return kernel.Wrap(err, "portal: data")
	}
	_, err = tx.Exec(ctx, `INSERT INTO portal_applications (`+applicationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Procedure, a.ApplicantAccount, a.ApplicantCitizen, a.Subject.Kind, a.Subject.ID, a.SubjectName, a.Beneficiary,
		a.Channel, a.AssistedBy, a.Status, a.Unit, a.Agency, a.Delivery, a.DeliveryAddress, a.Fee, a.FeeExempt, a.PaymentState, a.PaymentRef,
		string(data), a.Declaration, a.Receipt, boolInt(a.Paperless), micros(a.CreatedAt), micros(a.UpdatedAt), micros(a.SubmittedAt),
		micros(a.FinishedAt), a.Due, a.PausedOn, boolInt(a.Apologised), boolInt(a.Overdue), strings.Join(a.Requested, ","), a.Reason, a.Version)
	if err != nil {
		return kernel.Wrap(err, "portal: insert application")
	}
	return nil
}

// updateApplication writes a's changes if nobody changed it since it was
// read (its version), and moves the version on.
func updateApplication(ctx context.Context, tx *db.Tx, a *Application) error {
	data, err := json.Marshal(a.Data)
	if err != nil {
		return kernel.Wrap(err, "portal: data")
	}
	a.UpdatedAt = tx.Now
	res, err := tx.Exec(ctx, `UPDATE portal_applications SET subject_name = ?, beneficiary = ?, status = ?, agency = ?, delivery = ?, delivery_address = ?,
		fee = ?, fee_exempt = ?, payment_state = ?, payment_ref = ?, data = ?, declaration = ?, receipt_number = ?, paperless = ?, updated_at = ?,
		submitted_at = ?, finished_at = ?, due_date = ?, paused_on = ?, apologised = ?, overdue = ?, requested = ?, reason = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		a.SubjectName, a.Beneficiary, a.Status, a.Agency, a.Delivery, a.DeliveryAddress, a.Fee, a.FeeExempt, a.PaymentState, a.PaymentRef,
		string(data), a.Declaration, a.Receipt, boolInt(a.Paperless), micros(a.UpdatedAt), micros(a.SubmittedAt), micros(a.FinishedAt),
		a.Due, a.PausedOn, boolInt(a.Apologised), boolInt(a.Overdue), strings.Join(a.Requested, ","), a.Reason, a.ID, a.Version)
	if err != nil {
		return kernel.Wrap(err, "portal: update application")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.E(kernel.Conflict, "portal.error.changed")
	}
	a.Version++
	return nil
}

const partColumns = `application_id, part, idx, agency, unit_code, status, due_date, assignee, decided_by, decided_at, decision, outputs, reason,
	document_id, document_type, holder_kind, holder_id, result_pdf IS NOT NULL`

func scanPart(r scanner) (CasePart, error) {
	var p CasePart
	var decided int64
	var decision, outputs string
	if err := r.Scan(&p.ApplicationID, &p.Code, &p.Index, &p.Agency, &p.Unit, &p.Status, &p.Due, &p.Assignee, &p.DecidedBy, &decided,
		&decision, &outputs, &p.Reason, &p.DocumentID, &p.DocumentType, &p.Holder.Kind, &p.Holder.ID, &p.HasPDF); err != nil {
		return p, err
	}
	if decided != 0 {
		p.DecidedAt = kernel.FromMicros(decided)
	}
	if err := json.Unmarshal([]byte(decision), &p.Decision); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(outputs), &p.Outputs); err != nil {
		return p, err
	}
	return p, nil
}

func findParts(ctx context.Context, tx *db.Tx, appID string) ([]CasePart, error) {
	rows, err := tx.Query(ctx, `SELECT `+partColumns+` FROM portal_parts WHERE application_id = ? ORDER BY idx`, appID)
	if err != nil {
		return nil, kernel.Wrap(err, "portal: parts")
	}
	defer rows.Close()
	var out []CasePart
	for rows.Next() {
		p, err := scanPart(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "portal: parts")
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func insertPart(ctx context.Context, tx *db.Tx, p *CasePart) error {
	_, err := tx.Exec(ctx, `INSERT INTO portal_parts (application_id, part, idx, agency, unit_code, status, queue, due_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ApplicationID, p.Code, p.Index, p.Agency, p.Unit, p.Status, boolInt(inQueue(p.Status)), p.Due)
	if err != nil {
		return kernel.Wrap(err, "portal: insert part")
	}
	return nil
}

// updatePart writes a part's state if it is still in status from.
func updatePart(ctx context.Context, tx *db.Tx, p *CasePart, from string) error {
	decision, err := json.Marshal(p.Decision)
	if err != nil {
		return kernel.Wrap(err, "portal: part")
	}
	outputs, err := json.Marshal(p.Outputs)
	if err != nil {
		return kernel.Wrap(err, "portal: part")
	}
	res, err := tx.Exec(ctx, `UPDATE portal_parts SET agency = ?, status = ?, queue = ?, due_date = ?, assignee = ?, decided_by = ?, decided_at = ?,
		decision = ?, outputs = ?, reason = ?, document_id = ?, document_type = ?, holder_kind = ?, holder_id = ?
		WHERE application_id = ? AND part = ? AND status = ?`,
		p.Agency, p.Status, boolInt(inQueue(p.Status)), p.Due, p.Assignee, p.DecidedBy, micros(p.DecidedAt), string(decision), string(outputs),
		p.Reason, p.DocumentID, p.DocumentType, p.Holder.Kind, p.Holder.ID, p.ApplicationID, p.Code, from)
	if err != nil {
		return kernel.Wrap(err, "portal: update part")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.E(kernel.Conflict, "portal.error.changed")
	}
	return nil
}

func storeResultPDF(ctx context.Context, tx *db.Tx, appID, part string, pdf []byte) error {
	if _, err := tx.Exec(ctx, `UPDATE portal_parts SET result_pdf = ? WHERE application_id = ? AND part = ?`, pdf, appID, part); err != nil {
		return kernel.Wrap(err, "portal: store result")
	}
	return nil
}

func findResultPDF(ctx context.Context, tx *db.Tx, appID, part string) ([]byte, error) {
	var b []byte
	err := tx.QueryRow(ctx, `SELECT result_pdf FROM portal_parts WHERE application_id = ? AND part = ? AND result_pdf IS NOT NULL`, appID, part).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.E(kernel.NotFound, "portal.error.no_result")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "portal: result")
	}
	return b, nil
}

func upsertSource(ctx context.Context, tx *db.Tx, appID string, r SourceRead) error {
	recs, err := json.Marshal(r.Records)
	if err != nil {
		return kernel.Wrap(err, "portal: source")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM portal_sources WHERE application_id = ? AND party = ? AND source = ?`, appID, r.Party, r.Source); err != nil {
		return kernel.Wrap(err, "portal: source")
	}
	if _, err := tx.Exec(ctx, `INSERT INTO portal_sources (application_id, party, source, subject_id, provider, provider_name, receipt, records, error, read_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, appID, r.Party, r.Source, r.SubjectID, r.Provider, r.ProviderName, r.Receipt, string(recs), r.Error,
		micros(r.ReadAt)); err != nil {
		return kernel.Wrap(err, "portal: source")
	}
	return nil
}

func findSources(ctx context.Context, tx *db.Tx, appID string) ([]SourceRead, error) {
	rows, err := tx.Query(ctx, `SELECT party, source, subject_id, provider, provider_name, receipt, records, error, read_at FROM portal_sources
		WHERE application_id = ? ORDER BY party, source`, appID)
	if err != nil {
		return nil, kernel.Wrap(err, "portal: sources")
	}
	defer rows.Close()
	var out []SourceRead
	for rows.Next() {
		var r SourceRead
		var recs string
		var at int64
		if err := rows.Scan(&r.Party, &r.Source, &r.SubjectID, &r.Provider, &r.ProviderName, &r.Receipt, &recs, &r.Error, &at); err != nil {
			return nil, kernel.Wrap(err, "portal: sources")
		}
		if err := json.Unmarshal([]byte(recs), &r.Records); err != nil {
			return nil, kernel.Wrap(err, "portal: sources")
		}
		r.ReadAt = kernel.FromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func insertUpload(ctx context.Context, tx *db.Tx, appID string, u Upload, content []byte) error {
	if _, err := tx.Exec(ctx, `INSERT INTO portal_uploads (application_id, id, input, name, content_type, size, sha256, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, appID, u.ID, u.Input, u.Name, u.ContentType, u.Size, u.SHA256, content, micros(u.CreatedAt)); err != nil {
		return kernel.Wrap(err, "portal: upload")
	}
	return nil
}

func findUploads(ctx context.Context, tx *db.Tx, appID string) ([]Upload, error) {
	rows, err := tx.Query(ctx, `SELECT id, input, name, content_type, size, sha256, created_at FROM portal_uploads WHERE application_id = ? ORDER BY created_at, id`, appID)
	if err != nil {
		return nil, kernel.Wrap(err, "portal: uploads")
	}
	defer rows.Close()
	var out []Upload
	for rows.Next() {
		var u Upload
		var at int64
		if err := rows.Scan(&u.ID, &u.Input, &u.Name, &u.ContentType, &u.Size, &u.SHA256, &at); err != nil {
			return nil, kernel.Wrap(err, "portal: uploads")
		}
		u.CreatedAt = kernel.FromMicros(at)
		out = append(out, u)
	}
	return out, rows.Err()
}

func findUploadContent(ctx context.Context, tx *db.Tx, appID, id string) (Upload, []byte, error) {
	var u Upload
	var b []byte
	var at int64
	err := tx.QueryRow(ctx, `SELECT id, input, name, content_type, size, sha256, created_at, content FROM portal_uploads WHERE application_id = ? AND id = ?`,
		appID, id).Scan(&u.ID, &u.Input, &u.Name, &u.ContentType, &u.Size, &u.SHA256, &at, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return u, nil, kernel.E(kernel.NotFound, "portal.error.no_upload")
	}
	if err != nil {
		return u, nil, kernel.Wrap(err, "portal: upload")
	}
	u.CreatedAt = kernel.FromMicros(at)
	return u, b, nil
}

func deleteUpload(ctx context.Context, tx *db.Tx, appID, id string) error {
	res, err := tx.Exec(ctx, `DELETE FROM portal_uploads WHERE application_id = ? AND id = ?`, appID, id)
	if err != nil {
		return kernel.Wrap(err, "portal: delete upload")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.E(kernel.NotFound, "portal.error.no_upload")
	}
	return nil
}

// insertEvent appends to the application's history, as the actor in ctx.
func insertEvent(ctx context.Context, tx *db.Tx, appID, kind, part string, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return kernel.Wrap(err, "portal: event")
	}
	if details == nil {
		b = []byte("{}")
	}
	actor := kernel.ActorFrom(ctx)
	_, err = tx.Exec(ctx, `INSERT INTO portal_events (application_id, seq, at, actor_kind, actor_id, kind, part, details)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM portal_events WHERE application_id = ?), ?, ?, ?, ?, ?, ?)`,
		appID, appID, micros(tx.Now), string(actor.Kind), actor.ID, kind, part, string(b))
	if err != nil {
		return kernel.Wrap(err, "portal: event")
	}
	return nil
}

func findEvents(ctx context.Context, tx *db.Tx, appID string) ([]Event, error) {
	rows, err := tx.Query(ctx, `SELECT seq, at, actor_kind, actor_id, kind, part, details FROM portal_events WHERE application_id = ? ORDER BY seq`, appID)
	if err != nil {
		return nil, kernel.Wrap(err, "portal: events")
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var details string
		if err := rows.Scan(&e.Seq, &at, &e.ActorKind, &e.ActorID, &e.Kind, &e.Part, &details); err != nil {
			return nil, kernel.Wrap(err, "portal: events")
		}
		e.At = kernel.FromMicros(at)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, kernel.Wrap(err, "portal: events")
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func insertFlag(ctx context.Context, tx *db.Tx, f Flag) error {
	if _, err := tx.Exec(ctx, `INSERT INTO portal_flags (id, application_id, source, field, provider, note, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.ApplicationID, f.Source, f.Field, f.Provider, f.Note, f.Status, micros(f.CreatedAt)); err != nil {
		return kernel.Wrap(err, "portal: flag")
	}
	return nil
}

func scanFlags(rows *sql.Rows) ([]Flag, error) {
	defer rows.Close()
	var out []Flag
	for rows.Next() {
		var f Flag
		var at int64
		if err := rows.Scan(&f.ID, &f.ApplicationID, &f.Source, &f.Field, &f.Provider, &f.Note, &f.Status, &at); err != nil {
			return nil, kernel.Wrap(err, "portal: flags")
		}
		f.CreatedAt = kernel.FromMicros(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

const flagColumns = `id, application_id, source, field, provider, note, status, created_at`

// nextNumber is the next number of a series in a year (receipts, results
// of an agency), counted in the caller's transaction.
func nextNumber(ctx context.Context, tx *db.Tx, series string, year int) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `INSERT INTO portal_numbers (series, year, last) VALUES (?, ?, 1)
		ON CONFLICT (series, year) DO UPDATE SET last = portal_numbers.last + 1 RETURNING last`, series, year).Scan(&n)
	if err != nil {
		return 0, kernel.Wrap(err, "portal: number")
	}
	return n, nil
}

func insertOutcome(ctx context.Context, tx *db.Tx, o outcome) error {
	if _, err := tx.Exec(ctx, `INSERT INTO portal_outcomes (application_id, unit_code, procedure, channel, paperless, outcome, submitted_day, finished_day,
		working_days, on_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.app, o.unit, o.procedure, o.channel, boolInt(o.paperless), o.outcome,
		o.submitted, o.finished, o.days, boolInt(o.onTime)); err != nil {
		return kernel.Wrap(err, "portal: outcome")
	}
	return nil
}
