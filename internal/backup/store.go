package backup

import (
	"context"
	"database/sql"
	"errors"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// findAuditState reads the head of the audit chain and the newest signed
// checkpoint in tx.
func findAuditState(ctx context.Context, tx *db.Tx) (AuditState, error) {
	var a AuditState
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&a.HeadSeq, &a.HeadHash); err != nil {
		return AuditState{}, kernel.Wrap(err, "backup: audit head")
	}
	var at int64
	err := tx.QueryRow(ctx, "SELECT seq, hash, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1").Scan(&a.CheckpointSeq, &a.CheckpointHash, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return AuditState{}, kernel.Wrap(err, "backup: newest checkpoint")
	default:
		a.CheckpointAt = kernel.FromMicros(at)
	}
	return a, nil
}

// findSchema returns the newest migration applied.
func findSchema(ctx context.Context, tx *db.Tx) (string, error) {
	var v sql.NullString
	if err := tx.QueryRow(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return "", kernel.Wrap(err, "backup: schema version")
	}
	return v.String, nil
}

// countTables returns how many tables the PostgreSQL database holds
// outside the system schemas: a restore goes only into an empty one.
func countTables(ctx context.Context, tx *db.Tx) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&n)
	return n, kernel.Wrap(err, "backup: count tables")
}
