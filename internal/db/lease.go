package db

import (
	"context"
	"fmt"
	"time"

	"civitas/internal/kernel"
)

// AcquireLease takes or renews the lease called name for holder until now+ttl.
// It succeeds when nobody holds the lease, the holder's own lease is renewed,
// or another holder's lease has expired. One statement does it, so two
// instances can never both succeed for the same period.
//
// Times come from the callers' clocks; instances are expected to keep them
// within a small fraction of ttl of each other (NTP).
func (d *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := d.write.ExecContext(ctx, d.Rebind(`
		INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`),
		name, holder, kernel.Micros(now.Add(ttl)), kernel.Micros(now))
	if err != nil {
		return false, fmt.Errorf("db: acquire lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("db: acquire lease %s: %w", name, err)
	}
	return n > 0, nil
}

// ReleaseLease gives the lease up early if holder still holds it, by making it
// expire at now.
func (d *DB) ReleaseLease(ctx context.Context, name, holder string, now time.Time) error {
	_, err := d.write.ExecContext(ctx, d.Rebind(`UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?`),
		kernel.Micros(now), name, holder)
	if err != nil {
		return fmt.Errorf("db: release lease %s: %w", name, err)
	}
	return nil
}
