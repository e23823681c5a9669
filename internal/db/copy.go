package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Rows is what CopyRows writes into one table: N rows of Columns. Row
// appends row i's values, in the columns' order, to dst and returns it;
// CopyRows reuses the slice for the next rows.
type Rows struct {
	Table   string
	Columns []string
	N       int
	Row     func(i int, dst []any) []any
}

// rowsPerInsert is how many rows one multi-row INSERT carries on SQLite:
// 16 rows of at most a few dozen columns stay far below SQLite's 32,766
// bound parameters, and longer statements measured no faster.
const rowsPerInsert = 16

// CopyRows writes the rows of each table, in the order given, in one write
// transaction: COPY on PostgreSQL, prepared multi-row INSERTs on SQLite. It
// is for bulk loads (the demo province, imports from the national
// registries): the caller has validated the rows and writes their audit
// record, if any, itself.
func (d *DB) CopyRows(ctx context.Context, tables ...Rows) error {
	for _, t := range tables {
		if t.Table == "" || len(t.Columns) == 0 || t.N < 0 || (t.N > 0 && t.Row == nil) {
			return fmt.Errorf("db: copy rows: bad Rows for table %q", t.Table)
		}
	}
	if d.dialect == Postgres {
		return d.copyPostgres(ctx, tables)
	}
	// The rows carry their own timestamps: the transaction's is not used.
	return d.Update(ctx, time.Now(), func(tx *Tx) error {
		for _, t := range tables {
			if err := insertRows(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// multiInsert is an INSERT of rows rows into table. It is INSERT OR IGNORE,
// and insertRows counts that every row went in (a row left out broke a
// unique key): a plain INSERT makes SQLite keep a statement journal — a copy
// of every page a statement changes, to undo it should a later row fail —
// which for rows in random key order (citizen IDs) costs more than the
// inserts themselves.
func multiInsert(t Rows, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.Columns)), ", ") + ")"
	return "INSERT OR IGNORE INTO " + t.Table + " (" + strings.Join(t.Columns, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// insertRows writes t's rows with one prepared full-size statement, and the
// remainder with one statement of the right size.
func insertRows(ctx context.Context, tx *Tx, t Rows) error {
	if t.N == 0 {
		return nil
	}
	args := make([]any, 0, len(t.Columns)*rowsPerInsert)
	fill := func(from, to int) error {
		args = args[:0]
		for i := from; i < to; i++ {
			args = t.Row(i, args)
		}
		if len(args) != len(t.Columns)*(to-from) {
			return fmt.Errorf("db: copy rows into %s: %d values for %d rows of %d columns", t.Table, len(args), to-from, len(t.Columns))
		}
		return nil
	}
	i := 0
	if t.N >= rowsPerInsert {
		stmt, err := tx.Prepare(ctx, multiInsert(t, rowsPerInsert))
		if err != nil {
			return fmt.Errorf("db: copy rows into %s: prepare: %w", t.Table, err)
		}
		defer stmt.Close()
		for ; i+rowsPerInsert <= t.N; i += rowsPerInsert {
			if err := fill(i, i+rowsPerInsert); err != nil {
				return err
			}
			res, err := stmt.ExecContext(ctx, args...)
			if err := counted(t, res, err, rowsPerInsert); err != nil {
				return err
			}
		}
	}
	if rest := t.N - i; rest > 0 {
		if err := fill(i, t.N); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, multiInsert(t, rest), args...)
		if err := counted(t, res, err, rest); err != nil {
			return err
		}
	}
	return nil
}

// ErrDuplicateRow is the cause of a CopyRows failure on SQLite when a row
// broke a unique key (or another constraint OR IGNORE skips); IsUniqueViolation
// recognises it, as it does PostgreSQL's own error.
var ErrDuplicateRow = errors.New("UNIQUE constraint failed: a copied row was refused")

// counted checks one multi-row INSERT OR IGNORE wrote all its rows.
func counted(t Rows, res sql.Result, err error, want int) error {
	if err != nil {
		return fmt.Errorf("db: copy rows into %s: %w", t.Table, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(want) {
		return fmt.Errorf("db: copy rows into %s: %d of %d rows written: %w", t.Table, n, want, ErrDuplicateRow)
	}
	return nil
}

// copyPostgres writes the tables with COPY in one pgx transaction on a
// connection of the pool: COPY streams the rows without a statement or a
// round trip per batch of rows.
func (d *DB) copyPostgres(ctx context.Context, tables []Rows) error {
	conn, err := d.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: copy rows: connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(c any) error {
		sc, ok := c.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("db: copy rows: %T is not a pgx connection", c)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("db: copy rows: begin: %w", err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
		for _, t := range tables {
			if t.N == 0 {
				continue
			}
			// pgx encodes each row before asking for the next, so one
			// slice serves them all.
			buf := make([]any, 0, len(t.Columns))
			src := pgx.CopyFromSlice(t.N, func(i int) ([]any, error) {
				buf = t.Row(i, buf[:0])
				if len(buf) != len(t.Columns) {
					return nil, fmt.Errorf("%d values for %d columns", len(buf), len(t.Columns))
				}
				return buf, nil
			})
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.Table}, t.Columns, src); err != nil {
				return fmt.Errorf("db: copy rows into %s: %w", t.Table, err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("db: copy rows: commit: %w", err)
		}
		return nil
	})
}
