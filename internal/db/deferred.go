package db

import "context"

// deferred is one list of items kept under a key until the transaction
// commits, and what writes them then.
type deferred struct {
	key   any
	items []any
	flush func(ctx context.Context, tx *Tx, items []any) error
}

// Defer keeps item under key in t and, the first time key is used in t,
// registers flush to receive every item kept under it, in order, just before
// t commits (in t, after fn returned). Work that every write repeats — the
// audit chain's head, read and moved once per transaction instead of once
// per write — is then done once for a whole Batch of calls. An item kept by
// a Batch call whose savepoint is rolled back is dropped with the rest of
// that call's work. When flush fails, the transaction fails: for a Batch,
// every call in it.
func Defer[T any](t *Tx, key any, item T, flush func(ctx context.Context, tx *Tx, items []T) error) {
	for _, d := range t.deferred {
		if d.key == key {
			d.items = append(d.items, item)
			return
		}
	}
	t.deferred = append(t.deferred, &deferred{key: key, items: []any{item},
		flush: func(ctx context.Context, tx *Tx, items []any) error {
			ts := make([]T, len(items))
			for i, it := range items {
				ts[i] = it.(T)
			}
			return flush(ctx, tx, ts)
		}})
}

// deferMark is where the deferred lists stood when a Batch call began.
type deferMark []int

func (t *Tx) markDeferred() deferMark {
	m := make(deferMark, len(t.deferred))
	for i, d := range t.deferred {
		m[i] = len(d.items)
	}
	return m
}

// rollbackDeferred drops what was kept since m.
func (t *Tx) rollbackDeferred(m deferMark) {
	t.deferred = t.deferred[:len(m)]
	for i, n := range m {
		clear(t.deferred[i].items[n:])
		t.deferred[i].items = t.deferred[i].items[:n]
	}
}

// flushDeferred runs the registered flushes, in the order their keys were
// first used, and forgets them.
func (t *Tx) flushDeferred(ctx context.Context) error {
	for len(t.deferred) > 0 {
		ds := t.deferred
		t.deferred = nil
		for _, d := range ds {
			if len(d.items) == 0 {
				continue
			}
			if err := d.flush(ctx, t, d.items); err != nil {
				return err
			}
		}
	}
	return nil
}
