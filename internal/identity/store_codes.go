package identity

// SQL of the flows protected by a one-time code (online registration,
// activation of an in-person enrolment) and of the enrolments.

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// codeFlow is a row of account_codes.
type codeFlow struct {
	idHash, purpose, citizenID, accountID, phone string
	matched, reset                               bool
	codeHash                                     string
	attempts                                     int
}

// newCode is a code flow to store.
type newCode struct {
	idHash, purpose, citizenID, accountID, phone string
	// matched: 0 the details matched nobody (the flow never succeeds), 1 a
	// match, 2 a match that resets the account's credentials.
	matched  int
	codeHash string
	expires  time.Time
}

// insertCode stores a code flow.
func insertCode(ctx context.Context, tx *db.Tx, c newCode) error {
	_, err := tx.Exec(ctx, `INSERT INTO account_codes (id_hash, purpose, citizen_id, account_id, phone, matched, code_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.idHash, c.purpose, c.citizenID, c.accountID, c.phone, c.matched, c.codeHash,
		kernel.Micros(tx.Now), kernel.Micros(c.expires))
	return err
}

// findLiveCode returns the unexpired flow of purpose with this ID hash; found
// is false when there is none.
func findLiveCode(ctx context.Context, tx *db.Tx, idHash, purpose string) (f codeFlow, found bool, err error) {
	var matched int
	err = tx.QueryRow(ctx, `SELECT id_hash, purpose, citizen_id, account_id, phone, matched, code_hash, attempts
		FROM account_codes WHERE id_hash = ? AND purpose = ? AND expires_at > ?`, idHash, purpose, kernel.Micros(tx.Now)).
		Scan(&f.idHash, &f.purpose, &f.citizenID, &f.accountID, &f.phone, &matched, &f.codeHash, &f.attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, err
	}
	f.matched, f.reset = matched >= 1, matched == 2
	return f, true, nil
}

// countCodeAttempt counts a wrong code against a flow.
func countCodeAttempt(ctx context.Context, tx *db.Tx, idHash string) error {
	_, err := tx.Exec(ctx, `UPDATE account_codes SET attempts = attempts + 1 WHERE id_hash = ?`, idHash)
	return err
}

// deleteCode ends a flow. It reports false when the flow was gone already
// (finished by a concurrent request).
func deleteCode(ctx context.Context, tx *db.Tx, idHash string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM account_codes WHERE id_hash = ?`, idHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// deleteAccountCodes ends an account's flows of purpose.
func deleteAccountCodes(ctx context.Context, tx *db.Tx, accountID, purpose string) error {
	_, err := tx.Exec(ctx, `DELETE FROM account_codes WHERE account_id = ? AND purpose = ?`, accountID, purpose)
	return err
}

// enrolment is a row of enrolments.
type enrolment struct {
	id, accountID, unitCode, agencyCode, officerAccountID, checks, contact string
}

// insertEnrolment records an in-person verification.
func insertEnrolment(ctx context.Context, tx *db.Tx, e enrolment) error {
	_, err := tx.Exec(ctx, `INSERT INTO enrolments (id, account_id, unit_code, agency_code, officer_account_id, checks, contact, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.id, e.accountID, e.unitCode, e.agencyCode, e.officerAccountID, e.checks, e.contact,
		kernel.Micros(tx.Now))
	return err
}

// updateEnrolmentsActivated marks an account's enrolments activated.
func updateEnrolmentsActivated(ctx context.Context, tx *db.Tx, accountID string) error {
	_, err := tx.Exec(ctx, `UPDATE enrolments SET activated_at = ? WHERE account_id = ? AND activated_at = 0`, kernel.Micros(tx.Now), accountID)
	return err
}

// findEnrolmentFigures returns the enrolments issued and activated per
// commune, in the order of the commune codes.
func findEnrolmentFigures(ctx context.Context, tx *db.Tx) ([]UnitFigures, error) {
	rows, err := tx.Query(ctx, `SELECT unit_code, COUNT(*), SUM(CASE WHEN activated_at > 0 THEN 1 ELSE 0 END)
		FROM enrolments GROUP BY unit_code ORDER BY unit_code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UnitFigures
	for rows.Next() {
		var f UnitFigures
		if err := rows.Scan(&f.UnitCode, &f.Issued, &f.Activated); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
