package db_test

import (
	"testing"

	"civitas/internal/db"
)

// TestMigrationsExpandThenContract holds every migration of both dialects
// to the rule that lets two releases share a database during a rolling
// upgrade (migrations/RELEASES): nothing the previous release uses is
// dropped, renamed or retyped before a later release.
func TestMigrationsExpandThenContract(t *testing.T) {
	rs, err := db.Releases()
	if err != nil || len(rs) == 0 {
		t.Fatalf("releases: %v %v", rs, err)
	}
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		ms, err := db.Migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		if rs[len(rs)-1].Last > ms[len(ms)-1].Version {
			t.Errorf("RELEASES names %s, newer than any %s migration", rs[len(rs)-1].Last, d)
		}
		for _, p := range db.CheckExpandContract(ms, rs) {
			t.Errorf("%s: %s", d, p)
		}
	}
}

// The checker itself, on made-up migrations: it must be able to fail.
func TestCheckExpandContract(t *testing.T) {
	rs := []db.Release{{Name: "r1", Last: "0010_a"}, {Name: "r2", Last: "0020_b"}}
	m := func(v, sql string) db.Migration { return db.Migration{Version: v, SQL: sql} }
	for _, tc := range []struct {
		name     string
		ms       []db.Migration
		problems int
	}{
		{"ok/before the rule", []db.Migration{m("0005_x", "DROP TABLE t;")}, 0},
		{"ok/expand only", []db.Migration{m("0021_add", "ALTER TABLE t ADD COLUMN c TEXT NOT NULL DEFAULT '';\nCREATE TABLE u (id TEXT);")}, 0},
		{"ok/a word in a comment", []db.Migration{m("0021_c", "-- we never drop table t here\nCREATE INDEX i ON t (c);")}, 0},
		{"ok/drop index", []db.Migration{m("0021_i", "DROP INDEX t_old;")}, 0},
		{"ok/contract a release after its expand", []db.Migration{m("0015_new", "ALTER TABLE t ADD COLUMN c2 TEXT;"),
			m("0021_drop", "-- civitas:contract 0015_new\nALTER TABLE t DROP COLUMN c;")}, 0},
		{"fail/drop column unmarked", []db.Migration{m("0021_drop", "ALTER TABLE t DROP COLUMN c;")}, 1},
		{"fail/rename table", []db.Migration{m("0021_ren", "ALTER TABLE t RENAME TO u;")}, 1},
		{"fail/drop table", []db.Migration{m("0021_drop", "drop table t;")}, 1},
		{"fail/retype", []db.Migration{m("0021_type", "ALTER TABLE t ALTER COLUMN c TYPE BIGINT;")}, 1},
		{"fail/not null", []db.Migration{m("0021_nn", "ALTER TABLE t ALTER COLUMN c SET NOT NULL;")}, 1},
		{"fail/contract in the expand's release", []db.Migration{m("0021_new", "ALTER TABLE t ADD COLUMN c2 TEXT;"),
			m("0022_drop", "-- civitas:contract 0021_new\nALTER TABLE t DROP COLUMN c;")}, 1},
		{"fail/unknown expand", []db.Migration{m("0021_drop", "-- civitas:contract 0019_none\nDROP TABLE t;")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := db.CheckExpandContract(tc.ms, rs); len(got) != tc.problems {
				t.Fatalf("problems %v, want %d", got, tc.problems)
			}
		})
	}
	if _, err := db.ParseReleases("0010_a r1\n0009_b r2\n"); err == nil {
		t.Error("releases going back accepted")
	}
}
