package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"civitas/internal/kernel"
)

// libpqTarget splits a PostgreSQL URL into what pg_dump and pg_restore are
// given on their command line (the URL without its password, which every
// user of the machine could read in the process list) and their
// environment (the password as PGPASSWORD).
func libpqTarget(dsn string) (conn string, env []string, err error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, kernel.E(kernel.Invalid, "error.db.bad_dsn")
	}
	env = os.Environ()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	return u.String(), env, nil
}

// run runs a PostgreSQL client program and says what went wrong with the
// tail of its standard error (which names tables, never rows).
func run(ctx context.Context, program string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return kernel.E(kernel.Unavailable, "backup.error.no_program", program)
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s: %w: %s", filepath.Base(program), err, msg)
	}
	return nil
}

// pgDump dumps the database at the exported snapshot, in pg_dump's custom
// format, into a private temporary file; cleanup removes it.
func pgDump(ctx context.Context, o Options, snapshot string) (*os.File, func(), error) {
	program := o.PGDump
	if program == "" {
		program = "pg_dump"
	}
	conn, env, err := libpqTarget(o.DSN)
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp(o.TempDir, "civitas-pgdump-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	path := filepath.Join(dir, "postgres.dump")
	if err := run(ctx, program, env, "--format=custom", "--no-password", "--snapshot="+snapshot, "--file="+path, "--dbname="+conn); err != nil {
		cleanup()
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return f, func() { f.Close(); cleanup() }, nil
}

// pgRestore restores a custom-format dump into the (empty) database at dsn,
// all or nothing.
func pgRestore(ctx context.Context, program, dsn, path string) error {
	if program == "" {
		program = "pg_restore"
	}
	conn, env, err := libpqTarget(dsn)
	if err != nil {
		return err
	}
	return run(ctx, program, env, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password",
		"--dbname="+conn, path)
}

// pgList checks that pg_restore reads a dump's table of contents.
func pgList(ctx context.Context, program, path string) error {
	if program == "" {
		program = "pg_restore"
	}
	return run(ctx, program, os.Environ(), "--list", path)
}
