package stats

// SQL of the stats capability. Every helper runs inside the caller's
// transaction.

import (
	"context"
	"strings"

	"civitas/internal/db"
	"civitas/internal/tally"
)

// sumTallies adds up the tallies of the indicators named per indicator and
// unit, for days from through to ("" for an open end).
func sumTallies(ctx context.Context, tx *db.Tx, names []string, from, to string) ([]tally.Row, error) {
	if len(names) == 0 {
		return nil, nil
	}
	q := `SELECT name, unit, SUM(value) FROM tallies WHERE name IN (?` + strings.Repeat(",?", len(names)-1) + `)`
	args := make([]any, 0, len(names)+2)
	for _, n := range names {
		args = append(args, n)
	}
	if from != "" {
		q += ` AND day >= ?`
		args = append(args, from)
	}
	if to != "" {
		q += ` AND day <= ?`
		args = append(args, to)
	}
	rows, err := tx.Query(ctx, q+` GROUP BY name, unit`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tally.Row
	for rows.Next() {
		var r tally.Row
		if err := rows.Scan(&r.Name, &r.Unit, &r.Value); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
