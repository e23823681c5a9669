// Package dbtest gives each test a fresh, migrated civitas database: a SQLite
// file in the test's temporary directory, or — when CIVITAS_TEST_POSTGRES holds
// a PostgreSQL DSN — a new PostgreSQL database that is dropped after the test.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// EnvPostgres names the variable holding the PostgreSQL server DSN for tests.
const EnvPostgres = "CIVITAS_TEST_POSTGRES"

// DSN returns a DSN for a fresh empty database for t (created now and dropped
// when t ends), or "" for SQLite in dir.
func DSN(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		return ""
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("dbtest: open postgres: %v", err)
	}
	name := "civitas_test_" + strings.ToLower(kernel.NewID()[:16])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("dbtest: bad %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open returns a fresh migrated database for t, closed when t ends.
func Open(t testing.TB) *db.DB {
	t.Helper()
	return OpenAt(t, DSN(t), t.TempDir())
}

// OpenAt opens and migrates the database at dsn (or SQLite in dir when dsn is
// ""), closed when t ends. Two calls with the same arguments give two
// independent handles on one database, as two civitas instances have.
func OpenAt(t testing.TB, dsn, dir string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{DSN: dsn, DataDir: dir})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("dbtest: migrate: %v", err)
	}
	return d
}

// Name describes the dialect under test, for benchmark and log lines.
func Name() string {
	if os.Getenv(EnvPostgres) != "" {
		return fmt.Sprint(db.Postgres)
	}
	return fmt.Sprint(db.SQLite)
}
