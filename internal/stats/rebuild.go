package stats

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Difference is a figure kept incrementally that its capability's own
// data does not bear out. A stock's Day is "" (its total to date is
// compared); a flow's is the day compared.
type Difference struct {
	Indicator string
	Unit      string
	Day       string
	Kept      int64 // the incremental figure
	Counted   int64 // the figure counted from scratch
}

func (d Difference) String() string {
	day := d.Day
	if day == "" {
		day = "total to date"
	}
	unit := d.Unit
	if unit == "" {
		unit = "(province-wide)"
	}
	return fmt.Sprintf("%s unit %s %s: kept %d, counted %d", d.Indicator, unit, day, d.Kept, d.Counted)
}

// Rebuild counts every source's figures again from its own data and
// compares them with the figures kept as things happened: flows day by
// day, stocks by their totals to date (a stock's history is not kept in
// the capabilities' tables). When fix is true, the kept figures are
// corrected to the counted ones (a stock by a correction on today). It
// returns where they differed.
func (s *Service) Rebuild(ctx context.Context, fix bool) ([]Difference, error) {
	today := tally.Day(s.o.Clock.Now())
	var diffs []Difference
	if hr, ok := s.o.Population.(HeadcountRecounter); ok {
		d, err := hr.RecountHeadcounts(ctx, fix)
		if err != nil {
			return nil, err
		}
		diffs = append(diffs, d...)
	}
	for _, src := range s.sources {
		counted, err := src.Recount(ctx)
		if err != nil {
			return nil, err
		}
		if counted == nil {
			continue
		}
		kinds := map[string]tally.Kind{}
		var names []string
		for _, in := range src.Indicators() {
			kinds[in.Name] = in.Kind
			names = append(names, in.Name)
		}
		var kept []tally.Row
		if err := s.o.DB.View(ctx, func(tx *db.Tx) error {
			kept, err = tally.Rows(ctx, tx, names, "", today)
			return err
		}); err != nil {
			return nil, kernel.Wrap(err, "stats: rebuild")
		}
		type k struct{ name, unit, day string }
		keep, count := map[k]int64{}, map[k]int64{}
		key := func(r tally.Row) k {
			if kinds[r.Name] == tally.Stock {
				return k{r.Name, r.Unit, ""}
			}
			return k{r.Name, r.Unit, r.Day}
		}
		for _, r := range kept {
			keep[key(r)] += r.Value
		}
		for _, r := range counted {
			if _, ok := kinds[r.Name]; ok && r.Day <= today {
				count[key(r)] += r.Value
			}
		}
		for _, m := range []map[k]int64{keep, count} {
			for x := range m {
				if keep[x] != count[x] && !slices.ContainsFunc(diffs, func(d Difference) bool {
					return d.Indicator == x.name && d.Unit == x.unit && d.Day == x.day
				}) {
					diffs = append(diffs, Difference{Indicator: x.name, Unit: x.unit, Day: x.day, Kept: keep[x], Counted: count[x]})
				}
			}
		}
	}
	slices.SortFunc(diffs, func(a, b Difference) int {
		return strings.Compare(a.Indicator+"|"+a.Unit+"|"+a.Day, b.Indicator+"|"+b.Unit+"|"+b.Day)
	})
	if fix {
		for _, d := range diffs {
			at := s.o.Clock.Now()
			if d.Day != "" {
				at = dayStart(d.Day).Add(12 * time.Hour)
			}
			if err := s.o.DB.Update(ctx, at, func(tx *db.Tx) error {
				tally.Add(ctx, tx, d.Indicator, d.Unit, d.Counted-d.Kept)
				return nil
			}); err != nil {
				return diffs, kernel.Wrap(err, "stats: rebuild fix")
			}
		}
	}
	return diffs, nil
}
