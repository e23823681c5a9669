package dbtest_test

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

// TestTemplateDroppedByAnotherRun: a test run of another checkout's
// migrations drops this run's template between two tests; the next test
// still gets a migrated database (the template is built again).
func TestTemplateDroppedByAnotherRun(t *testing.T) {
	server := os.Getenv(dbtest.EnvPostgres)
	if server == "" {
		t.Skip("PostgreSQL only: " + dbtest.EnvPostgres + " is not set")
	}
	dbtest.Migrated(t) // builds (or finds) the template and remembers it
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	rows, err := admin.Query(`SELECT datname FROM pg_database WHERE datname LIKE 'civitas\_tmpl\_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	if len(names) == 0 {
		t.Fatal("no template database after Migrated")
	}
	for _, n := range names {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + n); err != nil {
			t.Fatal(err)
		}
	}
	d := dbtest.Open(t)
	if d.Dialect() != db.Postgres {
		t.Fatalf("dialect %v", d.Dialect())
	}
	var n int
	if err := d.QueryRow(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n == 0 {
		t.Fatalf("the database after the template was dropped: %d migrations, %v", n, err)
	}
	if !strings.HasPrefix(names[0], "civitas_tmpl_") {
		t.Fatal(names)
	}
}
