package stats_test

import (
	"context"
	"fmt"
	"testing"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/stats"
)

// village is an area of 99001 whose adults are in households of 1 to 7,
// none with a level-2 account; every other one has a phone, or none does.
type village struct{ rs []stats.Resident }

func newVillage(households int, phones bool) *village {
	v := &village{}
	for h := range households {
		for i := range h%7 + 1 {
			v.rs = append(v.rs, stats.Resident{CitizenID: fmt.Sprintf("0990%04d%04d", h, i), FullName: fmt.Sprintf("Nguyễn Thị Người %d-%d", h, i),
				BirthDate: "1980-01-01", HouseholdID: fmt.Sprintf("H%04d", h), Address: fmt.Sprintf("Số %d, đường Lê Lợi", h), OwnPhone: phones && i%2 == 0})
		}
	}
	return v
}

func (v *village) AreaResidents(_ context.Context, area, _ string) ([]stats.Resident, error) {
	if area != "99001001" {
		return nil, nil
	}
	return v.rs, nil
}

func (v *village) AreasIn(context.Context, string) ([]stats.Area, error) {
	return []stats.Area{{Code: "99001001", Name: "Thôn 1"}}, nil
}

// reads is a data-use log that counts the reads of each person.
type reads map[string]int

func (r reads) Record(_ context.Context, _ *db.Tx, u kernel.DataUse) error {
	r[u.Subject]++
	return nil
}

// TestWorklistPages: a long list comes a page of whole households at a
// time, at most PageSize people; each page logs the reads of exactly the
// people it lists, the whole list (to print) of everyone; the counts are
// of the whole list; a page past the end is a clear error.
func TestWorklistPages(t *testing.T) {
	f := newFixture(t)
	v, log := newVillage(150, true), reads{}
	s, err := stats.New(stats.Options{DB: f.d, Clock: f.clk, Units: province, Residents: v, Areas: v, UseLog: log})
	if err != nil {
		t.Fatal(err)
	}
	o := stats.Official{AccountID: "a1", Posts: []stats.Post{{Agency: "X99001.UBND", Unit: "99001"}}}
	seen := map[string]int{}
	pages := 0
	for p := 1; ; p++ {
		w, err := s.Worklist(f.ctx, o, "99001", "99001001", "", p)
		if err != nil {
			t.Fatal(err)
		}
		if w.Count != len(v.rs) || w.Page != p {
			t.Fatalf("page %d: count %d of %d", p, w.Count, len(v.rs))
		}
		n := 0
		for _, h := range w.Households {
			for _, r := range h.Residents {
				if r.HouseholdID != h.ID {
					t.Fatalf("%s listed in household %s", r.CitizenID, h.ID)
				}
				seen[r.CitizenID]++
				n++
			}
		}
		if n == 0 || n > stats.PageSize {
			t.Fatalf("page %d lists %d", p, n)
		}
		pages++
		if w.Next() == 0 {
			if p != w.Pages {
				t.Fatalf("no page after %d of %d", p, w.Pages)
			}
			break
		}
	}
	if len(seen) != len(v.rs) || pages < 3 {
		t.Fatalf("%d pages listed %d of %d", pages, len(seen), len(v.rs))
	}
	for _, r := range v.rs {
		if seen[r.CitizenID] != 1 || log[r.CitizenID] != 1 {
			t.Fatalf("%s listed %d times, logged %d", r.CitizenID, seen[r.CitizenID], log[r.CitizenID])
		}
	}
	all, err := s.Worklist(f.ctx, o, "99001", "99001001", "", 0)
	if err != nil || len(all.Households) != 150 || all.Page != 0 || all.Pages != pages {
		t.Fatalf("whole list: %d households, page %d of %d, %v", len(all.Households), all.Page, all.Pages, err)
	}
	for _, r := range v.rs {
		if log[r.CitizenID] != 2 {
			t.Fatalf("%s logged %d times after the whole list", r.CitizenID, log[r.CitizenID])
		}
	}
	for _, bad := range []int{-1, pages + 1} {
		if _, err := s.Worklist(f.ctx, o, "99001", "99001001", "", bad); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("page %d: %v", bad, err)
		}
	}
	// An empty list has one empty page.
	w, err := s.Worklist(f.ctx, o, "99001", "99001001", stats.NeedSignature, 1)
	if err != nil || w.Count != 0 || w.Pages != 1 || len(w.Households) != 0 {
		t.Fatalf("empty list: %+v %v", w, err)
	}
}
