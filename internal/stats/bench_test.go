package stats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/stats"
	"civitas/internal/tally"
)

// benchProvince is a province of 15 districts of 40 communes (600), each
// commune with 60 days of figures of the two indicators of source.
func benchProvince(b *testing.B) (*stats.Service, context.Context) {
	b.Helper()
	ctx := kernel.WithActor(context.Background(), kernel.System("bench"))
	d := dbtest.Open(b)
	us := units{{Code: "99", Name: "Tỉnh", Level: stats.LevelProvince}}
	pop := population{}
	src := &source{}
	start := time.Date(2026, 10, 9, 5, 0, 0, 0, time.UTC)
	for di := range 15 {
		dc := fmt.Sprintf("9%02d", di)
		us = append(us, stats.Unit{Code: dc, Name: "Huyện " + dc, Level: stats.LevelDistrict, Parent: "99"})
		for ci := range 40 {
			cc := fmt.Sprintf("%s%02d", dc, ci)
			us = append(us, stats.Unit{Code: cc, Name: "Xã " + cc, Level: stats.LevelCommune, Parent: dc})
			pop[cc] = stats.Headcount{Population: 5000, Adults: 3600}
		}
	}
	for day := range 60 {
		at := start.AddDate(0, 0, day)
		if err := d.Update(ctx, at, func(tx *db.Tx) error {
			for _, u := range us {
				if u.Level == stats.LevelCommune {
					tally.Add(ctx, tx, "eid.level2_issued", u.Code, 20)
					tally.Add(ctx, tx, "portal.submitted", u.Code, 3)
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		for _, u := range us {
			if u.Level == stats.LevelCommune {
				src.rows = append(src.rows, tally.Row{Name: "eid.level2_issued", Unit: u.Code, Day: tally.Day(at), Value: 20},
					tally.Row{Name: "portal.submitted", Unit: u.Code, Day: tally.Day(at), Value: 3})
			}
		}
	}
	s, err := stats.New(stats.Options{DB: d, Clock: kernel.NewManualClock(start.AddDate(0, 0, 59)), Units: us, Population: pop, Sources: []stats.Source{src}})
	if err != nil {
		b.Fatal(err)
	}
	return s, ctx
}

// BenchmarkBoard is the province's dashboard: every unit's figures, the
// ranking of the districts and the 30-day trend (the population and the
// signers come from their capabilities; here a fixed table).
func BenchmarkBoard(b *testing.B) {
	s, ctx := benchProvince(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Board(ctx, "99", "eid_level2_issued", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebuild compares 72,000 kept figures with a recount.
func BenchmarkRebuild(b *testing.B) {
	s, ctx := benchProvince(b)
	b.ResetTimer()
	for b.Loop() {
		diffs, err := s.Rebuild(ctx, false)
		if err != nil || len(diffs) != 0 {
			b.Fatal(diffs, err)
		}
	}
}

// BenchmarkLetters500 is the letters PDF of an area whose 500 adults have
// no phone and no level-2 account: a cover listing them and a letter
// each, in the system's font (issue 21 asks < 5 s); the data-use log is
// counted in memory here, BenchmarkLetters in internal/app writes it.
func BenchmarkLetters500(b *testing.B) {
	font, err := pdf.SystemFont()
	if err != nil {
		b.Skip("no system font (fonts-dejavu-core):", err)
	}
	f, err := pdf.ParseFont(font)
	if err != nil {
		b.Fatal(err)
	}
	ctx := kernel.WithActor(context.Background(), kernel.System("bench"))
	v := newVillage(126, false) // 504 adults in households of 1 to 7
	v.rs = v.rs[:500]
	log := reads{}
	s, err := stats.New(stats.Options{DB: dbtest.Open(b), Clock: kernel.NewManualClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)),
		Units: province, Residents: v, Areas: v, UseLog: log, Font: f})
	if err != nil {
		b.Fatal(err)
	}
	o := stats.Official{AccountID: "a1", Posts: []stats.Post{{Agency: "X99001.UBND", Unit: "99001"}}}
	var size int
	for b.Loop() {
		out, err := s.Letters(ctx, o, "99001", "99001001")
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	if log[v.rs[499].CitizenID] == 0 {
		b.Fatal("the last letter was not logged")
	}
	b.ReportMetric(float64(size)/1024, "KiB/pdf")
}
