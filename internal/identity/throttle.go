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
// With Forgive, a key is a budget per window instead: once its lock has
// ended and Window has passed since its first failure, the count starts
// again rather than the next lock doubling.
//
// Keys are stored hashed, so the table says nothing about who tried.
type Throttle struct {
	DB          *db.DB
	Clock       kernel.Clock
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
	MaxLock     time.Duration
	Forgive     bool
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
func (t *Throttle) Allow(ctx context.Context, key string) error { return t.allow(ctx, key) }

// allow is Allow for several keys at once: the error has the longest wait.
func (t *Throttle) allow(ctx context.Context, keys ...string) error {
	locks, err := t.locks(ctx, keys...)
	if err != nil {
		return err
	}
	var wait time.Duration
	for _, w := range locks {
		wait = max(wait, w)
	}
	if wait > 0 {
		return lockedError(wait)
	}
	return nil
}

// locks returns how long each of keys stays locked (absent: not locked), in
// one read.
func (t *Throttle) locks(ctx context.Context, keys ...string) (map[string]time.Duration, error) {
	hashed := make([]string, len(keys))
	for i, k := range keys {
		hashed[i] = throttleKey(k)
	}
	var until map[string]int64
	err := t.DB.View(ctx, func(tx *db.Tx) (err error) {
		until, err = findThrottleLocks(ctx, tx, hashed)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "identity: read throttle")
	}
	now := kernel.Micros(t.Clock.Now())
	out := make(map[string]time.Duration, len(keys))
	for i, k := range keys {
		if u := until[hashed[i]]; u > now {
			out[k] = time.Duration(u-now) * time.Microsecond
		}
	}
	return out, nil
}

// Fail records a failed guess in tx and returns a TooManyRequests error when
// this failure locks the key. Recording inside the caller's transaction keeps
// the failure and its audit record together.
func (t *Throttle) Fail(ctx context.Context, tx *db.Tx, key string) error {
	f, err := t.fail(ctx, tx, key)
	if err != nil {
		return err
	}
	if f.lock > 0 {
		return lockedError(f.lock)
	}
	return nil
}

// failure is what one failed guess did to a key.
type failure struct {
	count int           // failures of the key in its window, this one included
	lock  time.Duration // how long this failure locks the key; 0 for no lock
}

// fail records a failed guess of key in tx.
func (t *Throttle) fail(ctx context.Context, tx *db.Tx, key string) (failure, error) {
	k, now := throttleKey(key), tx.Now
	r, found, err := findThrottle(ctx, tx, k, true)
	if err != nil {
		return failure{}, kernel.Wrap(err, "identity: read throttle")
	}
	nowUS := kernel.Micros(now)
	if !found || (r.lock <= nowUS && nowUS-r.first > t.Window.Microseconds() && (t.Forgive || r.failures < t.MaxFailures)) {
		// First failure, or an old window that never reached the limit (or
		// whose lock is over, for a budget): start again.
		r = throttleRow{first: nowUS}
	}
	r.failures++
	f := failure{count: r.failures}
	if r.failures >= t.MaxFailures {
		wait := t.LockFor << min(r.failures-t.MaxFailures, 20)
		if wait > t.MaxLock || wait <= 0 {
			wait = t.MaxLock
		}
		r.lock = kernel.Micros(now.Add(wait))
		f.lock = wait
	}
	if found {
		err = updateThrottle(ctx, tx, k, r)
	} else {
		err = insertThrottle(ctx, tx, k, r)
	}
	if err != nil {
		return failure{}, kernel.Wrap(err, "identity: record failure")
	}
	return f, nil
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
