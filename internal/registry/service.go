package registry

import (
	"context"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Service reads and writes the registries.
type Service struct {
	db    *db.DB
	clock kernel.Clock
	geo   geoCache // UnitAt's index, built on first use
}

// New returns the registry service on d.
func New(d *db.DB, clock kernel.Clock) *Service {
	return &Service{db: d, clock: clock}
}

// Person returns the population-registry entry for a citizen ID number.
func (s *Service) Person(ctx context.Context, citizenID string) (Person, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return Person{}, err
	}
	return one(s.db.QueryRow(ctx, "SELECT "+personColumns+" FROM persons WHERE citizen_id = ?", citizenID),
		scanPerson, "error.registry.person_not_found", "person")
}

// HouseholdMembers returns the persons registered in a household, oldest first.
func (s *Service) HouseholdMembers(ctx context.Context, householdID string) ([]Person, error) {
	ps, err := list(ctx, s.db, scanPerson, "household",
		"SELECT "+personColumns+" FROM persons WHERE household_id = ? ORDER BY birth_date, citizen_id", householdID)
	if err == nil && len(ps) == 0 {
		return nil, kernel.E(kernel.NotFound, "error.registry.household_not_found")
	}
	return ps, err
}

// Unit returns an administrative unit by code.
func (s *Service) Unit(ctx context.Context, code string) (Unit, error) {
	return one(s.db.QueryRow(ctx, "SELECT "+unitColumns+" FROM units WHERE code = ?", code),
		scanUnit, "error.registry.unit_not_found", "unit")
}

// Agency returns an agency by code.
func (s *Service) Agency(ctx context.Context, code string) (Agency, error) {
	return one(s.db.QueryRow(ctx, agencySelect+"WHERE a.code = ?", code),
		scanAgency, "error.registry.agency_not_found", "agency")
}

// ListUnits lists units by code, after p.After.
func (s *Service) ListUnits(ctx context.Context, p kernel.Page) ([]Unit, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanUnit, "units", "SELECT "+unitColumns+" FROM units WHERE code > ? ORDER BY code LIMIT ?", p.After, p.Limit)
}

// ListPersons lists persons by citizen ID, after p.After.
func (s *Service) ListPersons(ctx context.Context, p kernel.Page) ([]Person, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanPerson, "persons", "SELECT "+personColumns+" FROM persons WHERE citizen_id > ? ORDER BY citizen_id LIMIT ?", p.After, p.Limit)
}

// ListAgencies lists agencies by code, after p.After.
func (s *Service) ListAgencies(ctx context.Context, p kernel.Page) ([]Agency, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanAgency, "agencies", agencySelect+"WHERE a.code > ? ORDER BY a.code LIMIT ?", p.After, p.Limit)
}

// ListOfficials lists officials by ID, after p.After.
func (s *Service) ListOfficials(ctx context.Context, p kernel.Page) ([]Official, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanOfficial, "officials", "SELECT "+officialColumns+" FROM officials WHERE id > ? ORDER BY id LIMIT ?", p.After, p.Limit)
}

// OfficialsOf returns the roles a person holds.
func (s *Service) OfficialsOf(ctx context.Context, citizenID string) ([]Official, error) {
	return list(ctx, s.db, scanOfficial, "officials", "SELECT "+officialColumns+" FROM officials WHERE citizen_id = ? ORDER BY id", citizenID)
}

// Counts are the sizes of the registries, in rows.
type Counts struct {
	Units, Households, Persons, Agencies, Officials, InsuranceCards, Vehicles int64
	Boundaries, Areas, Residences, Births, Deaths, Marriages                  int64
	Parcels, LandOwners, LandCertificates, Participations                     int64
	Businesses, HouseholdBusinesses, Schools, Classes, Pupils, Guardians      int64
	Registries                                                                int64
}

// Counts returns the number of rows of each registry.
func (s *Service) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.View(ctx, func(tx *db.Tx) error {
		for _, q := range []struct {
			table string
			n     *int64
		}{{"units", &c.Units}, {"households", &c.Households}, {"persons", &c.Persons}, {"agencies", &c.Agencies}, {"officials", &c.Officials},
			{"insurance_cards", &c.InsuranceCards}, {"vehicles", &c.Vehicles}, {"unit_boundaries", &c.Boundaries},
			{"residential_areas", &c.Areas}, {"residences", &c.Residences}, {"births", &c.Births}, {"deaths", &c.Deaths},
			{"marriages", &c.Marriages}, {"land_parcels", &c.Parcels}, {"land_owners", &c.LandOwners},
			{"land_certificates", &c.LandCertificates}, {"insurance_participations", &c.Participations},
			{"businesses", &c.Businesses}, {"household_businesses", &c.HouseholdBusinesses}, {"schools", &c.Schools},
			{"school_classes", &c.Classes}, {"school_pupils", &c.Pupils}, {"school_guardians", &c.Guardians}, {"registry_catalogue", &c.Registries}} {
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+q.table).Scan(q.n); err != nil {
				return kernel.Wrap(err, "registry: count %s", q.table)
			}
		}
		return nil
	})
	return c, err
}

// Empty reports whether the population registry holds nobody.
func (s *Service) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM persons LIMIT 1) t").Scan(&n)
	if err != nil {
		return false, kernel.Wrap(err, "registry: empty")
	}
	return n == 0, nil
}

// AddStructure writes units, then agencies, then officials, validating each,
// in one transaction: AddReference with those three.
func (s *Service) AddStructure(ctx context.Context, units []Unit, agencies []Agency, officials []Official) error {
	return s.AddReference(ctx, Reference{Units: units, Agencies: agencies, Officials: officials})
}
