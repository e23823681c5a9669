package stats

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// mountAPI serves the indicators' API and open data; both are public and
// carry no personal data.
func (s *Service) mountAPI(ws *web.Server) {
	ws.HandleFunc("GET /api/stats/v1/indicators", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		in, err := s.UnitFigures(r.Context(), q.Get("unit"), q.Get("date"))
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		ws.JSON(w, r, http.StatusOK, in)
	})
	ws.HandleFunc("GET /open-data/indicators.csv", func(w http.ResponseWriter, r *http.Request) { s.openData(ws, w, r, "csv") })
	ws.HandleFunc("GET /open-data/indicators.json", func(w http.ResponseWriter, r *http.Request) { s.openData(ws, w, r, "json") })
}

// OpenRow is one unit's figures in open data; a nil figure was suppressed
// (a commune's count below the threshold).
type OpenRow struct {
	Date       string            `json:"date"`
	Unit       string            `json:"unit"`
	Name       string            `json:"name"`
	Level      string            `json:"level"`
	Parent     string            `json:"parent"`
	Indicators map[string]*int64 `json:"indicators"`
}

// OpenData is the figures of every unit of a level on a day ("" for
// today), with the small counts of communes suppressed.
func (s *Service) OpenData(ctx context.Context, level, day string) ([]OpenRow, []string, error) {
	if level == "" {
		level = LevelCommune
	}
	if level != LevelCommune && level != LevelDistrict && level != LevelProvince {
		return nil, nil, kernel.E(kernel.Invalid, "stats.error.bad_level", level)
	}
	day, err := s.ParseDay(day)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	table, err := s.Table(ctx, t, day)
	if err != nil {
		return nil, nil, err
	}
	keys := s.Keys()
	var out []OpenRow
	for _, u := range t.Level(level) {
		row := OpenRow{Date: day, Unit: u.Code, Name: u.Name, Level: u.Level, Parent: u.Parent, Indicators: map[string]*int64{}}
		for _, k := range keys {
			v := table[u.Code][k]
			if level == LevelCommune && v > 0 && v < s.o.Suppress {
				row.Indicators[k] = nil
				continue
			}
			row.Indicators[k] = &v
		}
		out = append(out, row)
	}
	return out, keys, nil
}

func (s *Service) openData(ws *web.Server, w http.ResponseWriter, r *http.Request, format string) {
	q := r.URL.Query()
	rows, keys, err := s.OpenData(r.Context(), q.Get("level"), q.Get("date"))
	if err != nil {
		if format == "csv" {
			r.Header.Set("Accept", "application/json") // a script reads the error
		}
		ws.Error(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if format == "json" {
		ws.JSON(w, r, http.StatusOK, map[string]any{"suppressed_below": s.o.Suppress, "units": rows})
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	header := append([]string{"date", "unit", "name", "level", "parent"}, keys...)
	_ = cw.Write(header)
	for _, row := range rows {
		rec := []string{row.Date, row.Unit, row.Name, row.Level, row.Parent}
		for _, k := range keys {
			if v := row.Indicators[k]; v != nil {
				rec = append(rec, strconv.FormatInt(*v, 10))
			} else {
				rec = append(rec, "")
			}
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
	h.Set("Content-Disposition", `inline; filename="indicators.csv"`)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// gauges exports the province's totals today as Prometheus gauges,
// computed at each scrape.
type gauges struct {
	s    *Service
	desc *prometheus.Desc
}

func (g gauges) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := g.s.UnitFigures(ctx, "", "")
	if err != nil {
		g.s.o.Logger.Warn("stats: gauges", "err", err)
		return
	}
	for _, k := range g.s.Keys() {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(in.Indicators[k]), k)
	}
}

// RegisterMetrics adds the province's totals to reg as
// civitas_stats_province{indicator="..."}.
func (s *Service) RegisterMetrics(reg prometheus.Registerer) error {
	return reg.Register(gauges{s: s, desc: prometheus.NewDesc("civitas_stats_province",
		"Province-wide adoption figures today, by indicator.", []string{"indicator"}, nil)})
}
