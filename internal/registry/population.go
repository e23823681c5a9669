package registry

import (
	"context"
	"time"

	"civitas/internal/kernel"
)

// Headcount is a commune's population on a day and how many of them were
// adults (18 or over).
type Headcount struct {
	Population int64
	Adults     int64
}

// Population counts per commune the persons alive on day ("2006-01-02")
// and the adults among them, for the adoption dashboards. A person counts
// in the unit they are registered in now.
func (s *Service) Population(ctx context.Context, day string) (map[string]Headcount, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.invalid")
	}
	adultBorn := d.AddDate(-18, 0, 0).Format(time.DateOnly)
	rows, err := s.db.Query(ctx, `SELECT unit_code, COUNT(*), SUM(CASE WHEN birth_date <= ? THEN 1 ELSE 0 END)
		FROM persons WHERE birth_date <= ? AND (died_on = '' OR died_on > ?) GROUP BY unit_code`, adultBorn, day, day)
	if err != nil {
		return nil, kernel.Wrap(err, "registry: population")
	}
	defer rows.Close()
	out := map[string]Headcount{}
	for rows.Next() {
		var unit string
		var h Headcount
		if err := rows.Scan(&unit, &h.Population, &h.Adults); err != nil {
			return nil, kernel.Wrap(err, "registry: population")
		}
		out[unit] = h
	}
	return out, kernel.Wrap(rows.Err(), "registry: population")
}

// Resident is an adult living in a residential area, for the adoption
// worklists.
type Resident struct {
	CitizenID   string
	FullName    string
	BirthDate   string
	HouseholdID string
	Address     string
	Phone       string // their own; "" when they have none
}

// AreaAdults lists the adults alive on day who live in the households of a
// residential area, by household and age.
func (s *Service) AreaAdults(ctx context.Context, areaCode, day string) ([]Resident, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.invalid")
	}
	rows, err := s.db.Query(ctx, `SELECT p.citizen_id, p.full_name, p.birth_date, p.household_id, h.address, p.phone
		FROM residences r JOIN households h ON h.id = r.household_id JOIN persons p ON p.household_id = r.household_id
		WHERE r.area_code = ? AND r.relation = 'head' AND r.kind = 'permanent' AND r.until_date = ''
		AND p.died_on = '' AND p.birth_date <= ?
		ORDER BY p.household_id, p.birth_date, p.citizen_id`, areaCode, d.AddDate(-18, 0, 0).Format(time.DateOnly))
	if err != nil {
		return nil, kernel.Wrap(err, "registry: area adults")
	}
	defer rows.Close()
	var out []Resident
	for rows.Next() {
		var r Resident
		if err := rows.Scan(&r.CitizenID, &r.FullName, &r.BirthDate, &r.HouseholdID, &r.Address, &r.Phone); err != nil {
			return nil, kernel.Wrap(err, "registry: area adults")
		}
		out = append(out, r)
	}
	return out, kernel.Wrap(rows.Err(), "registry: area adults")
}
