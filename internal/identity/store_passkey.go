package identity

// SQL of passkeys and of the WebAuthn ceremonies under way.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

const passkeyColumns = `id, account_id, name, credential, sign_count, created_at, last_used_at`

func scanPasskey(sc interface{ Scan(...any) error }) (storedPasskey, error) {
	var p storedPasskey
	var cred string
	var created, used int64
	if err := sc.Scan(&p.ID, &p.accountID, &p.Name, &cred, &p.signCount, &created, &used); err != nil {
		return p, err
	}
	p.CreatedAt = kernel.FromMicros(created)
	if used != 0 {
		p.LastUsedAt = kernel.FromMicros(used)
	}
	if err := json.Unmarshal([]byte(cred), &p.cred); err != nil {
		return p, fmt.Errorf("passkey %s: %w", p.ID, err)
	}
	p.cred.Authenticator.SignCount = uint32(p.signCount)
	return p, nil
}

// findPasskeys lists an account's passkeys, oldest first.
func findPasskeys(ctx context.Context, tx *db.Tx, accountID string) ([]storedPasskey, error) {
	rows, err := tx.Query(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE account_id = ? ORDER BY created_at, id", accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedPasskey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// countPasskeys counts an account's passkeys.
func countPasskeys(ctx context.Context, tx *db.Tx, accountID string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM passkeys WHERE account_id = ?`, accountID).Scan(&n)
	return n, err
}

// findPasskeyByCredential returns the passkey of a credential ID (as stored
// by credentialID), or a NotFound error.
func findPasskeyByCredential(ctx context.Context, tx *db.Tx, credID string) (storedPasskey, error) {
	sp, err := scanPasskey(tx.QueryRow(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE credential_id = ?", credID))
	if errors.Is(err, sql.ErrNoRows) {
		return sp, kernel.E(kernel.NotFound, "error.identity.passkey_not_found")
	}
	return sp, err
}

// findPasskeyName returns the name of an account's passkey, or a NotFound error.
func findPasskeyName(ctx context.Context, tx *db.Tx, accountID, passkeyID string) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT name FROM passkeys WHERE id = ? AND account_id = ?`, passkeyID, accountID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", kernel.E(kernel.NotFound, "error.identity.passkey_not_found")
	}
	return name, err
}

// insertPasskey stores a new passkey (credential is the library's
// credential as JSON); a credential stored already is a Conflict.
func insertPasskey(ctx context.Context, tx *db.Tx, accountID string, p Passkey, credential, credID string, signCount uint32) error {
	_, err := tx.Exec(ctx, `INSERT INTO passkeys (id, account_id, name, credential, credential_id, sign_count, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ID, accountID, p.Name, credential, credID, int64(signCount), kernel.Micros(p.CreatedAt))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "error.identity.passkey_exists")
	}
	return err
}

// updatePasskeyUse stores a passkey's new counter and credential after a
// login, only while its counter is still was (compare-and-set: of two logins
// with one counter value only the first moves it). It reports whether it did.
func updatePasskeyUse(ctx context.Context, tx *db.Tx, passkeyID string, was int64, signCount uint32, credential string) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE passkeys SET sign_count = ?, credential = ?, last_used_at = ? WHERE id = ? AND sign_count = ?`,
		int64(signCount), credential, kernel.Micros(tx.Now), passkeyID, was)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// deletePasskey removes an account's passkey.
func deletePasskey(ctx context.Context, tx *db.Tx, accountID, passkeyID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE id = ? AND account_id = ?`, passkeyID, accountID)
	return err
}

// deleteAccountPasskeys removes all of an account's passkeys.
func deleteAccountPasskeys(ctx context.Context, tx *db.Tx, accountID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE account_id = ?`, accountID)
	return err
}

// ceremony is a row of passkey_challenges.
type ceremony struct {
	idHash, session, purpose, accountID, data string
	expires                                   int64
}

// replaceCeremony stores c as the web session's only ceremony of its purpose.
func replaceCeremony(ctx context.Context, tx *db.Tx, c ceremony) error {
	if _, err := tx.Exec(ctx, `DELETE FROM passkey_challenges WHERE session_id = ? AND purpose = ?`, c.session, c.purpose); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO passkey_challenges (id_hash, session_id, purpose, account_id, data, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.idHash, c.session, c.purpose, c.accountID, c.data, c.expires)
	return err
}

// takeCeremonyRow finds and deletes a ceremony of the web session; found is
// false when there is none (or a concurrent request took it first).
func takeCeremonyRow(ctx context.Context, tx *db.Tx, idHash, session, purpose string) (c ceremony, found bool, err error) {
	err = tx.QueryRow(ctx, `SELECT account_id, data, expires_at FROM passkey_challenges WHERE id_hash = ? AND session_id = ? AND purpose = ?`,
		idHash, session, purpose).Scan(&c.accountID, &c.data, &c.expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	res, err := tx.Exec(ctx, `DELETE FROM passkey_challenges WHERE id_hash = ?`, idHash)
	if err != nil {
		return c, false, err
	}
	n, err := res.RowsAffected()
	return c, n == 1, err
}
