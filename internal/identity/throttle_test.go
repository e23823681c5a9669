package identity

import (
	"context"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
)

func TestThrottleLocksAndDoubles(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clock := kernel.NewManualClock(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	th := DefaultThrottle(d, clock)
	fail := func() error {
		var lockErr error
		err := d.Update(ctx, clock.Now(), func(tx *db.Tx) error {
			lockErr = th.Fail(ctx, tx, "password:acc1")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return lockErr
	}
	for i := 1; i < 5; i++ {
		if err := fail(); err != nil {
			t.Fatalf("failure %d locked already: %v", i, err)
		}
		if err := th.Allow(ctx, "password:acc1"); err != nil {
			t.Fatalf("allowed check after %d failures: %v", i, err)
		}
	}
	if err := fail(); kernel.ErrorCode(err) != kernel.TooManyRequests {
		t.Fatalf("fifth failure: %v, want a lock", err)
	}
	if err := th.Allow(ctx, "password:acc1"); kernel.ErrorCode(err) != kernel.TooManyRequests {
		t.Fatalf("locked key allowed: %v", err)
	}
	if err := th.Allow(ctx, "password:acc2"); err != nil {
		t.Fatalf("another account locked too: %v", err)
	}
	clock.Advance(61 * time.Second)
	if err := th.Allow(ctx, "password:acc1"); err != nil {
		t.Fatalf("lock did not end after a minute: %v", err)
	}
	// The next failure locks for twice as long.
	if err := fail(); kernel.ErrorCode(err) != kernel.TooManyRequests {
		t.Fatalf("failure after the lock: %v", err)
	}
	clock.Advance(61 * time.Second)
	if err := th.Allow(ctx, "password:acc1"); kernel.ErrorCode(err) != kernel.TooManyRequests {
		t.Fatalf("second lock shorter than two minutes: %v", err)
	}
	clock.Advance(60 * time.Second)
	if err := th.Allow(ctx, "password:acc1"); err != nil {
		t.Fatalf("second lock longer than two minutes: %v", err)
	}
	// Success clears everything.
	if err := d.Update(ctx, clock.Now(), func(tx *db.Tx) error { return th.Succeed(ctx, tx, "password:acc1") }); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 5; i++ {
		if err := fail(); err != nil {
			t.Fatalf("after success, failure %d locked: %v", i, err)
		}
	}
}

func TestThrottleWindowForgetsOldFailures(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clock := kernel.NewManualClock(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	th := DefaultThrottle(d, clock)
	for range 4 {
		if err := d.Update(ctx, clock.Now(), func(tx *db.Tx) error { return th.Fail(ctx, tx, "otp:a") }); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(16 * time.Minute)
	if err := d.Update(ctx, clock.Now(), func(tx *db.Tx) error { return th.Fail(ctx, tx, "otp:a") }); err != nil {
		t.Fatalf("a failure after the window counted old ones: %v", err)
	}
	clock.Advance(25 * time.Hour)
	n, err := th.Cleanup(ctx)
	if err != nil || n != 1 {
		t.Fatalf("cleanup = %d, %v", n, err)
	}
}

func TestThrottleStoresNoIdentifiers(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	th := DefaultThrottle(d, kernel.SystemClock{})
	if err := d.Update(ctx, time.Now(), func(tx *db.Tx) error { return th.Fail(ctx, tx, "password:099085123456") }); err != nil {
		t.Fatal(err)
	}
	var k string
	if err := d.QueryRow(ctx, "SELECT key FROM auth_throttle").Scan(&k); err != nil {
		t.Fatal(err)
	}
	if len(k) != 64 || k == "password:099085123456" {
		t.Fatalf("stored key %q", k)
	}
}

func TestThrottleConcurrentFailuresAllCount(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	th := DefaultThrottle(d, kernel.SystemClock{})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			errs <- d.Update(ctx, time.Now(), func(tx *db.Tx) error {
				if err := th.Fail(ctx, tx, "pin:x"); kernel.ErrorCode(err) != kernel.TooManyRequests {
					return err
				}
				return nil
			})
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT failures FROM auth_throttle").Scan(&n); err != nil || n != 8 {
		t.Fatalf("failures = %d, %v; want 8", n, err)
	}
	if err := th.Allow(ctx, "pin:x"); kernel.ErrorCode(err) != kernel.TooManyRequests {
		t.Fatalf("not locked after 8 concurrent failures: %v", err)
	}
}
