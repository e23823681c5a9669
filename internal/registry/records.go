package registry

import (
	"context"
	"fmt"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Reference is the reference data besides the population, which the demo
// loader and an import from the national registries write before the
// persons (officials after them): units and their boundaries, residential
// areas, agencies, the catalogue of registries, and schools.
type Reference struct {
	Units      []Unit
	Boundaries []Boundary
	Areas      []ResidentialArea
	Agencies   []Agency
	Registries []Registry
	Schools    []School
	Officials  []Official
}

// AddReference writes reference data in one transaction, validating each
// row, in the order the references between them need.
func (s *Service) AddReference(ctx context.Context, ref Reference) error {
	var ts tables
	addTable(&ts, "units", "code, name, level, parent_code", ref.Units, Unit.Validate, func(u *Unit) []any {
		var parent any
		if u.ParentCode != "" {
			parent = u.ParentCode
		}
		return []any{u.Code, u.Name, string(u.Level), parent}
	})
	addTable(&ts, "unit_boundaries", boundaryColumns, ref.Boundaries, func(b Boundary) error { return b.Validate() }, func(b *Boundary) []any {
		bb := b.Polygon.BBox()
		return []any{b.UnitCode, bb.MinLat, bb.MinLon, bb.MaxLat, bb.MaxLon, b.Polygon.GeoJSON()}
	})
	addTable(&ts, "residential_areas", areaColumns, ref.Areas, ResidentialArea.Validate, areaRow)
	addTable(&ts, "agencies", "code, name, kind, unit_code", ref.Agencies, Agency.Validate, func(a *Agency) []any {
		return []any{a.Code, a.Name, string(a.Kind), a.UnitCode}
	})
	addTable(&ts, "registry_catalogue", registryColumns, ref.Registries, Registry.Validate,
		func(r *Registry) []any { return []any{r.Code, r.Name, r.AgencyCode} })
	addTable(&ts, "schools", "code, level, unit_code, lat, lon", ref.Schools, School.Validate, schoolRow)
	addTable(&ts, "officials", "id, citizen_id, agency_code, role", ref.Officials, Official.Validate, func(o *Official) []any {
		return []any{o.ID, o.CitizenID, o.AgencyCode, string(o.Role)}
	})
	if ts.err != nil {
		return ts.err
	}
	err := s.writeTables(ctx, ts.ts)
	if err == nil && len(ref.Boundaries) > 0 {
		s.geo.forget()
	}
	return err
}

// tables gathers the validated rows of several tables for one write, and
// the first invalid row's error.
type tables struct {
	ts  []table
	err error
}

// addTable validates rows and adds them as a table.
func addTable[T any](ts *tables, name, cols string, rows []T, validate func(T) error, row func(*T) []any) {
	for i := 0; i < len(rows) && ts.err == nil; i++ {
		if err := validate(rows[i]); err != nil {
			ts.err = fmt.Errorf("registry: %s row %d: %w", name, i, err)
		}
	}
	if len(rows) > 0 {
		ts.ts = append(ts.ts, table{name, cols, len(rows), func(i int) []any { return row(&rows[i]) }})
	}
}

// writeTables writes tables in one transaction through db.CopyRows
// (multi-row INSERTs on SQLite, COPY on PostgreSQL). A row that breaks a
// unique key fails the whole write as a Conflict.
func (s *Service) writeTables(ctx context.Context, ts []table) error {
	if len(ts) == 0 {
		return nil
	}
	rows := make([]db.Rows, len(ts))
	for i, t := range ts {
		rows[i] = db.Rows{Table: t.name, Columns: strings.Split(t.cols, ", "), N: t.n,
			Row: func(j int, dst []any) []any { return append(dst, t.row(j)...) }}
	}
	if err := s.db.CopyRows(ctx, rows...); err != nil {
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "error.registry.duplicate").WithCause(err)
		}
		return kernel.Wrap(err, "registry: bulk write")
	}
	return nil
}

// Participation is a card's participant group, as a bulk load writes it
// beside the card.
type Participation struct {
	CardNumber string
	Kind       string // a code of Participations
}

// Records are the rows of the registries besides the population that a
// bulk load writes with WriteRecords: residence, civil status, land,
// insurance participation, household businesses and schools. The persons
// they name must be written already (with Write or WriteBatch) where the
// schema refers to persons: household businesses' owners, pupils and
// guardians.
type Records struct {
	Residences          []Residence
	Births              []Birth
	Deaths              []Death
	Marriages           []Marriage
	Parcels             []LandParcel // their Owners and Certificate are ignored: see LandOwners, Certificates
	LandOwners          []LandOwner
	Certificates        []LandCertificate
	Participations      []Participation
	HouseholdBusinesses []HouseholdBusiness
	Classes             []Class
	Enrolments          []Enrolment
	Guardians           []Guardian
}

// table is the rows of one table for a bulk write.
type table struct {
	name string
	cols string
	n    int
	row  func(i int) []any
}

// tables validates r and lists its tables in the order of their references.
func (r *Records) tables() ([]table, error) {
	var ts tables
	addTable(&ts, "residences", residenceColumns, r.Residences, Residence.validateLoaded, residenceRow)
	addTable(&ts, "births", birthColumns, r.Births, Birth.Validate, birthRow)
	addTable(&ts, "deaths", deathColumns, r.Deaths, Death.Validate, deathRow)
	addTable(&ts, "marriages", marriageColumns, r.Marriages, Marriage.Validate, marriageRow)
	addTable(&ts, "land_parcels", parcelColumns, r.Parcels, LandParcel.Validate, parcelRow)
	addTable(&ts, "land_owners", "parcel_id, owner_kind, owner_id", r.LandOwners, LandOwner.Validate,
		func(o *LandOwner) []any { return []any{o.ParcelID, string(o.Kind), o.OwnerID} })
	addTable(&ts, "land_certificates", certificateColumns, r.Certificates, LandCertificate.Validate, certificateRow)
	addTable(&ts, "insurance_participations", "card_number, kind", r.Participations, func(p Participation) error {
		if !ValidInsuranceNumber(p.CardNumber) || Participations[p.Kind] == "" {
			return kernel.E(kernel.Invalid, "error.registry.bad_insurance_card")
		}
		return nil
	}, func(p *Participation) []any { return []any{p.CardNumber, p.Kind} })
	addTable(&ts, "household_businesses", householdBusinessColumns, r.HouseholdBusinesses, HouseholdBusiness.Validate, householdBusinessRow)
	addTable(&ts, "school_classes", classColumns, r.Classes, Class.Validate, classRow)
	addTable(&ts, "school_pupils", "school_year, citizen_id, class_id", r.Enrolments, Enrolment.Validate,
		func(e *Enrolment) []any { return []any{e.SchoolYear, e.CitizenID, e.ClassID} })
	addTable(&ts, "school_guardians", "citizen_id, guardian_citizen_id, relation", r.Guardians, Guardian.Validate,
		func(g *Guardian) []any { return []any{g.CitizenID, g.GuardianCitizenID, string(g.Relation)} })
	return ts.ts, ts.err
}

// validateLoaded checks a residence arriving with its ID.
func (r Residence) validateLoaded() error {
	if len(r.ID) != len(r.CitizenID)+3 || r.ID[:len(r.CitizenID)] != r.CitizenID {
		return kernel.E(kernel.Invalid, "error.registry.bad_residence")
	}
	return r.Validate()
}

// recordIndexes are the indexes of the tables WriteRecords fills, which
// StartRecords drops for a bulk load into an empty registry and
// FinishRecords builds again: one sort at the end instead of inserts all
// over each index (the way bulk.go treats persons). On SQLite the big
// tables are rowid tables whose keys are unique indexes too (sqlite): rows
// are appended, and building the index proves the keys unique. The
// definitions must match the migrations; dup is the message when a unique
// index cannot be built.
var recordIndexes = []struct {
	name, def, dup string
	sqlite         bool // SQLite only: PostgreSQL has the key as the table's primary key or constraint
}{
	{"residences_key", "CREATE UNIQUE INDEX residences_key ON residences (citizen_id, id)", "error.registry.duplicate", true},
	{"residences_household", "CREATE INDEX residences_household ON residences (household_id)", "", false},
	{"residences_area", "CREATE INDEX residences_area ON residences (area_code) WHERE relation = 'head' AND kind = 'permanent' AND until_date = ''", "", false},
	{"births_key", "CREATE UNIQUE INDEX births_key ON births (citizen_id)", "error.registry.duplicate", true},
	{"births_entry", "CREATE UNIQUE INDEX births_entry ON births (agency_code, registration_number)", "error.registry.duplicate", true},
	{"births_mother", "CREATE INDEX births_mother ON births (mother_citizen_id) WHERE mother_citizen_id <> ''", "", false},
	{"births_father", "CREATE INDEX births_father ON births (father_citizen_id) WHERE father_citizen_id <> ''", "", false},
	{"deaths_key", "CREATE UNIQUE INDEX deaths_key ON deaths (citizen_id)", "error.registry.duplicate", true},
	{"deaths_entry", "CREATE UNIQUE INDEX deaths_entry ON deaths (agency_code, registration_number)", "error.registry.duplicate", true},
	{"marriages_key", "CREATE UNIQUE INDEX marriages_key ON marriages (id)", "error.registry.duplicate", true},
	{"marriages_entry", "CREATE UNIQUE INDEX marriages_entry ON marriages (agency_code, registration_number)", "error.registry.duplicate", true},
	{"marriages_husband", "CREATE INDEX marriages_husband ON marriages (husband_citizen_id)", "", false},
	{"marriages_wife", "CREATE INDEX marriages_wife ON marriages (wife_citizen_id)", "", false},
	{"land_owners_key", "CREATE UNIQUE INDEX land_owners_key ON land_owners (parcel_id, owner_kind, owner_id)", "error.registry.duplicate", true},
	{"land_owners_owner", "CREATE INDEX land_owners_owner ON land_owners (owner_id)", "", false},
	{"land_certificates_parcel", "CREATE INDEX land_certificates_parcel ON land_certificates (parcel_id)", "", false},
	{"household_businesses_owner", "CREATE INDEX household_businesses_owner ON household_businesses (owner_citizen_id)", "", false},
	{"school_pupils_key", "CREATE UNIQUE INDEX school_pupils_key ON school_pupils (school_year, citizen_id)", "error.registry.duplicate", true},
	{"school_pupils_class", "CREATE INDEX school_pupils_class ON school_pupils (class_id)", "", false},
	{"school_guardians_key", "CREATE UNIQUE INDEX school_guardians_key ON school_guardians (citizen_id, guardian_citizen_id)", "error.registry.duplicate", true},
	{"school_guardians_guardian", "CREATE INDEX school_guardians_guardian ON school_guardians (guardian_citizen_id)", "", false},
}

// StartRecords prepares WriteRecords for a bulk load: into an empty
// registry (as StartBulk found it) it drops recordIndexes. Until
// FinishRecords nothing checks the records' keys are unique.
func (b *Bulk) StartRecords(ctx context.Context) error {
	if !b.rebuild {
		return nil
	}
	for _, ix := range recordIndexes {
		if ix.sqlite && b.s.db.Dialect() != db.SQLite {
			continue
		}
		if _, err := b.s.db.WritePool().ExecContext(ctx, "DROP INDEX IF EXISTS "+ix.name); err != nil {
			return kernel.Wrap(err, "registry: drop index %s", ix.name)
		}
	}
	return nil
}

// FinishRecords builds the indexes StartRecords dropped. Call it even
// after a failed load.
func (b *Bulk) FinishRecords(ctx context.Context) error {
	if err := b.s.EnsureRecordIndexes(ctx); err != nil {
		return err
	}
	if b.rebuild && b.s.db.Dialect() == db.Postgres {
		if _, err := b.s.db.WritePool().ExecContext(ctx, "ANALYZE residences, births, deaths, marriages, land_parcels, land_owners, land_certificates, school_pupils, school_guardians"); err != nil {
			return kernel.Wrap(err, "registry: analyze")
		}
	}
	return nil
}

// EnsureRecordIndexes recreates any of recordIndexes a bulk load dropped
// and could not rebuild (the process was killed mid-load); it costs
// nothing when they exist. The app calls it at start-up, with EnsureIndexes.
func (s *Service) EnsureRecordIndexes(ctx context.Context) error {
	for _, ix := range recordIndexes {
		if ix.sqlite && s.db.Dialect() != db.SQLite {
			continue
		}
		def := strings.Replace(ix.def, " INDEX ", " INDEX IF NOT EXISTS ", 1)
		if _, err := s.db.WritePool().ExecContext(ctx, def); err != nil {
			if ix.dup != "" && db.IsUniqueViolation(err) {
				return kernel.E(kernel.Conflict, ix.dup).WithCause(err)
			}
			return kernel.Wrap(err, "registry: ensure index %s", ix.name)
		}
	}
	return nil
}

// WriteRecords writes the rows of r in one transaction, validating each,
// the same way WriteBatch writes persons: multi-row INSERTs on SQLite,
// COPY on PostgreSQL. It may be called before or after Finish.
func (b *Bulk) WriteRecords(ctx context.Context, r Records) error {
	ts, err := r.tables()
	if err != nil {
		return err
	}
	return b.s.writeTables(ctx, ts)
}
