package registry

import (
	"context"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// secondaryIndexes are the indexes on persons, insurance cards and vehicles
// dropped during a bulk load into an empty registry and rebuilt after: rows
// are then pure appends, and one sort at the end is much cheaper than
// millions of random index inserts (each commit would otherwise rewrite
// index pages all over the key space).
// Building persons_citizen also proves the loaded citizen IDs unique. The
// household index stays: rows arrive in household order, so its inserts are
// appends too. (Measured on 3,000,000 persons: 121k persons/s this way,
// 99k/s rebuilding all three indexes, 104k/s keeping the unit index live.)
// The cards' and vehicles' rows too arrive in household order, not in
// citizen ID order. The definitions must match the migrations; dup is the
// message when a unique index cannot be built.
var secondaryIndexes = []struct{ name, def, dup string }{
	{"persons_citizen", "CREATE UNIQUE INDEX persons_citizen ON persons (citizen_id)", "error.registry.duplicate_citizen_id"},
	{"persons_unit", "CREATE INDEX persons_unit ON persons (unit_code, birth_date, died_on)", ""},
	{"persons_died", "CREATE INDEX persons_died ON persons (died_on) WHERE died_on <> ''", ""},
	{"insurance_cards_citizen", "CREATE UNIQUE INDEX insurance_cards_citizen ON insurance_cards (citizen_id)", "error.registry.duplicate_insurance_card"},
	{"vehicles_owner", "CREATE INDEX vehicles_owner ON vehicles (owner_citizen_id)", ""},
}

// cellTriggers are the triggers of migration 0042 that keep the living
// persons per unit and year of birth (person_year_cells). Like the
// secondary indexes they are dropped during a bulk load into an empty
// registry, and the cells are counted once at the end (EnsureIndexes), so
// that the load's rows stay plain appends with no upsert beside each. The
// definitions must match the migrations (PostgreSQL's function stays;
// TestCellTriggersMatchTheMigration holds them to each other).
var cellTriggers = map[db.Dialect][]struct{ name, def string }{
	db.SQLite: {
		{"persons_cells_insert", `CREATE TRIGGER IF NOT EXISTS persons_cells_insert AFTER INSERT ON persons WHEN NEW.died_on = '' BEGIN
	INSERT INTO person_year_cells (unit_code, birth_year, living) VALUES (NEW.unit_code, CAST(substr(NEW.birth_date, 1, 4) AS INTEGER), 1)
		ON CONFLICT (unit_code, birth_year) DO UPDATE SET living = living + 1;
END`},
		{"persons_cells_delete", `CREATE TRIGGER IF NOT EXISTS persons_cells_delete AFTER DELETE ON persons WHEN OLD.died_on = '' BEGIN
	UPDATE person_year_cells SET living = living - 1
		WHERE unit_code = OLD.unit_code AND birth_year = CAST(substr(OLD.birth_date, 1, 4) AS INTEGER);
END`},
		{"persons_cells_update", `CREATE TRIGGER IF NOT EXISTS persons_cells_update AFTER UPDATE OF unit_code, birth_date, died_on ON persons BEGIN
	UPDATE person_year_cells SET living = living - 1
		WHERE OLD.died_on = '' AND unit_code = OLD.unit_code AND birth_year = CAST(substr(OLD.birth_date, 1, 4) AS INTEGER);
	INSERT INTO person_year_cells (unit_code, birth_year, living)
		SELECT NEW.unit_code, CAST(substr(NEW.birth_date, 1, 4) AS INTEGER), 1 WHERE NEW.died_on = ''
		ON CONFLICT (unit_code, birth_year) DO UPDATE SET living = living + 1;
END`},
	},
	db.Postgres: {
		{"persons_cells", `CREATE OR REPLACE TRIGGER persons_cells AFTER INSERT OR DELETE OR UPDATE OF unit_code, birth_date, died_on ON persons
	FOR EACH ROW EXECUTE FUNCTION persons_cells()`},
	},
}

// ensureCells puts back any cell trigger a bulk load dropped and, when one
// was missing, counts the cells again from the persons, in one transaction.
// It looks in a read first, so that a start with every trigger in place
// (nearly all of them) takes no write lock.
func (s *Service) ensureCells(ctx context.Context) error {
	missing := func(tx *db.Tx) ([]string, error) {
		q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?"
		if s.db.Dialect() == db.Postgres {
			q = "SELECT COUNT(*) FROM pg_trigger WHERE tgname = ? AND NOT tgisinternal"
		}
		var defs []string
		for _, tr := range cellTriggers[s.db.Dialect()] {
			var n int
			if err := tx.QueryRow(ctx, q, tr.name).Scan(&n); err != nil {
				return nil, err
			}
			if n == 0 {
				defs = append(defs, tr.def)
			}
		}
		return defs, nil
	}
	var defs []string
	if err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		defs, err = missing(tx)
		return err
	}); err != nil || len(defs) == 0 {
		return err
	}
	return s.db.Update(ctx, time.Now(), func(tx *db.Tx) error {
		defs, err := missing(tx) // again, under the write lock
		if err != nil || len(defs) == 0 {
			return err
		}
		for _, def := range defs {
			if _, err := tx.Exec(ctx, def); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM person_year_cells"); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO person_year_cells (unit_code, birth_year, living)
			SELECT unit_code, CAST(substr(birth_date, 1, 4) AS INTEGER), COUNT(*) FROM persons WHERE died_on = '' GROUP BY 1, 2`)
		return err
	})
}

// Bulk writes households and persons, with their health-insurance cards
// and vehicles, in large batches, for the demo loader and for imports from
// the national registries. Each Write is one transaction.
type Bulk struct {
	s       *Service
	rebuild bool
	units   map[string]bool // every unit code, for the checks in Write
}

// Batch is what one WriteBatch stores: households, their persons, and those
// persons' health-insurance cards and vehicles.
type Batch struct {
	Homes    []Household
	Persons  []Person
	Cards    []InsuranceCard
	Vehicles []Vehicle
}

// EnsureIndexes recreates any index a bulk load dropped and could not
// rebuild (the process was killed mid-load). It costs nothing when they
// exist; the app calls it at start-up.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	for _, ix := range secondaryIndexes {
		def := strings.Replace(ix.def, " INDEX ", " INDEX IF NOT EXISTS ", 1)
		if _, err := s.db.WritePool().ExecContext(ctx, def); err != nil {
			if ix.dup != "" && db.IsUniqueViolation(err) {
				return kernel.E(kernel.Conflict, ix.dup).WithCause(err)
			}
			return kernel.Wrap(err, "registry: ensure index %s", ix.name)
		}
	}
	return kernel.Wrap(s.ensureCells(ctx), "registry: ensure the headcount triggers")
}

// StartBulk prepares a bulk load. When the population registry is empty it
// drops the secondary indexes; Finish rebuilds them.
func (s *Service) StartBulk(ctx context.Context) (*Bulk, error) {
	b := &Bulk{s: s}
	empty, err := s.Empty(ctx)
	if err != nil {
		return nil, err
	}
	if empty {
		for _, ix := range secondaryIndexes {
			// On PostgreSQL the officials foreign key depends on the unique
			// index, and COPY maintains a unique index well: keep it.
			if s.db.Dialect() == db.Postgres && strings.Contains(ix.def, "UNIQUE") {
				continue
			}
			if _, err := s.db.WritePool().ExecContext(ctx, "DROP INDEX IF EXISTS "+ix.name); err != nil {
				return nil, kernel.Wrap(err, "registry: drop index %s", ix.name)
			}
		}
		for _, tr := range cellTriggers[s.db.Dialect()] {
			drop := "DROP TRIGGER IF EXISTS " + tr.name
			if s.db.Dialect() == db.Postgres {
				drop += " ON persons"
			}
			if _, err := s.db.WritePool().ExecContext(ctx, drop); err != nil {
				return nil, kernel.Wrap(err, "registry: drop trigger %s", tr.name)
			}
		}
		b.rebuild = true
		if s.db.Dialect() == db.SQLite {
			// Write checks the references itself (households in the same
			// batch, known units) instead of two index lookups per row. The
			// writer pool has one connection, so the pragmas apply to every Write.
			// A bulk load that crashes is simply loaded again, so it need not
			// wait for the disk at every checkpoint either.
			if _, err := s.db.WritePool().ExecContext(ctx, "PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 20000; PRAGMA cache_size = -131072"); err != nil {
				return nil, kernel.Wrap(err, "registry: bulk pragma")
			}
		}
	}
	units, err := list(ctx, s.db, func(sc interface{ Scan(...any) error }) (string, error) {
		var c string
		return c, sc.Scan(&c)
	}, "units", "SELECT code FROM units")
	if err != nil {
		return nil, err
	}
	b.units = make(map[string]bool, len(units))
	for _, c := range units {
		b.units[c] = true
	}
	return b, nil
}

// check refuses a batch whose rows refer to households or persons not in
// the batch or to unknown units: the references the database's foreign keys
// would check. It validates the cards and vehicles too, which are few
// beside the persons.
func (b *Bulk) check(bt Batch) error {
	inBatch := make(map[string]bool, len(bt.Homes))
	for _, h := range bt.Homes {
		if !b.units[h.UnitCode] {
			return kernel.E(kernel.Invalid, "error.registry.bad_unit")
		}
		inBatch[h.ID] = true
	}
	for i := range bt.Persons {
		if !inBatch[bt.Persons[i].HouseholdID] || !b.units[bt.Persons[i].UnitCode] {
			return kernel.E(kernel.Invalid, "error.registry.bad_household")
		}
	}
	if len(bt.Cards) == 0 && len(bt.Vehicles) == 0 {
		return nil
	}
	people := make(map[string]bool, len(bt.Persons))
	for i := range bt.Persons {
		people[bt.Persons[i].CitizenID] = true
	}
	for i := range bt.Cards {
		if err := bt.Cards[i].Validate(); err != nil {
			return err
		}
		if !people[bt.Cards[i].CitizenID] {
			return kernel.E(kernel.Invalid, "error.registry.holder_not_in_batch")
		}
	}
	for i := range bt.Vehicles {
		if err := bt.Vehicles[i].Validate(); err != nil {
			return err
		}
		if !people[bt.Vehicles[i].OwnerCitizenID] {
			return kernel.E(kernel.Invalid, "error.registry.holder_not_in_batch")
		}
	}
	return nil
}

// Finish rebuilds the indexes StartBulk dropped. Call it even after a failed load.
func (b *Bulk) Finish(ctx context.Context) error {
	if !b.rebuild {
		return nil
	}
	w := b.s.db.WritePool()
	if b.s.db.Dialect() == db.SQLite {
		// Let the index sorter use a second core; put the connection back as
		// it was whatever happens.
		if _, err := w.ExecContext(ctx, "PRAGMA threads = 2"); err != nil {
			return kernel.Wrap(err, "registry: bulk pragma")
		}
		defer w.ExecContext(context.WithoutCancel(ctx), //nolint:errcheck // best effort; the next open resets them anyway
			db.WriterPragmas)
	}
	if err := b.s.EnsureIndexes(ctx); err != nil {
		return err
	}
	if b.s.db.Dialect() == db.Postgres {
		if _, err := w.ExecContext(ctx, "ANALYZE persons, insurance_cards, vehicles"); err != nil {
			return kernel.Wrap(err, "registry: analyze")
		}
	} else if _, err := w.ExecContext(ctx, "PRAGMA optimize"); err != nil {
		return kernel.Wrap(err, "registry: optimize")
	}
	return nil
}

// Write stores households and their persons in one transaction. Every
// person's household must be in the same batch. The caller has validated the
// rows themselves (the demo generator builds them valid by construction).
func (b *Bulk) Write(ctx context.Context, homes []Household, persons []Person) error {
	return b.WriteBatch(ctx, Batch{Homes: homes, Persons: persons})
}

// The columns of the rows WriteBatch writes, in the order of its values.
var (
	bulkHouseholds = []string{"id", "unit_code", "address"}
	bulkPersons    = []string{"citizen_id", "full_name", "birth_date", "sex", "household_id", "unit_code", "phone", "updated_at"}
	bulkCards      = strings.Split(insuranceColumns, ", ")
	bulkVehicles   = strings.Split(vehicleColumns, ", ")
)

// WriteBatch is Write with the persons' insurance cards and vehicles, whose
// holders must be persons of the same batch.
func (b *Bulk) WriteBatch(ctx context.Context, bt Batch) error {
	if err := b.check(bt); err != nil {
		return err
	}
	now := kernel.Micros(b.s.clock.Now())
	err := b.s.db.CopyRows(ctx,
		db.Rows{Table: "households", Columns: bulkHouseholds, N: len(bt.Homes), Row: func(i int, a []any) []any {
			h := &bt.Homes[i]
			return append(a, h.ID, h.UnitCode, h.Address)
		}},
		db.Rows{Table: "persons", Columns: bulkPersons, N: len(bt.Persons), Row: func(i int, a []any) []any {
			p := &bt.Persons[i]
			return append(a, p.CitizenID, p.FullName, p.BirthDate, string(p.Sex), p.HouseholdID, p.UnitCode, p.Phone, now)
		}},
		db.Rows{Table: "insurance_cards", Columns: bulkCards, N: len(bt.Cards), Row: func(i int, a []any) []any {
			c := &bt.Cards[i]
			return append(a, c.CardNumber, c.CitizenID, c.Hospital, c.BenefitLevel, c.ValidFrom, c.ValidTo)
		}},
		db.Rows{Table: "vehicles", Columns: bulkVehicles, N: len(bt.Vehicles), Row: func(i int, a []any) []any {
			v := &bt.Vehicles[i]
			return append(a, v.Plate, v.OwnerCitizenID, v.Make, v.Model, v.Colour, v.RegisteredOn, v.FrameNumber, v.EngineNumber)
		}},
	)
	return kernel.Wrap(err, "registry: bulk write")
}
