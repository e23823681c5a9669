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
	"sync/atomic"
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

	// stmts caches statements prepared on the SQLite writer, so a hot write
	// path does not compile its SQL at every transaction. pgx caches
	// prepared statements per connection by itself.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	rstmts map[string]*sql.Stmt // the same on the SQLite reader pool
	closed bool

	// Group commit of Batch calls on SQLite (batch.go).
	batcher     *kernel.Coalescer[*batchCall]
	batchMu     sync.Mutex
	batchClosed bool

	relaxed *sql.DB // PostgreSQL sessions with synchronous_commit=off

	// SQLite checkpoints run beside the writer, not inside its commits.
	ckpt     *sql.DB
	ckptStop chan struct{}
	ckptDone chan struct{}
	ckptHold atomic.Int32 // PauseCheckpoints calls not yet resumed
	// ckptMu makes the background checkpointer's tick and a Checkpoint call
	// take turns: the tick may checkpoint on the writer's connection
	// (restartLog), beside which a TRUNCATE on the checkpointer's would find
	// the log busy and give up.
	ckptMu sync.Mutex
}

// checkpointEvery is how often the WAL is copied back into the database
// file. The writer does not checkpoint itself (wal_autocheckpoint=0): a
// checkpoint inside a commit, with its fsyncs, would stall every request
// queued behind the single writer.
const checkpointEvery = 200 * time.Millisecond

// WriterPragmas are the per-connection settings of the SQLite writer, for
// code that changes them for a while (bulk loads) to put them back.
const WriterPragmas = "PRAGMA threads = 0; PRAGMA cache_size = -32000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0"

// restartAbove is the length of the log (its frames) above which the
// background checkpointer, once PASSIVE has copied the frames back, has the
// log started over (restartLog). PASSIVE copies frames but never lets the
// log start again from the beginning: under steady load a reader is always
// reading from it, the writer never finds the moment to start it over, and
// the file grows without bound (806 MB in six minutes of token load). At
// twice this length, when the writer still has not found the moment, a
// RESTART waits, briefly, until the readers read from the database file
// alone. After either, the next write starts the log over, and
// journal_size_limit (64 MiB) cuts the file back at that moment if it had
// grown past that.
//
// It is not TRUNCATE: truncating the file (and giving its blocks back to
// the filesystem) while holding the writer out made every write wait
// 25–90 ms behind it, several times a second at 3,000 writes a second — the
// whole p99 of the write paths. The disk is given back when the writer is
// idle instead (a tick that finds no new frame truncates).
const restartAbove = 16 << 20

// truncateWait bounds how long a RESTART or TRUNCATE checkpoint waits for
// the writer and the readers (the busy timeout of the checkpointer's
// connection). The checkpoint holds the write lock while it waits for
// readers, so this is also the longest a write can stall behind it; a
// checkpoint that cannot finish in time gives up and is tried again at the
// next tick.
const truncateWait = 50 * time.Millisecond

// checkpoints copies committed WAL frames into the database file on its own
// connection. PASSIVE never blocks the writer or the readers; when the log
// has grown past restartAbove the writer is given the moment to start it
// over (restartLog, then RESTART), and when nothing was written for a tick a
// TRUNCATE gives the disk back.
func (d *DB) checkpoints() {
	defer close(d.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	ctx := context.Background()
	frame := int64(4096 + 24) // a page and its frame header
	var page int64
	if err := d.ckpt.QueryRowContext(ctx, "PRAGMA page_size").Scan(&page); err == nil && page > 0 {
		frame = page + 24
	}
	last := -1 // frames in the log at the previous tick
	// copiedAll: the last restartLog copied every frame back, so what keeps
	// the log from starting over is only readers of its last frames, which
	// a RESTART waits out in a moment. When it could not (a long reader,
	// such as a backup, holds an old snapshot), a RESTART would hold the
	// writer out for its whole wait, tick after tick, and still fail.
	copiedAll := false
	for {
		select {
		case <-d.ckptStop:
			return
		case <-t.C:
		}
		if d.ckptHold.Load() > 0 {
			last = -1
			continue
		}
		copiedAll, last = d.tick(ctx, frame, copiedAll, last)
	}
}

// tick is one turn of the background checkpointer; it returns what the
// next turn needs to know.
func (d *DB) tick(ctx context.Context, frame int64, copiedAll bool, last int) (bool, int) {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	// An error (a busy file during a backup) is retried at the next tick.
	r, err := d.checkpointMode(ctx, "PASSIVE")
	if err != nil {
		return copiedAll, last
	}
	switch {
	case r.Frames == last && r.Checkpointed == r.Frames && r.WALBytes > 0:
		// Nothing was written since the last tick: the writer is idle,
		// and a TRUNCATE holds up no one.
		r, err = d.checkpointMode(ctx, "TRUNCATE")
	case int64(r.Frames)*frame > 2*restartAbove && copiedAll:
		// The writer did not find the moment (a reader stayed on the
		// log's last frames each time): make it, holding the writer
		// out briefly.
		r, err = d.checkpointMode(ctx, "RESTART")
		copiedAll = false
	case int64(r.Frames)*frame > restartAbove:
		r, err = d.restartLog(ctx)
		copiedAll = err == nil && !r.Busy
	}
	if err == nil {
		last = r.Frames
	}
	return copiedAll, last
}

// PauseCheckpoints stops the background checkpointer until resume is
// called, for a bulk load that sets the writer's own wal_autocheckpoint:
// a TRUNCATE between its transactions would make the writer drop its whole
// page cache (the WAL it knew is gone) and read the pages back, and
// checkpoints every 200 ms copy the same index pages again and again
// (together a fifth of a demo load's CPU).
func (d *DB) PauseCheckpoints() (resume func()) {
	d.ckptHold.Add(1)
	var once sync.Once
	return func() { once.Do(func() { d.ckptHold.Add(-1) }) }
}

// CheckpointResult is what one checkpoint did.
type CheckpointResult struct {
	Mode         string // PASSIVE, RESTART or TRUNCATE
	Busy         bool   // it could not finish (a reader or the writer held on)
	Frames       int    // frames in the WAL before it
	Checkpointed int    // frames copied back
	WALBytes     int64  // the WAL file's size after it
}

// Checkpoint runs one checkpoint now: PASSIVE, then TRUNCATE when the WAL
// file is larger than restartAbove and the readers allow, which gives the
// disk back at once (the background checkpointer truncates only when the
// writer is idle). It does nothing on PostgreSQL.
func (d *DB) Checkpoint(ctx context.Context) (CheckpointResult, error) {
	if d.ckpt == nil {
		return CheckpointResult{}, nil
	}
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	return d.checkpoint(ctx)
}

func (d *DB) checkpoint(ctx context.Context) (CheckpointResult, error) {
	r, err := d.checkpointMode(ctx, "PASSIVE")
	if err != nil || r.WALBytes <= restartAbove {
		return r, err
	}
	return d.checkpointMode(ctx, "TRUNCATE")
}

// restartLog lets the writer start the log over without holding it out
// for longer than it takes to copy the last frames back. It runs a PASSIVE
// checkpoint on the writer's own connection, so no commit can come between
// it and the writer's next transaction: when it has copied every frame
// back, readers that start afterwards read the database file alone, and
// the writer's next transaction starts the log over as soon as the readers
// of the old frames are gone (SQLite does this itself when it finds the
// log fully copied and no reader on it; when a reader still is, it writes
// on, and the next tick tries again). Calls queue for the writer in the
// process meanwhile, as they do behind a commit.
//
// A RESTART from the checkpointer's own connection did the same by taking
// the write lock and waiting for the readers, but a writer that finds the
// lock taken sleeps in SQLite's busy handler (1, 2, 5, 10 ms ...), so every
// RESTART became a burst of writes late by up to ten times its length: at
// 3,000 quiz submissions a second, p99 21–32 ms against 8 ms with PASSIVE
// checkpoints alone.
func (d *DB) restartLog(ctx context.Context) (CheckpointResult, error) {
	r := CheckpointResult{Mode: "PASSIVE"}
	var busy int
	err := d.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &r.Frames, &r.Checkpointed)
	r.Busy = busy != 0 || r.Checkpointed < r.Frames
	r.WALBytes = d.WALSize()
	return r, err
}

func (d *DB) checkpointMode(ctx context.Context, mode string) (CheckpointResult, error) {
	r := CheckpointResult{Mode: mode}
	var busy int
	err := d.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &r.Frames, &r.Checkpointed)
	r.Busy = busy != 0
	r.WALBytes = d.WALSize()
	return r, err
}

// WALSize is the size of the SQLite write-ahead log in bytes (0 on
// PostgreSQL, or when there is none).
func (d *DB) WALSize() int64 {
	if d.dialect != SQLite {
		return 0
	}
	fi, err := os.Stat(strings.TrimPrefix(d.dsn, "sqlite:") + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// maxCachedStmts bounds the cache: queries built at run time (multi-row
// inserts of varying length) should not fill memory.
const maxCachedStmts = 512

// writerStmt returns the cached statement for query on the SQLite writer,
// or nil when it has not been prepared yet.
func (d *DB) writerStmt(query string) *sql.Stmt {
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	return d.stmts[query]
}

// prepareWriter prepares queries on the SQLite writer for later
// transactions. It runs once a write transaction has released the single
// writer connection: preparing on the pool while a transaction holds that
// connection would wait for ever.
func (d *DB) prepareWriter(ctx context.Context, queries []string) {
	for _, q := range queries {
		d.stmtMu.Lock()
		_, have := d.stmts[q]
		full := len(d.stmts) >= maxCachedStmts
		d.stmtMu.Unlock()
		if have || full {
			continue
		}
		st, err := d.write.PrepareContext(ctx, q)
		if err != nil {
			continue // the query runs unprepared next time too
		}
		d.stmtMu.Lock()
		if d.stmts == nil {
			d.stmts = make(map[string]*sql.Stmt)
		}
		if _, have := d.stmts[q]; have || d.closed {
			st.Close()
		} else {
			d.stmts[q] = st
		}
		d.stmtMu.Unlock()
	}
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
		// The pool for WriteRowRelaxed: sessions that commit without waiting
		// for the WAL flush. sql.Open connects on first use only.
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("synchronous_commit", "off")
			u.RawQuery = q.Encode()
			if relaxed, err := sql.Open("pgx", u.String()); err == nil {
				relaxed.SetMaxOpenConns(readers)
				relaxed.SetMaxIdleConns(readers)
				relaxed.SetConnMaxIdleTime(5 * time.Minute)
				d.relaxed = relaxed
			}
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

// createPrivate creates the SQLite file, readable and writable by its owner
// only, when it does not exist: SQLite would make it 0644 (less the umask),
// and it holds every person's data. SQLite gives the -wal and -shm files
// it makes later the database file's mode. An existing file keeps its mode:
// the operator may have chosen one.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("db: create %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

func openSQLite(ctx context.Context, path string, readers int) (*DB, error) {
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	// WAL lets readers run beside the single writer; busy_timeout makes a
	// second process (a CLI command beside serve) wait instead of failing;
	// _txlock=immediate takes the write lock at BEGIN so a transaction never
	// fails half-way on upgrading its lock.
	file := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)"
	base := file + "&_pragma=busy_timeout(15000)&_pragma=cache_size(-32000)"
	// The writer leaves checkpoints to d.checkpoints; journal_size_limit
	// gives the disk back after a burst.
	write, err := sql.Open("sqlite", base+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)")
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before readers open it. Two
	// processes opening a new file at once can get SQLITE_BUSY here without
	// SQLite calling the busy handler (the switch to WAL, or the recovery of
	// the WAL index, is under way in the other): wait a little and retry.
	for attempt := 0; ; attempt++ {
		err := write.PingContext(ctx)
		if err == nil {
			break
		}
		if attempt < 100 && strings.Contains(err.Error(), "SQLITE_BUSY") && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		write.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", filepath.Base(path), err)
	}
	// A reader keeps SQLite's default page cache of 2 MB, not the writer's
	// 32 MB. A read transaction that starts after any commit finds its
	// cache stale and empties it whole, and a commit comes every few
	// milliseconds in a serving process; so a big cache is rarely read
	// again, only freed and filled anew, and the allocator under the
	// transpiled SQLite hands freed memory past 4 MiB back to the kernel
	// one 64 KiB region (one madvise) at a time, then faults it back in.
	// A worklist page, whose read of an area takes 3,600 pages, took 229 ms
	// of CPU with 32 MB, 146 ms with 8 MB, 63 ms with 2 MB while each view
	// committed its data-use log (docs/benchmarks.md, "Adoption").
	read, err := sql.Open("sqlite", file+"&_pragma=busy_timeout(15000)&_pragma=cache_size(-2000)&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite readers: %w", err)
	}
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxIdleTime(5 * time.Minute)
	// The checkpointer waits for readers truncateWait at most, and needs
	// no page cache of its own to speak of.
	ckpt, err := sql.Open("sqlite", file+fmt.Sprintf("&_pragma=busy_timeout(%d)&_pragma=cache_size(-1000)", truncateWait.Milliseconds()))
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("db: open sqlite checkpointer: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetMaxIdleConns(1)
	ckpt.SetConnMaxIdleTime(0)
	d := &DB{dialect: SQLite, write: write, read: read, dsn: "sqlite:" + path,
		ckpt: ckpt, ckptStop: make(chan struct{}), ckptDone: make(chan struct{})}
	d.batcher = &kernel.Coalescer[*batchCall]{MaxBatch: maxBatch, Spacing: batchSpacing, Run: d.runBatch}
	go d.checkpoints()
	return d, nil
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
	d.batchMu.Lock()
	d.batchClosed = true
	d.batchMu.Unlock()
	d.stmtMu.Lock()
	for _, st := range d.stmts {
		st.Close()
	}
	for _, st := range d.rstmts {
		st.Close()
	}
	d.stmts, d.rstmts = nil, nil
	d.closed = true
	d.stmtMu.Unlock()
	var err error
	if d.ckpt != nil {
		select {
		case <-d.ckptStop: // closed before
		default:
			close(d.ckptStop)
			<-d.ckptDone
			err = d.ckpt.Close()
		}
	}
	if d.relaxed != nil {
		err = errors.Join(err, d.relaxed.Close())
	}
	err = errors.Join(err, d.write.Close())
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
	if st := d.readerStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.read.QueryRowContext(ctx, d.Rebind(query), args...)
}

// Query runs a read on the reader pool. The caller closes the rows.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := d.readerStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.read.QueryContext(ctx, d.Rebind(query), args...)
}

// WriteRow runs one statement on the writer as a transaction of its own and
// returns its row (INSERT, UPDATE or a data-modifying WITH ... RETURNING):
// one round trip where Update takes a BEGIN, the statement and a COMMIT.
func (d *DB) WriteRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.write.QueryRowContext(ctx, d.Rebind(query), args...)
}

// WriteRowRelaxed is WriteRow for a write whose loss in a crash of the
// database server costs a retry and never grants anything (a refresh-token
// rotation: the client logs in again). On PostgreSQL it commits without
// waiting for the WAL flush (synchronous_commit=off: a crash loses at most
// the last few hundred milliseconds of such writes, never corrupts); on
// SQLite, whose commits in WAL mode with synchronous=NORMAL never wait for
// the disk, it is WriteRow.
func (d *DB) WriteRowRelaxed(ctx context.Context, query string, args ...any) *sql.Row {
	if d.relaxed == nil {
		return d.WriteRow(ctx, query, args...)
	}
	return d.relaxed.QueryRowContext(ctx, d.Rebind(query), args...)
}

// QueryRelaxed is WriteRowRelaxed for a statement returning several rows.
// The caller closes the rows.
func (d *DB) QueryRelaxed(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if d.relaxed == nil {
		return d.write.QueryContext(ctx, d.Rebind(query), args...)
	}
	return d.relaxed.QueryContext(ctx, d.Rebind(query), args...)
}

// readerStmt returns query prepared on the SQLite reader pool, preparing it
// on first use; database/sql keeps one compiled statement per connection.
// It returns nil (run unprepared) for PostgreSQL, whose driver caches by
// itself, for scripts, and once the cache is full.
func (d *DB) readerStmt(ctx context.Context, query string) *sql.Stmt {
	if d.dialect != SQLite || strings.Contains(query, ";") {
		return nil
	}
	d.stmtMu.Lock()
	st, ok := d.rstmts[query]
	full := len(d.rstmts) >= maxCachedStmts || d.closed
	d.stmtMu.Unlock()
	if ok || full {
		return st
	}
	st, err := d.read.PrepareContext(ctx, query)
	if err != nil {
		return nil // the query runs unprepared and reports its own error
	}
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	if have, ok := d.rstmts[query]; ok || d.closed {
		st.Close()
		return have
	}
	if d.rstmts == nil {
		d.rstmts = make(map[string]*sql.Stmt)
	}
	d.rstmts[query] = st
	return st
}

// Tx is a transaction. Now is the one time every row it writes carries.
type Tx struct {
	tx    *sql.Tx
	db    *DB
	write bool
	batch bool     // shared by Batch calls: see ctx
	miss  []string // statements to prepare once the writer is free
	// deferred is what Defer keeps until just before commit.
	deferred []*deferred
	Now      time.Time
}

// ctx is the context a statement runs under. In a transaction shared by
// Batch calls a caller's cancellation must not interrupt a statement:
// SQLite would roll back the whole transaction, the other calls' work too.
func (t *Tx) ctx(ctx context.Context) context.Context {
	if t.batch {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = t.ctx(ctx)
	if st := t.stmt(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.db.Rebind(query), args...)
}

// stmt returns a cached prepared statement for a write transaction on
// SQLite (the single writer connection), or nil; a miss is noted so the
// statement is prepared after this transaction.
func (t *Tx) stmt(query string) *sql.Stmt {
	// A script of several statements cannot be one prepared statement.
	if t.db.dialect != SQLite || !t.write || strings.Contains(query, ";") {
		return nil
	}
	st := t.db.writerStmt(query)
	if st == nil && len(t.miss) < 16 {
		t.miss = append(t.miss, query)
	}
	return st
}

// Query runs a query in the transaction. The caller closes the rows.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = t.ctx(ctx)
	return t.tx.QueryContext(ctx, t.db.Rebind(query), args...)
}

// QueryRow runs a single-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = t.ctx(ctx)
	if st := t.stmt(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.db.Rebind(query), args...)
}

// Prepare prepares a statement for repeated use in the transaction.
func (t *Tx) Prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	ctx = t.ctx(ctx)
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
	tx := &Tx{tx: stx, db: d, write: !readOnly, Now: now.UTC()}
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
	if err := tx.flushDeferred(ctx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	if len(tx.miss) > 0 {
		d.prepareWriter(ctx, tx.miss)
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
