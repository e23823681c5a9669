package identity

// SQL of accounts, their usage history and their recovery codes. Every
// helper runs inside the caller's transaction; the service methods open it,
// decide who may act and write the audit record.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

const accountColumns = `id, citizen_id, unit_code, level, status, password_hash, totp_sealed, totp_last_step, phone, contact, created_at, activated_at, lang`

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var created, activated, last int64
	err := sc.Scan(&a.ID, &a.CitizenID, &a.UnitCode, &a.Level, &a.Status, &a.passwordHash, &a.totpSealed, &last,
		&a.Phone, &a.Contact, &created, &activated, &a.lang)
	a.totpLastStep = uint64(last)
	a.CreatedAt = kernel.FromMicros(created)
	if activated != 0 {
		a.ActivatedAt = kernel.FromMicros(activated)
	}
	a.HasPassword = a.passwordHash != ""
	a.HasTOTP = a.totpSealed != ""
	return a, err
}

func oneAccount(row *sql.Row) (Account, error) {
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return a, kernel.E(kernel.NotFound, "error.identity.account_not_found")
	}
	if err != nil {
		return a, kernel.Wrap(err, "identity: read account")
	}
	return a, nil
}

// findAccount returns an account by ID, or a NotFound error.
func findAccount(ctx context.Context, tx *db.Tx, id string) (Account, error) {
	return oneAccount(tx.QueryRow(ctx, "SELECT "+accountColumns+" FROM accounts WHERE id = ?", id))
}

// findAccountByCitizen returns the account of a citizen ID, or a NotFound error.
func findAccountByCitizen(ctx context.Context, tx *db.Tx, citizenID string) (Account, error) {
	return oneAccount(tx.QueryRow(ctx, "SELECT "+accountColumns+" FROM accounts WHERE citizen_id = ?", citizenID))
}

// insertAccount stores a new account; a second account of one citizen ID is
// a Conflict.
func insertAccount(ctx context.Context, tx *db.Tx, a *Account) error {
	_, err := tx.Exec(ctx, `INSERT INTO accounts (id, citizen_id, unit_code, level, status, password_hash, phone, contact, created_at, activated_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.CitizenID, a.UnitCode, a.Level, a.Status, a.passwordHash, a.Phone, a.Contact,
		kernel.Micros(tx.Now), micros(a.ActivatedAt), kernel.Micros(tx.Now))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "error.identity.account_exists")
	}
	if err == nil {
		tallyAccount(ctx, tx, a.UnitCode, 0, "", a.Level, a.Status)
	}
	return err
}

// updateAccountPassword replaces an account's password hash.
func updateAccountPassword(ctx context.Context, tx *db.Tx, accountID, hash string) error {
	_, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, kernel.Micros(tx.Now), accountID)
	return err
}

// updateAccountLang records the language the holder signed in with.
func updateAccountLang(ctx context.Context, tx *db.Tx, accountID, lang string) error {
	_, err := tx.Exec(ctx, `UPDATE accounts SET lang = ? WHERE id = ?`, lang, accountID)
	return err
}

// updateAccountContact changes where a pending account's activation code goes.
func updateAccountContact(ctx context.Context, tx *db.Tx, accountID, phone, contact string) error {
	_, err := tx.Exec(ctx, `UPDATE accounts SET phone = ?, contact = ?, updated_at = ? WHERE id = ?`,
		phone, contact, kernel.Micros(tx.Now), accountID)
	return err
}

// updateAccountStatus enables or disables an account.
func updateAccountStatus(ctx context.Context, tx *db.Tx, accountID, status string) error {
	unit, level, was, err := accountState(ctx, tx, accountID)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE accounts SET status = ?, updated_at = ? WHERE id = ?`, status, kernel.Micros(tx.Now), accountID); err != nil {
		return err
	}
	tallyAccount(ctx, tx, unit, level, was, level, status)
	return nil
}

// updateAccountLevel2 makes an account an active level-2 account with hash
// for a password.
func updateAccountLevel2(ctx context.Context, tx *db.Tx, accountID, hash string) error {
	unit, level, was, err := accountState(ctx, tx, accountID)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE accounts SET level = 2, status = ?, password_hash = ?, activated_at = ?, updated_at = ? WHERE id = ?`,
		StatusActive, hash, kernel.Micros(tx.Now), kernel.Micros(tx.Now), accountID); err != nil {
		return err
	}
	tallyAccount(ctx, tx, unit, level, was, 2, StatusActive)
	return nil
}

// updateAccountTOTP stores a sealed TOTP seed and the step its first code used.
func updateAccountTOTP(ctx context.Context, tx *db.Tx, accountID, sealedSeed string, step uint64) error {
	_, err := tx.Exec(ctx, `UPDATE accounts SET totp_sealed = ?, totp_last_step = ?, updated_at = ? WHERE id = ?`,
		sealedSeed, int64(step), kernel.Micros(tx.Now), accountID)
	return err
}

// deleteAccountTOTP removes an account's TOTP seed.
func deleteAccountTOTP(ctx context.Context, tx *db.Tx, accountID string) error {
	_, err := tx.Exec(ctx, `UPDATE accounts SET totp_sealed = '', totp_last_step = 0, updated_at = ? WHERE id = ?`, kernel.Micros(tx.Now), accountID)
	return err
}

// advanceTOTPStep records that a TOTP code of step was used. It reports
// false when that step or a later one was used already: a code is never
// accepted twice.
func advanceTOTPStep(ctx context.Context, tx *db.Tx, accountID string, step uint64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE accounts SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, int64(step), accountID, int64(step))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// countActiveLevel1 counts the active level-1 accounts per commune.
func countActiveLevel1(ctx context.Context, tx *db.Tx) (map[string]int, error) {
	rows, err := tx.Query(ctx, `SELECT unit_code, COUNT(*) FROM accounts WHERE level = 1 AND status = ? GROUP BY unit_code ORDER BY unit_code`, StatusActive)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var unit string
		var n int
		if err := rows.Scan(&unit, &n); err != nil {
			return nil, err
		}
		out[unit] = n
	}
	return out, rows.Err()
}

// insertEvent adds an entry to an account's usage history.
func insertEvent(ctx context.Context, tx *db.Tx, accountID, kind, clientID, actingFor string, details map[string]string) error {
	b := []byte{}
	if len(details) > 0 {
		var err error
		if b, err = json.Marshal(details); err != nil {
			return kernel.Wrap(err, "identity: encode event")
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO account_events (id, account_id, at, kind, client_id, acting_for, details) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		kernel.NewID(), accountID, kernel.Micros(tx.Now), kind, clientID, actingFor, string(b))
	if err != nil {
		return kernel.Wrap(err, "identity: record event")
	}
	return nil
}

// findEvents returns an account's events older than before, newest first.
func findEvents(ctx context.Context, tx *db.Tx, accountID string, before time.Time, limit int) ([]Event, error) {
	rows, err := tx.Query(ctx, `SELECT id, at, kind, client_id, acting_for, details FROM account_events
		WHERE account_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?`, accountID, kernel.Micros(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ClientID, &e.ActingFor, &details); err != nil {
			return nil, err
		}
		e.At = kernel.FromMicros(at)
		if details != "" {
			_ = json.Unmarshal([]byte(details), &e.Details) // written by insertEvent; a bad row shows without details
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// deleteExpired deletes history older than historyBefore, expired code
// flows and passkey ceremonies, and outbox messages older than outboxBefore.
// It returns how many rows went.
func deleteExpired(ctx context.Context, tx *db.Tx, historyBefore, outboxBefore time.Time) (int64, error) {
	var n int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM account_events WHERE at < ?`, kernel.Micros(historyBefore)},
		{`DELETE FROM account_codes WHERE expires_at < ?`, kernel.Micros(tx.Now)},
		{`DELETE FROM passkey_challenges WHERE expires_at < ?`, kernel.Micros(tx.Now)},
		{`DELETE FROM sms_outbox WHERE created_at < ?`, kernel.Micros(outboxBefore)},
	} {
		res, err := tx.Exec(ctx, q.sql, q.arg)
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// useRecoveryCode marks an unused recovery code of an account used. It
// reports false when no unused code has that hash.
func useRecoveryCode(ctx context.Context, tx *db.Tx, accountID, codeHash string) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at = 0`,
		kernel.Micros(tx.Now), accountID, codeHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// countRecoveryCodes counts an account's unused recovery codes.
func countRecoveryCodes(ctx context.Context, tx *db.Tx, accountID string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE account_id = ? AND used_at = 0`, accountID).Scan(&n)
	return n, err
}

// deleteRecoveryCodes removes all of an account's recovery codes.
func deleteRecoveryCodes(ctx context.Context, tx *db.Tx, accountID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE account_id = ?`, accountID)
	return err
}

// replaceRecoveryCodes stores codes (hashed) as an account's only recovery codes.
func replaceRecoveryCodes(ctx context.Context, tx *db.Tx, accountID string, codes []string) error {
	if err := deleteRecoveryCodes(ctx, tx, accountID); err != nil {
		return err
	}
	for _, c := range codes {
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (account_id, code_hash) VALUES (?, ?)`,
			accountID, hashSecret(accountID, normalizeCode(c))); err != nil {
			return err
		}
	}
	return nil
}
