package feedback

import (
	"context"
	"slices"
	"sort"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// The figures feedback publishes per commune for the dashboards.
const (
	IndicatorReceived       = "feedback.received"         // reports received (flow)
	IndicatorResolved       = "feedback.resolved"         // reports resolved the first time (flow)
	IndicatorResolvedOnTime = "feedback.resolved_on_time" // of those, by their deadline (flow)
	IndicatorReopened       = "feedback.reopened"         // reports reopened by their reporter (flow)
	IndicatorRated          = "feedback.rated"            // ratings given (flow)
	IndicatorRatingPoints   = "feedback.rating_points"    // the sum of the ratings given (flow): / rated = satisfaction
	IndicatorOpen           = "feedback.open"             // reports waiting for the agency (stock)
	IndicatorLayers         = "feedback.layers"           // planning layers in force (stock, province-wide: unit "")
)

// Indicators describes the figures feedback adds to as it works.
func (s *Service) Indicators() []tally.Indicator {
	return []tally.Indicator{
		{Name: IndicatorReceived, TitleKey: "feedback.indicator.received", Kind: tally.Flow},
		{Name: IndicatorResolved, TitleKey: "feedback.indicator.resolved", Kind: tally.Flow},
		{Name: IndicatorResolvedOnTime, TitleKey: "feedback.indicator.resolved_on_time", Kind: tally.Flow},
		{Name: IndicatorReopened, TitleKey: "feedback.indicator.reopened", Kind: tally.Flow},
		{Name: IndicatorRated, TitleKey: "feedback.indicator.rated", Kind: tally.Flow},
		{Name: IndicatorRatingPoints, TitleKey: "feedback.indicator.rating_points", Kind: tally.Flow},
		{Name: IndicatorOpen, TitleKey: "feedback.indicator.open", Kind: tally.Stock},
		{Name: IndicatorLayers, TitleKey: "feedback.indicator.layers", Kind: tally.Stock},
	}
}

// Recount computes every figure of Indicators from feedback's own tables,
// per unit and day, as the incremental tallies should hold them: a rebuild
// compares or replaces them.
func (s *Service) Recount(ctx context.Context) ([]tally.Row, error) {
	sum := map[[3]string]int64{}
	add := func(name, unit string, at int64, d int64) {
		if d != 0 {
			sum[[3]string{name, unit, tally.Day(kernel.FromMicros(at))}] += d
		}
	}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT commune, created_at, due_at, first_resolved_at, rating, rated_at FROM feedback_reports`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var commune string
			var created, due, resolved, rated int64
			var rating int
			if err := rows.Scan(&commune, &created, &due, &resolved, &rating, &rated); err != nil {
				rows.Close()
				return err
			}
			add(IndicatorReceived, commune, created, 1)
			if resolved != 0 {
				add(IndicatorResolved, commune, resolved, 1)
				if resolved <= due {
					add(IndicatorResolvedOnTime, commune, resolved, 1)
				}
			}
			if rated != 0 {
				add(IndicatorRated, commune, rated, 1)
				add(IndicatorRatingPoints, commune, rated, int64(rating))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT r.commune, e.at, e.kind, e.from_status, e.to_status FROM feedback_events e
			JOIN feedback_reports r ON r.id = e.report_id WHERE e.from_status <> e.to_status OR e.kind = 'reopened'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var commune, kind, from, to string
			var at int64
			if err := rows.Scan(&commune, &at, &kind, &from, &to); err != nil {
				return err
			}
			add(IndicatorOpen, commune, at, boolInt64(Status(to).Open())-boolInt64(Status(from).Open()))
			if kind == EventReopened {
				add(IndicatorReopened, commune, at, 1)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		lrows, err := tx.Query(ctx, `SELECT created_at, withdrawn_at FROM feedback_layers`)
		if err != nil {
			return err
		}
		defer lrows.Close()
		for lrows.Next() {
			var created, withdrawn int64
			if err := lrows.Scan(&created, &withdrawn); err != nil {
				return err
			}
			add(IndicatorLayers, "", created, 1)
			if withdrawn != 0 {
				add(IndicatorLayers, "", withdrawn, -1)
			}
		}
		return lrows.Err()
	})
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: recount")
	}
	out := make([]tally.Row, 0, len(sum))
	for k, v := range sum {
		if v != 0 {
			out = append(out, tally.Row{Name: k[0], Unit: k[1], Day: k[2], Value: v})
		}
	}
	slices.SortFunc(out, func(a, b tally.Row) int {
		if a.Name != b.Name {
			return compare(a.Name, b.Name)
		}
		if a.Unit != b.Unit {
			return compare(a.Unit, b.Unit)
		}
		return compare(a.Day, b.Day)
	})
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt64(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Figures are a unit's figures over a period, for its dashboard.
type Figures struct {
	Unit           Unit
	Received       int
	Resolved       int // of those received, resolved at least once
	ResolvedOnTime int
	Open           int
	MedianHours    float64 // from sending to first resolution; 0 with none resolved
	Reopened       int     // of those resolved, reopened by their reporter
	Rated          int
	Satisfaction   float64 // mean rating, 1 to 5; 0 with none
}

// OnTimeRate is the share of resolved reports resolved by their deadline.
func (f Figures) OnTimeRate() float64 {
	if f.Resolved == 0 {
		return 0
	}
	return float64(f.ResolvedOnTime) / float64(f.Resolved)
}

// ReopenRate is the share of resolved reports reopened.
func (f Figures) ReopenRate() float64 {
	if f.Resolved == 0 {
		return 0
	}
	return float64(f.Reopened) / float64(f.Resolved)
}

// FiguresOf returns the figures of a unit ("" the province) over the
// reports received in [from, to), and those of each unit directly below
// it, by name.
func (s *Service) FiguresOf(ctx context.Context, unit string, from, to time.Time) (Figures, []Figures, error) {
	r, err := s.references(ctx)
	if err != nil {
		return Figures{}, nil, err
	}
	if unit == "" {
		unit = r.province
	}
	u, ok := r.units[unit]
	if !ok {
		return Figures{}, nil, kernel.E(kernel.NotFound, "feedback.error.unit")
	}
	where, args := `created_at >= ? AND created_at < ?`, []any{kernel.Micros(from), kernel.Micros(to)}
	switch u.Level {
	case LevelDistrict:
		where += ` AND district = ?`
		args = append(args, unit)
	case LevelCommune:
		where += ` AND commune = ?`
		args = append(args, unit)
	}
	type acc struct {
		f     Figures
		hours []float64
		sum   int
	}
	all := &acc{f: Figures{Unit: u}}
	below := map[string]*acc{}
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT commune, district, status, created_at, due_at, first_resolved_at, reopened, rating FROM feedback_reports WHERE `+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var commune, district, status string
			var created, due, resolved int64
			var reopened, rating int
			if err := rows.Scan(&commune, &district, &status, &created, &due, &resolved, &reopened, &rating); err != nil {
				return err
			}
			child := ""
			switch u.Level {
			case LevelProvince:
				child = district
			case LevelDistrict:
				child = commune
			}
			targets := []*acc{all}
			if child != "" {
				a := below[child]
				if a == nil {
					a = &acc{f: Figures{Unit: r.units[child]}}
					below[child] = a
				}
				targets = append(targets, a)
			}
			for _, a := range targets {
				a.f.Received++
				if Status(status).Open() {
					a.f.Open++
				}
				if resolved != 0 {
					a.f.Resolved++
					if resolved <= due {
						a.f.ResolvedOnTime++
					}
					a.hours = append(a.hours, float64(resolved-created)/3.6e9)
					if reopened > 0 {
						a.f.Reopened++
					}
				}
				if rating > 0 {
					a.f.Rated++
					a.sum += rating
				}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return Figures{}, nil, kernel.Wrap(err, "feedback: figures")
	}
	finish := func(a *acc) Figures {
		a.f.MedianHours = median(a.hours)
		if a.f.Rated > 0 {
			a.f.Satisfaction = float64(a.sum) / float64(a.f.Rated)
		}
		return a.f
	}
	var out []Figures
	for _, a := range below {
		out = append(out, finish(a))
	}
	slices.SortFunc(out, func(a, b Figures) int { return compare(a.Unit.Name, b.Unit.Name) })
	return finish(all), out, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
