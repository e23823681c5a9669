package identity

// SQL of the throttle of guessable secrets.

import (
	"context"
	"database/sql"
	"errors"

	"civitas/internal/db"
)

// throttleRow is a row of auth_throttle (times in Unix microseconds).
type throttleRow struct {
	failures    int
	first, lock int64
}

// findThrottle returns the row of a hashed key; found is false when the key
// has none. On PostgreSQL the row stays locked to the end of tx, so that
// concurrent failures on one key count one after another.
func findThrottle(ctx context.Context, tx *db.Tx, k string, forUpdate bool) (r throttleRow, found bool, err error) {
	lock := ""
	if forUpdate && tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE"
	}
	err = tx.QueryRow(ctx, "SELECT failures, first_failure_at, locked_until FROM auth_throttle WHERE key = ?"+lock, k).Scan(&r.failures, &r.first, &r.lock)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// findThrottleLocks returns the locked_until of those of the hashed keys
// that have a row.
func findThrottleLocks(ctx context.Context, tx *db.Tx, keys []string) (map[string]int64, error) {
	q := "SELECT key, locked_until FROM auth_throttle WHERE key IN (?" + repeatPlaceholder(len(keys)-1) + ")"
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]int64, len(keys))
	for rows.Next() {
		var k string
		var lock int64
		if err := rows.Scan(&k, &lock); err != nil {
			return nil, err
		}
		out[k] = lock
	}
	return out, rows.Err()
}

func repeatPlaceholder(n int) string {
	b := make([]byte, 0, 3*n)
	for range n {
		b = append(b, ", ?"...)
	}
	return string(b)
}

// updateThrottle stores a key's row, which findThrottle found.
func updateThrottle(ctx context.Context, tx *db.Tx, k string, r throttleRow) error {
	_, err := tx.Exec(ctx, "UPDATE auth_throttle SET failures = ?, first_failure_at = ?, locked_until = ? WHERE key = ?", r.failures, r.first, r.lock, k)
	return err
}

// insertThrottle stores a key's first row. Two first failures at once both
// find no row: the second counts on top of the first.
func insertThrottle(ctx context.Context, tx *db.Tx, k string, r throttleRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO auth_throttle (key, failures, first_failure_at, locked_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET failures = auth_throttle.failures + 1`, k, r.failures, r.first, r.lock)
	return err
}

// deleteThrottle forgets a key.
func deleteThrottle(ctx context.Context, tx *db.Tx, k string) error {
	_, err := tx.Exec(ctx, "DELETE FROM auth_throttle WHERE key = ?", k)
	return err
}

// deleteStaleThrottles deletes the rows unlocked by lockedBefore whose first
// failure came before firstBefore.
func deleteStaleThrottles(ctx context.Context, tx *db.Tx, lockedBefore, firstBefore int64) (int64, error) {
	res, err := tx.Exec(ctx, "DELETE FROM auth_throttle WHERE locked_until < ? AND first_failure_at < ?", lockedBefore, firstBefore)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
