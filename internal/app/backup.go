package app

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"strconv"

	"civitas/internal/backup"
	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/sealed"
)

// backupCheckpoints checks a restored database's signed checkpoints with
// the trust services' verifier, which needs only public certificates.
type backupCheckpoints struct{}

var _ backup.Checkpoints = backupCheckpoints{}

// BackupCheckpoints is what a restore proves the checkpoints with.
func BackupCheckpoints() backup.Checkpoints { return backupCheckpoints{} }

func (backupCheckpoints) VerifyCheckpoints(ctx context.Context, d *db.DB) (int64, int64, string, error) {
	rep, err := pki.VerifyCheckpoints(ctx, d)
	if err != nil {
		return 0, 0, "", err
	}
	problem := ""
	if rep.Problem != "" {
		problem = "checkpoint " + strconv.FormatInt(rep.FirstBad, 10) + ": " + rep.Problem
	}
	return int64(rep.Checkpoints), int64(rep.Stamped), problem, nil
}

// BackupKEK reads the key-encryption key a backup's manifest is sealed
// with: the --key-file, or DATA/secret.key when it exists (never created
// here). nil without one: the backup is made, unsealed, and says so.
func BackupKEK(cfg config.Config, log *slog.Logger) ([]byte, string, error) {
	path := keyFile(cfg)
	key, _, err := sealed.LoadOrCreateKeyFile(path, false)
	if err != nil {
		if cfg.KeyFile == "" && errors.Is(err, fs.ErrNotExist) {
			log.Warn("no key-encryption key at hand: the backup's manifest is not sealed")
			return nil, "", nil
		}
		return nil, "", kernel.E(kernel.Invalid, "error.app.key_file").WithCause(err)
	}
	return key, path, nil
}

// BackupKEKFile reads a key-encryption key file, to check a backup's
// manifest with it.
func BackupKEKFile(path string) ([]byte, string, error) {
	key, _, err := sealed.LoadOrCreateKeyFile(path, false)
	if err != nil {
		return nil, "", kernel.E(kernel.Invalid, "error.app.key_file").WithCause(err)
	}
	return key, path, nil
}
