package registry_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/registry"
)

// TestPopulationKeptAgreesWithTheCount holds the headcounts read from the
// kept cells (the triggers of migration 0042) to the count over every
// person, on days across a century and on the edges of the changes made:
// persons added, dead, moved, their birth dates corrected, a death
// annulled and a person deleted, all written as plain SQL, as any program
// writing the registry would.
func TestPopulationKeptAgreesWithTheCount(t *testing.T) {
	ctx := context.Background()
	s, d := demoRegistry(t, 1200)
	var units []string
	rows, err := d.Query(ctx, `SELECT DISTINCT unit_code FROM persons ORDER BY unit_code`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		units = append(units, u)
	}
	rows.Close()
	if len(units) < 2 {
		t.Fatalf("units %v: the demo needs two", units)
	}
	var ids []string
	rows, err = d.Query(ctx, `SELECT citizen_id FROM persons WHERE died_on = '' ORDER BY citizen_id LIMIT 40`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	edges := []string{"2024-02-29", "2025-10-01", "2006-12-31", "2007-01-01", "2007-10-01", "2007-09-30"}
	exec := func(q string, args ...any) {
		t.Helper()
		if err := update(t, d, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Persons born on the edges: new year's day, the last day of a year, a
	// leap day, 18 years before a day tested, and today.
	for i, born := range []string{"2007-01-01", "2006-12-31", "2008-02-29", "2007-10-01", "2007-10-02", "2025-10-01", "1950-06-15"} {
		exec(`INSERT INTO persons (citizen_id, full_name, birth_date, sex, household_id, unit_code, phone, updated_at)
			SELECT ?, full_name, ?, sex, household_id, unit_code, '', updated_at FROM persons WHERE citizen_id = ?`,
			fmt.Sprintf("0991%08d", 90000000+i), born, ids[i])
		edges = append(edges, born, day(born, -1), day(born, 1))
	}
	// Deaths, one of them today, and one annulled afterwards.
	for i, died := range []string{"2020-05-05", "2025-10-01", "2010-01-01", "2024-02-29"} {
		exec(`UPDATE persons SET died_on = ? WHERE citizen_id = ?`, died, ids[10+i])
		edges = append(edges, died, day(died, -1), day(died, 1))
	}
	exec(`UPDATE persons SET died_on = '' WHERE citizen_id = ?`, ids[12])
	// Moves to another commune, a corrected birth date, a dead person moved.
	for i := range 5 {
		exec(`UPDATE persons SET unit_code = ? WHERE citizen_id = ?`, units[i%len(units)], ids[20+i])
	}
	exec(`UPDATE persons SET birth_date = '2008-02-29' WHERE citizen_id = ?`, ids[30])
	exec(`UPDATE persons SET unit_code = ? WHERE citizen_id = ?`, units[1], ids[10])
	exec(`DELETE FROM persons WHERE citizen_id = ?`, fmt.Sprintf("0991%08d", 90000006))

	for y := 1925; y <= 2026; y += 3 {
		edges = append(edges, fmt.Sprintf("%04d-%02d-%02d", y, 1+y%12, 1+y%28))
	}
	for _, day := range edges {
		kept, err := s.Population(ctx, day)
		if err != nil {
			t.Fatal(day, err)
		}
		counted, err := registry.PopulationScan(s, ctx, day)
		if err != nil {
			t.Fatal(day, err)
		}
		if !maps.Equal(kept, counted) {
			t.Errorf("%s: kept %v, counted %v", day, kept, counted)
		}
	}
	if _, err := s.Population(ctx, "2025-13-01"); err == nil {
		t.Error("a day that is not a date was answered")
	}
}

// day is the date n days after a date.
func day(date string, n int) string {
	d, _ := time.Parse(time.DateOnly, date)
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

// TestEnsureIndexesPutsBackTheHeadcounts: a bulk load killed mid-way
// leaves the headcount triggers dropped and the cells behind the persons;
// EnsureIndexes (run at every start) puts the triggers back and counts the
// cells again.
func TestEnsureIndexesPutsBackTheHeadcounts(t *testing.T) {
	ctx := context.Background()
	s, d := demoRegistry(t, 300)
	drop := "DROP TRIGGER persons_cells_insert"
	if d.Dialect() == db.Postgres {
		drop = "DROP TRIGGER persons_cells ON persons"
	}
	if _, err := d.WritePool().ExecContext(ctx, drop); err != nil {
		t.Fatal(err)
	}
	add := func(id string) {
		t.Helper()
		if _, err := d.WritePool().ExecContext(ctx, `INSERT INTO persons (citizen_id, full_name, birth_date, sex, household_id, unit_code, phone, updated_at)
			SELECT '`+id+`', full_name, '1990-01-01', sex, household_id, unit_code, '', updated_at FROM persons WHERE died_on = '' ORDER BY citizen_id LIMIT 1`); err != nil {
			t.Fatal(err)
		}
	}
	same := func() bool {
		t.Helper()
		kept, err1 := s.Population(ctx, "2025-10-01")
		counted, err2 := registry.PopulationScan(s, ctx, "2025-10-01")
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return maps.Equal(kept, counted)
	}
	add("099199000001")
	if same() {
		t.Fatal("a person added without the trigger was counted: the test proves nothing")
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if !same() {
		t.Fatal("the cells were not counted again")
	}
	add("099199000002")
	if !same() {
		t.Fatal("the trigger was not put back")
	}
}

// TestCellTriggersMatchTheMigration: the triggers a bulk load puts back
// are the ones migration 0042 made (a database that was never bulk-loaded
// keeps the migration's).
func TestCellTriggersMatchTheMigration(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	norm := func(s string) string {
		s = strings.Replace(s, "CREATE TRIGGER IF NOT EXISTS", "CREATE TRIGGER", 1)
		s = strings.Replace(s, "CREATE OR REPLACE TRIGGER", "CREATE TRIGGER", 1)
		s = strings.ReplaceAll(s, " ON public.persons ", " ON persons ")
		return strings.Join(strings.Fields(s), " ")
	}
	trs := registry.CellTriggers(d.Dialect())
	if len(trs) == 0 {
		t.Fatal("no triggers for", d.Dialect())
	}
	for _, tr := range trs {
		q := "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?"
		if d.Dialect() == db.Postgres {
			q = "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = ? AND NOT tgisinternal"
		}
		var made string
		if err := d.QueryRow(ctx, q, tr.Name).Scan(&made); err != nil {
			t.Fatalf("%s: %v", tr.Name, err)
		}
		if norm(made) != norm(tr.Def) {
			t.Errorf("%s:\nmigration: %s\nbulk load: %s", tr.Name, norm(made), norm(tr.Def))
		}
	}
}
