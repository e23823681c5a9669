package stats

import (
	"context"
	"slices"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Resident is an adult of a residential area with where their e-ID and
// signature stand: what a team needs to visit them.
type Resident struct {
	CitizenID   string
	FullName    string
	BirthDate   string
	HouseholdID string
	Address     string
	OwnPhone    bool   // a phone of their own: no need for a letter
	Level       int    // of their account; 0 without one
	Status      string // of their account: pending, active, disabled
	Signature   string // "" none, "issued", "active"
}

// Residents gives the adults of an area with their e-ID and signature
// (the registry, identity and signing, joined in the application).
type Residents interface {
	AreaResidents(ctx context.Context, area, day string) ([]Resident, error)
}

// Post is an official's post: the agency and the unit it serves.
type Post struct {
	Agency     string
	AgencyName string
	Unit       string
}

// Staff gives the posts of an official's account.
type Staff interface {
	Posts(ctx context.Context, accountID string) ([]Post, error)
}

// The needs a worklist shows.
const (
	NeedLevel2     = "level2"     // no level-2 account
	NeedActivation = "activation" // a level-2 account waiting for activation
	NeedSignature  = "signature"  // an active level-2 account, no active signature
)

// Needs lists the needs, in the order a team works through them.
func Needs() []string { return []string{NeedLevel2, NeedActivation, NeedSignature} }

// The outcomes of a visit.
const (
	OutcomeDone     = "done"
	OutcomeNotHome  = "not_home"
	OutcomeMoved    = "moved"
	OutcomeDeceased = "deceased"
)

// Outcomes lists the outcomes of a visit.
func Outcomes() []string { return []string{OutcomeDone, OutcomeNotHome, OutcomeMoved, OutcomeDeceased} }

// NeedOf is what a resident still lacks, or "".
func NeedOf(r Resident) string {
	switch {
	case r.Level != 2 || r.Status == "disabled":
		return NeedLevel2
	case r.Status != "active":
		return NeedActivation
	case r.Signature != "active":
		return NeedSignature
	}
	return ""
}

// Official is a signed-in official at their posts.
type Official struct {
	AccountID string
	Posts     []Post
}

// covers says whether one of the official's posts serves commune: its
// agency's unit is the commune or its district. The province's agencies
// do not see the people of a village: their figures are the dashboards.
func (s *Service) covers(t *Tree, o Official, commune string) (Post, bool) {
	up := map[string]bool{commune: true}
	if c, ok := t.Unit(commune); ok && c.Parent != "" {
		if d, ok := t.Unit(c.Parent); ok && d.Level == LevelDistrict {
			up[d.Code] = true // the district's teams work in its communes
		}
	}
	for _, p := range o.Posts {
		if up[p.Unit] {
			return p, true
		}
	}
	return Post{}, false
}

func errNotStaff() error { return kernel.E(kernel.Forbidden, "stats.error.not_staff") }

// Communes lists the communes the official's posts serve.
func (s *Service) Communes(ctx context.Context, o Official) ([]Unit, error) {
	t, err := s.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var out []Unit
	for _, u := range t.Level(LevelCommune) {
		if _, ok := s.covers(t, o, u.Code); ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// Household is a household's residents on a worklist.
type Household struct {
	ID        string
	Address   string
	Residents []ListedResident
}

// ListedResident is a resident on a worklist, with what they lack and the
// last visit's outcome.
type ListedResident struct {
	Resident
	Need    string
	Outcome string
}

// Worklist is the residents of an area still lacking something: a page of
// them, or all of them for printing.
type Worklist struct {
	Commune    Unit
	Area       Area
	Need       string // "" for every need
	Households []Household
	// Count and NoPhone are of the whole list, every page.
	Count   int
	NoPhone int
	// Page is the page listed (from 1), 0 when the whole list is; Pages
	// is how many pages the list has.
	Page, Pages int
}

// Prev is the page before w's, 0 for none.
func (w Worklist) Prev() int {
	if w.Page > 1 {
		return w.Page - 1
	}
	return 0
}

// Next is the page after w's, 0 for none.
func (w Worklist) Next() int {
	if w.Page > 0 && w.Page < w.Pages {
		return w.Page + 1
	}
	return 0
}

// PageSize is the most residents a worklist page lists. A page holds
// whole households, so a household larger than that has a page of its
// own. A list of an area's 1,500 adults on one page is a megabyte and
// more for an old phone, and every person on it a read of their data.
const PageSize = 100

// paginate splits households into pages of at most PageSize residents.
func paginate(hs []Household) [][]Household {
	var out [][]Household
	n := 0
	for i, h := range hs {
		if i == 0 || n+len(h.Residents) > PageSize {
			out = append(out, nil)
			n = 0
		}
		out[len(out)-1] = append(out[len(out)-1], h)
		n += len(h.Residents)
	}
	return out
}

// PurposeWorklist is the purpose a worklist view is logged with.
const PurposeWorklist = "stats.adoption_outreach"

// Worklist lists the adults of an area of commune who still lack a level-2
// account, its activation or a signature (need "" for all), by household,
// for an official whose post serves the commune: page page of the list
// (from 1), or the whole list for page 0. Every resident listed is a read
// of their data, written to the data-use log with its purpose.
func (s *Service) Worklist(ctx context.Context, o Official, commune, area, need string, page int) (Worklist, error) {
	return s.worklist(ctx, o, commune, area, need, page, nil, "stats.worklist")
}

// worklist lists the residents keep accepts (nil: all), on page page (0:
// every page), and logs each listed resident's read on channel.
func (s *Service) worklist(ctx context.Context, o Official, commune, area, need string, page int, keep func(Resident) bool, channel string) (Worklist, error) {
	if s.o.Residents == nil || s.o.Areas == nil {
		return Worklist{}, kernel.E(kernel.NotFound, "error.not_found")
	}
	if need != "" && !slices.Contains(Needs(), need) {
		return Worklist{}, kernel.E(kernel.Invalid, "stats.error.bad_need", need)
	}
	if page < 0 {
		return Worklist{}, kernel.E(kernel.Invalid, "stats.error.bad_page", itoa(int64(page)))
	}
	t, err := s.Tree(ctx)
	if err != nil {
		return Worklist{}, err
	}
	u, ok := t.Unit(commune)
	if !ok || u.Level != LevelCommune {
		return Worklist{}, kernel.E(kernel.Invalid, "stats.error.bad_unit", commune)
	}
	post, ok := s.covers(t, o, commune)
	if !ok {
		return Worklist{}, errNotStaff()
	}
	areas, err := s.o.Areas.AreasIn(ctx, commune)
	if err != nil {
		return Worklist{}, err
	}
	i := slices.IndexFunc(areas, func(a Area) bool { return a.Code == area })
	if i < 0 {
		return Worklist{}, kernel.E(kernel.Invalid, "stats.error.bad_area", area)
	}
	day := tally.Day(s.o.Clock.Now())
	rs, err := s.o.Residents.AreaResidents(ctx, area, day)
	if err != nil {
		return Worklist{}, err
	}
	outcomes := map[string]string{}
	if err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		outcomes, err = findOutcomes(ctx, tx, commune)
		return err
	}); err != nil {
		return Worklist{}, kernel.Wrap(err, "stats: outcomes")
	}
	w := Worklist{Commune: u, Area: areas[i], Need: need, Page: page}
	for _, r := range rs {
		n := NeedOf(r)
		if n == "" || (need != "" && n != need) || (keep != nil && !keep(r)) {
			continue
		}
		if len(w.Households) == 0 || w.Households[len(w.Households)-1].ID != r.HouseholdID {
			w.Households = append(w.Households, Household{ID: r.HouseholdID, Address: r.Address})
		}
		h := &w.Households[len(w.Households)-1]
		h.Residents = append(h.Residents, ListedResident{Resident: r, Need: n, Outcome: outcomes[r.CitizenID]})
		w.Count++
		if !r.OwnPhone {
			w.NoPhone++
		}
	}
	ps := paginate(w.Households)
	w.Pages = max(len(ps), 1)
	if page > w.Pages {
		return Worklist{}, kernel.E(kernel.Invalid, "stats.error.bad_page", itoa(int64(page)))
	}
	if page > 0 {
		w.Households = nil
		if len(ps) > 0 {
			w.Households = ps[page-1]
		}
	}
	if len(w.Households) == 0 {
		return w, nil
	}
	// The view is a read of the data of each person it lists.
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		for _, h := range w.Households {
			for _, r := range h.Residents {
				if err := s.o.UseLog.Record(ctx, tx, kernel.DataUse{Subject: r.CitizenID, Agency: post.Agency, ReaderName: post.AgencyName,
					Channel: channel, Service: "adoption_worklist", Fields: []string{"full_name", "birth_date", "address", "own_phone", "eid_level", "signature"},
					Purpose: PurposeWorklist, CaseRef: area}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return Worklist{}, kernel.Wrap(err, "stats: worklist use log")
	}
	return w, nil
}

// MarkOutcome notes what a team found visiting a resident of commune: the
// resident must be an adult of one of its areas.
func (s *Service) MarkOutcome(ctx context.Context, o Official, commune, area, citizenID, outcome string) error {
	if !slices.Contains(Outcomes(), outcome) {
		return kernel.E(kernel.Invalid, "stats.error.bad_outcome", outcome)
	}
	t, err := s.Tree(ctx)
	if err != nil {
		return err
	}
	post, ok := s.covers(t, o, commune)
	if !ok {
		return errNotStaff()
	}
	areas, err := s.o.Areas.AreasIn(ctx, commune)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(areas, func(a Area) bool { return a.Code == area }) {
		return kernel.E(kernel.Invalid, "stats.error.bad_area", area)
	}
	rs, err := s.o.Residents.AreaResidents(ctx, area, tally.Day(s.o.Clock.Now()))
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(rs, func(r Resident) bool { return r.CitizenID == citizenID }) {
		return kernel.E(kernel.NotFound, "stats.error.not_resident")
	}
	return s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		if err := upsertOutcome(ctx, tx, citizenID, commune, outcome, o.AccountID); err != nil {
			return err
		}
		// Moved away and deceased are for the registry's agency to act on:
		// the audit record is their report.
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "stats.visit." + outcome, SubjectType: "person", SubjectID: citizenID,
			Details: map[string]any{"agency": post.Agency, "commune": commune, "area": area, "report_to_registry": outcome == OutcomeMoved || outcome == OutcomeDeceased}})
		return err
	})
}
