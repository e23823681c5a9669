package exchange

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The exchange's SQL: unexported helpers run inside the caller's
// transaction (or on the reader pool, for reads outside one).

// reader is a transaction or the database's reader pool.
type reader interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

var (
	_ reader = (*db.Tx)(nil)
	_ reader = (*db.DB)(nil)
)

const grantColumns = "consumer, service, fields, basis, until_at, granted_by, granted_at, revoked_at"

func scanGrant(sc interface{ Scan(...any) error }) (Grant, error) {
	var g Grant
	var fields string
	var until, at, revoked int64
	if err := sc.Scan(&g.Consumer, &g.Service, &fields, &g.Basis, &until, &g.GrantedBy, &at, &revoked); err != nil {
		return Grant{}, err
	}
	g.Fields, g.GrantedAt = strings.Fields(fields), kernel.FromMicros(at)
	if until != 0 {
		g.Until = kernel.FromMicros(until)
	}
	if revoked != 0 {
		g.RevokedAt = kernel.FromMicros(revoked)
	}
	return g, nil
}

// findGrant returns a consumer's grant of a service, live or not; none is
// NotFound.
func findGrant(ctx context.Context, r reader, consumer, service string) (Grant, error) {
	g, err := scanGrant(r.QueryRow(ctx, "SELECT "+grantColumns+" FROM exchange_grants WHERE consumer = ? AND service = ?", consumer, service))
	if errors.Is(err, sql.ErrNoRows) {
		return Grant{}, kernel.E(kernel.NotFound, "exchange.error.no_such_grant")
	}
	if err != nil {
		return Grant{}, kernel.Wrap(err, "exchange: read grant")
	}
	return g, nil
}

func upsertGrant(ctx context.Context, tx *db.Tx, g Grant) error {
	var until int64
	if !g.Until.IsZero() {
		until = kernel.Micros(g.Until)
	}
	_, err := tx.Exec(ctx, `INSERT INTO exchange_grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (consumer, service) DO UPDATE SET fields = excluded.fields, basis = excluded.basis, until_at = excluded.until_at,
		granted_by = excluded.granted_by, granted_at = excluded.granted_at, revoked_at = 0`,
		g.Consumer, g.Service, strings.Join(g.Fields, " "), g.Basis, until, g.GrantedBy, kernel.Micros(g.GrantedAt))
	return kernel.Wrap(err, "exchange: write grant")
}

// revokeGrant withdraws a live grant and says how many it withdrew (0 or 1).
func revokeGrant(ctx context.Context, tx *db.Tx, consumer, service string) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE exchange_grants SET revoked_at = ? WHERE consumer = ? AND service = ? AND revoked_at = 0`,
		kernel.Micros(tx.Now), consumer, service)
	if err != nil {
		return 0, kernel.Wrap(err, "exchange: revoke grant")
	}
	n, err := res.RowsAffected()
	return n, kernel.Wrap(err, "exchange: revoke grant")
}

func listGrants(ctx context.Context, r reader, consumer string) ([]Grant, error) {
	q, args := "SELECT "+grantColumns+" FROM exchange_grants", []any{}
	if consumer != "" {
		q += " WHERE consumer = ?"
		args = append(args, consumer)
	}
	rows, err := r.Query(ctx, q+" ORDER BY consumer, service", args...)
	if err != nil {
		return nil, kernel.Wrap(err, "exchange: list grants")
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "exchange: list grants")
		}
		out = append(out, g)
	}
	return out, kernel.Wrap(rows.Err(), "exchange: list grants")
}
