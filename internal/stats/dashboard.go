package stats

import (
	"context"
	"slices"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// TitleKey is the catalogue key naming a figure.
func (s *Service) TitleKey(key string) string {
	switch key {
	case KeyPopulation, KeyAdults, KeyLevel2Issued, KeyLevel2Activated, KeySignatureHolders, KeySignatureActivated, KeySignatureActive30d:
		return "stats.key." + key
	}
	for _, n := range s.names {
		if Key(n) == key {
			return s.byName[n].TitleKey
		}
	}
	return ""
}

// OfAdults says whether a figure is read as a share of the adults.
func OfAdults(key string) bool {
	return strings.HasPrefix(key, "eid_") || strings.HasPrefix(key, "signature_") || key == "signing_holders" || key == "signing_activated"
}

// indicatorOf is the tally indicator a key shows, or "".
func (s *Service) indicatorOf(key string) string {
	if n, ok := aliases[key]; ok {
		return n
	}
	for _, n := range s.names {
		if Key(n) == key {
			return n
		}
	}
	return ""
}

// communesUnder lists the communes at or below code.
func (t *Tree) communesUnder(code string) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(c string) {
		if u, ok := t.byCode[c]; ok && u.Level == LevelCommune {
			out[c] = true
		}
		for _, ch := range t.children[c] {
			walk(ch)
		}
	}
	walk(code)
	return out
}

// Trend gives a tally-backed figure of a unit for each of the days up to
// day (inclusive); nil when the figure is not a tally.
func (s *Service) Trend(ctx context.Context, t *Tree, unit, key, day string, days int) ([]Point, error) {
	name := s.indicatorOf(key)
	if name == "" {
		return nil, nil
	}
	end := dayStart(day)
	from := end.AddDate(0, 0, -(days - 1)).Format(time.DateOnly)
	under := t.communesUnder(unit)
	root := unit == t.Root().Code
	in := func(u string) bool { return under[u] || (root && (u == "" || t.byCode[u].Code == "")) }
	stock := s.byName[name].Kind == tally.Stock
	var base int64
	perDay := map[string]int64{}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		if stock {
			prev := end.AddDate(0, 0, -days).Format(time.DateOnly)
			sums, err := sumTallies(ctx, tx, []string{name}, "", prev)
			if err != nil {
				return err
			}
			for _, r := range sums {
				if in(r.Unit) {
					base += r.Value
				}
			}
		}
		rows, err := tally.Rows(ctx, tx, []string{name}, from, day)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if in(r.Unit) {
				perDay[r.Day] += r.Value
			}
		}
		return nil
	})
	if err != nil {
		return nil, kernel.Wrap(err, "stats: trend")
	}
	out := make([]Point, 0, days)
	v := base
	for i := range days {
		d := end.AddDate(0, 0, i-(days-1)).Format(time.DateOnly)
		if stock {
			v += perDay[d]
		} else {
			v = perDay[d]
		}
		out = append(out, Point{Day: d, Value: v})
	}
	return out, nil
}

// Row is a unit's figure in a dashboard: the value, the adults it is a
// share of, and its rank among its siblings.
type Row struct {
	Unit   Unit
	Value  int64
	Base   int64 // adults, when the figure is a share of them
	Share  float64
	Rank   int
	Class  int
	Colour string
	Link   bool // the unit has units below it
}

// Percent writes the share, one decimal.
func (r Row) Percent() string { return percent(r.Share) }

func percent(f float64) string {
	v := int64(f*1000 + 0.5)
	return itoa(v/10) + "," + itoa(v%10) + " %"
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b []byte
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// Board is one unit's dashboard on a day for one figure.
type Board struct {
	Unit    Unit
	Path    []Unit
	Date    string
	Key     string
	Shared  bool // the figure is a share of adults
	Self    Row
	Figures Figures
	Below   []Row // the units below, ranked
	Trend   []Point
}

// Board computes a unit's dashboard.
func (s *Service) Board(ctx context.Context, unit, key, day string) (Board, error) {
	day, err := s.ParseDay(day)
	if err != nil {
		return Board{}, err
	}
	if key == "" {
		key = KeySignatureHolders
	}
	if !slices.Contains(s.Keys(), key) {
		return Board{}, kernel.E(kernel.Invalid, "stats.error.bad_indicator", key)
	}
	t, err := s.Tree(ctx)
	if err != nil {
		return Board{}, err
	}
	if unit == "" {
		unit = t.Root().Code
	}
	u, ok := t.Unit(unit)
	if !ok {
		return Board{}, kernel.E(kernel.Invalid, "stats.error.bad_unit", unit)
	}
	table, err := s.Table(ctx, t, day)
	if err != nil {
		return Board{}, err
	}
	b := Board{Unit: u, Path: t.Path(unit), Date: day, Key: key, Shared: OfAdults(key), Figures: table[unit]}
	row := func(u Unit) Row {
		f := table[u.Code]
		r := Row{Unit: u, Value: f[key], Link: len(t.children[u.Code]) > 0}
		if b.Shared {
			r.Base = f[KeyAdults]
			if r.Base > 0 {
				r.Share = float64(r.Value) / float64(r.Base)
			}
		}
		return r
	}
	b.Self = row(u)
	for _, c := range t.Children(unit) {
		b.Below = append(b.Below, row(c))
	}
	maxV := int64(1)
	for _, r := range b.Below {
		maxV = max(maxV, r.Value)
	}
	slices.SortStableFunc(b.Below, func(x, y Row) int {
		if b.Shared && x.Share != y.Share {
			if x.Share > y.Share {
				return -1
			}
			return 1
		}
		return int(y.Value - x.Value)
	})
	for i := range b.Below {
		r := &b.Below[i]
		r.Rank = i + 1
		if b.Shared {
			r.Class = classOf(r.Share)
		} else {
			r.Class = classOf(float64(r.Value) / float64(maxV))
		}
		r.Colour = Palette[r.Class]
	}
	if b.Trend, err = s.Trend(ctx, t, unit, key, day, 30); err != nil {
		return Board{}, err
	}
	return b, nil
}
