package edoc

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Figures are the waiting figures of one agency, or one signer.
type Figures struct {
	Key         string // agency code, or signer account ID
	Name        string // the agency's name, or the signer's agency code
	Person      string // the signer's name and title
	WaitingNow  int
	OldestWait  time.Duration
	Overdue     int // incoming answers past their due date, not completed
	Done        int // steps ended in the period
	Median, P90 time.Duration
}

// Supervision is what a district or province leader sees.
type Supervision struct {
	From, To   time.Time
	Agencies   []Figures
	Signers    []Figures
	Unit       string
	AgencyName string
}

// maxSupervised bounds the steps read for the percentiles of one page.
const maxSupervised = 200000

// Supervise returns the figures of every agency seated within the unit of
// the acting leader's agency (a district's people's committee sees the
// district and its communes), over the steps ended in [from, to).
func (s *Service) Supervise(ctx context.Context, agency string, from, to time.Time) (Supervision, error) {
	if _, err := s.official(ctx, agency, CanAssign); err != nil {
		return Supervision{}, err
	}
	ag, err := s.o.Directory.Agency(ctx, agency)
	if err != nil {
		return Supervision{}, err
	}
	sup := Supervision{From: from, To: to, Unit: ag.Unit, AgencyName: ag.Name}
	within := map[string]bool{}
	inArea := func(code, unit string) bool {
		if v, ok := within[code]; ok {
			return v
		}
		ok, err := s.o.Directory.Within(ctx, unit, ag.Unit)
		within[code] = err == nil && ok
		return within[code]
	}
	now := s.o.Clock.Now()
	byAgency := map[string]*Figures{}
	bySigner := map[string]*Figures{}
	durA := map[string][]time.Duration{}
	durS := map[string][]time.Duration{}
	get := func(m map[string]*Figures, k string) *Figures {
		f, ok := m[k]
		if !ok {
			f = &Figures{Key: k}
			m[k] = f
		}
		return f
	}
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		// Waiting now: every open step.
		rows, err := tx.Query(ctx, `SELECT st.agency, d.unit, st.kind, st.actor, st.started_at FROM edoc_steps st
			JOIN edoc_documents d ON d.id = st.document_id WHERE st.ended_at = 0 LIMIT ?`, maxSupervised)
		if err != nil {
			return kernel.Wrap(err, "edoc: supervise")
		}
		for rows.Next() {
			var code, unit, kind, actor string
			var started int64
			if err := rows.Scan(&code, &unit, &kind, &actor, &started); err != nil {
				rows.Close()
				return kernel.Wrap(err, "edoc: supervise")
			}
			if !inArea(code, unit) {
				continue
			}
			w := now.Sub(fromMicros(started))
			fa := get(byAgency, code)
			fa.WaitingNow++
			fa.OldestWait = max(fa.OldestWait, w)
			if kind == "sign" {
				fs := get(bySigner, actor)
				fs.Name = code
				fs.WaitingNow++
				fs.OldestWait = max(fs.OldestWait, w)
			}
		}
		rows.Close()
		// Overdue answers.
		rows, err = tx.Query(ctx, `SELECT agency, unit, COUNT(*) FROM edoc_documents WHERE direction = 'in' AND due_at > 0 AND due_at < ?
			AND status NOT IN ('completed', 'recalled', 'refused') GROUP BY agency, unit`, micros(now))
		if err != nil {
			return kernel.Wrap(err, "edoc: supervise")
		}
		for rows.Next() {
			var code, unit string
			var n int
			if err := rows.Scan(&code, &unit, &n); err != nil {
				rows.Close()
				return kernel.Wrap(err, "edoc: supervise")
			}
			if inArea(code, unit) {
				get(byAgency, code).Overdue += n
			}
		}
		rows.Close()
		// Steps ended in the period, for the percentiles.
		rows, err = tx.Query(ctx, `SELECT st.agency, d.unit, st.kind, st.actor, st.done_by, st.started_at, st.ended_at FROM edoc_steps st
			JOIN edoc_documents d ON d.id = st.document_id WHERE st.ended_at >= ? AND st.ended_at < ? LIMIT ?`, micros(from), micros(to), maxSupervised)
		if err != nil {
			return kernel.Wrap(err, "edoc: supervise")
		}
		defer rows.Close()
		for rows.Next() {
			var code, unit, kind, actor, by string
			var started, ended int64
			if err := rows.Scan(&code, &unit, &kind, &actor, &by, &started, &ended); err != nil {
				return kernel.Wrap(err, "edoc: supervise")
			}
			if !inArea(code, unit) {
				continue
			}
			d := time.Duration(ended-started) * time.Microsecond
			durA[code] = append(durA[code], d)
			if kind == "sign" {
				get(bySigner, actor).Name = code
				durS[actor] = append(durS[actor], d)
			}
			get(byAgency, code)
		}
		return rows.Err()
	})
	if err != nil {
		return Supervision{}, err
	}
	finish := func(m map[string]*Figures, durs map[string][]time.Duration, names bool) []Figures {
		out := make([]Figures, 0, len(m))
		for k, f := range m {
			ds := durs[k]
			f.Done = len(ds)
			f.Median, f.P90 = percentile(ds, 50), percentile(ds, 90)
			if names {
				f.Name = k
				if a, err := s.o.Directory.Agency(ctx, k); err == nil {
					f.Name = a.Name
				}
			}
			out = append(out, *f)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].OldestWait != out[j].OldestWait {
				return out[i].OldestWait > out[j].OldestWait
			}
			return out[i].Key < out[j].Key
		})
		return out
	}
	sup.Agencies = finish(byAgency, durA, true)
	sup.Signers = finish(bySigner, durS, false)
	names := map[string]string{}
	for i, f := range sup.Signers {
		if _, ok := names[f.Name+"/"]; !ok {
			names[f.Name+"/"] = ""
			if ms, err := s.o.Directory.Members(ctx, f.Name); err == nil {
				for _, m := range ms {
					names[f.Name+"/"+m.AccountID] = m.Name
				}
			}
		}
		sup.Signers[i].Person = names[f.Name+"/"+f.Key]
	}
	return sup, nil
}

// percentile is the p-th percentile (nearest rank) of ds, 0 for none.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (p*len(ds) + 99) / 100
	return ds[max(i-1, 0)]
}

// Chart draws the agencies' waiting figures as a bar chart in SVG: for
// each agency the median and the 90th percentile of the steps' times in
// the period, and the oldest wait now. Drawn here so no script is needed.
func (sup Supervision) Chart(title string, labels [3]string) []byte {
	const rowH, left, width = 26, 220, 640
	as := sup.Agencies
	if len(as) > 30 {
		as = as[:30]
	}
	var top time.Duration
	for _, f := range as {
		top = max(top, f.P90, f.OldestWait, f.Median)
	}
	if top == 0 {
		top = time.Hour
	}
	h := 50 + rowH*len(as) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="t">`, width, h, width, h)
	fmt.Fprintf(&b, `<title id="t">%s</title><style>text{font:12px sans-serif;fill:#1b1b1b}</style>`, html.EscapeString(title))
	colors := [3]string{"#2e7d32", "#f9a825", "#c62828"}
	for i, l := range labels {
		fmt.Fprintf(&b, `<rect x="%d" y="10" width="12" height="12" fill="%s"/><text x="%d" y="21">%s</text>`, left+i*140, colors[i], left+i*140+16, html.EscapeString(l))
	}
	scale := func(d time.Duration) int { return int(float64(width-left-20) * float64(d) / float64(top)) }
	for i, f := range as {
		y := 40 + i*rowH
		name := []rune(f.Name)
		if len(name) > 32 {
			name = append(name[:31], '…')
		}
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`, y+14, html.EscapeString(string(name)))
		for j, d := range []time.Duration{f.Median, f.P90, f.OldestWait} {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="6" fill="%s"><title>%s</title></rect>`, left, y+2+j*7, max(scale(d), 1), colors[j],
				html.EscapeString(d.Round(time.Minute).String()))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">0</text><text x="%d" y="%d" text-anchor="end">%s</text></svg>`, left, h-8, width-20, h-8,
		html.EscapeString(top.Round(time.Minute).String()))
	return []byte(b.String())
}

type superviseData struct {
	Desk     desk
	Sup      Supervision
	Days     int
	Agencies []figureRow
	Signers  []figureRow
}

type figureRow struct {
	Figures
	Oldest, Median, P90 string
}

// period reads ?days= (1 to 365, 30 by default).
func (h *pages) period(r *http.Request) (int, time.Time, time.Time) {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		if n, err := fmt.Sscanf(v, "%d", &days); n != 1 || err != nil || days < 1 || days > 365 {
			days = 30
		}
	}
	to := h.s.o.Clock.Now()
	return days, to.Add(-time.Duration(days) * 24 * time.Hour), to
}

func (h *pages) supervise(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	days, from, to := h.period(r)
	sup, err := h.s.Supervise(r.Context(), d.Agency, from, to)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	row := func(f Figures) figureRow {
		return figureRow{Figures: f, Oldest: h.duration(r, f.OldestWait), Median: h.duration(r, f.Median), P90: h.duration(r, f.P90)}
	}
	data := superviseData{Desk: d, Sup: sup, Days: days}
	for _, f := range sup.Agencies {
		data.Agencies = append(data.Agencies, row(f))
	}
	for _, f := range sup.Signers {
		data.Signers = append(data.Signers, row(f))
	}
	h.ps.Render(w, r, http.StatusOK, "edoc_supervise", data)
}

func (h *pages) chart(w http.ResponseWriter, r *http.Request) {
	d, r, ok := h.official(w, r)
	if !ok {
		return
	}
	_, from, to := h.period(r)
	sup, err := h.s.Supervise(r.Context(), d.Agency, from, to)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	svg := sup.Chart(h.web.T(r, "edoc.supervise.chart"), [3]string{h.web.T(r, "edoc.supervise.median"), h.web.T(r, "edoc.supervise.p90"),
		h.web.T(r, "edoc.supervise.oldest")})
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(svg)
}
