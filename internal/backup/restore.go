package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Checkpoints verifies the signed checkpoints of a restored database (the
// trust services do; app adapts them).
type Checkpoints interface {
	VerifyCheckpoints(ctx context.Context, d *db.DB) (verified, stamped int64, problem string, err error)
}

// Target is where a backup is restored.
type Target struct {
	// DataDir is the new data directory: it must not exist or be empty.
	DataDir string
	// DSN is an empty PostgreSQL database for a PostgreSQL backup; empty
	// for SQLite, whose database goes into DataDir.
	DSN string
	// KEK, when set, must be the key the manifest was sealed with.
	KEK []byte
	// Integrity runs SQLite's integrity_check on the restored file (it
	// reads every page: minutes on a large province).
	Integrity bool
	// Checkpoints verifies the restored checkpoints' signatures; nil skips.
	Checkpoints Checkpoints
	PGRestore   string // pg_restore program; default on PATH

	drill bool // a PostgreSQL dump may be only listed
}

// Proof is what a restore proved.
type Proof struct {
	Records     int64 // audit records verified
	Checkpoints int64 // signed checkpoints verified
	Stamped     int64 // of them time-stamped
	Integrity   bool  // SQLite's integrity_check passed
	MAC         bool  // the manifest's MAC checked with the key-encryption key
}

// Restore reads a backup into t: it stages every member in a scratch
// directory beside t.DataDir, checks the manifest, restores a PostgreSQL
// dump into t.DSN, proves the restored database (Prove), and only then
// moves the scratch directory to t.DataDir. Nothing is left behind when
// it fails, but a PostgreSQL database restored before a failed proof
// (drop it and create it empty again).
func Restore(ctx context.Context, r io.Reader, ids []age.Identity, t Target) (Manifest, Proof, error) {
	if err := mayBackUp(ctx); err != nil {
		return Manifest{}, Proof{}, err
	}
	if t.DataDir == "" {
		return Manifest{}, Proof{}, kernel.E(kernel.Invalid, "backup.error.no_target")
	}
	target, err := filepath.Abs(t.DataDir)
	if err != nil {
		return Manifest{}, Proof{}, kernel.Wrap(err, "backup: target")
	}
	if err := emptyOrAbsent(target); err != nil {
		return Manifest{}, Proof{}, err
	}
	if t.DSN != "" {
		if err := emptyDatabase(ctx, t.DSN); err != nil {
			return Manifest{}, Proof{}, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return Manifest{}, Proof{}, kernel.Wrap(err, "backup: target")
	}
	staging, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".restoring-")
	if err != nil {
		return Manifest{}, Proof{}, kernel.Wrap(err, "backup: staging directory")
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(staging)
		}
	}()
	m, p, err := restoreInto(ctx, r, ids, t, staging)
	if err != nil {
		return m, p, err
	}
	if _, err := os.Stat(target); err == nil {
		if err := os.Remove(target); err != nil { // empty, as checked: rename needs it gone
			return m, p, kernel.Wrap(err, "backup: target")
		}
	}
	if err := os.Rename(staging, target); err != nil {
		return m, p, kernel.Wrap(err, "backup: move into place")
	}
	done = true
	return m, p, nil
}

// Drill restores a backup into a scratch directory (and, for PostgreSQL,
// into the empty scratch database t.DSN when given, or else only has
// pg_restore read the dump's table of contents), proves it, and removes
// the directory: a restore drill that never touches production.
func Drill(ctx context.Context, r io.Reader, ids []age.Identity, t Target) (Manifest, Proof, error) {
	if err := mayBackUp(ctx); err != nil {
		return Manifest{}, Proof{}, err
	}
	if t.DSN != "" {
		if err := emptyDatabase(ctx, t.DSN); err != nil {
			return Manifest{}, Proof{}, err
		}
	}
	scratch, err := os.MkdirTemp(t.DataDir, "civitas-drill-")
	if err != nil {
		return Manifest{}, Proof{}, kernel.Wrap(err, "backup: scratch directory")
	}
	defer os.RemoveAll(scratch)
	t.Integrity, t.drill = true, true
	return restoreInto(ctx, r, ids, t, scratch)
}

// dumpFile is where a PostgreSQL dump waits in the staging directory; it
// is removed before the directory becomes the data directory.
const dumpFile = "postgres.dump" + TempSuffix

// restoreInto writes the members into dir, checks the manifest, restores
// the database and proves it.
func restoreInto(ctx context.Context, r io.Reader, ids []age.Identity, t Target, dir string) (Manifest, Proof, error) {
	m, err := Read(ctx, r, ids, func(name string, size int64, body io.Reader) error {
		var path string
		switch {
		case name == SQLiteMember:
			if t.DSN != "" {
				return kernel.E(kernel.Invalid, "backup.error.sqlite_into_postgres")
			}
			path = filepath.Join(dir, db.SQLiteFile)
		case name == PostgresMember:
			if t.DSN == "" && !t.drill {
				return kernel.E(kernel.Invalid, "backup.error.postgres_needs_db")
			}
			path = filepath.Join(dir, dumpFile)
		default:
			path = filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(name, DataPrefix)))
		}
		return writeFile(path, body)
	})
	if err != nil {
		return Manifest{}, Proof{}, err
	}
	var p Proof
	if t.KEK != nil {
		if err := m.CheckMAC(t.KEK); err != nil {
			return m, p, err
		}
		p.MAC = true
	}
	if err := knownSchema(m); err != nil {
		return m, p, err
	}
	var d *db.DB
	switch {
	case m.Dialect == "postgres" && t.DSN == "":
		// A drill without a scratch database: pg_restore reads the dump.
		err := pgList(ctx, t.PGRestore, filepath.Join(dir, dumpFile))
		_ = os.Remove(filepath.Join(dir, dumpFile))
		return m, p, kernel.Wrap(err, "backup: pg_restore --list")
	case m.Dialect == "postgres":
		err := pgRestore(ctx, t.PGRestore, t.DSN, filepath.Join(dir, dumpFile))
		_ = os.Remove(filepath.Join(dir, dumpFile))
		if err != nil {
			return m, p, kernel.Wrap(err, "backup: pg_restore")
		}
		d, err = db.Open(ctx, db.Options{DSN: t.DSN})
		if err != nil {
			return m, p, err
		}
	default:
		d, err = db.Open(ctx, db.Options{DataDir: dir})
		if err != nil {
			return m, p, err
		}
	}
	p, err = Prove(ctx, d, m, t.Integrity, t.Checkpoints, p)
	if cerr := d.Close(); cerr != nil && err == nil {
		err = kernel.Wrap(cerr, "backup: close restored database")
	}
	return m, p, err
}

// Prove checks a restored database against its manifest: the schema it
// recorded, the audit chain intact and ending at the head it recorded, the
// newest checkpoint the same, every checkpoint's seal (with cps), and with
// integrity SQLite's integrity_check.
func Prove(ctx context.Context, d *db.DB, m Manifest, integrity bool, cps Checkpoints, p Proof) (Proof, error) {
	if integrity && d.Dialect() == db.SQLite {
		var res string
		if err := d.QueryRow(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
			return p, kernel.Wrap(err, "backup: integrity_check")
		}
		if res != "ok" {
			return p, kernel.E(kernel.Invalid, "backup.error.integrity", res)
		}
		p.Integrity = true
	}
	var state AuditState
	var schema string
	err := d.View(ctx, func(tx *db.Tx) error {
		var err error
		if state, err = findAuditState(ctx, tx); err != nil {
			return err
		}
		schema, err = findSchema(ctx, tx)
		return err
	})
	if err != nil {
		return p, err
	}
	if schema != m.Schema {
		return p, kernel.E(kernel.Invalid, "backup.error.schema_differs", schema, m.Schema)
	}
	rep, err := audit.Verify(ctx, d)
	if err != nil {
		return p, err
	}
	if !rep.OK() {
		return p, kernel.E(kernel.Invalid, "backup.error.audit_broken", rep.FirstBad, rep.Problem)
	}
	if rep.Head.Seq != m.Audit.HeadSeq || rep.Head.Hash != m.Audit.HeadHash {
		return p, kernel.E(kernel.Invalid, "backup.error.audit_head", rep.Head.Seq, m.Audit.HeadSeq)
	}
	p.Records = rep.Records
	if state.CheckpointSeq != m.Audit.CheckpointSeq || state.CheckpointHash != m.Audit.CheckpointHash {
		return p, kernel.E(kernel.Invalid, "backup.error.checkpoint", state.CheckpointSeq, m.Audit.CheckpointSeq)
	}
	if cps != nil {
		n, stamped, problem, err := cps.VerifyCheckpoints(ctx, d)
		if err != nil {
			return p, err
		}
		if problem != "" {
			return p, kernel.E(kernel.Invalid, "backup.error.checkpoint_seal", problem)
		}
		p.Checkpoints, p.Stamped = n, stamped
	}
	return p, nil
}

// knownSchema refuses a backup made by a newer civitas: this binary does
// not know its migrations, so it cannot serve what it restores.
func knownSchema(m Manifest) error {
	ms, err := db.Migrations(db.Dialect(m.Dialect))
	if err != nil {
		return err
	}
	if len(ms) == 0 || m.Schema > ms[len(ms)-1].Version {
		return kernel.E(kernel.Invalid, "backup.error.newer_schema", m.Schema, m.Version)
	}
	return nil
}

// writeFile writes a member, readable by its owner only, creating the
// directories it needs.
func writeFile(path string, body io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// emptyOrAbsent refuses a target directory that holds anything.
func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return kernel.E(kernel.Invalid, "backup.error.target_not_empty", dir).WithCause(err)
	case len(entries) > 0:
		return kernel.E(kernel.Conflict, "backup.error.target_not_empty", dir)
	}
	return nil
}

// emptyDatabase refuses a PostgreSQL database that holds tables.
func emptyDatabase(ctx context.Context, dsn string) error {
	d, err := db.Open(ctx, db.Options{DSN: dsn})
	if err != nil {
		return err
	}
	defer d.Close()
	var n int
	err = d.View(ctx, func(tx *db.Tx) error {
		var err error
		n, err = countTables(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		return kernel.E(kernel.Conflict, "backup.error.database_not_empty", fmt.Sprint(n))
	}
	return nil
}
