package learning

import (
	"context"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Indicators are the figures learning publishes per commune for the
// adoption dashboards.
func (s *Service) Indicators() []tally.Indicator {
	return []tally.Indicator{
		{Name: "learning.enrolments", TitleKey: "learning.indicator.enrolments", Kind: tally.Flow},
		{Name: "learning.completions", TitleKey: "learning.indicator.completions", Kind: tally.Flow},
		{Name: "learning.attendances", TitleKey: "learning.indicator.attendances", Kind: tally.Flow},
		{Name: "learning.trained", TitleKey: "learning.indicator.trained", Kind: tally.Flow},
	}
}

// TallyKey names one figure: an indicator, a unit and a day.
type TallyKey struct{ Name, Unit, Day string }

// RecountTallies counts every figure of Indicators again from learning's
// own tables, so that a rebuild can check the figures added as things
// happened.
func (s *Service) RecountTallies(ctx context.Context) (map[TallyKey]int64, error) {
	out := map[TallyKey]int64{}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		for _, q := range []struct{ name, sql string }{
			{"learning.enrolments", `SELECT unit, enrolled_at FROM learning_enrolments`},
			{"learning.completions", `SELECT unit, passed_at FROM learning_enrolments WHERE passed_at > 0`},
			{"learning.trained", `SELECT unit, marked_at FROM learning_trained`},
		} {
			if err := recount(ctx, tx, out, q.name, q.sql); err != nil {
				return err
			}
		}
		// Attendance counts where the person lives, as it was added.
		rows, err := tx.Query(ctx, `SELECT person, attended_at FROM learning_seats WHERE attended_at > 0`)
		if err != nil {
			return kernel.Wrap(err, "learning: recount")
		}
		type seat struct {
			person string
			at     int64
		}
		var seats []seat
		for rows.Next() {
			var st seat
			if err := rows.Scan(&st.person, &st.at); err != nil {
				rows.Close()
				return kernel.Wrap(err, "learning: recount")
			}
			seats = append(seats, st)
		}
		rows.Close()
		for _, st := range seats {
			p, err := s.o.People.Person(ctx, st.person)
			if err != nil {
				return err
			}
			out[TallyKey{"learning.attendances", p.UnitCode, tally.Day(kernel.FromMicros(st.at))}]++
		}
		return nil
	})
	return out, err
}

func recount(ctx context.Context, tx *db.Tx, out map[TallyKey]int64, name, q string) error {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return kernel.Wrap(err, "learning: recount %s", name)
	}
	defer rows.Close()
	for rows.Next() {
		var unit string
		var at int64
		if err := rows.Scan(&unit, &at); err != nil {
			return kernel.Wrap(err, "learning: recount %s", name)
		}
		out[TallyKey{name, unit, tally.Day(kernel.FromMicros(at))}]++
	}
	return kernel.Wrap(rows.Err(), "learning: recount %s", name)
}
