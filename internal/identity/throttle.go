package identity

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Throttle stops brute force on a guessable secret. Each key (for example
// "password:" + account ID, or "otp:" + account ID) may fail MaxFailures
// times within Window; after that it is locked, for LockFor and then twice
// as long at every further failure (capped at MaxLock). A success clears it.
//
// Keys are stored hashed, so the table says nothing about who tried.
type Throttle struct {
	DB          *db.DB
	Clock       kernel.Clock
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
	MaxLock     time.Duration
}

// DefaultThrottle is the limit for passwords and codes: 5 failures in 15
// minutes lock for 1 minute, doubling up to a day.
func DefaultThrottle(d *db.DB, clock kernel.Clock) *Throttle {
	return &Throttle{DB: d, Clock: clock, MaxFailures: 5, Window: 15 * time.Minute, LockFor: time.Minute, MaxLock: 24 * time.Hour}
}

// lockedError says a key is locked, with the wait in whole seconds.
func lockedError(wait time.Duration) error {
	return kernel.E(kernel.TooManyRequests, "error.identity.locked", int((wait+time.Second-1)/time.Second))
}

func throttleKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

type throttleRow struct {
	failures    int
	first, lock int64
}

func (t *Throttle) read(ctx context.Context, tx *db.Tx, k string) (throttleRow, bool, error) {
	var r throttleRow
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE" // concurrent failures on one key count one after another
	}
	err := tx.QueryRow(ctx, "SELECT failures, first_failure_at, locked_until FROM auth_throttle WHERE key = ?"+lock, k).Scan(&r.failures, &r.first, &r.lock)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, kernel.Wrap(err, "identity: read throttle")
	}
	return r, true, nil
}

// Allow returns a TooManyRequests error while key is locked. Call it before
// checking the secret, so a locked key costs no hashing.
func (t *Throttle) Allow(ctx context.Context, key string) error {
	var locked int64
	err := t.DB.QueryRow(ctx, "SELECT locked_until FROM auth_throttle WHERE key = ?", throttleKey(key)).Scan(&locked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return kernel.Wrap(err, "identity: read throttle")
	}
	if now := kernel.Micros(t.Clock.Now()); locked > now {
		return lockedError(time.Duration(locked-now) * time.Microsecond)
	}
	return nil
}

// Fail records a failed guess in tx and returns a TooManyRequests error when
// this failure locks the key. Recording inside the caller's transaction keeps
// the failure and its audit record together.
func (t *Throttle) Fail(ctx context.Context, tx *db.Tx, key string) error {
	k, now := throttleKey(key), tx.Now
	r, found, err := t.read(ctx, tx, k)
	if err != nil {
		return err
	}
	nowUS := kernel.Micros(now)
	if !found || (r.lock <= nowUS && nowUS-r.first > t.Window.Microseconds() && r.failures < t.MaxFailures) {
		// First failure, or an old window that never reached the limit: start again.
		r = throttleRow{first: nowUS}
	}
	r.failures++
	var lockErr error
	if r.failures >= t.MaxFailures {
		wait := t.LockFor << min(r.failures-t.MaxFailures, 20)
		if wait > t.MaxLock || wait <= 0 {
			wait = t.MaxLock
		}
		r.lock = kernel.Micros(now.Add(wait))
		lockErr = lockedError(wait)
	}
	if found {
		_, err = tx.Exec(ctx, "UPDATE auth_throttle SET failures = ?, first_failure_at = ?, locked_until = ? WHERE key = ?", r.failures, r.first, r.lock, k)
	} else {
		// Two first failures at once both find no row: the second counts on top.
		_, err = tx.Exec(ctx, `INSERT INTO auth_throttle (key, failures, first_failure_at, locked_until) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = auth_throttle.failures + 1`, k, r.failures, r.first, r.lock)
	}
	if err != nil {
		return kernel.Wrap(err, "identity: record failure")
	}
	return lockErr
}

// Succeed clears key's failures after a correct guess.
func (t *Throttle) Succeed(ctx context.Context, tx *db.Tx, key string) error {
	if _, err := tx.Exec(ctx, "DELETE FROM auth_throttle WHERE key = ?", throttleKey(key)); err != nil {
		return kernel.Wrap(err, "identity: clear throttle")
	}
	return nil
}

// Cleanup deletes entries that neither lock nor count any more; a background
// job calls it.
func (t *Throttle) Cleanup(ctx context.Context) (int64, error) {
	now := t.Clock.Now()
	res, err := t.DB.WritePool().ExecContext(ctx, t.DB.Rebind("DELETE FROM auth_throttle WHERE locked_until < ? AND first_failure_at < ?"),
		kernel.Micros(now), kernel.Micros(now.Add(-t.MaxLock-t.Window)))
	if err != nil {
		return 0, kernel.Wrap(err, "identity: clean throttle")
	}
	return res.RowsAffected()
}
