package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"civitas/internal/kernel"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one schema step; each dialect has a file of the same name.
type Migration struct {
	Version string // the file name without .sql, e.g. "0001_core"
	SQL     string
}

// Migrations lists the embedded migrations of a dialect in order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("db: read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	out = append(out, extraMigrations(d)...)
	slices.SortFunc(out, func(a, b Migration) int { return strings.Compare(a.Version, b.Version) })
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version TEXT PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`

// Migrate applies the migrations not yet applied, each in its own
// transaction. Two processes migrating at once is safe: SQLite serialises
// writers, PostgreSQL takes an advisory lock, and each step re-checks.
func (d *DB) Migrate(ctx context.Context) (applied []string, err error) {
	ms, err := Migrations(d.dialect)
	if err != nil {
		return nil, err
	}
	// Two PostgreSQL sessions creating the table at once race on the catalog
	// even with IF NOT EXISTS (a unique violation, or "already exists" for
	// the relation, 42P07, or its row type, 42710), so on PostgreSQL the
	// creation takes the migrations' advisory lock too. The errors are
	// still taken as "the table is there", for a server of another kind.
	err = d.Update(ctx, time.Now(), func(tx *Tx) error {
		if d.dialect == Postgres {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7426001)"); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, createMigrationsTable)
		return err
	})
	if err != nil && !IsUniqueViolation(err) && !strings.Contains(err.Error(), "SQLSTATE 42P07") && !strings.Contains(err.Error(), "SQLSTATE 42710") {
		return nil, fmt.Errorf("db: create migrations table: %w", err)
	}
	for _, m := range ms {
		did := false
		err := d.Update(ctx, time.Now(), func(tx *Tx) error {
			if d.dialect == Postgres {
				if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7426001)"); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			did = true
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.Version, kernel.Micros(tx.Now))
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("db: migration %s: %w", m.Version, err)
		}
		if did {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// Pending returns the embedded migrations not yet applied; /readyz is ready
// only when it is empty.
func (d *DB) Pending(ctx context.Context) ([]string, error) {
	ms, err := Migrations(d.dialect)
	if err != nil {
		return nil, err
	}
	rows, err := d.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		// No table yet: everything is pending.
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.Version
		}
		return out, nil //nolint:nilerr // a missing table means nothing applied
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("db: scan migrations: %w", err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	var out []string
	for _, m := range ms {
		if !done[m.Version] {
			out = append(out, m.Version)
		}
	}
	return out, nil
}
