package stats

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Campaign is a drive to move figures over a period in a unit and the
// units below it: "30 ngày chữ ký số".
type Campaign struct {
	ID       string
	Name     string
	Unit     string
	StartsOn string // first day, "2006-01-02"
	EndsOn   string // last day
	Targets  []Target
	Points   []SupportPoint
	Visits   []Visit
}

// Target is what a campaign aims at for a figure by its last day: a share
// of the adults (Percent > 0) or a count.
type Target struct {
	Key     string
	Percent float64
	Count   int64
}

// SupportPoint is a place residents come to for help: a commune's
// People's Committee, a service centre.
type SupportPoint struct {
	ID    string
	Unit  string
	Place string
	Hours string
	Staff string
}

// Visit is a mobile team's day in a residential area.
type Visit struct {
	ID       string
	Unit     string
	Area     string
	AreaName string
	Day      string
	Team     string
}

// Validate checks a campaign before it is stored.
func (c *Campaign) Validate(keys []string) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || len(c.Name) > 200 {
		return kernel.E(kernel.Invalid, "stats.error.campaign_name")
	}
	s, err1 := time.Parse(time.DateOnly, c.StartsOn)
	e, err2 := time.Parse(time.DateOnly, c.EndsOn)
	if err1 != nil || err2 != nil || e.Before(s) {
		return kernel.E(kernel.Invalid, "stats.error.campaign_period")
	}
	for _, t := range c.Targets {
		if !slices.Contains(keys, t.Key) || t.Percent < 0 || t.Percent > 100 || t.Count < 0 || (t.Percent == 0) == (t.Count == 0) {
			return kernel.E(kernel.Invalid, "stats.error.campaign_target", t.Key)
		}
	}
	return nil
}

// AddCampaign stores a campaign with its targets, points and visits.
func (s *Service) AddCampaign(ctx context.Context, c Campaign) (Campaign, error) {
	if err := c.Validate(s.Keys()); err != nil {
		return Campaign{}, err
	}
	t, err := s.Tree(ctx)
	if err != nil {
		return Campaign{}, err
	}
	if _, ok := t.Unit(c.Unit); !ok {
		return Campaign{}, kernel.E(kernel.Invalid, "stats.error.bad_unit", c.Unit)
	}
	c.ID = kernel.NewID()
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		if err := insertCampaign(ctx, tx, &c); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "stats.campaign.add", SubjectType: "campaign", SubjectID: c.ID,
			Details: map[string]any{"name": c.Name, "unit": c.Unit, "from": c.StartsOn, "to": c.EndsOn}})
		return err
	})
	if err != nil {
		return Campaign{}, kernel.Wrap(err, "stats: add campaign")
	}
	return c, nil
}

// Campaigns lists the campaigns covering unit (set in it or above it)
// that run on day ("" for every day), latest first, with their parts.
func (s *Service) Campaigns(ctx context.Context, unit, day string) ([]Campaign, error) {
	t, err := s.Tree(ctx)
	if err != nil {
		return nil, err
	}
	scope := []string{unit}
	for _, u := range t.Path(unit) {
		scope = append(scope, u.Code)
	}
	var out []Campaign
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = findCampaigns(ctx, tx, scope, day)
		return err
	})
	return out, kernel.Wrap(err, "stats: campaigns")
}

// Campaign returns a campaign by ID.
func (s *Service) Campaign(ctx context.Context, id string) (Campaign, error) {
	var c Campaign
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		c, err = findCampaign(ctx, tx, id)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, kernel.E(kernel.NotFound, "stats.error.no_campaign")
	}
	return c, kernel.Wrap(err, "stats: campaign")
}

// Progress is how a campaign stands in a unit on a day.
type Progress struct {
	Campaign Campaign
	Unit     Unit
	Day      string
	Elapsed  int // days run, the day included
	Left     int // days to run after the day
	Targets  []TargetProgress
}

// TargetProgress is a target against the figure: where it started, where
// it is, where it will be on the last day at the pace since the start.
type TargetProgress struct {
	Key      string
	Label    string // for pages
	Target   int64
	Start    int64
	Actual   int64
	Forecast int64
	Adults   int64
	OnTrack  bool
}

// Percent of the target reached.
func (t TargetProgress) Percent() string {
	if t.Target <= 0 {
		return percent(0)
	}
	return percent(min(1, float64(t.Actual)/float64(t.Target)))
}

// ForecastPercent is the forecast as a share of the target.
func (t TargetProgress) ForecastPercent() string {
	if t.Target <= 0 {
		return percent(0)
	}
	return percent(float64(t.Forecast) / float64(t.Target))
}

// Progress computes a campaign's progress in unit on day ("" for today).
func (s *Service) Progress(ctx context.Context, c Campaign, unit, day string) (Progress, error) {
	day, err := s.ParseDay(day)
	if err != nil {
		return Progress{}, err
	}
	t, err := s.Tree(ctx)
	if err != nil {
		return Progress{}, err
	}
	u, ok := t.Unit(unit)
	if !ok {
		return Progress{}, kernel.E(kernel.Invalid, "stats.error.bad_unit", unit)
	}
	now, err := s.Table(ctx, t, day)
	if err != nil {
		return Progress{}, err
	}
	// The figures the day before the campaign began.
	startDay := dayStart(c.StartsOn).AddDate(0, 0, -1).Format(time.DateOnly)
	var before map[string]Figures
	if startDay < day {
		if before, err = s.Table(ctx, t, startDay); err != nil {
			return Progress{}, err
		}
	} else {
		before = now
	}
	p := Progress{Campaign: c, Unit: u, Day: day}
	d, start, end := dayStart(day), dayStart(c.StartsOn), dayStart(c.EndsOn)
	p.Elapsed = max(0, int(math.Round(d.Sub(start).Hours()/24))+1)
	p.Left = max(0, int(math.Round(end.Sub(d).Hours()/24)))
	for _, tg := range c.Targets {
		f := now[u.Code]
		tp := TargetProgress{Key: tg.Key, Actual: f[tg.Key], Start: before[u.Code][tg.Key], Adults: f[KeyAdults], Target: tg.Count}
		if tg.Percent > 0 {
			tp.Target = int64(math.Ceil(float64(f[KeyAdults]) * tg.Percent / 100))
		}
		tp.Forecast = tp.Actual
		if p.Elapsed > 0 && p.Left > 0 {
			pace := float64(tp.Actual-tp.Start) / float64(p.Elapsed)
			tp.Forecast = tp.Actual + int64(math.Round(pace*float64(p.Left)))
		}
		tp.OnTrack = tp.Forecast >= tp.Target
		p.Targets = append(p.Targets, tp)
	}
	return p, nil
}

// Running gives the progress in unit of the campaigns running on day.
func (s *Service) Running(ctx context.Context, unit, day string) ([]Progress, error) {
	day, err := s.ParseDay(day)
	if err != nil {
		return nil, err
	}
	cs, err := s.Campaigns(ctx, unit, day)
	if err != nil {
		return nil, err
	}
	var out []Progress
	for _, c := range cs {
		p, err := s.Progress(ctx, c, unit, day)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Areas gives the residential areas (villages, urban groups) of a commune.
type Areas interface {
	AreasIn(ctx context.Context, commune string) ([]Area, error)
}

// Area is a residential area.
type Area struct {
	Code, Name string
}

// DemoCampaignName is the demo province's running campaign.
const DemoCampaignName = "30 ngày chữ ký số"

// SeedDemo starts the demo province's campaign, once: "30 days of digital
// signatures", half of the adults holding a signature by 31 December, a
// support point at every commune's People's Committee and a mobile team
// visiting every residential area.
func (s *Service) SeedDemo(ctx context.Context, areas Areas) (Campaign, error) {
	t, err := s.Tree(ctx)
	if err != nil {
		return Campaign{}, err
	}
	root := t.Root()
	if root.Code == "" {
		return Campaign{}, nil
	}
	existing, err := s.Campaigns(ctx, root.Code, "")
	if err != nil {
		return Campaign{}, err
	}
	for _, c := range existing {
		if c.Name == DemoCampaignName {
			return c, nil
		}
	}
	now := s.o.Clock.Now().In(kernel.Zone())
	start := now.AddDate(0, 0, -6)
	end := time.Date(now.Year(), 12, 31, 0, 0, 0, 0, kernel.Zone())
	if end.Before(start.AddDate(0, 0, 29)) {
		end = start.AddDate(0, 0, 29)
	}
	c := Campaign{Name: DemoCampaignName, Unit: root.Code, StartsOn: start.Format(time.DateOnly), EndsOn: end.Format(time.DateOnly),
		Targets: []Target{{Key: KeySignatureHolders, Percent: 50}, {Key: KeyLevel2Activated, Percent: 80}}}
	day := 0
	for _, u := range t.Level(LevelCommune) {
		c.Points = append(c.Points, SupportPoint{Unit: u.Code, Place: "UBND " + u.Name, Hours: "07:30–11:30, 13:30–17:00",
			Staff: "Công an xã, Đoàn Thanh niên"})
		if areas == nil {
			continue
		}
		as, err := areas.AreasIn(ctx, u.Code)
		if err != nil {
			return Campaign{}, err
		}
		for _, a := range as {
			c.Visits = append(c.Visits, Visit{Unit: u.Code, Area: a.Code, AreaName: a.Name,
				Day: start.AddDate(0, 0, day%30).Format(time.DateOnly), Team: "Tổ công nghệ số cộng đồng " + u.Name})
			day++
		}
	}
	return s.AddCampaign(ctx, c)
}
