package stats

import (
	"html/template"
	"net/http"

	"civitas/internal/web"
)

// maxVisitsShown bounds the schedule on the campaign's page.
const maxVisitsShown = 60

type targetView struct {
	Label string
	Title string
	SVG   template.HTML
	Rows  []unitProgress
}

type unitProgress struct {
	Unit Unit
	T    TargetProgress
}

type campaignView struct {
	Style   string
	P       Progress
	Targets []targetView
	Points  []SupportPoint
	Visits  []Visit
}

func (s *Service) mountCampaigns(ws *web.Server, h *pages) {
	ws.HandleFunc("GET /stats/campaigns/{id}", h.campaign)
}

// campaign shows a campaign's progress in a unit, and in each unit below
// it, with the support points and the visits there.
func (h *pages) campaign(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := h.s.Campaign(ctx, r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	unit := r.URL.Query().Get("unit")
	if unit == "" {
		unit = c.Unit
	}
	p, err := h.s.Progress(ctx, c, unit, "")
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	t, err := h.s.Tree(ctx)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	under := t.communesUnder(unit)
	v := campaignView{Style: h.style, P: p}
	for _, pt := range c.Points {
		if under[pt.Unit] {
			v.Points = append(v.Points, pt)
		}
	}
	// The visits to come, the next ones first: a team's schedule.
	for _, vi := range c.Visits {
		if under[vi.Unit] && vi.Day >= p.Day && len(v.Visits) < maxVisitsShown {
			v.Visits = append(v.Visits, vi)
		}
	}
	var below []Progress
	for _, u := range t.Children(unit) {
		bp, err := h.s.Progress(ctx, c, u.Code, "")
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		below = append(below, bp)
	}
	for i, tg := range p.Targets {
		tv := targetView{Label: h.label(r, tg.Key)}
		tv.Title = h.web.T(r, "stats.campaign.chart", tv.Label, p.Unit.Name)
		var bars []Bar
		for _, bp := range below {
			x := bp.Targets[i]
			tv.Rows = append(tv.Rows, unitProgress{Unit: bp.Unit, T: x})
			share := 0.0
			if x.Target > 0 {
				share = min(1, float64(x.Actual)/float64(x.Target))
			}
			bars = append(bars, Bar{Label: bp.Unit.Name, Value: share, Text: x.Percent(), Class: classOf(share)})
		}
		tv.SVG = template.HTML(BarsSVG("target"+itoa(int64(i)), tv.Title, bars))
		v.Targets = append(v.Targets, tv)
	}
	h.pages.Render(w, r, http.StatusOK, "stats_campaign", v)
}
