package backup

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Options say what to back up and to whom.
type Options struct {
	DB *db.DB // the database, open (not migrated by Create)
	// DSN is the PostgreSQL URL pg_dump connects to; unused on SQLite.
	DSN string
	// DataDir is the data directory whose files are archived; the
	// database's own files and the key-encryption key in it are not.
	DataDir string
	// Exclude lists further paths never archived: the key file named by
	// --key-file, the backup being written, a directory of backups.
	Exclude    []string
	Recipients []age.Recipient
	// KEK, when set, seals the manifest (Manifest.Seal).
	KEK     []byte
	Version string // civitas build
	Clock   kernel.Clock
	// PGDump is the pg_dump program (default "pg_dump" on PATH); TempDir
	// holds its output until it is archived (default os.TempDir()).
	PGDump  string
	TempDir string
	Logger  *slog.Logger
	// Rate paces the backup to this many bytes of archived data a second
	// (DefaultRate for the command line's online backups), leaving the
	// cores to the requests serve answers meanwhile; 0 goes as fast as the
	// machine allows.
	Rate int64

	// Lower, when set, is called on the thread that then reads, hashes,
	// encrypts and writes the backup, and that ends with that work: it
	// lowers that thread's priority (setpriority on the calling thread),
	// while the rest — above all the write that records the backup in the
	// audit log, which holds the database's write lock — keeps the
	// process's, so serve's writers never wait on a starved backup.
	Lower func() error

	// paceNow and paceSleep replace the pacer's clock in tests.
	paceNow   func() time.Time
	paceSleep func(time.Duration)
}

// Result is a backup written.
type Result struct {
	Manifest Manifest
	// Size and SHA256 are the encrypted file's, as the audit log records
	// them: an operator can tell later which file a record speaks of.
	Size    int64
	SHA256  string
	Skipped []string // files of the data directory not archived (not regular files)
}

// mayBackUp refuses anyone but an operator at the command line or a
// scheduled job: a backup holds every person's data.
func mayBackUp(ctx context.Context) error {
	switch kernel.ActorFrom(ctx).Kind {
	case kernel.ActorOperator, kernel.ActorSystem:
		return nil
	}
	return kernel.E(kernel.Forbidden, "backup.error.operator_only")
}

// hashWriter counts and hashes what passes to w.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *hashWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Create writes a backup to w while the database goes on serving: the
// database as one snapshot saw it, the files of the data directory, and
// the manifest, encrypted to o.Recipients. It records the backup in the
// audit log once it is written.
func Create(ctx context.Context, w io.Writer, o Options) (Result, error) {
	if err := mayBackUp(ctx); err != nil {
		return Result{}, err
	}
	if o.DB == nil || len(o.Recipients) == 0 || o.Clock == nil {
		return Result{}, kernel.E(kernel.Invalid, "backup.error.no_recipient")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	file := &hashWriter{w: w, h: sha256.New()}
	// age writes a chunk (64 KiB) at a time: gather them into 1 MiB writes,
	// unless w is a directFile, which does so itself.
	var out io.Writer = file
	flush := func() error { return nil }
	if _, ok := w.(*directFile); !ok {
		bw := bufio.NewWriterSize(file, 1<<20)
		out, flush = bw, bw.Flush
	}
	aw, err := age.Encrypt(out, o.Recipients...)
	if err != nil {
		return Result{}, kernel.Wrap(err, "backup: encrypt")
	}
	tw := tar.NewWriter(aw)
	pace := newPacer(o.Rate, o.paceNow, o.paceSleep)
	m := Manifest{Format: Format, ID: kernel.NewID(), Created: o.Clock.Now().UTC().Truncate(time.Microsecond),
		Version: o.Version, Dialect: string(o.DB.Dialect())}
	add := func(name string, size int64, mod time.Time, write func(io.Writer) (int64, error)) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600,
			ModTime: mod.Truncate(time.Second), Format: tar.FormatPAX}); err != nil {
			return err
		}
		h := sha256.New()
		var dst io.Writer = io.MultiWriter(tw, h)
		if pace != nil {
			dst = pacedWriter{w: dst, p: pace}
		}
		n, err := write(dst)
		if err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("backup: %s: wrote %d bytes of %d", name, n, size)
		}
		m.Members = append(m.Members, Member{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}

	var skipped []string
	err = onOwnThread(o.Lower, o.Logger, func() error {
		err := o.DB.Snapshot(ctx, func(s *db.Snapshot) error {
			var err error
			if m.Audit, err = findAuditState(ctx, s.Tx); err != nil {
				return err
			}
			if m.Schema, err = findSchema(ctx, s.Tx); err != nil {
				return err
			}
			if o.DB.Dialect() == db.SQLite {
				return add(SQLiteMember, s.Size(), m.Created, func(w io.Writer) (int64, error) { return s.WriteImage(ctx, w) })
			}
			dump, cleanup, err := pgDump(ctx, o, s.ID)
			if err != nil {
				return err
			}
			defer cleanup()
			st, err := dump.Stat()
			if err != nil {
				return err
			}
			return add(PostgresMember, st.Size(), m.Created, func(w io.Writer) (int64, error) { return io.Copy(w, dump) })
		})
		if err != nil {
			return kernel.Wrap(err, "backup: database")
		}
		skipped, err = addDataFiles(ctx, o, add)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if o.KEK != nil {
		if err := m.Seal(o.KEK); err != nil {
			return Result{}, kernel.Wrap(err, "backup: manifest")
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Result{}, kernel.Wrap(err, "backup: manifest")
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Size: int64(len(mb)), Mode: 0o600,
		ModTime: m.Created.Truncate(time.Second), Format: tar.FormatPAX}); err != nil {
		return Result{}, kernel.Wrap(err, "backup: manifest")
	}
	if _, err := tw.Write(mb); err != nil {
		return Result{}, kernel.Wrap(err, "backup: manifest")
	}
	if err := errors.Join(tw.Close(), aw.Close(), flush()); err != nil {
		return Result{}, kernel.Wrap(err, "backup: write")
	}
	res := Result{Manifest: m, Size: file.n, SHA256: hex.EncodeToString(file.h.Sum(nil)), Skipped: skipped}
	if err := record(ctx, o, res); err != nil {
		return res, err
	}
	return res, nil
}

// onOwnThread runs fn on a thread of its own, first lowered by lower, and
// ends that thread with fn: a goroutine that exits locked to its thread
// takes the thread with it (or, when it is the process's main thread,
// which cannot exit, the runtime parks it for good), so the lowered
// priority goes nowhere else; the runtime starts new threads from a
// template thread, never from a locked one. Without lower it runs fn.
func onOwnThread(lower func() error, log *slog.Logger, fn func() error) error {
	if lower == nil {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked
		if err := lower(); err != nil {
			log.Warn("backup: could not lower the priority", slog.Any("err", err))
		}
		done <- fn()
	}()
	return <-done
}

// record writes the backup into the audit log of the database it copied.
func record(ctx context.Context, o Options, r Result) error {
	err := o.DB.Update(ctx, o.Clock.Now(), func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "backup.create", SubjectType: "backup", SubjectID: r.Manifest.ID,
			Details: map[string]any{"file_sha256": r.SHA256, "file_bytes": r.Size, "members": len(r.Manifest.Members),
				"dialect": r.Manifest.Dialect, "audit_head": r.Manifest.Audit.HeadSeq, "checkpoint": r.Manifest.Audit.CheckpointSeq,
				"sealed_manifest": r.Manifest.MAC != ""}})
		return err
	})
	return kernel.Wrap(err, "backup: record")
}

// reservedFiles are the data directory's own files that never go into the
// archive as data: the database (archived through its snapshot) and the
// default key-encryption key.
var reservedFiles = map[string]bool{
	"civitas.db": true, "civitas.db-wal": true, "civitas.db-shm": true, "civitas.db-journal": true, "secret.key": true,
}

// TempSuffix marks files civitas writes before renaming them into place;
// they are never archived.
const TempSuffix = ".civitas-tmp"

// addDataFiles archives the regular files of the data directory in a
// stable order, under DataPrefix.
func addDataFiles(ctx context.Context, o Options, add func(string, int64, time.Time, func(io.Writer) (int64, error)) error) ([]string, error) {
	if o.DataDir == "" {
		return nil, nil
	}
	root, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, kernel.Wrap(err, "backup: data directory")
	}
	exclude := map[string]bool{}
	for _, p := range o.Exclude {
		if p == "" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			exclude[abs] = true
		}
	}
	var skipped []string
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone since it was listed
			}
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if p == root {
			return nil
		}
		if exclude[p] {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			return nil
		}
		if reservedFiles[rel] || strings.HasSuffix(rel, TempSuffix) {
			return nil
		}
		if !e.Type().IsRegular() {
			skipped = append(skipped, rel)
			return nil
		}
		name := DataPrefix + rel
		if CheckName(name) != nil {
			skipped = append(skipped, rel)
			return nil
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return add(name, st.Size(), st.ModTime(), func(w io.Writer) (int64, error) {
			n, err := io.CopyN(w, f, st.Size())
			if errors.Is(err, io.EOF) {
				return n, fmt.Errorf("shrank while it was archived")
			}
			return n, err
		})
	})
	if err != nil {
		return nil, kernel.Wrap(err, "backup: data directory")
	}
	if len(skipped) > 0 {
		o.Logger.Warn("backup: files of the data directory left out (not regular files)", slog.Int("count", len(skipped)))
	}
	return skipped, nil
}
