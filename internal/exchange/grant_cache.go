package exchange

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// A consumer's grant is read at its first query and kept, and every answer
// is written only if the grant its data was minimised to is, in the write
// transaction that logs the answer, still the grant in the database: the
// transaction reads it once for all the queries of its batch. A grant
// revoked, narrowed or expired (from this process or from the command line)
// thus stops the next answer at once, as a read at every query did, for one
// read per batch instead of one per query.

// grantTTL bounds how long a grant is kept without a query that needed it
// read again; the check in the write transaction makes it always current.
const grantTTL = time.Minute

// grantCacheMax bounds the grants kept: consumers times services.
const grantCacheMax = 4096

// errGrantChanged is a query's failure when its grant changed since it was
// read: the query is answered again from the grant as it is now.
var errGrantChanged = errors.New("exchange: the grant changed during the query")

type grantKey struct{ consumer, service string }

type keptGrant struct {
	g     Grant
	until time.Time
}

// grants keeps grants between queries, and those one write transaction has
// read (memo, for tx only).
type grantCache struct {
	mu   sync.Mutex
	kept map[grantKey]keptGrant
	tx   *db.Tx
	memo map[grantKey]Grant
}

// grant returns the consumer's grant of the service, as kept or read now
// (fresh: always read); none is NotFound.
func (s *Service) grant(ctx context.Context, consumer, service string, now time.Time, fresh bool) (Grant, error) {
	k := grantKey{consumer, service}
	c := &s.grants
	if !fresh {
		c.mu.Lock()
		kg, ok := c.kept[k]
		c.mu.Unlock()
		// Only a live grant is taken as kept: one withdrawn or ended may
		// have been granted again since, which a read shows.
		if ok && now.Before(kg.until) && kg.g.Active(now) {
			return kg.g, nil
		}
	}
	g, err := findGrant(ctx, s.o.DB, consumer, service)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || !g.Active(now) {
		delete(c.kept, k)
		return g, err
	}
	if c.kept == nil || len(c.kept) >= grantCacheMax {
		c.kept = map[grantKey]keptGrant{}
	}
	c.kept[k] = keptGrant{g: g, until: now.Add(grantTTL)}
	return g, nil
}

// forgetGrant drops a kept grant.
func (s *Service) forgetGrant(consumer, service string) {
	c := &s.grants
	c.mu.Lock()
	delete(c.kept, grantKey{consumer, service})
	if c.tx != nil {
		delete(c.memo, grantKey{consumer, service})
	}
	c.mu.Unlock()
}

// recheckGrant confirms in tx that g is still the consumer's grant as the
// database holds it; errGrantChanged if not. The grant is read once per
// transaction (a batch of queries on SQLite).
func (s *Service) recheckGrant(ctx context.Context, tx *db.Tx, g Grant) error {
	k := grantKey{g.Consumer, g.Service}
	c := &s.grants
	c.mu.Lock()
	cur, ok := c.memo[k]
	if c.tx != tx {
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		var err error
		cur, err = findGrant(ctx, tx, g.Consumer, g.Service)
		if kernel.ErrorCode(err) == kernel.NotFound {
			return errGrantChanged
		}
		if err != nil {
			return err
		}
		c.mu.Lock()
		if c.tx != tx {
			c.tx, c.memo = tx, map[grantKey]Grant{}
		}
		c.memo[k] = cur
		c.mu.Unlock()
	}
	if !sameGrant(cur, g) {
		return errGrantChanged
	}
	return nil
}

// sameGrant reports whether two reads of a grant say the same: the fields,
// the end, the withdrawal and when it was granted.
func sameGrant(a, b Grant) bool {
	return slices.Equal(a.Fields, b.Fields) && a.Until.Equal(b.Until) && a.RevokedAt.Equal(b.RevokedAt) && a.GrantedAt.Equal(b.GrantedAt)
}
