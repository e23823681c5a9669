package portal

import (
	"context"
	"slices"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// The figures the portal publishes per commune and day, for the adoption
// dashboards.
const (
	FigureSubmittedOnline  = "portal.submitted_online"  // applications submitted online
	FigureSubmittedCounter = "portal.submitted_counter" // submitted at a desk for the person who came
	FigurePaperless        = "portal.paperless"         // submitted with no file uploaded
	FigureDecided          = "portal.decided"           // finished: result issued or refused
	FigureOnTime           = "portal.on_time"           // finished by the promised date
	FigureProcessingDays   = "portal.processing_days"   // working days from submission to finish, summed
	FigureRefused          = "portal.refused"
	FigureWithdrawn        = "portal.withdrawn"
	FigureOverdue          = "portal.overdue"   // became late
	FigureApologies        = "portal.apologies" // letters of apology with a new date
	FigureOpen             = "portal.open"      // submitted and not finished (a stock)
)

// Indicators lists the figures the portal publishes per commune.
func (s *Service) Indicators() []tally.Indicator {
	flow := func(name, key string) tally.Indicator {
		return tally.Indicator{Name: name, TitleKey: "portal.indicator." + key, Kind: tally.Flow}
	}
	return []tally.Indicator{
		flow(FigureSubmittedOnline, "submitted_online"), flow(FigureSubmittedCounter, "submitted_counter"), flow(FigurePaperless, "paperless"),
		flow(FigureDecided, "decided"), flow(FigureOnTime, "on_time"), flow(FigureProcessingDays, "processing_days"),
		flow(FigureRefused, "refused"), flow(FigureWithdrawn, "withdrawn"), flow(FigureOverdue, "overdue"), flow(FigureApologies, "apologies"),
		{Name: FigureOpen, TitleKey: "portal.indicator.open", Kind: tally.Stock},
	}
}

// RecountTallies counts every figure again from the portal's own tables,
// per figure, commune and day, as the incremental tallies hold them (the
// overdue and apology figures from the applications' histories).
func (s *Service) RecountTallies(ctx context.Context) ([]tally.Row, error) {
	sum := map[[3]string]int64{}
	add := func(name, unit string, at int64, n int64) {
		if n != 0 {
			sum[[3]string{name, unit, tally.Day(kernel.FromMicros(at))}] += n
		}
	}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT unit_code, channel, paperless, submitted_at, finished_at, status FROM portal_applications WHERE submitted_at > 0`)
		if err != nil {
			return kernel.Wrap(err, "portal: recount")
		}
		defer rows.Close()
		for rows.Next() {
			var unit, channel, status string
			var paperless int
			var submitted, finished int64
			if err := rows.Scan(&unit, &channel, &paperless, &submitted, &finished, &status); err != nil {
				return kernel.Wrap(err, "portal: recount")
			}
			if channel == ChannelCounter {
				add(FigureSubmittedCounter, unit, submitted, 1)
			} else {
				add(FigureSubmittedOnline, unit, submitted, 1)
			}
			if paperless == 1 {
				add(FigurePaperless, unit, submitted, 1)
			}
			add(FigureOpen, unit, submitted, 1)
			if finished > 0 {
				add(FigureOpen, unit, finished, -1)
			}
			if status == StatusWithdrawn && finished > 0 {
				add(FigureWithdrawn, unit, finished, 1)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT o.unit_code, o.outcome, o.working_days, o.on_time, a.finished_at FROM portal_outcomes o
			JOIN portal_applications a ON a.id = o.application_id`)
		if err != nil {
			return kernel.Wrap(err, "portal: recount")
		}
		defer rows.Close()
		for rows.Next() {
			var unit, outcome string
			var days, onTime int
			var at int64
			if err := rows.Scan(&unit, &outcome, &days, &onTime, &at); err != nil {
				return kernel.Wrap(err, "portal: recount")
			}
			add(FigureDecided, unit, at, 1)
			add(FigureProcessingDays, unit, at, int64(days))
			add(FigureOnTime, unit, at, int64(onTime))
			if outcome == StatusRefused {
				add(FigureRefused, unit, at, 1)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT a.unit_code, e.kind, e.at FROM portal_events e JOIN portal_applications a ON a.id = e.application_id
			WHERE e.kind IN ('overdue', 'apology')`)
		if err != nil {
			return kernel.Wrap(err, "portal: recount")
		}
		defer rows.Close()
		for rows.Next() {
			var unit, kind string
			var at int64
			if err := rows.Scan(&unit, &kind, &at); err != nil {
				return kernel.Wrap(err, "portal: recount")
			}
			if kind == "overdue" {
				add(FigureOverdue, unit, at, 1)
			} else {
				add(FigureApologies, unit, at, 1)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]tally.Row, 0, len(sum))
	for k, v := range sum {
		if v != 0 {
			out = append(out, tally.Row{Name: k[0], Unit: k[1], Day: k[2], Value: v})
		}
	}
	return out, nil
}

// UnitDay is the statistics feed's row: one commune's applications on one
// day, for the adoption dashboards.
type UnitDay struct {
	Unit              string  `json:"unit"`
	Day               string  `json:"day"`
	SubmittedOnline   int64   `json:"submitted_online"`
	SubmittedCounter  int64   `json:"submitted_counter"`
	Paperless         int64   `json:"paperless"`
	Decided           int64   `json:"decided"`
	OnTime            int64   `json:"on_time"`
	PaperlessShare    float64 `json:"paperless_share"`      // of those submitted
	OnTimeShare       float64 `json:"on_time_share"`        // of those decided
	AverageWorkingDay float64 `json:"average_working_days"` // of those decided
}

// Statistics is the feed: per commune and day from through to (inclusive),
// from the tallies.
func (s *Service) Statistics(ctx context.Context, from, to string) ([]UnitDay, error) {
	names := []string{FigureSubmittedOnline, FigureSubmittedCounter, FigurePaperless, FigureDecided, FigureOnTime, FigureProcessingDays}
	var rows []tally.Row
	err := s.o.DB.View(ctx, func(tx *db.Tx) (err error) {
		rows, err = tally.Rows(ctx, tx, names, from, to)
		return err
	})
	if err != nil {
		return nil, err
	}
	type key struct{ unit, day string }
	by := map[key]*UnitDay{}
	days := map[key]int64{}
	var order []key
	for _, r := range rows {
		k := key{r.Unit, r.Day}
		u := by[k]
		if u == nil {
			u = &UnitDay{Unit: r.Unit, Day: r.Day}
			by[k] = u
			order = append(order, k)
		}
		switch r.Name {
		case FigureSubmittedOnline:
			u.SubmittedOnline = r.Value
		case FigureSubmittedCounter:
			u.SubmittedCounter = r.Value
		case FigurePaperless:
			u.Paperless = r.Value
		case FigureDecided:
			u.Decided = r.Value
		case FigureOnTime:
			u.OnTime = r.Value
		case FigureProcessingDays:
			days[k] = r.Value
		}
	}
	slices.SortFunc(order, func(a, b key) int {
		if c := strings.Compare(a.day, b.day); c != 0 {
			return c
		}
		return strings.Compare(a.unit, b.unit)
	})
	out := make([]UnitDay, 0, len(order))
	for _, k := range order {
		u := by[k]
		if n := u.SubmittedOnline + u.SubmittedCounter; n > 0 {
			u.PaperlessShare = float64(u.Paperless) / float64(n)
		}
		if u.Decided > 0 {
			u.OnTimeShare = float64(u.OnTime) / float64(u.Decided)
			u.AverageWorkingDay = float64(days[k]) / float64(u.Decided)
		}
		out = append(out, *u)
	}
	return out, nil
}
