package backup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// WriteFile writes a backup to path: into path+TempSuffix first, synced,
// then renamed, so a file at path is always a whole backup. It writes
// around the page cache where it can (directFile).
func WriteFile(ctx context.Context, path string, o Options) (Result, error) {
	tmp := path + TempSuffix
	f, direct, err := openDirect(tmp)
	if err != nil {
		return Result{}, kernel.Wrap(err, "backup: create %s", filepath.Base(path))
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			_ = os.Remove(tmp)
		}
	}()
	o.Exclude = append(o.Exclude, path, tmp)
	df := newDirectFile(f, direct)
	res, err := Create(ctx, df, o)
	if err != nil {
		return res, err
	}
	if err := df.Close(); err != nil {
		return res, kernel.Wrap(err, "backup: write")
	}
	if err := f.Close(); err != nil {
		return res, kernel.Wrap(err, "backup: close")
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, kernel.Wrap(err, "backup: rename")
	}
	ok = true
	return res, nil
}

// Schedule keeps a directory of backups: one every Every (at most one per
// period among all the instances sharing the database), the newest Keep.
type Schedule struct {
	Dir   string
	Keep  int
	Every time.Duration
}

// scheduleLease is the database lease a scheduled backup takes.
const scheduleLease = "job:backup.scheduled"

// fileName is a scheduled backup's name: its time, so names sort as times.
func fileName(t time.Time) string {
	return "civitas-" + t.UTC().Format("20060102T150405Z") + ".age"
}

// RunScheduled makes the period's backup into s.Dir unless another
// instance made it (the lease, taken for the whole period by a holder that
// never renews it, is the record of that), then keeps the newest s.Keep.
// It returns the file written, or "" when the period's backup was made.
func RunScheduled(ctx context.Context, o Options, s Schedule) (string, Result, error) {
	if err := mayBackUp(ctx); err != nil {
		return "", Result{}, err
	}
	if s.Dir == "" || s.Keep < 1 || s.Every <= 0 {
		return "", Result{}, kernel.E(kernel.Invalid, "backup.error.schedule")
	}
	now := o.Clock.Now()
	holder := "backup/" + kernel.NewID()
	ok, err := o.DB.AcquireLease(ctx, scheduleLease, holder, now, s.Every)
	if err != nil || !ok {
		return "", Result{}, err
	}
	path, res, err := scheduled(ctx, o, s, now)
	if err != nil {
		// The period's backup is not made: let the next look try again.
		_ = o.DB.ReleaseLease(context.WithoutCancel(ctx), scheduleLease, holder, o.Clock.Now())
	}
	return path, res, err
}

func scheduled(ctx context.Context, o Options, s Schedule, now time.Time) (string, Result, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", Result{}, kernel.Wrap(err, "backup: directory")
	}
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return "", Result{}, kernel.Wrap(err, "backup: directory")
	}
	o.Exclude = append(o.Exclude, dir)
	path := filepath.Join(dir, fileName(now))
	res, err := WriteFile(ctx, path, o)
	if err != nil {
		return "", res, err
	}
	return path, res, prune(dir, s.Keep, o.Logger)
}

// prune removes scheduled backups beyond the newest keep.
func prune(dir string, keep int, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return kernel.Wrap(err, "backup: prune")
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, "civitas-") && strings.HasSuffix(n, ".age") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return kernel.Wrap(err, "backup: prune")
		}
		if log != nil {
			log.Info("backup: removed past retention", slog.String("file", names[0]))
		}
		names = names[1:]
	}
	return nil
}

// Every runs RunScheduled until ctx ends, looking a few times a period so
// that the instance that finds the lease free makes the period's backup.
func Every(ctx context.Context, o Options, s Schedule) error {
	look := min(max(s.Every/8, time.Second), time.Minute)
	t := time.NewTicker(look)
	defer t.Stop()
	for {
		path, res, err := RunScheduled(ctx, o, s)
		switch {
		case err != nil && ctx.Err() == nil:
			o.Logger.Error("scheduled backup failed", slog.Any("err", err))
		case path != "":
			o.Logger.Info("scheduled backup written", slog.String("file", filepath.Base(path)),
				slog.String("size", fmt.Sprint(res.Size)), slog.String("sha256", res.SHA256))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
