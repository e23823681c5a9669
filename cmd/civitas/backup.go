package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"

	"civitas/internal/app"
	"civitas/internal/backup"
	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// backupFlags are the flags of backup and restore.
type backupFlags struct {
	recipients     []string
	recipientsFile string
	out, outDir    string
	keep           int
	every          time.Duration
	in, identity   string
	scratch        string
	check          bool
	pgDump         string
	pgRestore      string
	rate           float64 // MB/s
	nice           int
}

func (f *backupFlags) bindIn(fs *flag.FlagSet) {
	fs.StringVar(&f.in, "in", "", "the backup `FILE` to read (- for standard input)")
	fs.StringVar(&f.identity, "identity", "", "age identity `FILE` (age-keygen's output) that opens the backup")
	fs.StringVar(&f.pgRestore, "pg-restore", "pg_restore", "pg_restore `program` for PostgreSQL backups")
}

func backupCommand() command {
	var f backupFlags
	return command{
		name: "backup",
		usage: "civitas backup [--data DIR] [--db DSN] --recipient AGE_PUBLIC_KEY (--out FILE | --out-dir DIR [--keep N] [--every DURATION]) [--rate MB/s] [--nice N]\n" +
			"       civitas backup verify --in FILE --identity AGE_KEY_FILE [--key-file FILE] [--db EMPTY_SCRATCH_DSN] [--scratch DIR]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			fs.Func("recipient", "age `recipient` (age1..., from age-keygen -y) the backup is encrypted to; repeatable", func(v string) error {
				f.recipients = append(f.recipients, v)
				return nil
			})
			fs.StringVar(&f.recipientsFile, "recipients-file", "", "`FILE` of age recipients, one a line (# comments)")
			fs.StringVar(&f.out, "out", "", "the backup `FILE` to write (- for standard output)")
			fs.StringVar(&f.outDir, "out-dir", "", "scheduled backups: the `DIR` of civitas-TIME.age files, one a period among all instances")
			fs.IntVar(&f.keep, "keep", 7, "scheduled backups: how many to keep")
			fs.DurationVar(&f.every, "every", 0, "scheduled backups: make one every `DURATION` (e.g. 24h) until stopped; 0 makes the period's one and exits")
			fs.StringVar(&f.pgDump, "pg-dump", "pg_dump", "pg_dump `program` for PostgreSQL")
			fs.Float64Var(&f.rate, "rate", backup.DefaultRate/1e6, "pace the backup to this many `MB/s` of data, leaving the cores to serve's requests; 0 goes as fast as it can")
			fs.IntVar(&f.nice, "nice", 19, "read, encrypt and write the backup at this `nice` value, on one core (0-19; 0 leaves the priority and the cores as they are)")
			fs.StringVar(&f.scratch, "scratch", "", "verify: the `DIR` for the scratch restore (default the system's temporary directory)")
			f.bindIn(fs)
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, stderr io.Writer) error {
			switch {
			case len(args) == 0:
				return runBackup(ctx, c, f, stdout, stderr)
			case len(args) == 1 && args[0] == "verify":
				return runBackupVerify(ctx, c, f, stdout)
			}
			return usageError("expected: civitas backup [flags] | civitas backup verify --in FILE --identity FILE")
		},
	}
}

func restoreCommand() command {
	var f backupFlags
	return command{
		name:  "restore",
		usage: "civitas restore --in FILE --identity AGE_KEY_FILE --data NEWDIR [--db EMPTY_DSN] [--key-file FILE] [--check]",
		bind: func(fs *flag.FlagSet, c *config.Config) {
			c.BindStorage(fs)
			f.bindIn(fs)
			fs.BoolVar(&f.check, "check", false, "also run SQLite's integrity_check on the restored database (reads every page)")
		},
		run: func(ctx context.Context, c config.Config, args []string, stdout, _ io.Writer) error {
			if len(args) != 0 {
				return usageError("restore takes no arguments")
			}
			return runRestore(ctx, c, f, stdout)
		},
	}
}

// readRecipients gathers the recipients of --recipient and --recipients-file.
func readRecipients(f backupFlags) ([]age.Recipient, error) {
	var rs []age.Recipient
	for _, s := range f.recipients {
		r, err := age.ParseX25519Recipient(strings.TrimSpace(s))
		if err != nil {
			return nil, usageError("--recipient: " + err.Error())
		}
		rs = append(rs, r)
	}
	if f.recipientsFile != "" {
		file, err := os.Open(f.recipientsFile)
		if err != nil {
			return nil, fmt.Errorf("--recipients-file: %w", err)
		}
		defer file.Close()
		more, err := age.ParseRecipients(file)
		if err != nil {
			return nil, fmt.Errorf("--recipients-file: %w", err)
		}
		rs = append(rs, more...)
	}
	if len(rs) == 0 {
		return nil, usageError("give --recipient (an age public key, age1...) or --recipients-file")
	}
	return rs, nil
}

// readIdentities reads an age identity file.
func readIdentities(path string) ([]age.Identity, error) {
	if path == "" {
		return nil, usageError("--identity is required: the age identity file that opens the backup")
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--identity: %w", err)
	}
	defer file.Close()
	ids, err := age.ParseIdentities(file)
	if err != nil {
		return nil, fmt.Errorf("--identity: %w", err)
	}
	return ids, nil
}

// openIn opens --in.
func openIn(in string) (io.Reader, func(), error) {
	if in == "" {
		return nil, nil, usageError("--in is required")
	}
	if in == "-" {
		return bufio.NewReaderSize(os.Stdin, 1<<20), func() {}, nil
	}
	file, err := os.Open(in)
	if err != nil {
		return nil, nil, fmt.Errorf("--in: %w", err)
	}
	return bufio.NewReaderSize(file, 1<<20), func() { file.Close() }, nil
}

func runBackup(ctx context.Context, c config.Config, f backupFlags, stdout, stderr io.Writer) error {
	if (f.out == "") == (f.outDir == "") {
		return usageError("give one of --out FILE and --out-dir DIR")
	}
	if f.rate < 0 || f.nice < 0 || f.nice > 19 {
		return usageError("--rate must be 0 or more, --nice between 0 and 19")
	}
	rs, err := readRecipients(f)
	if err != nil {
		return err
	}
	log := c.Logger(os.Stderr)
	if c.DB == "" {
		if _, err := os.Stat(filepath.Join(c.DataDir, db.SQLiteFile)); err != nil {
			return fmt.Errorf("no database to back up in %s: %w", c.DataDir, err)
		}
	}
	// Opened, not migrated: the backup is of the database as serve left it.
	d, err := db.Open(ctx, db.Options{DSN: c.DB, DataDir: c.DataDir})
	if err != nil {
		return err
	}
	defer d.Close()
	kek, kekPath, err := app.BackupKEK(c, log)
	if err != nil {
		return err
	}
	o := backup.Options{DB: d, DSN: c.DB, DataDir: c.DataDir, Exclude: []string{kekPath}, Recipients: rs, KEK: kek,
		Version: app.Version, Clock: kernel.SystemClock{}, PGDump: f.pgDump, Logger: log, Rate: int64(f.rate * 1e6)}
	if f.nice > 0 {
		// An online backup yields to serve: one core at most (the work is
		// one stream; this keeps the garbage collector's helpers on the
		// same core), the stream at a low priority.
		oneCore()
		o.Lower = func() error { return lowerThread(f.nice) }
	}
	if f.outDir != "" {
		o.TempDir = f.outDir
		if f.keep < 1 {
			return usageError("--keep must be at least 1")
		}
		s := backup.Schedule{Dir: f.outDir, Keep: f.keep, Every: f.every}
		if f.every > 0 {
			ctx = kernel.WithActor(ctx, kernel.System("backup.scheduled"))
			return backup.Every(ctx, o, s)
		}
		// One run (from cron or a systemd timer on each machine): the lease
		// keeps the other machines' runs within the hour from doubling it.
		s.Every = time.Hour
		start := time.Now()
		path, res, err := backup.RunScheduled(ctx, o, s)
		if err != nil {
			return err
		}
		if path == "" {
			fmt.Fprintln(stdout, "this period's backup was made already (another run holds the lease)")
			return nil
		}
		report(stdout, path, res, kekPath, time.Since(start))
		return nil
	}
	start := time.Now()
	var res backup.Result
	if f.out == "-" {
		res, err = backup.Create(ctx, stdout, o)
		stdout = stderr
	} else {
		if dir := filepath.Dir(f.out); dir != "" {
			o.TempDir = dir
		}
		res, err = backup.WriteFile(ctx, f.out, o)
	}
	if err != nil {
		return err
	}
	report(stdout, f.out, res, kekPath, time.Since(start))
	return nil
}

// oneCore keeps an online backup's process on one core unless the
// environment sets GOMAXPROCS; the tests, which run the command inside
// their own process, replace it.
var oneCore = func() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// report says what a backup holds and how to keep the key apart.
func report(w io.Writer, path string, res backup.Result, kekPath string, took time.Duration) {
	m := res.Manifest
	fmt.Fprintf(w, "backup %s written to %s: %d members, %s of data (%s encrypted) in %s (%.0f MB/s)\n",
		m.ID, path, len(m.Members), size(m.Size()), size(res.Size), took.Round(time.Millisecond), float64(m.Size())/1e6/max(took.Seconds(), 1e-9))
	fmt.Fprintf(w, "  %s database, schema %s; audit head %d; newest signed checkpoint %d\n", m.Dialect, m.Schema, m.Audit.HeadSeq, m.Audit.CheckpointSeq)
	fmt.Fprintf(w, "  file sha256 %s (recorded in the audit log)\n", res.SHA256)
	if m.MAC != "" {
		fmt.Fprintf(w, "  manifest sealed with the key-encryption key %s (%s), which is NOT in the backup: keep a copy of it apart from the backups\n", m.KEKID, kekPath)
	} else {
		fmt.Fprintln(w, "  manifest not sealed: no key-encryption key at hand (give --key-file)")
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(w, "  left out (not a regular file): %s\n", s)
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// restoreKEK reads --key-file when given, to check the manifest's MAC.
func restoreKEK(c config.Config) ([]byte, error) {
	if c.KeyFile == "" {
		return nil, nil
	}
	key, _, err := app.BackupKEKFile(c.KeyFile)
	return key, err
}

func runBackupVerify(ctx context.Context, c config.Config, f backupFlags, stdout io.Writer) error {
	ids, err := readIdentities(f.identity)
	if err != nil {
		return err
	}
	in, closeIn, err := openIn(f.in)
	if err != nil {
		return err
	}
	defer closeIn()
	kek, err := restoreKEK(c)
	if err != nil {
		return err
	}
	start := time.Now()
	m, p, err := backup.Drill(ctx, in, ids, backup.Target{DataDir: f.scratch, DSN: c.DB, KEK: kek,
		Checkpoints: app.BackupCheckpoints(), PGRestore: f.pgRestore})
	if err != nil {
		return fmt.Errorf("backup %s is NOT sound: %s", f.in, message(err))
	}
	fmt.Fprintf(stdout, "backup %s (%s) is intact: %d members, %s, every SHA-256 as its manifest says; restore drill passed in %s\n",
		f.in, m.ID, len(m.Members), size(m.Size()), time.Since(start).Round(time.Millisecond))
	proof(stdout, m, p, c.DB != "" || m.Dialect == "sqlite")
	return nil
}

// proof says what a restore proved.
func proof(w io.Writer, m backup.Manifest, p backup.Proof, restored bool) {
	if restored {
		fmt.Fprintf(w, "  audit log intact: %d records, ending at head %d %s as the backup recorded; %d signed checkpoints verified (%d time-stamped), the newest sealing %d\n",
			p.Records, m.Audit.HeadSeq, m.Audit.HeadHash, p.Checkpoints, p.Stamped, m.Audit.CheckpointSeq)
	} else {
		fmt.Fprintln(w, "  PostgreSQL dump read by pg_restore --list; give --db with an empty scratch database to restore and prove it")
	}
	if p.Integrity {
		fmt.Fprintln(w, "  SQLite integrity_check: ok")
	}
	switch {
	case p.MAC:
		fmt.Fprintf(w, "  manifest MAC checked: made with key-encryption key %s\n", m.KEKID)
	case m.MAC != "":
		fmt.Fprintf(w, "  manifest MAC not checked: give --key-file (the key-encryption key %s) to check who made it\n", m.KEKID)
	default:
		fmt.Fprintln(w, "  the manifest is not sealed (made without the key-encryption key)")
	}
}

func runRestore(ctx context.Context, c config.Config, f backupFlags, stdout io.Writer) error {
	ids, err := readIdentities(f.identity)
	if err != nil {
		return err
	}
	in, closeIn, err := openIn(f.in)
	if err != nil {
		return err
	}
	defer closeIn()
	kek, err := restoreKEK(c)
	if err != nil {
		return err
	}
	start := time.Now()
	m, p, err := backup.Restore(ctx, in, ids, backup.Target{DataDir: c.DataDir, DSN: c.DB, KEK: kek, Integrity: f.check,
		Checkpoints: app.BackupCheckpoints(), PGRestore: f.pgRestore})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("restore refused: %s", message(err))
	}
	where := c.DataDir
	if c.DB != "" {
		where += " and the PostgreSQL database"
	}
	fmt.Fprintf(stdout, "restored backup %s (%s, made %s by civitas %s) into %s: %d members, %s in %s\n",
		m.ID, m.Dialect, m.Created.Format(time.RFC3339), m.Version, where, len(m.Members), size(m.Size()), time.Since(start).Round(time.Millisecond))
	proof(stdout, m, p, true)
	if m.KEKID != "" {
		fmt.Fprintf(stdout, "next: civitas serve --data %s --key-file FILE, with FILE the key-encryption key %s (not in the backup)\n", c.DataDir, m.KEKID)
	} else {
		fmt.Fprintf(stdout, "next: civitas serve --data %s --key-file FILE, with FILE the key-encryption key of the province (not in the backup)\n", c.DataDir)
	}
	return nil
}
