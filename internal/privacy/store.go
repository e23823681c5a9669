package privacy

import (
	"context"
	"database/sql"
	"errors"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

const correctionColumns = `id, account_id, citizen_id, unit_code, section, record_kind, record_id, agency_code, wrong, correct,
	status, answer, created_at, decided_at, decided_by`

func scanCorrection(sc interface{ Scan(...any) error }) (Correction, error) {
	var c Correction
	var created, decided int64
	if err := sc.Scan(&c.ID, &c.AccountID, &c.CitizenID, &c.UnitCode, &c.Section, &c.RecordKind, &c.RecordID, &c.Agency,
		&c.Wrong, &c.Correct, &c.Status, &c.Answer, &created, &decided, &c.DecidedBy); err != nil {
		return Correction{}, err
	}
	c.CreatedAt = kernel.FromMicros(created)
	if decided != 0 {
		c.DecidedAt = kernel.FromMicros(decided)
	}
	return c, nil
}

func queryCorrections(ctx context.Context, tx *db.Tx, where string, args ...any) ([]Correction, error) {
	rows, err := tx.Query(ctx, `SELECT `+correctionColumns+` FROM privacy_corrections WHERE `+where, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "privacy: corrections")
	}
	defer rows.Close()
	var out []Correction
	for rows.Next() {
		c, err := scanCorrection(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "privacy: corrections")
		}
		out = append(out, c)
	}
	return out, kernel.Wrap(rows.Err(), "privacy: corrections")
}

func insertCorrection(ctx context.Context, tx *db.Tx, c Correction) error {
	_, err := tx.Exec(ctx, `INSERT INTO privacy_corrections (`+correctionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '')`,
		c.ID, c.AccountID, c.CitizenID, c.UnitCode, c.Section, c.RecordKind, c.RecordID, c.Agency, c.Wrong, c.Correct,
		c.Status, c.Answer, kernel.Micros(c.CreatedAt))
	return kernel.Wrap(err, "privacy: insert correction")
}

func countOpenCorrections(ctx context.Context, tx *db.Tx, accountID string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM privacy_corrections WHERE account_id = ? AND status = 'open'`, accountID).Scan(&n)
	return n, kernel.Wrap(err, "privacy: count corrections")
}

// findCorrectionsOf lists the requests about a person's records, newest first.
func findCorrectionsOf(ctx context.Context, tx *db.Tx, citizenID string) ([]Correction, error) {
	return queryCorrections(ctx, tx, `citizen_id = ? ORDER BY created_at DESC, id LIMIT 200`, citizenID)
}

// findCorrectionsBy lists the requests an account made, newest first.
func findCorrectionsBy(ctx context.Context, tx *db.Tx, accountID string) ([]Correction, error) {
	return queryCorrections(ctx, tx, `account_id = ? ORDER BY created_at DESC, id LIMIT 200`, accountID)
}

// findAgencyCorrections pages an agency's requests in a status, oldest
// first; after is the last ID of the previous page.
func findAgencyCorrections(ctx context.Context, tx *db.Tx, agency, status, after string, limit int) ([]Correction, error) {
	if after == "" {
		return queryCorrections(ctx, tx, `agency_code = ? AND status = ? ORDER BY created_at, id LIMIT ?`, agency, status, limit)
	}
	var at int64
	err := tx.QueryRow(ctx, `SELECT created_at FROM privacy_corrections WHERE id = ?`, after).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.E(kernel.Invalid, "error.invalid")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "privacy: corrections")
	}
	return queryCorrections(ctx, tx, `agency_code = ? AND status = ? AND (created_at > ? OR (created_at = ? AND id > ?))
		ORDER BY created_at, id LIMIT ?`, agency, status, at, at, after, limit)
}

func findCorrection(ctx context.Context, tx *db.Tx, id string) (Correction, error) {
	c, err := scanCorrection(tx.QueryRow(ctx, `SELECT `+correctionColumns+` FROM privacy_corrections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Correction{}, kernel.E(kernel.NotFound, "privacy.error.no_correction")
	}
	return c, kernel.Wrap(err, "privacy: correction")
}

// decideCorrection closes an open request; false when it was not open.
func decideCorrection(ctx context.Context, tx *db.Tx, id, status, answer, by string) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE privacy_corrections SET status = ?, answer = ?, decided_at = ?, decided_by = ? WHERE id = ? AND status = 'open'`,
		status, answer, kernel.Micros(tx.Now), by, id)
	if err != nil {
		return false, kernel.Wrap(err, "privacy: decide correction")
	}
	n, err := res.RowsAffected()
	return n == 1, kernel.Wrap(err, "privacy: decide correction")
}

const breachColumns = `id, recorded_at, detected_at, occurred_at, description, categories, subjects, subjects_count, consequences,
	measures, contact, notification, notified_at, recorded_by`

func scanBreach(sc interface{ Scan(...any) error }) (Breach, error) {
	var b Breach
	var rec, det, occ, not int64
	if err := sc.Scan(&b.ID, &rec, &det, &occ, &b.Description, &b.Categories, &b.Subjects, &b.SubjectsCount, &b.Consequences,
		&b.Measures, &b.Contact, &b.Notification, &not, &b.RecordedBy); err != nil {
		return Breach{}, err
	}
	b.RecordedAt, b.DetectedAt = kernel.FromMicros(rec), kernel.FromMicros(det)
	if occ != 0 {
		b.OccurredAt = kernel.FromMicros(occ)
	}
	if not != 0 {
		b.NotifiedAt = kernel.FromMicros(not)
	}
	return b, nil
}

func insertBreach(ctx context.Context, tx *db.Tx, b Breach) error {
	_, err := tx.Exec(ctx, `INSERT INTO privacy_breaches (`+breachColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, kernel.Micros(b.RecordedAt), kernel.Micros(b.DetectedAt), optMicros(b.OccurredAt),
		b.Description, b.Categories, b.Subjects, b.SubjectsCount, b.Consequences, b.Measures, b.Contact, b.Notification,
		optMicros(b.NotifiedAt), b.RecordedBy)
	return kernel.Wrap(err, "privacy: insert breach")
}

func findBreaches(ctx context.Context, tx *db.Tx) ([]Breach, error) {
	rows, err := tx.Query(ctx, `SELECT `+breachColumns+` FROM privacy_breaches ORDER BY detected_at DESC, id`)
	if err != nil {
		return nil, kernel.Wrap(err, "privacy: breaches")
	}
	defer rows.Close()
	var out []Breach
	for rows.Next() {
		b, err := scanBreach(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "privacy: breaches")
		}
		out = append(out, b)
	}
	return out, kernel.Wrap(rows.Err(), "privacy: breaches")
}

func markBreachNotified(ctx context.Context, tx *db.Tx, id string, at int64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE privacy_breaches SET notified_at = ? WHERE id = ? AND notified_at = 0`, at, id)
	if err != nil {
		return false, kernel.Wrap(err, "privacy: breach notified")
	}
	n, err := res.RowsAffected()
	return n == 1, kernel.Wrap(err, "privacy: breach notified")
}
