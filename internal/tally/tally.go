package tally

import (
	"context"
	"fmt"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Kind says how an indicator's deltas add up over time.
type Kind string

// The kinds of indicators.
const (
	// Flow counts events of a day (applications submitted, documents
	// signed): a period's figure is the sum of its days.
	Flow Kind = "flow"
	// Stock counts what exists (accounts active, certificates held): the
	// figure at a day is the sum of every delta up to and including it.
	Stock Kind = "stock"
)

// Indicator describes a figure a capability publishes.
type Indicator struct {
	Name     string // dotted, owned by the capability: "eid.level2_activated"
	TitleKey string // catalogue key of its title
	Kind     Kind
}

// Day is a calendar day in the province's time zone, as "2006-01-02".
func Day(t time.Time) string { return t.In(kernel.Zone()).Format(time.DateOnly) }

type key struct{ name, unit, day string }

type deltas struct{}

// Add adds delta to the indicator name for unit on the day of tx's time, in
// tx. Deltas of one transaction are summed in memory and written once per
// indicator and unit just before it commits, so a Batch of many changes
// costs one upsert per figure it moved. A unit is the code of the smallest
// administrative unit the change belongs to (a commune); the dashboards add
// communes up into districts and the province.
func Add(ctx context.Context, tx *db.Tx, name, unit string, delta int64) {
	if delta == 0 {
		return
	}
	k := key{name: name, unit: unit, day: Day(tx.Now)}
	db.Defer(tx, deltas{}, struct {
		k key
		d int64
	}{k, delta}, flush)
}

func flush(ctx context.Context, tx *db.Tx, items []struct {
	k key
	d int64
}) error {
	sum := make(map[key]int64, len(items))
	var order []key
	for _, it := range items {
		if _, ok := sum[it.k]; !ok {
			order = append(order, it.k)
		}
		sum[it.k] += it.d
	}
	for _, k := range order {
		if sum[k] == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tallies (name, unit, day, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (name, unit, day) DO UPDATE SET value = tallies.value + excluded.value`,
			k.name, k.unit, k.day, sum[k]); err != nil {
			return fmt.Errorf("tally: add %s: %w", k.name, err)
		}
	}
	return nil
}

// Row is one stored tally: the sum of an indicator's deltas for a unit on a day.
type Row struct {
	Name  string
	Unit  string
	Day   string
	Value int64
}

// Rows returns the stored tallies of the indicators named, for days from
// through to (inclusive, "" for open ends), in tx.
func Rows(ctx context.Context, tx *db.Tx, names []string, from, to string) ([]Row, error) {
	if len(names) == 0 {
		return nil, nil
	}
	q := `SELECT name, unit, day, value FROM tallies WHERE name IN (?` + repeat(",?", len(names)-1) + `)`
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
	rows, err := tx.Query(ctx, q+` ORDER BY name, unit, day`, args...)
	if err != nil {
		return nil, fmt.Errorf("tally: rows: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Name, &r.Unit, &r.Day, &r.Value); err != nil {
			return nil, fmt.Errorf("tally: rows: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func repeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for range n {
		out = append(out, s...)
	}
	return string(out)
}
