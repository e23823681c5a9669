package feedback

import (
	"context"
	"slices"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Rule routes the reports of a category in an area to an agency: one named
// by its code, or the agency of a kind serving the unit of a level that
// holds the report's commune (the commune's People's Committee, the
// district's police), or the nearest above it when that unit has none. The rule for the smallest area holding the commune
// wins; Unit "" is everywhere.
type Rule struct {
	ID          string
	Category    string
	Unit        string
	Agency      string // an agency's code, or
	AgencyKind  string // a kind of agency
	AgencyLevel string // at this level above the commune
}

// Validate checks the rule's shape (not that its names exist).
func (r Rule) Validate() error {
	named := r.Agency != ""
	byKind := r.AgencyKind != "" || r.AgencyLevel != ""
	if r.Category == "" || named == byKind {
		return kernel.E(kernel.Invalid, "feedback.error.rule")
	}
	if byKind && (r.AgencyKind == "" || r.AgencyLevel != LevelCommune && r.AgencyLevel != LevelDistrict && r.AgencyLevel != LevelProvince) {
		return kernel.E(kernel.Invalid, "feedback.error.rule")
	}
	return nil
}

// fallbackKind is who answers a report no rule routes: the People's
// Committee of the commune, of its district, of the province — the first
// that exists.
const fallbackKind = "people_committee"

// route computes the agency of every category in every commune.
func route(r *refs) map[routeKey]string {
	// agencyAt finds the agency of a kind serving a unit.
	byKindUnit := map[[2]string]string{}
	codes := make([]string, 0, len(r.agencies))
	for c := range r.agencies {
		codes = append(codes, c)
	}
	slices.Sort(codes) // the same agency wins on every instance
	for _, c := range codes {
		a := r.agencies[c]
		k := [2]string{a.Kind, a.Unit}
		if _, ok := byKindUnit[k]; !ok {
			byKindUnit[k] = a.Code
		}
	}
	rules := map[[2]string]Rule{}
	for _, ru := range r.rules {
		rules[[2]string{ru.Category, ru.Unit}] = ru
	}
	out := map[routeKey]string{}
	for _, u := range r.units {
		if u.Level != LevelCommune {
			continue
		}
		// The commune's areas, smallest first, then everywhere.
		var areas []string
		for code, i := u.Code, 0; code != "" && i < 8; i++ {
			areas = append(areas, code)
			code = r.units[code].Parent
		}
		areas = append(areas, "")
		for _, c := range r.cats {
			agency := ""
			for _, area := range areas {
				ru, ok := rules[[2]string{c.Code, area}]
				if !ok {
					continue
				}
				if ru.Agency != "" {
					if _, known := r.agencies[ru.Agency]; known {
						agency = ru.Agency
					}
				} else {
					// The agency of the kind serving the unit of that level,
					// or failing that the nearest above it (a district
					// without its own office is served by the province's).
					for unit, i := r.ancestor(u.Code, ru.AgencyLevel), 0; unit != "" && agency == "" && i < 8; i++ {
						agency = byKindUnit[[2]string{ru.AgencyKind, unit}]
						unit = r.units[unit].Parent
					}
				}
				break
			}
			if agency == "" {
				for _, area := range areas[:len(areas)-1] {
					if a := byKindUnit[[2]string{fallbackKind, area}]; a != "" {
						agency = a
						break
					}
				}
			}
			if agency != "" {
				out[routeKey{c.Code, u.Code}] = agency
			}
		}
	}
	return out
}

// Route names the agency that answers a report of category in commune.
func (s *Service) Route(ctx context.Context, category, commune string) (Agency, error) {
	r, err := s.references(ctx)
	if err != nil {
		return Agency{}, err
	}
	if _, err := r.category(category); err != nil {
		return Agency{}, err
	}
	code, ok := r.routes[routeKey{category, commune}]
	if !ok {
		return Agency{}, kernel.E(kernel.Invalid, "feedback.error.no_route")
	}
	return r.agencies[code], nil
}

// Rules returns the routing rules.
func (s *Service) Rules(ctx context.Context) ([]Rule, error) {
	r, err := s.references(ctx)
	if err != nil {
		return nil, err
	}
	return r.rules, nil
}

// SetRule adds a rule, or replaces the rule for the same category and
// area. Operators and the demo loader call it; it is audited.
func (s *Service) SetRule(ctx context.Context, ru Rule) error {
	if err := ru.Validate(); err != nil {
		return err
	}
	r, err := s.references(ctx)
	if err != nil {
		return err
	}
	if _, err := r.category(ru.Category); err != nil {
		return err
	}
	if ru.Unit != "" {
		if _, ok := r.units[ru.Unit]; !ok {
			return kernel.E(kernel.Invalid, "feedback.error.unit")
		}
	}
	if ru.Agency != "" {
		if _, ok := r.agencies[ru.Agency]; !ok {
			return kernel.E(kernel.Invalid, "feedback.error.agency")
		}
	}
	if ru.ID == "" {
		ru.ID = kernel.NewID()
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		if err := upsertRule(ctx, tx, ru); err != nil {
			return kernel.Wrap(err, "feedback: set rule")
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "feedback.rule.set", SubjectType: "feedback_rule", SubjectID: ru.Category + "@" + ru.Unit,
			Details: map[string]any{"agency": ru.Agency, "kind": ru.AgencyKind, "level": ru.AgencyLevel}})
		return err
	})
	if err != nil {
		return err
	}
	s.forgetRefs()
	return nil
}
