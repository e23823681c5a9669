package stats_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/stats"
	"civitas/internal/tally"
)

// units is a small province: two districts, three communes.
type units []stats.Unit

func (u units) Units(context.Context) ([]stats.Unit, error) {
	return append([]stats.Unit(nil), u...), nil
}

var province = units{
	{Code: "99", Name: "Tỉnh Thử", Level: stats.LevelProvince},
	{Code: "990", Name: "Huyện Một", Level: stats.LevelDistrict, Parent: "99"},
	{Code: "991", Name: "Huyện Hai", Level: stats.LevelDistrict, Parent: "99"},
	{Code: "99001", Name: "Xã A", Level: stats.LevelCommune, Parent: "990"},
	{Code: "99002", Name: "Xã B", Level: stats.LevelCommune, Parent: "990"},
	{Code: "99101", Name: "Xã C", Level: stats.LevelCommune, Parent: "991"},
}

type population map[string]stats.Headcount

func (p population) Population(context.Context, string) (map[string]stats.Headcount, error) {
	return p, nil
}

// source is a capability publishing one stock and one flow; its own data
// (for a recount) is rows.
type source struct{ rows []tally.Row }

func (source) Indicators() []tally.Indicator {
	return []tally.Indicator{
		{Name: "eid.level2_issued", TitleKey: "x", Kind: tally.Stock},
		{Name: "portal.submitted", TitleKey: "y", Kind: tally.Flow},
	}
}

func (s *source) Recount(context.Context) ([]tally.Row, error) { return s.rows, nil }

type fixture struct {
	t   testing.TB
	ctx context.Context
	d   *db.DB
	clk *kernel.ManualClock
	src *source
	s   *stats.Service
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, ctx: kernel.WithActor(context.Background(), kernel.System("test")), d: dbtest.Open(t),
		clk: kernel.NewManualClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)), src: &source{}}
	var err error
	f.s, err = stats.New(stats.Options{DB: f.d, Clock: f.clk, Units: province, Sources: []stats.Source{f.src},
		Population: population{"99001": {Population: 1000, Adults: 800}, "99002": {Population: 500, Adults: 400}, "99101": {Population: 50, Adults: 40}}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// add adds to an indicator on a day, as a capability does, and keeps the
// row in the source's own data.
func (f *fixture) add(name, unit, day string, delta int64) {
	f.t.Helper()
	at, _ := time.ParseInLocation(time.DateOnly, day, kernel.Zone())
	if err := f.d.Update(f.ctx, at.Add(12*time.Hour), func(tx *db.Tx) error {
		tally.Add(f.ctx, tx, name, unit, delta)
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	f.src.rows = append(f.src.rows, tally.Row{Name: name, Unit: unit, Day: day, Value: delta})
}

func TestFiguresRollUpAndStayExact(t *testing.T) {
	f := newFixture(t)
	f.add("eid.level2_issued", "99001", "2026-12-01", 300)
	f.add("eid.level2_issued", "99001", "2026-12-07", 5)
	f.add("eid.level2_issued", "99002", "2026-12-03", 3)
	f.add("eid.level2_issued", "99101", "2026-12-03", 7)
	f.add("portal.submitted", "99001", "2026-12-07", 4)
	f.add("portal.submitted", "99001", "2026-12-06", 9)
	for _, c := range []struct {
		unit, day, key string
		want           int64
	}{
		{"99001", "2026-12-07", "eid_level2_issued", 305},
		{"99001", "2026-12-06", "eid_level2_issued", 300},
		{"990", "2026-12-07", "eid_level2_issued", 308},
		{"99", "2026-12-07", "eid_level2_issued", 315},
		{"99", "2026-11-30", "eid_level2_issued", 0},
		{"99", "2026-12-07", "portal_submitted", 4},
		{"99", "2026-12-06", "portal_submitted", 9},
		{"99", "2026-12-07", "adults", 1240},
		{"991", "2026-12-07", "population", 50},
		{"99", "2026-12-07", "signature_holders", 0},
	} {
		in, err := f.s.UnitFigures(f.ctx, c.unit, c.day)
		if err != nil {
			t.Fatal(err)
		}
		if in.Indicators[c.key] != c.want || in.Unit != c.unit || in.Date != c.day {
			t.Errorf("%s %s %s = %d, want %d", c.unit, c.day, c.key, in.Indicators[c.key], c.want)
		}
	}
	// Today by default; the province by default.
	if in, err := f.s.UnitFigures(f.ctx, "", ""); err != nil || in.Unit != "99" || in.Date != "2026-12-07" {
		t.Fatalf("%+v %v", in, err)
	}
	for _, bad := range [][2]string{{"12345", ""}, {"99", "2026-12-32"}, {"99", "07/12/2026"}, {"99", "2026-12-08"}, {"99", "1999-01-01"}, {"99", "2026-2-1"}} {
		if _, err := f.s.UnitFigures(f.ctx, bad[0], bad[1]); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestOpenDataSuppressesSmallCommuneCounts(t *testing.T) {
	f := newFixture(t)
	f.add("eid.level2_issued", "99001", "2026-12-01", 300)
	f.add("eid.level2_issued", "99002", "2026-12-01", 3)
	rows, keys, err := f.s.OpenData(f.ctx, "commune", "")
	if err != nil || len(rows) != 3 || keys[0] != "population" {
		t.Fatalf("%v %v %v", rows, keys, err)
	}
	for _, r := range rows {
		v := r.Indicators["eid_level2_issued"]
		switch r.Unit {
		case "99001":
			if v == nil || *v != 300 {
				t.Errorf("99001: %v", v)
			}
		case "99002":
			if v != nil {
				t.Errorf("99002 shows %d", *v)
			}
		case "99101":
			if v == nil || *v != 0 {
				t.Errorf("a zero is not small: %v", v)
			}
		}
	}
	rows, _, err = f.s.OpenData(f.ctx, "district", "")
	if err != nil || len(rows) != 2 || *rows[0].Indicators["eid_level2_issued"] != 303 {
		t.Fatalf("districts are not suppressed: %v %v", rows, err)
	}
	if _, _, err := f.s.OpenData(f.ctx, "village", ""); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatal(err)
	}
}

func TestRebuildFindsAndCorrects(t *testing.T) {
	f := newFixture(t)
	f.add("eid.level2_issued", "99001", "2026-12-01", 300)
	f.add("portal.submitted", "99002", "2026-12-05", 4)
	if diffs, err := f.s.Rebuild(f.ctx, true); err != nil || len(diffs) != 0 {
		t.Fatalf("%v %v", diffs, err)
	}
	// A lost delta of a stock and a flow counted on the wrong day.
	f.src.rows = append(f.src.rows, tally.Row{Name: "eid.level2_issued", Unit: "99001", Day: "2026-12-02", Value: 1},
		tally.Row{Name: "portal.submitted", Unit: "99002", Day: "2026-12-05", Value: -1},
		tally.Row{Name: "portal.submitted", Unit: "99002", Day: "2026-12-06", Value: 1})
	diffs, err := f.s.Rebuild(f.ctx, true)
	if err != nil || len(diffs) != 3 {
		t.Fatalf("%v %v", diffs, err)
	}
	if d := diffs[0]; d.Indicator != "eid.level2_issued" || d.Day != "" || d.Kept != 300 || d.Counted != 301 {
		t.Fatalf("%v", d)
	}
	if !strings.Contains(diffs[0].String(), "eid.level2_issued unit 99001 total to date: kept 300, counted 301") {
		t.Fatal(diffs[0].String())
	}
	if diffs, err := f.s.Rebuild(f.ctx, false); err != nil || len(diffs) != 0 {
		t.Fatalf("after correction: %v %v", diffs, err)
	}
	in, _ := f.s.UnitFigures(f.ctx, "99002", "2026-12-06")
	if in.Indicators["portal_submitted"] != 1 {
		t.Fatalf("%v", in.Indicators)
	}
}

func TestBoardRanksAndCharts(t *testing.T) {
	f := newFixture(t)
	f.add("eid.level2_issued", "99001", "2026-12-01", 400) // 50 %
	f.add("eid.level2_issued", "99002", "2026-12-06", 300) // 75 %
	f.add("eid.level2_issued", "99002", "2026-12-07", 10)
	b, err := f.s.Board(f.ctx, "990", "eid_level2_issued", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Below) != 2 || b.Below[0].Unit.Code != "99002" || b.Below[0].Rank != 1 || b.Below[0].Percent() != "77,5 %" || !b.Shared {
		t.Fatalf("%+v", b.Below)
	}
	if len(b.Trend) != 30 || b.Trend[29].Value != 710 || b.Trend[28].Value != 700 || b.Trend[23].Value != 400 || b.Trend[22].Value != 0 || b.Trend[0].Day != "2026-11-08" {
		t.Fatalf("trend %v", b.Trend)
	}
	if _, err := f.s.Board(f.ctx, "990", "nonsense", ""); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatal(err)
	}
	bars := stats.BarsSVG("b", `Chuyển đổi số <&> "ranking"`, []stats.Bar{{Label: "Xã <A>", Value: 0.5, Text: "50 %", Class: 2}, {Label: "Xã B", Value: 0.775, Text: "77,5 %", Class: 3}})
	trend := stats.TrendSVG("t", "trend", b.Trend, 800)
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint missing")
	}
	for name, svg := range map[string]string{"bars": bars, "trend": trend, "empty": stats.BarsSVG("e", "", nil)} {
		p := filepath.Join(t.TempDir(), name+".svg")
		if err := os.WriteFile(p, []byte(svg), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("xmllint", "--noout", p).CombinedOutput(); err != nil {
			t.Errorf("xmllint %s: %v %s", name, err, out)
		}
	}
}

func TestCampaignProgressAndForecast(t *testing.T) {
	f := newFixture(t)
	f.add("eid.level2_issued", "99001", "2026-11-20", 100)
	f.add("eid.level2_issued", "99001", "2026-12-04", 70) // 70 in the campaign's first 7 days
	c, err := f.s.AddCampaign(f.ctx, stats.Campaign{Name: "30 ngày", Unit: "99", StartsOn: "2026-12-01", EndsOn: "2026-12-30",
		Targets: []stats.Target{{Key: "eid_level2_issued", Percent: 50}, {Key: "adults", Count: 2000}},
		Points:  []stats.SupportPoint{{Unit: "99001", Place: "UBND xã A", Hours: "7:30–17:00", Staff: "Công an xã"}},
		Visits:  []stats.Visit{{Unit: "99001", Area: "9900101", AreaName: "Thôn 1", Day: "2026-12-08", Team: "Tổ 1"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.s.Progress(f.ctx, c, "99001", "")
	if err != nil {
		t.Fatal(err)
	}
	tp := p.Targets[0]
	if p.Elapsed != 7 || p.Left != 23 || tp.Key != "eid_level2_issued" || tp.Target != 400 || tp.Start != 100 || tp.Actual != 170 || tp.Forecast != 400 || !tp.OnTrack {
		t.Fatalf("%+v %+v", p, tp)
	}
	running, err := f.s.Running(f.ctx, "99001", "")
	if err != nil || len(running) != 1 || len(running[0].Campaign.Points) != 1 || len(running[0].Campaign.Visits) != 1 {
		t.Fatalf("%+v %v", running, err)
	}
	if r, _ := f.s.Running(f.ctx, "99001", "2026-11-30"); len(r) != 0 {
		t.Fatal("running before it began")
	}
	for _, bad := range []stats.Campaign{
		{Name: "", Unit: "99", StartsOn: "2026-12-01", EndsOn: "2026-12-30"},
		{Name: "x", Unit: "99", StartsOn: "2026-12-30", EndsOn: "2026-12-01"},
		{Name: "x", Unit: "12", StartsOn: "2026-12-01", EndsOn: "2026-12-30"},
		{Name: "x", Unit: "99", StartsOn: "2026-12-01", EndsOn: "2026-12-30", Targets: []stats.Target{{Key: "nonsense", Count: 1}}},
		{Name: "x", Unit: "99", StartsOn: "2026-12-01", EndsOn: "2026-12-30", Targets: []stats.Target{{Key: "adults", Percent: 120}}},
	} {
		if _, err := f.s.AddCampaign(f.ctx, bad); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func FuzzParseDay(f *testing.F) {
	s, _ := stats.New(stats.Options{Clock: kernel.NewManualClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))})
	for _, seed := range []string{"", "2026-12-07", "2026-02-30", "x", "2026-1-1", "0000-00-00", "2026-12-07T00:00:00Z"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		day, err := s.ParseDay(v)
		if err != nil {
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if _, err := time.Parse(time.DateOnly, day); err != nil || day > "2026-12-07" {
			t.Fatalf("%q gave %q", v, day)
		}
	})
}
