package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
)

// Snapshot is the database as one moment saw it, for an online backup:
// Tx reads that moment, and on SQLite WriteImage writes the database file
// as it stood then — every committed page, those still in the WAL too —
// while the writer goes on committing beside it. On PostgreSQL ID names
// the exported snapshot (pg_export_snapshot) that pg_dump --snapshot
// reads, so a dump and the reads made through Tx agree.
type Snapshot struct {
	Tx *Tx
	// ID is the PostgreSQL snapshot's name ("" on SQLite).
	ID string

	pageSize, pages int64
}

// Size is the length of the SQLite image WriteImage writes.
func (s *Snapshot) Size() int64 { return s.pageSize * s.pages }

// Snapshot runs fn in a read transaction that holds one consistent view of
// the database until fn returns. It never blocks writers: on SQLite a WAL
// reader keeps its snapshot while the single writer commits (the WAL grows
// meanwhile, as checkpoints cannot pass a reader), on PostgreSQL a
// REPEATABLE READ transaction keeps its snapshot and exports it.
func (d *DB) Snapshot(ctx context.Context, fn func(s *Snapshot) error) (err error) {
	conn, err := d.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: snapshot connection: %w", err)
	}
	defer conn.Close()
	opts := &sql.TxOptions{}
	if d.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	} else {
		// Pages read through a memory map are not copied into the page
		// cache one by one: the image streams several times faster. The
		// connection goes back to the pool without it.
		if _, err := conn.ExecContext(ctx, "PRAGMA mmap_size = "+fmt.Sprint(snapshotMmap)); err != nil {
			return fmt.Errorf("db: snapshot mmap: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA mmap_size = 0") }()
	}
	stx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("db: begin snapshot: %w", err)
	}
	defer func() { _ = stx.Rollback() }()
	s := &Snapshot{Tx: &Tx{tx: stx, db: d}}
	switch d.dialect {
	case Postgres:
		if err := stx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&s.ID); err != nil {
			return fmt.Errorf("db: export snapshot: %w", err)
		}
	case SQLite:
		// The first read starts the snapshot (a deferred BEGIN takes none);
		// both figures then come from it.
		if err := stx.QueryRowContext(ctx, "PRAGMA page_size").Scan(&s.pageSize); err != nil {
			return fmt.Errorf("db: page size: %w", err)
		}
		if err := stx.QueryRowContext(ctx, "PRAGMA page_count").Scan(&s.pages); err != nil {
			return fmt.Errorf("db: page count: %w", err)
		}
	}
	return fn(s)
}

// snapshotMmap is the most of the database file a snapshot maps: past it
// SQLite reads as usual.
const snapshotMmap = 1 << 40

// errImage reports an image that is not what the snapshot promised.
var errImage = errors.New("db: the snapshot's pages are not contiguous")

// WriteImage writes the SQLite database file as the snapshot sees it: a
// file SQLite opens as it is, without a WAL beside it. It reads the pages
// through the sqlite_dbpage table inside the snapshot's transaction, so
// the image is of one moment however long the copy takes, and nothing is
// written to disk but w.
func (s *Snapshot) WriteImage(ctx context.Context, w io.Writer) (int64, error) {
	if s.Tx.db.dialect != SQLite {
		return 0, errors.New("db: an image is a SQLite file; PostgreSQL is dumped with pg_dump")
	}
	rows, err := s.Tx.tx.QueryContext(ctx, "SELECT pgno, data FROM sqlite_dbpage")
	if err != nil {
		return 0, fmt.Errorf("db: read pages: %w", err)
	}
	defer rows.Close()
	var written int64
	var pgno int64
	var page sql.RawBytes
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n, &page); err != nil {
			return written, fmt.Errorf("db: read page: %w", err)
		}
		pgno++
		if n != pgno || int64(len(page)) != s.pageSize || pgno > s.pages {
			return written, errImage
		}
		m, err := w.Write(page)
		written += int64(m)
		if err != nil {
			return written, err
		}
	}
	if err := rows.Err(); err != nil {
		return written, fmt.Errorf("db: read pages: %w", err)
	}
	if pgno != s.pages {
		return written, errImage
	}
	return written, nil
}
