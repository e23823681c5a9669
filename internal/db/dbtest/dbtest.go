// Package dbtest gives each test a fresh, migrated civitas database: a SQLite
// file in the test's temporary directory, or — when CIVITAS_TEST_POSTGRES holds
// a PostgreSQL DSN — a new PostgreSQL database that is dropped after the test.
//
// On PostgreSQL a migrated database is a copy of a template migrated once
// (CREATE DATABASE ... TEMPLATE): running the migrations into every test's
// database cost about two seconds each, which made most of the PostgreSQL
// test run. The template is named after a hash of the migrations, so a
// change to them makes a new one.
package dbtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// EnvPostgres names the variable holding the PostgreSQL server DSN for tests.
const EnvPostgres = "CIVITAS_TEST_POSTGRES"

// DSN returns a DSN for a fresh empty database for t (created now and dropped
// when t ends), or "" for SQLite in dir.
func DSN(t testing.TB) string {
	t.Helper()
	return create(t, "")
}

// Migrated returns a DSN for a fresh database for t that already holds every
// migration (created now and dropped when t ends), or "" for SQLite in dir.
// Migrating it again finds nothing to apply.
func Migrated(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		return ""
	}
	for try := 0; ; try++ {
		tmpl, err := template(server)
		if err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		dsn, err := createDB(t, tmpl)
		// A test run of other migrations (another checkout) drops the
		// templates it does not use, this run's too: build it again.
		if err != nil && strings.Contains(err.Error(), "SQLSTATE 3D000") && try < 3 {
			templates.Lock()
			delete(templates.name, server)
			templates.Unlock()
			continue
		}
		if err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		return dsn
	}
}

var templates struct {
	sync.Mutex
	name map[string]string // server DSN → template database
}

// template returns the name of a migrated template database on server,
// creating it when it does not exist yet. Test binaries running side by side
// take an advisory lock around the check and the creation.
func template(server string) (string, error) {
	templates.Lock()
	defer templates.Unlock()
	if name, ok := templates.name[server]; ok {
		return name, nil
	}
	ms, err := db.Migrations(db.Postgres)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%s\x00%d\x00%s", m.Version, len(m.SQL), m.SQL)
	}
	name := "civitas_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]
	ctx := context.Background()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return "", fmt.Errorf("open postgres: %w", err)
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7426002)"); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(ctx, "SELECT pg_advisory_unlock(7426002)") //nolint:errcheck // the session ends just after
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look for the template: %w", err)
	}
	if !exists {
		// Built under another name and renamed when complete, so that a run
		// stopped half-way never leaves a half-migrated template.
		building := "civitas_build_" + strings.ToLower(kernel.NewID()[:16])
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
			return "", fmt.Errorf("create the template: %w", err)
		}
		u, err := url.Parse(server)
		if err != nil {
			return "", fmt.Errorf("bad %s: %w", EnvPostgres, err)
		}
		u.Path = "/" + building
		d, err := db.Open(ctx, db.Options{DSN: u.String()})
		if err == nil {
			_, err = d.Migrate(ctx)
			d.Close()
		}
		// The closed connections' server processes may take a moment to
		// end, and a database in use cannot be renamed.
		for try := 0; err == nil; try++ {
			_, err = conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name)
			if err == nil || !strings.Contains(err.Error(), "other users") || try == 50 {
				break
			}
			err = nil
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)") //nolint:errcheck // the error above is the one to report
			return "", fmt.Errorf("migrate the template: %w", err)
		}
		// Templates of earlier migrations are dropped when nothing uses them.
		rows, err := conn.QueryContext(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'civitas\\_tmpl\\_%' AND datname <> $1", name)
		if err == nil {
			var old []string
			for rows.Next() {
				var n string
				if rows.Scan(&n) == nil {
					old = append(old, n)
				}
			}
			rows.Close()
			for _, n := range old {
				conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n) //nolint:errcheck // in use: left for the next time
			}
		}
	}
	if templates.name == nil {
		templates.name = map[string]string{}
	}
	templates.name[server] = name
	return name, nil
}

// create makes a fresh database for t, a copy of tmpl when it is not "".
func create(t testing.TB, tmpl string) string {
	t.Helper()
	dsn, err := createDB(t, tmpl)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return dsn
}

// createDB is create, returning its error.
func createDB(t testing.TB, tmpl string) (string, error) {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		return "", nil
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return "", fmt.Errorf("open postgres: %w", err)
	}
	name := "civitas_test_" + strings.ToLower(kernel.NewID()[:16])
	stmt := "CREATE DATABASE " + name
	if tmpl != "" {
		stmt += " TEMPLATE " + tmpl
	}
	if _, err := admin.Exec(stmt); err != nil {
		admin.Close()
		return "", fmt.Errorf("create database: %w", err)
	}
	// A test's database need not survive a crash of the server: its commits
	// do not wait for the WAL to reach the disk.
	if _, err := admin.Exec("ALTER DATABASE " + name + " SET synchronous_commit = off"); err != nil {
		admin.Close()
		return "", fmt.Errorf("set up database: %w", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("bad %s: %w", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Open returns a fresh migrated database for t, closed when t ends. On
// SQLite the file is a copy of one migrated once by this process.
func Open(t testing.TB) *db.DB {
	t.Helper()
	dsn, dir := Migrated(t), t.TempDir()
	if dsn == "" {
		if image := sqliteTemplate(); image != nil {
			if err := os.WriteFile(filepath.Join(dir, db.SQLiteFile), image, 0o600); err != nil {
				t.Fatalf("dbtest: %v", err)
			}
		}
	}
	return OpenAt(t, dsn, dir)
}

var sqliteImage struct {
	once  sync.Once
	bytes []byte
}

// sqliteTemplate returns the bytes of a migrated SQLite database, or nil when
// it could not be made (each test then migrates its own).
func sqliteTemplate() []byte {
	sqliteImage.once.Do(func() {
		dir, err := os.MkdirTemp("", "civitas-dbtest-")
		if err != nil {
			return
		}
		defer os.RemoveAll(dir)
		ctx := context.Background()
		d, err := db.Open(ctx, db.Options{DataDir: dir})
		if err != nil {
			return
		}
		_, err = d.Migrate(ctx)
		d.Close()
		if err != nil {
			return
		}
		// Closing the last connection moves the WAL into the file; a WAL
		// left behind means the file alone is not the database.
		if fi, err := os.Stat(filepath.Join(dir, db.SQLiteFile+"-wal")); err == nil && fi.Size() > 0 {
			return
		}
		sqliteImage.bytes, _ = os.ReadFile(filepath.Join(dir, db.SQLiteFile))
	})
	return sqliteImage.bytes
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
