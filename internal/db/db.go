package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"civitas/internal/kernel"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names the SQL engine.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// SQLiteFile is the database file's name inside the data directory.
const SQLiteFile = "civitas.db"

// Options say where the database is.
type Options struct {
	// DSN is a postgres:// URL, or empty for SQLite in DataDir.
	// "sqlite:PATH" names a SQLite file elsewhere.
	DSN string
	// DataDir holds the SQLite file when DSN is empty.
	DataDir string
	// Readers caps the reader pool (default: 2 × CPUs, at least 4).
	Readers int
}

// DB is the civitas database: a writer and a pool of readers.
// For PostgreSQL both are the same pool.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	rebinds sync.Map // query -> rebound query (PostgreSQL)
	dsn     string
}

// Open opens the database and checks that it answers. It does not migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	readers := o.Readers
	if readers <= 0 {
		readers = max(4, 2*runtime.NumCPU())
	}
	dsn := o.DSN
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		pool, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("db: open postgres: %w", err)
		}
		pool.SetMaxOpenConns(readers * 2)
		pool.SetMaxIdleConns(readers * 2)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		d := &DB{dialect: Postgres, write: pool, read: pool, dsn: dsn}
		if err := d.Ping(ctx); err != nil {
			pool.Close()
			return nil, err
		}
		return d, nil
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			if o.DataDir == "" {
				return nil, kernel.E(kernel.Invalid, "error.db.no_data_dir")
			}
			if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("db: create data directory: %w", err)
			}
			path = filepath.Join(o.DataDir, SQLiteFile)
		}
		return openSQLite(ctx, path, readers)
	default:
		return nil, kernel.E(kernel.Invalid, "error.db.bad_dsn")
	}
}

func openSQLite(ctx context.Context, path string, readers int) (*DB, error) {
	// WAL lets readers run beside the single writer; busy_timeout makes a
	// second process (a CLI command beside serve) wait instead of failing;
	// _txlock=immediate takes the write lock at BEGIN so a transaction never
	// fails half-way on upgrading its lock.
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_pragma=cache_size(-32000)&_pragma=temp_store(MEMORY)"
	write, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before readers open it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", filepath.Base(path), err)
	}
	read, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite readers: %w", err)
	}
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{dialect: SQLite, write: write, read: read, dsn: "sqlite:" + path}, nil
}

// Dialect returns the SQL engine in use.
func (d *DB) Dialect() Dialect { return d.dialect }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.write.PingContext(ctx); err != nil {
		return fmt.Errorf("db: ping: %w", err)
	}
	if d.read != d.write {
		if err := d.read.PingContext(ctx); err != nil {
			return fmt.Errorf("db: ping readers: %w", err)
		}
	}
	return nil
}

// Close closes both pools.
func (d *DB) Close() error {
	err := d.write.Close()
	if d.read != d.write {
		err = errors.Join(err, d.read.Close())
	}
	return err
}

// WritePool and ReadPool expose the pools for metrics collectors.
func (d *DB) WritePool() *sql.DB { return d.write }

// ReadPool returns the reader pool (the writer pool on PostgreSQL).
func (d *DB) ReadPool() *sql.DB { return d.read }

// Rebind turns ? placeholders into $1, $2, ... for PostgreSQL. Each distinct
// query is rebound once and remembered. ? inside quoted strings is left alone.
func (d *DB) Rebind(query string) string {
	if d.dialect != Postgres {
		return query
	}
	if q, ok := d.rebinds.Load(query); ok {
		return q.(string)
	}
	q := rebind(query)
	d.rebinds.Store(query, q)
	return q
}

func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(fmt.Sprint(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// QueryRow runs a single-row read on the reader pool.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.read.QueryRowContext(ctx, d.Rebind(query), args...)
}

// Query runs a read on the reader pool. The caller closes the rows.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.read.QueryContext(ctx, d.Rebind(query), args...)
}

// Tx is a transaction. Now is the one time every row it writes carries.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	Now time.Time
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.db.Rebind(query), args...)
}

// Query runs a query in the transaction. The caller closes the rows.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.db.Rebind(query), args...)
}

// QueryRow runs a single-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.Rebind(query), args...)
}

// Prepare prepares a statement for repeated use in the transaction.
func (t *Tx) Prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, t.db.Rebind(query))
}

// Dialect returns the SQL engine of the transaction.
func (t *Tx) Dialect() Dialect { return t.db.dialect }

// Update runs fn in a write transaction stamped with now. It commits when fn
// returns nil and rolls back otherwise (also on panic).
func (d *DB) Update(ctx context.Context, now time.Time, fn func(*Tx) error) error {
	return d.run(ctx, d.write, false, now, fn)
}

// View runs fn in a read-only transaction on the reader pool.
func (d *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return d.run(ctx, d.read, true, time.Time{}, fn)
}

func (d *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, now time.Time, fn func(*Tx) error) (err error) {
	opts := &sql.TxOptions{ReadOnly: readOnly && d.dialect == Postgres}
	stx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	tx := &Tx{tx: stx, db: d, Now: now.UTC()}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation in
// either dialect.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}
