package db

import (
	"context"
	"fmt"
	"time"
)

// maxBatch bounds how many calls share one transaction, so one commit never
// holds the writer long.
const maxBatch = 128

// batchSpacing is the least time between the starts of two group commits
// while calls queue up (kernel.Coalescer's Spacing). Without it a writer
// that keeps up commits every one or two calls — at 2,000 reports a second
// 2.5 calls a commit, each commit writing the same hot index leaves to the
// WAL again — and the WAL, then the checkpoint that copies it back and
// fsyncs, carry several times the pages. 2 ms adds at most 2 ms to a call
// made under load and nothing to a lone one.
const batchSpacing = 2 * time.Millisecond

// batchCall is one Batch call waiting for, or running in, a shared
// transaction.
type batchCall struct {
	ctx   context.Context
	now   time.Time
	fn    func(*Tx) error
	err   error
	panic any
}

// Batch runs fn in a write transaction like Update, but on SQLite it may
// share that transaction with other concurrent Batch calls (group commit):
// while one transaction runs, the calls that arrive queue up and the next
// transaction runs them all, each inside its own savepoint, and commits once.
// Under load the single writer then spends its time on the statements
// rather than on one commit per request.
//
// Each call still succeeds or fails alone: an error from fn rolls back only
// that call's savepoint. When the commit itself fails every call of the batch
// gets the error. fn must not wait for another transaction (the writer is
// held) and must use only tx for the database. Cancelling ctx stops a call
// that has not started; a call that has started runs to its end, since
// interrupting one statement would roll back the whole shared transaction.
//
// PostgreSQL commits concurrent transactions in groups itself, so there
// Batch is Update.
func (d *DB) Batch(ctx context.Context, now time.Time, fn func(*Tx) error) error {
	if d.dialect != SQLite {
		return d.Update(ctx, now, fn)
	}
	d.batchMu.Lock()
	closed := d.batchClosed
	d.batchMu.Unlock()
	if closed {
		return fmt.Errorf("db: batch: the database is closed")
	}
	c := &batchCall{ctx: ctx, now: now, fn: fn}
	d.batcher.Do(c)
	if c.panic != nil {
		panic(c.panic)
	}
	return c.err
}

func (d *DB) runBatch(calls []*batchCall) {
	ctx := context.Background()
	fail := func(err error) {
		for _, c := range calls {
			if c.err == nil && c.panic == nil {
				c.err = err
			}
		}
	}
	stx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("db: begin: %w", err))
		return
	}
	tx := &Tx{tx: stx, db: d, write: true, batch: true}
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		if _, err := stx.ExecContext(ctx, "SAVEPOINT batch_call"); err != nil {
			_ = stx.Rollback()
			fail(fmt.Errorf("db: savepoint: %w", err))
			return
		}
		tx.Now = c.now.UTC()
		mark := tx.markDeferred()
		c.panic, c.err = call(c.fn, tx)
		if c.err != nil || c.panic != nil {
			tx.rollbackDeferred(mark)
			if _, err := stx.ExecContext(ctx, "ROLLBACK TO batch_call"); err != nil {
				_ = stx.Rollback()
				fail(fmt.Errorf("db: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := stx.ExecContext(ctx, "RELEASE batch_call"); err != nil {
			_ = stx.Rollback()
			fail(fmt.Errorf("db: release savepoint: %w", err))
			return
		}
	}
	p, err := call(func(tx *Tx) error { return tx.flushDeferred(ctx) }, tx)
	if p != nil {
		err = fmt.Errorf("db: deferred writes panicked: %v", p)
	}
	if err != nil {
		_ = stx.Rollback()
		fail(err)
		return
	}
	if err := stx.Commit(); err != nil {
		fail(fmt.Errorf("db: commit: %w", err))
		return
	}
	if len(tx.miss) > 0 {
		d.prepareWriter(ctx, tx.miss)
	}
}

// call runs fn, turning a panic into a value the caller re-raises in its own
// goroutine.
func call(fn func(*Tx) error, tx *Tx) (p any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p = r
		}
	}()
	return nil, fn(tx)
}
