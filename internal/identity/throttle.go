package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// Allow returns a TooManyRequests error while key is locked. Call it before
// checking the secret, so a locked key costs no hashing.
func (t *Throttle) Allow(ctx context.Context, key string) error {
	k := throttleKey(key)
	var locks map[string]int64
	err := t.DB.View(ctx, func(tx *db.Tx) (err error) {
		locks, err = findThrottleLocks(ctx, tx, []string{k})
		return err
	})
	if err != nil {
		return kernel.Wrap(err, "identity: read throttle")
	}
	if locked, now := locks[k], kernel.Micros(t.Clock.Now()); locked > now {
		return lockedError(time.Duration(locked-now) * time.Microsecond)
	}
	return nil
}

// Fail records a failed guess in tx and returns a TooManyRequests error when
// this failure locks the key. Recording inside the caller's transaction keeps
// the failure and its audit record together.
func (t *Throttle) Fail(ctx context.Context, tx *db.Tx, key string) error {
	k, now := throttleKey(key), tx.Now
	r, found, err := findThrottle(ctx, tx, k, true)
	if err != nil {
		return kernel.Wrap(err, "identity: read throttle")
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
		err = updateThrottle(ctx, tx, k, r)
	} else {
		err = insertThrottle(ctx, tx, k, r)
	}
	if err != nil {
		return kernel.Wrap(err, "identity: record failure")
	}
	return lockErr
}

// Succeed clears key's failures after a correct guess.
func (t *Throttle) Succeed(ctx context.Context, tx *db.Tx, key string) error {
	if err := deleteThrottle(ctx, tx, throttleKey(key)); err != nil {
		return kernel.Wrap(err, "identity: clear throttle")
	}
	return nil
}

// Cleanup deletes entries that neither lock nor count any more; a background
// job calls it.
func (t *Throttle) Cleanup(ctx context.Context) (int64, error) {
	now := t.Clock.Now()
	var n int64
	err := t.DB.Update(ctx, now, func(tx *db.Tx) (err error) {
		n, err = deleteStaleThrottles(ctx, tx, kernel.Micros(now), kernel.Micros(now.Add(-t.MaxLock-t.Window)))
		return err
	})
	if err != nil {
		return 0, kernel.Wrap(err, "identity: clean throttle")
	}
	return n, nil
}
