package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/learning"
	"civitas/internal/portal/payment"
	"civitas/internal/registry"
	"civitas/internal/signing"
	"civitas/internal/stats"
	"civitas/internal/tally"
)

// OpenStats builds the adoption capability on what the others publish:
// every capability's indicators (its tallies and its recount) are a
// stats.Source, the registry gives the units and the population, signing
// the holders who signed lately. A capability that lands later adds its
// Source here; stats does not change.
func (a *App) openStats(ctx context.Context, metrics prometheus.Registerer) error {
	var sources []stats.Source
	if a.identity != nil {
		sources = append(sources, a.identity)
	}
	if a.signing != nil {
		sources = append(sources, a.signing)
	}
	if a.feedback != nil {
		sources = append(sources, a.feedback)
	}
	if a.portal != nil {
		sources = append(sources, recountSource{a.portal.Indicators, a.portal.RecountTallies})
	}
	if a.exchange != nil {
		sources = append(sources, recountSource{a.exchange.Indicators, a.exchange.RecountTallies})
	}
	if a.learning != nil {
		sources = append(sources, recountSource{a.learning.Indicators, func(ctx context.Context) ([]tally.Row, error) {
			m, err := a.learning.RecountTallies(ctx)
			return keyedRows(m, func(k learning.TallyKey) tally.Row { return tally.Row{Name: k.Name, Unit: k.Unit, Day: k.Day} }), err
		}})
	}
	if a.payments != nil {
		sources = append(sources, recountSource{a.payments.Indicators, func(ctx context.Context) ([]tally.Row, error) {
			m, err := a.payments.RecountTallies(ctx)
			return keyedRows(m, func(k payment.TallyKey) tally.Row { return tally.Row{Name: k.Name, Unit: k.Unit, Day: k.Day} }), err
		}})
	}
	if a.edoc != nil {
		sources = append(sources, a.edoc)
	}
	var signers stats.Signers
	if a.signing != nil {
		signers = a.signing
	}
	s, err := stats.New(stats.Options{DB: a.db, Clock: a.clock, Units: statsUnits{a.registry}, Population: statsPopulation{a.registry},
		Signers: signers, Sources: sources, UseLog: a.exchange, Logger: a.log,
		Areas: statsAreas{a.registry}, Font: systemFont(a.log), Staff: statsStaff{a.identity}, Residents: statsResidents{reg: a.registry, id: a.identity, sg: a.signing}})
	if err != nil {
		return err
	}
	a.stats = s
	if metrics != nil {
		if err := s.RegisterMetrics(metrics); err != nil {
			return err
		}
	}
	if a.cfg.Demo {
		if _, err := s.SeedDemo(ctx, statsAreas{a.registry}); err != nil {
			return err
		}
	}
	return s.Mount(a.web)
}

// statsAreas gives stats the residential areas of the registry.
type statsAreas struct{ reg *registry.Service }

var _ stats.Areas = statsAreas{}

func (a statsAreas) AreasIn(ctx context.Context, commune string) ([]stats.Area, error) {
	as, err := a.reg.AreasIn(ctx, commune)
	if err != nil {
		return nil, err
	}
	out := make([]stats.Area, 0, len(as))
	for _, x := range as {
		out = append(out, stats.Area{Code: x.Code, Name: x.Name})
	}
	return out, nil
}

// Stats is the adoption capability, for the command line and tests.
func (a *App) Stats() *stats.Service { return a.stats }

// recountSource is a capability's indicators with a recount of another name.
type recountSource struct {
	indicators func() []tally.Indicator
	recount    func(context.Context) ([]tally.Row, error)
}

func (r recountSource) Indicators() []tally.Indicator                    { return r.indicators() }
func (r recountSource) Recount(ctx context.Context) ([]tally.Row, error) { return r.recount(ctx) }

func keyedRows[K comparable](m map[K]int64, row func(K) tally.Row) []tally.Row {
	out := make([]tally.Row, 0, len(m))
	for k, v := range m {
		r := row(k)
		r.Value = v
		out = append(out, r)
	}
	return out
}

// statsUnits gives stats the administrative units of the registry.
type statsUnits struct{ reg *registry.Service }

var _ stats.Units = statsUnits{}

func (u statsUnits) Units(ctx context.Context) ([]stats.Unit, error) {
	var out []stats.Unit
	p := kernel.Page{Limit: kernel.MaxPageLimit}
	for {
		us, err := u.reg.ListUnits(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, ru := range us {
			out = append(out, stats.Unit{Code: ru.Code, Name: ru.Name, Level: string(ru.Level), Parent: ru.ParentCode})
		}
		if len(us) < p.Limit {
			return out, nil
		}
		p.After = us[len(us)-1].Code
	}
}

// statsPopulation gives stats the headcounts of the population registry.
type statsPopulation struct{ reg *registry.Service }

var _ stats.Population = statsPopulation{}

func (p statsPopulation) Population(ctx context.Context, day string) (map[string]stats.Headcount, error) {
	m, err := p.reg.Population(ctx, day)
	if err != nil {
		return nil, err
	}
	out := make(map[string]stats.Headcount, len(m))
	for k, h := range m {
		out[k] = stats.Headcount{Population: h.Population, Adults: h.Adults}
	}
	return out, nil
}

var _ stats.HeadcountRecounter = statsPopulation{}

// RecountHeadcounts checks the registry's kept headcounts for a rebuild:
// each cell that differs is a figure of the living persons of a unit born
// in a year.
func (p statsPopulation) RecountHeadcounts(ctx context.Context, fix bool) ([]stats.Difference, error) {
	ds, err := p.reg.RecountHeadcounts(ctx, fix)
	if err != nil {
		return nil, err
	}
	out := make([]stats.Difference, 0, len(ds))
	for _, d := range ds {
		out = append(out, stats.Difference{Indicator: fmt.Sprintf("living persons born in %d", d.BirthYear), Unit: d.Unit, Kept: d.Kept, Counted: d.Counted})
	}
	return out, nil
}

var _ stats.Signers = (*signing.Service)(nil)

// statsStaff gives stats an official's posts from the e-ID and the registry.
type statsStaff struct{ id *identity.Service }

var _ stats.Staff = statsStaff{}

func (s statsStaff) Posts(ctx context.Context, accountID string) ([]stats.Post, error) {
	posts, err := s.id.Posts(ctx, accountID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]stats.Post, len(posts))
	for i, p := range posts {
		out[i] = stats.Post{Agency: p.Agency.Code, AgencyName: p.Agency.Name, Unit: p.Agency.UnitCode}
	}
	return out, nil
}

// statsResidents joins the adults of an area (registry) with their e-ID
// (identity) and their signature (signing), for the worklists.
type statsResidents struct {
	reg *registry.Service
	id  *identity.Service
	sg  *signing.Service
}

var _ stats.Residents = statsResidents{}

func (s statsResidents) AreaResidents(ctx context.Context, area, day string) ([]stats.Resident, error) {
	rs, err := s.reg.AreaAdults(ctx, area, day)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.CitizenID
	}
	states, err := s.id.States(ctx, ids)
	if err != nil {
		return nil, err
	}
	var accounts []string
	for _, st := range states {
		accounts = append(accounts, st.AccountID)
	}
	var sigs map[string]string
	if s.sg != nil {
		if sigs, err = s.sg.HolderStates(ctx, accounts); err != nil {
			return nil, err
		}
	}
	out := make([]stats.Resident, len(rs))
	for i, r := range rs {
		st := states[r.CitizenID]
		out[i] = stats.Resident{CitizenID: r.CitizenID, FullName: r.FullName, BirthDate: r.BirthDate, HouseholdID: r.HouseholdID,
			Address: r.Address, OwnPhone: r.Phone != "", Level: st.Level, Status: st.Status, Signature: sigs[st.AccountID]}
	}
	return out, nil
}
