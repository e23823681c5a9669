package stats

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/tally"
)

// Unit is an administrative unit as the dashboards see it.
type Unit struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Level  string `json:"level"` // province, district, commune
	Parent string `json:"parent,omitempty"`
}

// The levels of units.
const (
	LevelProvince = "province"
	LevelDistrict = "district"
	LevelCommune  = "commune"
)

// Headcount is a commune's population on a day and the adults among them.
type Headcount struct{ Population, Adults int64 }

// Units gives the administrative units (the registry).
type Units interface {
	Units(ctx context.Context) ([]Unit, error)
}

// Population counts the persons alive on a day per commune (the registry).
type Population interface {
	Population(ctx context.Context, day string) (map[string]Headcount, error)
}

// HeadcountRecounter is a Population whose headcounts are kept as the
// persons change (the registry's): Rebuild has it count them again from
// the persons, and correct them with fix.
type HeadcountRecounter interface {
	RecountHeadcounts(ctx context.Context, fix bool) ([]Difference, error)
}

// Signers counts per commune the holders who signed in [from, to) (signing).
type Signers interface {
	ActiveHolders(ctx context.Context, from, to time.Time) (map[string]int64, error)
}

// Source is a capability publishing figures through internal/tally: what
// it declares and, for a rebuild, its figures counted again from its own
// data. Recount may return nil when the capability cannot recount.
type Source interface {
	Indicators() []tally.Indicator
	Recount(ctx context.Context) ([]tally.Row, error)
}

// UseLog records reads of a person's data by someone else (the exchange's
// data-use log).
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Options are what the service is built on.
type Options struct {
	DB         *db.DB
	Clock      kernel.Clock
	Units      Units
	Population Population
	Signers    Signers // nil: no signature_active_30d
	Sources    []Source
	UseLog     UseLog
	Residents  Residents // the worklists' people; nil: no worklists
	Areas      Areas     // residential areas of the communes
	Staff      Staff     // officials' posts
	Font       *pdf.Font // the letters' font; nil: no letters
	Logger     *slog.Logger
	// Suppress is the smallest count open data shows for a commune; smaller
	// non-zero counts are left blank. Zero means DefaultSuppress.
	Suppress int64
}

// DefaultSuppress is the smallest count of a commune open data shows.
const DefaultSuppress = 10

// Service computes the indicators and keeps campaigns.
type Service struct {
	o       Options
	byName  map[string]tally.Indicator // declared tally indicators
	names   []string                   // their names, sorted
	sources []Source
}

// New builds the service.
func New(o Options) (*Service, error) {
	if o.Clock == nil {
		o.Clock = kernel.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Suppress <= 0 {
		o.Suppress = DefaultSuppress
	}
	s := &Service{o: o, byName: map[string]tally.Indicator{}, sources: o.Sources}
	for _, src := range o.Sources {
		for _, in := range src.Indicators() {
			s.byName[in.Name] = in
		}
	}
	s.names = slices.Sorted(maps.Keys(s.byName))
	return s, nil
}

// The figures every unit has whatever capabilities publish; the fixed
// contract of /api/stats/v1/indicators names these.
const (
	KeyPopulation         = "population"
	KeyAdults             = "adults"
	KeyLevel2Issued       = "eid_level2_issued"
	KeyLevel2Activated    = "eid_level2_activated"
	KeySignatureHolders   = "signature_holders"
	KeySignatureActivated = "signature_activated"
	KeySignatureActive30d = "signature_active_30d"
)

// aliases maps a contract key to the tally indicator it shows.
var aliases = map[string]string{
	KeyLevel2Issued:       "eid.level2_issued",
	KeyLevel2Activated:    "eid.level2_activated",
	KeySignatureHolders:   "signing.holders",
	KeySignatureActivated: "signing.activated",
}

// Key is the name of a tally indicator in figures: dots become underscores
// ("eid.level2_issued" → "eid_level2_issued").
func Key(indicator string) string { return strings.ReplaceAll(indicator, ".", "_") }

// Keys lists every figure's key: the fixed ones first, then each declared
// indicator's.
func (s *Service) Keys() []string {
	keys := []string{KeyPopulation, KeyAdults, KeyLevel2Issued, KeyLevel2Activated, KeySignatureHolders, KeySignatureActivated, KeySignatureActive30d}
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
	}
	for _, n := range s.names {
		if k := Key(n); !seen[k] {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	return keys
}

// Figures are one unit's figures on a day, by key.
type Figures map[string]int64

// Tree is the units, with their children.
type Tree struct {
	Units    []Unit // province first, then by code
	byCode   map[string]Unit
	children map[string][]string
}

// Unit returns a unit by code.
func (t *Tree) Unit(code string) (Unit, bool) { u, ok := t.byCode[code]; return u, ok }

// Children lists the units directly below code, by code.
func (t *Tree) Children(code string) []Unit {
	var out []Unit
	for _, c := range t.children[code] {
		out = append(out, t.byCode[c])
	}
	return out
}

// Root is the province (the unit without a parent).
func (t *Tree) Root() Unit {
	for _, u := range t.Units {
		if u.Parent == "" {
			return u
		}
	}
	return Unit{}
}

// Path lists the units above code, from the province down.
func (t *Tree) Path(code string) []Unit {
	var out []Unit
	for u, ok := t.byCode[code]; ok && u.Parent != ""; u, ok = t.byCode[u.Parent] {
		out = append([]Unit{t.byCode[u.Parent]}, out...)
	}
	return out
}

// Level lists the units of a level, by code.
func (t *Tree) Level(level string) []Unit {
	var out []Unit
	for _, u := range t.Units {
		if u.Level == level {
			out = append(out, u)
		}
	}
	return out
}

// Tree loads the units.
func (s *Service) Tree(ctx context.Context) (*Tree, error) {
	us, err := s.o.Units.Units(ctx)
	if err != nil {
		return nil, err
	}
	t := &Tree{byCode: map[string]Unit{}, children: map[string][]string{}}
	slices.SortFunc(us, func(a, b Unit) int {
		return strings.Compare(levelRank(a.Level)+a.Code, levelRank(b.Level)+b.Code)
	})
	t.Units = us
	for _, u := range us {
		t.byCode[u.Code] = u
		if u.Parent != "" {
			t.children[u.Parent] = append(t.children[u.Parent], u.Code)
		}
	}
	for _, c := range t.children {
		slices.Sort(c)
	}
	return t, nil
}

func levelRank(l string) string {
	switch l {
	case LevelProvince:
		return "0"
	case LevelDistrict:
		return "1"
	}
	return "2"
}

// ParseDay reads a day "2006-01-02"; "" is today in the province.
func (s *Service) ParseDay(v string) (string, error) {
	if v == "" {
		return tally.Day(s.o.Clock.Now()), nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, kernel.Zone())
	if err != nil || d.Format(time.DateOnly) != v {
		return "", kernel.E(kernel.Invalid, "stats.error.bad_date", v)
	}
	if v > tally.Day(s.o.Clock.Now()) {
		return "", kernel.E(kernel.Invalid, "stats.error.future_date", v)
	}
	if d.Year() < 2000 {
		return "", kernel.E(kernel.Invalid, "stats.error.bad_date", v)
	}
	return v, nil
}

// dayStart is the first instant of day in the province.
func dayStart(day string) time.Time {
	d, _ := time.ParseInLocation(time.DateOnly, day, kernel.Zone())
	return d
}

// Table computes every unit's figures on day: the communes' from the
// sources, the districts' and the province's as their sums.
func (s *Service) Table(ctx context.Context, t *Tree, day string) (map[string]Figures, error) {
	out := make(map[string]Figures, len(t.Units))
	for _, u := range t.Units {
		out[u.Code] = Figures{}
	}
	// Units outside the tree ("" for the province-wide figures) count in
	// the province only.
	root := t.Root().Code
	at := func(unit string) Figures {
		if f, ok := out[unit]; ok && unit != "" {
			return f
		}
		return out[root]
	}
	var stocks, flows []string
	for _, n := range s.names {
		if s.byName[n].Kind == tally.Stock {
			stocks = append(stocks, n)
		} else {
			flows = append(flows, n)
		}
	}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		for _, q := range []struct {
			names    []string
			from, to string
		}{{stocks, "", day}, {flows, day, day}} {
			sums, err := sumTallies(ctx, tx, q.names, q.from, q.to)
			if err != nil {
				return err
			}
			for _, r := range sums {
				at(r.Unit)[Key(r.Name)] += r.Value
			}
		}
		return nil
	})
	if err != nil {
		return nil, kernel.Wrap(err, "stats: tallies")
	}
	if s.o.Population != nil {
		pop, err := s.o.Population.Population(ctx, day)
		if err != nil {
			return nil, err
		}
		for unit, h := range pop {
			f := at(unit)
			f[KeyPopulation] += h.Population
			f[KeyAdults] += h.Adults
		}
	}
	if s.o.Signers != nil {
		end := dayStart(day).AddDate(0, 0, 1)
		act, err := s.o.Signers.ActiveHolders(ctx, end.AddDate(0, 0, -30), end)
		if err != nil {
			return nil, err
		}
		for unit, n := range act {
			at(unit)[KeySignatureActive30d] += n
		}
	}
	for alias, name := range aliases {
		for _, f := range out {
			if v, ok := f[Key(name)]; ok {
				f[alias] = v
			}
		}
	}
	// Roll up: communes into districts, districts into the province.
	for _, level := range []string{LevelCommune, LevelDistrict} {
		for _, u := range t.Level(level) {
			if u.Parent == "" {
				continue
			}
			p := out[u.Parent]
			for k, v := range out[u.Code] {
				p[k] += v
			}
		}
	}
	keys := s.Keys()
	for _, f := range out {
		for _, k := range keys {
			if _, ok := f[k]; !ok {
				f[k] = 0
			}
		}
	}
	return out, nil
}

// Indicators are one unit's figures on a day, as the API answers.
type Indicators struct {
	Unit       string  `json:"unit"`
	Name       string  `json:"name"`
	Level      string  `json:"level"`
	Date       string  `json:"date"`
	Indicators Figures `json:"indicators"`
}

// UnitFigures computes the figures of one unit on a day ("" for today).
func (s *Service) UnitFigures(ctx context.Context, unit, day string) (Indicators, error) {
	day, err := s.ParseDay(day)
	if err != nil {
		return Indicators{}, err
	}
	t, err := s.Tree(ctx)
	if err != nil {
		return Indicators{}, err
	}
	if unit == "" {
		unit = t.Root().Code
	}
	u, ok := t.Unit(unit)
	if !ok {
		return Indicators{}, kernel.E(kernel.Invalid, "stats.error.bad_unit", unit)
	}
	table, err := s.Table(ctx, t, day)
	if err != nil {
		return Indicators{}, err
	}
	return Indicators{Unit: u.Code, Name: u.Name, Level: u.Level, Date: day, Indicators: table[u.Code]}, nil
}
