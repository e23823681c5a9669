package stats

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/stats_*.html
var pageTemplates embed.FS

//go:embed static/stats.css
var pageStyle []byte

type pages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
	style string
}

// Mount serves the indicators' API, open data and the dashboards.
func (s *Service) Mount(ws *web.Server) error {
	ps, err := ws.Pages(pageTemplates, "templates/stats_*.html")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pageStyle)
	h := &pages{s: s, web: ws, pages: ps, style: "/stats/static/stats-" + hex.EncodeToString(sum[:6]) + ".css"}
	s.mountAPI(ws)
	ws.HandleFunc("GET /stats", h.dashboard)
	ws.HandleFunc("GET /stats/chart.svg", h.chart)
	ws.HandleFunc("GET /stats/static/{file}", h.stylesheet)
	s.mountCampaigns(ws, h)
	s.mountWorklists(ws, h)
	ws.AddNav(web.NavItem{Key: "nav.stats", Path: "/stats", Order: 60, Who: web.Everyone})
	return nil
}

func (h *pages) stylesheet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.style {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/css; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Content-Length", strconv.Itoa(len(pageStyle)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(pageStyle)
	}
}

// choice is an option of a select.
type choice struct {
	Value, Label string
	Chosen       bool
}

// figureView is one figure of the unit, for the summary.
type figureView struct {
	Label, Value, Share string
}

type dashboardView struct {
	Style      string
	Board      Board
	Label      string // the figure shown
	Choices    []choice
	Summary    []figureView
	Bars       template.HTML
	Trend      template.HTML
	TrendTitle string
	BarsTitle  string
	Indicator  string // the chosen figure and day, kept by the links to other units
	Date       string
	Campaigns  []Progress
}

func (h *pages) label(r *http.Request, key string) string {
	if k := h.s.TitleKey(key); k != "" && h.web.Catalog().Has(k) {
		return h.web.T(r, k)
	}
	return key
}

func (h *pages) dashboard(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	b, err := h.s.Board(r.Context(), q.Get("unit"), q.Get("indicator"), q.Get("date"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	v := dashboardView{Style: h.style, Board: b, Label: h.label(r, b.Key),
		Indicator: b.Key, Date: b.Date}
	for _, k := range h.s.Keys() {
		v.Choices = append(v.Choices, choice{Value: k, Label: h.label(r, k), Chosen: k == b.Key})
		f := figureView{Label: h.label(r, k), Value: itoa(b.Figures[k])}
		if OfAdults(k) && b.Figures[KeyAdults] > 0 {
			f.Share = percent(float64(b.Figures[k]) / float64(b.Figures[KeyAdults]))
		}
		v.Summary = append(v.Summary, f)
	}
	h.labelDays(r, b.Trend)
	v.BarsTitle = h.web.T(r, "stats.chart.bars", v.Label, b.Unit.Name, h.web.Date(r, b.Date))
	v.Bars = template.HTML(BarsSVG("bars", v.BarsTitle, h.bars(b)))
	if b.Trend != nil {
		v.TrendTitle = h.web.T(r, "stats.chart.trend", v.Label, b.Unit.Name)
		v.Trend = template.HTML(TrendSVG("trend", v.TrendTitle, b.Trend, 0))
	}
	if v.Campaigns, err = h.s.Running(r.Context(), b.Unit.Code, b.Date); err != nil {
		h.web.Error(w, r, err)
		return
	}
	for i := range v.Campaigns {
		for j := range v.Campaigns[i].Targets {
			t := &v.Campaigns[i].Targets[j]
			t.Label = h.label(r, t.Key)
		}
	}
	h.pages.Render(w, r, http.StatusOK, "stats_dashboard", v)
}

func (h *pages) bars(b Board) []Bar {
	var bars []Bar
	for _, row := range b.Below {
		br := Bar{Label: row.Unit.Name, Value: float64(row.Value), Text: itoa(row.Value), Class: row.Class}
		if b.Shared {
			br.Value, br.Text = row.Share, row.Percent()
		}
		bars = append(bars, br)
	}
	return bars
}

// chart serves a dashboard's chart alone, as an SVG document.
func (h *pages) chart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	b, err := h.s.Board(r.Context(), q.Get("unit"), q.Get("indicator"), q.Get("date"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	label := h.label(r, b.Key)
	h.labelDays(r, b.Trend)
	var svg string
	switch q.Get("kind") {
	case "", "bars":
		svg = BarsSVG("bars", h.web.T(r, "stats.chart.bars", label, b.Unit.Name, h.web.Date(r, b.Date)), h.bars(b))
	case "trend":
		svg = TrendSVG("trend", h.web.T(r, "stats.chart.trend", label, b.Unit.Name), b.Trend, 0)
	default:
		h.web.Error(w, r, kernel.E(kernel.Invalid, "stats.error.bad_chart"))
		return
	}
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + svg + "\n"
	hd := w.Header()
	hd.Set("Content-Type", "image/svg+xml; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// labelDays names the trend's days as the reader reads dates.
func (h *pages) labelDays(r *http.Request, pts []Point) {
	for i := range pts {
		pts[i].Label = h.web.Date(r, pts[i].Day)
	}
}
