package oid4vc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// querier is a transaction or the database's readers.
type querier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ querier = (*db.Tx)(nil)
	_ querier = (*db.DB)(nil)
)

// insertNonce keeps a nonce's hash until expires.
func insertNonce(ctx context.Context, tx *db.Tx, hash string, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO wallet_oid4vci_nonces (nonce_hash, expires_at) VALUES (?, ?)`, hash, kernel.Micros(expires))
	return err
}

// deleteNonce uses a nonce up: false when it is unknown, used or expired.
func deleteNonce(ctx context.Context, tx *db.Tx, hash string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM wallet_oid4vci_nonces WHERE nonce_hash = ? AND expires_at > ?`, hash, kernel.Micros(tx.Now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// vpRow is a stored presentation request.
type vpRow struct {
	id, readHash, nonce, state, typ, purpose, status, sealed, lastError string
	claims                                                              []string
	failures                                                            int
	expires                                                             time.Time
}

// insertVPRequest stores a new presentation request, pending.
func insertVPRequest(ctx context.Context, tx *db.Tx, v vpRow) error {
	names, err := json.Marshal(v.claims)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO wallet_vp_requests (id, read_hash, nonce, state, type, claims, purpose, status, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, v.id, v.readHash, v.nonce, v.state, v.typ, string(names), v.purpose, v.status,
		kernel.Micros(tx.Now), kernel.Micros(v.expires))
	return err
}

// findVPRequest reads request id; in a transaction on PostgreSQL, lock
// holds its row until the commit. An unknown request is NotFound.
func findVPRequest(ctx context.Context, q querier, id string, lock bool) (vpRow, error) {
	query := `SELECT id, read_hash, nonce, state, type, claims, status, result_sealed, failures, last_error, expires_at
		FROM wallet_vp_requests WHERE id = ?`
	if tx, ok := q.(*db.Tx); ok && lock && tx.Dialect() == db.Postgres {
		query += ` FOR UPDATE`
	}
	var v vpRow
	var names string
	var expires int64
	err := q.QueryRow(ctx, query, id).
		Scan(&v.id, &v.readHash, &v.nonce, &v.state, &v.typ, &names, &v.status, &v.sealed, &v.failures, &v.lastError, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return vpRow{}, kernel.E(kernel.NotFound, "oid4vc.error.no_request")
	}
	if err != nil {
		return vpRow{}, kernel.Wrap(err, "oid4vc: presentation request")
	}
	if err := json.Unmarshal([]byte(names), &v.claims); err != nil {
		return vpRow{}, kernel.Wrap(err, "oid4vc: presentation request")
	}
	v.expires = kernel.FromMicros(expires)
	return v, nil
}

// updateVPRefused counts a refused response and sets the request's status.
func updateVPRefused(ctx context.Context, tx *db.Tx, id string, failures int, why, status string) error {
	_, err := tx.Exec(ctx, `UPDATE wallet_vp_requests SET failures = ?, last_error = ?, status = ? WHERE id = ?`, failures, why, status, id)
	return err
}

// updateVPAnswered records the verdict on a genuine presentation.
func updateVPAnswered(ctx context.Context, tx *db.Tx, id, status, sealedResult, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE wallet_vp_requests SET status = ?, result_sealed = ?, last_error = ?, answered_at = ? WHERE id = ?`,
		status, sealedResult, reason, kernel.Micros(tx.Now), id)
	return err
}

// deleteExpired deletes expired nonces and presentation requests.
func deleteExpired(ctx context.Context, tx *db.Tx) (int64, error) {
	var n int64
	for _, q := range []string{`DELETE FROM wallet_oid4vci_nonces WHERE expires_at < ?`, `DELETE FROM wallet_vp_requests WHERE expires_at < ?`} {
		res, err := tx.Exec(ctx, q, kernel.Micros(tx.Now))
		if err != nil {
			return 0, err
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
