package stats

// SQL of the stats capability. Every helper runs inside the caller's
// transaction.

import (
	"context"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
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

func insertCampaign(ctx context.Context, tx *db.Tx, c *Campaign) error {
	if _, err := tx.Exec(ctx, `INSERT INTO stats_campaigns (id, name, unit_code, starts_on, ends_on, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.Unit, c.StartsOn, c.EndsOn, kernel.Micros(tx.Now)); err != nil {
		return err
	}
	for _, t := range c.Targets {
		if _, err := tx.Exec(ctx, `INSERT INTO stats_campaign_targets (campaign_id, indicator, percent_of_adults, target_count) VALUES (?, ?, ?, ?)`,
			c.ID, t.Key, t.Percent, t.Count); err != nil {
			return err
		}
	}
	for i := range c.Points {
		p := &c.Points[i]
		p.ID = kernel.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO stats_support_points (id, campaign_id, unit_code, place, hours, staff) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, c.ID, p.Unit, p.Place, p.Hours, p.Staff); err != nil {
			return err
		}
	}
	for i := range c.Visits {
		v := &c.Visits[i]
		v.ID = kernel.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO stats_visits (id, campaign_id, unit_code, area_code, area_name, day, team) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			v.ID, c.ID, v.Unit, v.Area, v.AreaName, v.Day, v.Team); err != nil {
			return err
		}
	}
	return nil
}

func findCampaigns(ctx context.Context, tx *db.Tx, units []string, day string) ([]Campaign, error) {
	q := `SELECT id FROM stats_campaigns WHERE unit_code IN (?` + strings.Repeat(",?", len(units)-1) + `)`
	args := make([]any, 0, len(units)+2)
	for _, u := range units {
		args = append(args, u)
	}
	if day != "" {
		q += ` AND starts_on <= ? AND ends_on >= ?`
		args = append(args, day, day)
	}
	rows, err := tx.Query(ctx, q+` ORDER BY starts_on DESC, id`, args...)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Campaign, 0, len(ids))
	for _, id := range ids {
		c, err := findCampaign(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func findCampaign(ctx context.Context, tx *db.Tx, id string) (Campaign, error) {
	var c Campaign
	if err := tx.QueryRow(ctx, `SELECT id, name, unit_code, starts_on, ends_on FROM stats_campaigns WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.Unit, &c.StartsOn, &c.EndsOn); err != nil {
		return c, err
	}
	rows, err := tx.Query(ctx, `SELECT indicator, percent_of_adults, target_count FROM stats_campaign_targets WHERE campaign_id = ? ORDER BY indicator`, id)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var t Target
		if err := rows.Scan(&t.Key, &t.Percent, &t.Count); err != nil {
			rows.Close()
			return c, err
		}
		c.Targets = append(c.Targets, t)
	}
	rows.Close()
	rows, err = tx.Query(ctx, `SELECT id, unit_code, place, hours, staff FROM stats_support_points WHERE campaign_id = ? ORDER BY unit_code, id`, id)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var p SupportPoint
		if err := rows.Scan(&p.ID, &p.Unit, &p.Place, &p.Hours, &p.Staff); err != nil {
			rows.Close()
			return c, err
		}
		c.Points = append(c.Points, p)
	}
	rows.Close()
	rows, err = tx.Query(ctx, `SELECT id, unit_code, area_code, area_name, day, team FROM stats_visits WHERE campaign_id = ? ORDER BY day, area_code`, id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var v Visit
		if err := rows.Scan(&v.ID, &v.Unit, &v.Area, &v.AreaName, &v.Day, &v.Team); err != nil {
			return c, err
		}
		c.Visits = append(c.Visits, v)
	}
	return c, rows.Err()
}

func findOutcomes(ctx context.Context, tx *db.Tx, commune string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT citizen_id, outcome FROM stats_visit_outcomes WHERE unit_code = ?`, commune)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, o string
		if err := rows.Scan(&c, &o); err != nil {
			return nil, err
		}
		out[c] = o
	}
	return out, rows.Err()
}

func upsertOutcome(ctx context.Context, tx *db.Tx, citizenID, commune, outcome, by string) error {
	_, err := tx.Exec(ctx, `INSERT INTO stats_visit_outcomes (citizen_id, unit_code, outcome, noted_by, noted_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (citizen_id) DO UPDATE SET unit_code = excluded.unit_code, outcome = excluded.outcome, noted_by = excluded.noted_by, noted_at = excluded.noted_at`,
		citizenID, commune, outcome, by, kernel.Micros(tx.Now))
	return err
}
