package registry

import (
	"context"
	"database/sql"
	"errors"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

const (
	personColumns = "citizen_id, full_name, birth_date, sex, household_id, unit_code, phone, died_on"
	unitColumns   = "code, name, level, COALESCE(parent_code, '')"
	// agencySelect reads agencies with their unit's level; queries add
	// WHERE and ORDER BY on the alias a.
	agencySelect    = "SELECT a.code, a.name, a.kind, a.unit_code, COALESCE(u.level, '') FROM agencies a LEFT JOIN units u ON u.code = a.unit_code "
	officialColumns = "id, citizen_id, agency_code, role"
)

func scanPerson(sc interface{ Scan(...any) error }) (Person, error) {
	var p Person
	err := sc.Scan(&p.CitizenID, &p.FullName, &p.BirthDate, &p.Sex, &p.HouseholdID, &p.UnitCode, &p.Phone, &p.DiedOn)
	return p, err
}

func scanUnit(sc interface{ Scan(...any) error }) (Unit, error) {
	var u Unit
	err := sc.Scan(&u.Code, &u.Name, &u.Level, &u.ParentCode)
	return u, err
}

func scanAgency(sc interface{ Scan(...any) error }) (Agency, error) {
	var a Agency
	err := sc.Scan(&a.Code, &a.Name, &a.Kind, &a.UnitCode, &a.Level)
	return a, err
}

func scanOfficial(sc interface{ Scan(...any) error }) (Official, error) {
	var o Official
	err := sc.Scan(&o.ID, &o.CitizenID, &o.AgencyCode, &o.Role)
	return o, err
}

// one reads a single row, turning "no rows" into a NotFound error with key.
func one[T any](row *sql.Row, scan func(interface{ Scan(...any) error }) (T, error), key, what string) (T, error) {
	v, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return v, kernel.E(kernel.NotFound, key)
	}
	if err != nil {
		return v, kernel.Wrap(err, "registry: read %s", what)
	}
	return v, nil
}

// list reads all rows of a query.
func list[T any](ctx context.Context, d *db.DB, scan func(interface{ Scan(...any) error }) (T, error), what, query string, args ...any) ([]T, error) {
	rows, err := d.Query(ctx, query, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "registry: list %s", what)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "registry: scan %s", what)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "registry: list %s", what)
	}
	return out, nil
}
