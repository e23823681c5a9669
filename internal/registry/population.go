package registry

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"civitas/internal/db"
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
//
// It reads the living persons per unit and year of birth kept by the
// database's triggers (person_year_cells, migration 0042) for the years
// before the two that a day cuts through, the year of the day itself and
// the year its adults were born in, and counts those two years and the
// persons who died after the day from the indexes (persons_unit, which
// carries the birth date and death beside the unit, and persons_died): some
// ten thousand rows a read at 3,000,000 persons instead of all of them. populationScan is the
// same count from the persons themselves.
func (s *Service) Population(ctx context.Context, day string) (map[string]Headcount, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.invalid")
	}
	adultBorn := d.AddDate(-18, 0, 0)
	out := map[string]Headcount{}
	err = s.db.View(ctx, func(tx *db.Tx) error {
		add := func(query string, args []any, pop, adults bool) error {
			rows, err := tx.Query(ctx, query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var unit string
				var n int64
				if err := rows.Scan(&unit, &n); err != nil {
					return err
				}
				h := out[unit]
				if pop {
					h.Population += n
				}
				if adults {
					h.Adults += n
				}
				out[unit] = h
			}
			return rows.Err()
		}
		yearStart := func(t time.Time) string { return fmt.Sprintf("%04d-01-01", t.Year()) }
		living := `SELECT unit_code, SUM(living) FROM person_year_cells WHERE birth_year < ? GROUP BY unit_code`
		// One range of persons_unit (unit, birth date, death) for each unit.
		inYear := `SELECT u.code, (SELECT COUNT(*) FROM persons p WHERE p.unit_code = u.code AND p.birth_date >= ? AND p.birth_date <= ? AND p.died_on = '') FROM units u`
		for _, q := range []struct {
			query       string
			args        []any
			pop, adults bool
		}{
			// Born before the day's year: all of them; before the adults' year: the adults.
			{living, []any{d.Year()}, true, false},
			{living, []any{adultBorn.Year()}, false, true},
			// Born in the day's year up to the day; in the adults' year up to 18 years before it.
			{inYear, []any{yearStart(d), day}, true, false},
			{inYear, []any{yearStart(adultBorn), adultBorn.Format(time.DateOnly)}, false, true},
		} {
			if err := add(q.query, q.args, q.pop, q.adults); err != nil {
				return err
			}
		}
		// Alive on the day, dead since: not in the cells of the living.
		rows, err := tx.Query(ctx, `SELECT unit_code, birth_date FROM persons WHERE died_on <> '' AND died_on > ? AND birth_date <= ?`, day, day)
		if err != nil {
			return err
		}
		defer rows.Close()
		adultDay := adultBorn.Format(time.DateOnly)
		for rows.Next() {
			var unit, born string
			if err := rows.Scan(&unit, &born); err != nil {
				return err
			}
			h := out[unit]
			h.Population++
			if born <= adultDay {
				h.Adults++
			}
			out[unit] = h
		}
		return rows.Err()
	})
	if err != nil {
		return nil, kernel.Wrap(err, "registry: population")
	}
	for unit, h := range out {
		if h.Population == 0 && h.Adults == 0 {
			delete(out, unit)
		}
	}
	return out, nil
}

// populationScan is Population counted from every person, for the tests
// that hold the kept headcounts to it.
func (s *Service) populationScan(ctx context.Context, day string) (map[string]Headcount, error) {
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

// HeadcountDifference is a cell of the kept headcounts (living persons of a
// unit born in a year) that the persons do not bear out.
type HeadcountDifference struct {
	Unit      string
	BirthYear int
	Kept      int64
	Counted   int64
}

// RecountHeadcounts counts the living persons per unit and year of birth
// again from the persons and compares the counts with the cells the
// triggers keep; with fix it corrects the cells that differ. The count runs
// in a read transaction; a correction adds the difference seen there, so
// the persons written meanwhile (which their triggers counted) stay counted.
func (s *Service) RecountHeadcounts(ctx context.Context, fix bool) ([]HeadcountDifference, error) {
	type cell struct {
		unit string
		year int
	}
	kept, counted := map[cell]int64{}, map[cell]int64{}
	err := s.db.View(ctx, func(tx *db.Tx) error {
		for _, q := range []struct {
			query string
			into  map[cell]int64
		}{
			{`SELECT unit_code, birth_year, living FROM person_year_cells`, kept},
			{`SELECT unit_code, CAST(substr(birth_date, 1, 4) AS INTEGER), COUNT(*) FROM persons WHERE died_on = '' GROUP BY 1, 2`, counted},
		} {
			rows, err := tx.Query(ctx, q.query)
			if err != nil {
				return err
			}
			for rows.Next() {
				var c cell
				var n int64
				if err := rows.Scan(&c.unit, &c.year, &n); err != nil {
					rows.Close()
					return err
				}
				q.into[c] += n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, kernel.Wrap(err, "registry: recount headcounts")
	}
	var diffs []HeadcountDifference
	for c, n := range counted {
		if kept[c] != n {
			diffs = append(diffs, HeadcountDifference{Unit: c.unit, BirthYear: c.year, Kept: kept[c], Counted: n})
		}
	}
	for c, n := range kept {
		if _, ok := counted[c]; !ok && n != 0 {
			diffs = append(diffs, HeadcountDifference{Unit: c.unit, BirthYear: c.year, Kept: n})
		}
	}
	slices.SortFunc(diffs, func(a, b HeadcountDifference) int {
		return cmp.Or(strings.Compare(a.Unit, b.Unit), cmp.Compare(a.BirthYear, b.BirthYear))
	})
	if !fix || len(diffs) == 0 {
		return diffs, nil
	}
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		for _, d := range diffs {
			if _, err := tx.Exec(ctx, `INSERT INTO person_year_cells (unit_code, birth_year, living) VALUES (?, ?, ?)
				ON CONFLICT (unit_code, birth_year) DO UPDATE SET living = person_year_cells.living + ?`,
				d.Unit, d.BirthYear, d.Counted-d.Kept, d.Counted-d.Kept); err != nil {
				return err
			}
		}
		return nil
	})
	return diffs, kernel.Wrap(err, "registry: correct headcounts")
}
