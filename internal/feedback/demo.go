package feedback

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// DemoRules are the routing rules of the demo province: environment, land
// and construction to the district's office of natural resources and
// environment, security and order and traffic to the district police, the
// rest to the commune's People's Committee.
func DemoRules() []Rule {
	return []Rule{
		{Category: "environment", AgencyKind: "natural_resources", AgencyLevel: LevelDistrict},
		{Category: "security_order", AgencyKind: "police", AgencyLevel: LevelDistrict},
		{Category: "traffic", AgencyKind: "police", AgencyLevel: LevelDistrict},
		{Category: "land_construction", AgencyKind: "natural_resources", AgencyLevel: LevelDistrict},
		{Category: "urban_infrastructure", AgencyKind: "people_committee", AgencyLevel: LevelCommune},
		{Category: "public_services", AgencyKind: "people_committee", AgencyLevel: LevelCommune},
		{Category: "other", AgencyKind: "people_committee", AgencyLevel: LevelCommune},
	}
}

// DemoStats count what SeedDemo wrote.
type DemoStats struct {
	Rules, Layers, Reports int
}

// demoTexts are what demo reports say, by category.
var demoTexts = map[string][]string{
	"environment":          {"Rác thải đổ bừa bãi ven đường", "Nước thải chảy ra suối, bốc mùi", "Đốt rác gây khói cả khu dân cư", "Cơ sở xay xát gây bụi và tiếng ồn"},
	"security_order":       {"Thanh niên tụ tập gây mất trật tự ban đêm", "Nghi có đánh bạc tại quán nước"},
	"urban_infrastructure": {"Ổ gà lớn giữa đường", "Đèn đường không sáng cả tuần nay", "Cống thoát nước bị tắc, mưa là ngập", "Vỉa hè bị lấn chiếm, sụt lún"},
	"traffic":              {"Đèn tín hiệu giao thông không hoạt động", "Xe tải đỗ chắn lối vào trường học", "Biển báo bị che khuất bởi cây"},
	"public_services":      {"Trạm y tế đóng cửa trong giờ làm việc", "Nước sinh hoạt bị cắt nhiều ngày không báo trước"},
	"land_construction":    {"Xây dựng không phép trên đất nông nghiệp", "Công trình lấn ra hành lang an toàn giao thông"},
	"other":                {"Chó thả rông không rọ mõm", "Loa phát thanh hỏng"},
}

// demoAnswers are what agencies answer, by category.
var demoAnswers = map[string]string{
	"environment":          "Đã thu gom, xử lý và nhắc nhở các hộ liên quan.",
	"security_order":       "Công an đã kiểm tra và xử lý theo quy định.",
	"urban_infrastructure": "Đã sửa chữa xong.",
	"traffic":              "Đã khắc phục và bố trí lực lượng kiểm tra.",
	"public_services":      "Đã làm việc với đơn vị cung cấp dịch vụ.",
	"land_construction":    "Đã lập biên bản và yêu cầu tháo dỡ phần vi phạm.",
	"other":                "Đã tiếp nhận và xử lý.",
}

// SeedDemo gives the demo province its feedback: the routing rules, two
// planning layers and n reports of the last 90 days at every stage of
// their life (some overdue, some reopened, some rated), their figures
// counted on the days they happened. It does nothing when reports exist.
func (s *Service) SeedDemo(ctx context.Context, n int, seed uint64) (DemoStats, error) {
	var st DemoStats
	var have int
	if err := s.o.DB.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM feedback_reports LIMIT 1) t`).Scan(&have); err != nil {
		return st, kernel.Wrap(err, "feedback: demo")
	}
	if have > 0 {
		return st, nil
	}
	ctx = kernel.WithActor(ctx, kernel.System("demo"))
	for _, ru := range DemoRules() {
		if err := s.SetRule(ctx, ru); err != nil {
			return st, err
		}
		st.Rules++
	}
	r, err := s.references(ctx)
	if err != nil {
		return st, err
	}
	g, err := s.pins.geometry(ctx)
	if err != nil {
		return st, err
	}
	if len(g.outlines) == 0 {
		return st, nil // no boundaries: nowhere to put reports
	}
	rng := rand.New(rand.NewPCG(seed, 0xfeedbac))
	if st.Layers, err = s.seedLayers(ctx, r, g, rng); err != nil {
		return st, err
	}
	if st.Reports, err = s.seedReports(ctx, r, g, rng, n); err != nil {
		return st, err
	}
	s.pins.refreshNow(ctx)
	return st, nil
}

// seedLayers draws a land-use plan (zones around the middle of some
// communes, and one at 12.68 N, 108.05 E when it is in the province) and a
// planned road across a district.
func (s *Service) seedLayers(ctx context.Context, r *refs, g *geometry, rng *rand.Rand) (int, error) {
	uses := [][2]string{{"ODT", "Đất ở tại đô thị"}, {"DGD", "Đất xây dựng cơ sở giáo dục"}, {"DKV", "Đất khu vui chơi, giải trí công cộng"},
		{"CLN", "Đất trồng cây lâu năm"}, {"DYT", "Đất xây dựng cơ sở y tế"}, {"TMD", "Đất thương mại, dịch vụ"}}
	var zones []string
	square := func(lat, lon, half float64, use [2]string) string {
		return fmt.Sprintf(`{"type":"Feature","properties":{"name":%q,"ma":%q},"geometry":{"type":"Polygon","coordinates":[[[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f]]]}}`,
			use[1], use[0], lon-half, lat-half, lon+half, lat-half, lon+half, lat+half, lon-half, lat+half, lon-half, lat-half)
	}
	if _, err := s.o.Units.UnitAt(ctx, 12.68, 108.05); err == nil {
		zones = append(zones, square(12.68, 108.05, 0.004, uses[0]))
	}
	var communes, districts []string
	for code, o := range g.outlines {
		if o.hasInterior {
			switch o.unit.Level {
			case LevelCommune:
				communes = append(communes, code)
			case LevelDistrict:
				districts = append(districts, code)
			}
		}
	}
	slices.Sort(communes)
	slices.Sort(districts)
	for i, c := range communes {
		if i%3 != 0 {
			continue
		}
		p := g.outlines[c].interior
		zones = append(zones, square(p[1], p[0], 0.003, uses[rng.IntN(len(uses))]))
	}
	n := 0
	if len(zones) > 0 {
		if _, err := (Planning{DB: s.o.DB, Clock: s.o.Clock}).Import(ctx, LayerDraft{Name: "Quy hoạch sử dụng đất đến năm 2030", Kind: LayerZoning,
			ValidFrom: "2021-01-01", ValidTo: "2030-12-31", GeoJSON: []byte(`{"type":"FeatureCollection","features":[` + strings.Join(zones, ",") + `]}`)}); err != nil {
			return n, err
		}
		n++
	}
	if len(districts) > 0 {
		o := g.outlines[districts[0]]
		b := o.bbox
		mid := o.interior
		line := fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Đường vành đai phía Đông","von":"450 tỷ đồng"},"geometry":{"type":"LineString","coordinates":[[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f]]}}]}`,
			b.MinLon+(b.MaxLon-b.MinLon)*0.2, b.MinLat+(b.MaxLat-b.MinLat)*0.2, mid[0], mid[1], b.MinLon+(b.MaxLon-b.MinLon)*0.8, b.MinLat+(b.MaxLat-b.MinLat)*0.8)
		if _, err := (Planning{DB: s.o.DB, Clock: s.o.Clock}).Import(ctx, LayerDraft{Name: "Dự án giao thông giai đoạn 2026–2030", Kind: LayerProject,
			ValidFrom: "2026-01-01", GeoJSON: []byte(line)}); err != nil {
			return n, err
		}
		n++
	}
	s.layers.forget()
	return n, nil
}

// demoStep is one step of a demo report, at its time.
type demoStep struct {
	at     time.Time
	report int
	apply  func(rep *Report, ev *Event)
}

// seedReports writes n reports with their histories: one transaction per
// day, stamped with that day, so the figures count each step on its day.
func (s *Service) seedReports(ctx context.Context, r *refs, g *geometry, rng *rand.Rand, n int) (int, error) {
	prov := g.bbox
	now := s.o.Clock.Now()
	cats := []string{"urban_infrastructure", "urban_infrastructure", "urban_infrastructure", "environment", "environment", "traffic",
		"traffic", "public_services", "land_construction", "security_order", "other"}
	var reps []Report
	var steps []demoStep
	for tries := 0; len(reps) < n && tries < n*20; tries++ {
		lat := prov.MinLat + rng.Float64()*(prov.MaxLat-prov.MinLat)
		lon := prov.MinLon + rng.Float64()*(prov.MaxLon-prov.MinLon)
		u, err := s.o.Units.UnitAt(ctx, lat, lon)
		if err != nil {
			continue
		}
		c := r.catByID[cats[rng.IntN(len(cats))]]
		agency, ok := r.routes[routeKey{c.Code, u.Code}]
		if c == nil || !ok {
			continue
		}
		created := now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Second)
		texts := demoTexts[c.Code]
		rep := Report{ID: kernel.NewOrderedID(created), Token: kernel.NewID(), Category: c.Code, Sensitive: c.Sensitive,
			Commune: u.Code, District: r.ancestor(u.Code, LevelDistrict), Place: Place{Lat: lat, Lon: lon},
			Description: texts[rng.IntN(len(texts))], Status: Submitted, Agency: agency, Channel: ChannelDemo,
			CreatedAt: created, UpdatedAt: created, DueAt: created.Add(c.Deadline)}
		i := len(reps)
		reps = append(reps, rep)
		steps = append(steps, demoStep{at: created, report: i, apply: func(rep *Report, ev *Event) { ev.Kind, ev.To = EventSubmitted, Submitted }})
		// How far it got: most are received; many resolved, on time or late.
		t := created
		later := func(max time.Duration) time.Time {
			t = t.Add(time.Duration(rng.Int64N(int64(max))) + time.Hour)
			return t
		}
		fate := rng.IntN(100)
		if fate < 12 {
			continue // still waiting to be received
		}
		if at := later(24 * time.Hour); at.Before(now) {
			steps = append(steps, demoStep{at: at, report: i, apply: func(rep *Report, ev *Event) {
				ev.Kind, ev.To, ev.Agency = EventReceived, Received, rep.Agency
				rep.Status, rep.ReceivedAt = Received, ev.At
			}})
		}
		if fate < 30 {
			continue
		}
		if at := later(48 * time.Hour); at.Before(now) {
			steps = append(steps, demoStep{at: at, report: i, apply: func(rep *Report, ev *Event) {
				ev.Kind, ev.To, ev.Agency = EventAssigned, InProgress, rep.Agency
				rep.Status = InProgress
			}})
		}
		if fate < 45 {
			continue
		}
		resolveBy := c.Deadline
		if fate%4 == 0 {
			resolveBy = c.Deadline * 2 // some late
		}
		answer := demoAnswers[c.Code]
		at := later(resolveBy)
		if !at.Before(now) {
			continue
		}
		steps = append(steps, demoStep{at: at, report: i, apply: func(rep *Report, ev *Event) {
			ev.Kind, ev.To, ev.Agency, ev.Note = EventResolved, Resolved, rep.Agency, answer
			rep.Status, rep.ResolvedAt, rep.StatusNote = Resolved, ev.At, answer
			if rep.FirstResolvedAt.IsZero() {
				rep.FirstResolvedAt = ev.At
			}
		}})
		if fate%9 == 0 { // not fixed: reopened, then resolved again
			if at := later(72 * time.Hour); at.Before(now) {
				steps = append(steps, demoStep{at: at, report: i, apply: func(rep *Report, ev *Event) {
					ev.Kind, ev.To, ev.Note = EventReopened, InProgress, "Vẫn chưa được khắc phục"
					rep.Status, rep.Reopened, rep.StatusNote = InProgress, rep.Reopened+1, ""
				}})
				if at := later(c.Deadline); at.Before(now) {
					steps = append(steps, demoStep{at: at, report: i, apply: func(rep *Report, ev *Event) {
						ev.Kind, ev.To, ev.Agency, ev.Note = EventResolved, Resolved, rep.Agency, answer
						rep.Status, rep.ResolvedAt, rep.StatusNote = Resolved, ev.At, answer
					}})
				}
			}
		}
		if fate >= 70 {
			rating := 3 + rng.IntN(3)
			if fate%4 == 0 {
				rating = 1 + rng.IntN(3)
			}
			if at := later(96 * time.Hour); at.Before(now) {
				steps = append(steps, demoStep{at: at, report: i, apply: func(rep *Report, ev *Event) {
					if rep.Status != Resolved {
						ev.Kind = ""
						return
					}
					ev.Kind, ev.To = EventRated, Closed
					rep.Rating, rep.RatedAt, rep.Status, rep.ClosedAt = rating, ev.At, Closed, ev.At
				}})
			}
		}
	}
	slices.SortStableFunc(steps, func(a, b demoStep) int { return a.at.Compare(b.at) })
	written := make([]bool, len(reps))
	for len(steps) > 0 {
		day := tally.Day(steps[0].at)
		end := 1
		for end < len(steps) && tally.Day(steps[end].at) == day {
			end++
		}
		batch := steps[:end]
		steps = steps[end:]
		err := s.o.DB.Update(ctx, batch[0].at, func(tx *db.Tx) error {
			for _, st := range batch {
				rep := &reps[st.report]
				was := *rep
				ev := Event{ID: kernel.NewOrderedID(st.at), At: st.at, From: was.Status, Actor: kernel.System("demo"), Public: true}
				st.apply(rep, &ev)
				if ev.Kind == "" {
					continue
				}
				rep.UpdatedAt = st.at
				if ev.Kind == EventSubmitted {
					ev.From = ""
					if err := insertReport(ctx, tx, *rep, ""); err != nil {
						return err
					}
					written[st.report] = true
					tally.Add(ctx, tx, IndicatorReceived, rep.Commune, 1)
					tally.Add(ctx, tx, IndicatorOpen, rep.Commune, 1)
				} else {
					if err := updateReport(ctx, tx, *rep, was); err != nil {
						return err
					}
					countStep(ctx, tx, was, *rep, ev.Kind)
				}
				if err := insertEvent(ctx, tx, rep.ID, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, kernel.Wrap(err, "feedback: demo reports")
		}
	}
	err := s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "feedback.demo", SubjectType: "feedback", SubjectID: "demo",
			Details: map[string]any{"reports": len(reps)}})
		return err
	})
	return len(reps), err
}

// refreshNow reads the pins again at once (after the demo wrote reports
// with update times in the past, which a refresh by update time would
// miss).
func (m *mapIndex) refreshNow(ctx context.Context) {
	m.mu.Lock()
	m.mark = 0
	m.mu.Unlock()
	if err := m.refresh(ctx); err != nil {
		m.s.o.Logger.Warn("feedback: map refresh failed", "error", err)
	}
}
