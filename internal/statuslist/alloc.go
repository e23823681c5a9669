package statuslist

import (
	"context"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// How indexes are handed out
//
// Each process keeps, per group, the free indexes of the list it hands out
// from (and of the next one, made ahead in the background) in memory, and
// draws one uniformly at random: an index then says nothing of when, or in
// which order, its document was issued. The draw is recorded by inserting
// (list, index) into status_list_entries in the caller's transaction, whose
// primary key makes two committed entries with one index impossible,
// whatever the number of processes. An index drawn by a transaction that
// rolls back is not drawn again by this process; it is free again in the
// database, so another process (or this one, after reloading its view) may
// hand it out, which is right: the rolled-back document does not exist. An
// insert that finds the index taken (by another process) draws again, and
// the view is reloaded from the database when that keeps happening.
//
// So an allocation costs one short insert in a transaction the caller pays
// for anyway, and no write of the packed list, which only Set writes.

// maxDraws bounds the draws of one Allocate; every reloadEvery conflicts
// the group's view is read again from the caller's transaction.
const (
	maxDraws    = 64
	reloadEvery = 16
)

// group is the allocation state of a group in this process.
type group struct {
	name   string
	mu     sync.Mutex // held while loading from the caller's transaction too
	loaded bool
	cur    *pool     // the list indexes are drawn from
	spare  *pool     // the next one, once made
	making bool      // a spare is being made in the background
	retry  time.Time // after a failure to make one, not before
	// closing lists are to be marked full by the next spare's maker.
	closing []string
}

// pool is the free indexes of one list as this process knows them: a bit
// per index, set when taken (a list of 100,000 entries costs 12.5 KB, where
// a slice of its free indexes cost 400 KB, and a server keeps several).
type pool struct {
	id    string
	taken []uint64
	size  int
	nfree int
	floor int // at or below this many free indexes the spare takes over
}

func (s *Store) newPool(id string, size int, used map[uint32]bool) *pool {
	p := &pool{id: id, taken: make([]uint64, (size+63)/64), size: size, nfree: size,
		floor: size - int(s.fill*float64(size))}
	for i := range used {
		if int(i) < size && p.taken[i/64]&(1<<(i%64)) == 0 {
			p.taken[i/64] |= 1 << (i % 64)
			p.nfree--
		}
	}
	return p
}

// draw removes a free index chosen uniformly at random (the pool has one).
// A few random tries find one while the list is mostly free (it is handed
// over at 90 %); past that, the k-th free index for a random k.
func (p *pool) draw() uint32 {
	// ChaCha8 seeded by the runtime: not predictable from the indexes seen.
	for range 32 {
		i := uint32(rand.IntN(p.size))
		if p.taken[i/64]&(1<<(i%64)) == 0 {
			return p.take(i)
		}
	}
	k := rand.IntN(p.nfree)
	for w, word := range p.taken {
		free := 64 - bits.OnesCount64(word)
		if w == len(p.taken)-1 && p.size%64 != 0 {
			free -= 64 - p.size%64 // the bits past the end are not indexes
		}
		if k >= free {
			k -= free
			continue
		}
		for b := range 64 {
			if word&(1<<b) == 0 {
				if k == 0 {
					return p.take(uint32(w*64 + b))
				}
				k--
			}
		}
	}
	panic("statuslist: draw from a full pool")
}

func (p *pool) take(i uint32) uint32 {
	p.taken[i/64] |= 1 << (i % 64)
	p.nfree--
	return i
}

func (s *Store) group(name string) *group {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		g = &group{name: name}
		s.groups[name] = g
	}
	return g
}

// Allocate hands out a free index of group at random and records it in tx,
// so that it commits, or rolls back, with the caller's document. It needs
// no transaction of its own (on SQLite the single writer is the caller's)
// and does not write the list, so it is fit for db.Batch. Unavailable means the group has no list ready — it has none
// yet (Ensure at start-up prevents that), or its next one is still being
// made in the background — and one is on its way: try again shortly.
//
// The caller must not hand the document out before tx commits: a rolled-back
// index may be handed out again.
func (s *Store) Allocate(ctx context.Context, tx *db.Tx, group string) (Entry, error) {
	if !validName(group) {
		return Entry{}, kernel.E(kernel.Invalid, "statuslist.error.bad_group")
	}
	g := s.group(group)
	for n := 1; n <= maxDraws; n++ {
		list, idx, err := s.take(ctx, tx, g)
		if err != nil {
			return Entry{}, err
		}
		res, err := tx.Exec(ctx, `INSERT INTO status_list_entries (list_id, idx) VALUES (?, ?) ON CONFLICT DO NOTHING`, list, idx)
		if err != nil {
			return Entry{}, kernel.Wrap(err, "statuslist: allocate")
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return Entry{}, kernel.Wrap(err, "statuslist: allocate")
		}
		if rows == 1 {
			return Entry{List: list, Index: int(idx), URI: s.URI(list)}, nil
		}
		if n%reloadEvery == 0 { // other processes are drawing from the same list
			g.mu.Lock()
			g.loaded = false
			g.mu.Unlock()
		}
	}
	return Entry{}, kernel.E(kernel.Unavailable, "statuslist.error.full")
}

// take draws an index of g, loading g from q first when needed, moving to
// the spare list when the current one is full enough, and asking for a new
// spare whenever there is none.
func (s *Store) take(ctx context.Context, q querier, g *group) (string, uint32, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.loaded {
		if err := s.load(ctx, q, g); err != nil {
			return "", 0, err
		}
	}
	if g.spare != nil && (g.cur == nil || g.cur.nfree <= g.cur.floor) {
		if g.cur != nil {
			g.closing = append(g.closing, g.cur.id)
		}
		g.cur, g.spare = g.spare, nil
	}
	if g.spare == nil {
		s.makeSpare(g)
	}
	if g.cur == nil || g.cur.nfree == 0 {
		return "", 0, kernel.E(kernel.Unavailable, "statuslist.error.full")
	}
	return g.cur.id, g.cur.draw(), nil
}

// load reads g's open lists and what they have handed out, and picks the
// oldest with room as the current list and the next as the spare. g.mu is
// held.
func (s *Store) load(ctx context.Context, q querier, g *group) error {
	rows, err := q.Query(ctx, `SELECT id, bits, size FROM status_lists WHERE group_name = ? AND state = 'open' ORDER BY created_at, id`, g.name)
	if err != nil {
		return kernel.Wrap(err, "statuslist: load %s", g.name)
	}
	type open struct {
		id string
		m  listMeta
	}
	var lists []open
	for rows.Next() {
		o := open{m: listMeta{group: g.name}}
		if err := rows.Scan(&o.id, &o.m.bits, &o.m.size); err != nil {
			rows.Close()
			return kernel.Wrap(err, "statuslist: load %s", g.name)
		}
		lists = append(lists, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return kernel.Wrap(err, "statuslist: load %s", g.name)
	}
	var pools []*pool
	for _, o := range lists {
		used := map[uint32]bool{}
		rows, err := q.Query(ctx, `SELECT idx FROM status_list_entries WHERE list_id = ?`, o.id)
		if err != nil {
			return kernel.Wrap(err, "statuslist: load %s", g.name)
		}
		for rows.Next() {
			var idx uint32
			if err := rows.Scan(&idx); err != nil {
				rows.Close()
				return kernel.Wrap(err, "statuslist: load %s", g.name)
			}
			used[idx] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return kernel.Wrap(err, "statuslist: load %s", g.name)
		}
		s.mu.Lock()
		s.metas[o.id] = o.m
		s.mu.Unlock()
		pools = append(pools, s.newPool(o.id, o.m.size, used))
	}
	g.cur, g.spare, g.closing = nil, nil, nil
	for _, p := range pools {
		switch {
		case p.nfree <= p.floor && len(pools) > 1:
			g.closing = append(g.closing, p.id)
		case g.cur == nil:
			g.cur = p
		case g.spare == nil:
			g.spare = p
		}
	}
	if g.cur == nil && len(pools) > 0 { // every list is full enough: use the roomiest until a new one is made
		for _, p := range pools {
			if g.cur == nil || p.nfree > g.cur.nfree {
				g.cur = p
			}
		}
	}
	g.loaded = true
	return nil
}

// makeSpare starts making g's next list in the background, unless that is
// under way or the store is closed. g.mu is held.
func (s *Store) makeSpare(g *group) {
	if g.making || time.Now().Before(g.retry) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	g.making = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		g.mu.Lock()
		closing := g.closing
		g.closing = nil
		g.mu.Unlock()
		var id string
		err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
			for _, c := range closing {
				if _, err := tx.Exec(ctx, `UPDATE status_lists SET state = 'full', updated_at = ? WHERE id = ?`, kernel.Micros(tx.Now), c); err != nil {
					return err
				}
			}
			var err error
			id, err = s.insertList(ctx, tx, g.name)
			return err
		})
		g.mu.Lock()
		defer g.mu.Unlock()
		g.making = false
		if err != nil {
			g.closing = append(g.closing, closing...)
			g.retry = time.Now().Add(time.Second) // wall time: a back-off, not a date
			s.log.Error("statuslist: making the next list failed", slog.String("group", g.name), slog.Any("err", err))
			return
		}
		s.mu.Lock()
		s.metas[id] = listMeta{group: g.name, bits: s.bits, size: s.size}
		s.mu.Unlock()
		// A reload may have found the list already, and drawn from it.
		if g.loaded && g.spare == nil && (g.cur == nil || g.cur.id != id) {
			g.spare = s.newPool(id, s.size, nil)
		}
	}()
}
