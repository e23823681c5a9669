package statuslist

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Defaults for Options left zero.
const (
	DefaultBits     = 2       // VALID, INVALID and SUSPENDED
	DefaultSize     = 100_000 // entries per list: the herd each document hides in
	DefaultFill     = 0.9     // the share of a list handed out before the next takes over
	DefaultTTL      = 5 * time.Minute
	DefaultLifetime = 24 * time.Hour
)

// maxListBytes bounds a list's byte array so that its token stays under
// jose.MaxTokenSize even when nothing compresses (a list of random
// statuses): base64 of 45 KiB and the zlib framing is about 61 KiB, and
// relying parties using jose could not parse a larger token.
const maxListBytes = 45 << 10

// PathPrefix is where the lists are published: PathPrefix + list id (their
// publisher serves Published there).
const PathPrefix = "/status/"

// Options configure a Store.
type Options struct {
	DB *db.DB
	// PublicURL is the site's public URL (https://civitas.example): a
	// list's URI is PublicURL + PathPrefix + its id.
	PublicURL string
	// Signer returns who signs the lists of a group.
	Signer func(ctx context.Context, group string) (Signer, error)
	// Bits per entry of new lists (default DefaultBits); Size is their
	// number of entries (default DefaultSize, rounded up to a multiple of 8).
	Bits int
	Size int
	// Fill is the share of a list handed out before the group moves to the
	// next list (default DefaultFill).
	Fill float64
	// TTL is how long a token is served (and may be cached) before it is
	// rebuilt, change or not (default DefaultTTL); Lifetime is its "exp"
	// after "iat" (default DefaultLifetime, at least TTL).
	TTL      time.Duration
	Lifetime time.Duration
	Clock    kernel.Clock
	Logger   *slog.Logger
}

// Entry is an index handed out to a Referenced Token. Marshalled as JSON it
// is the draft's status_list object: {"idx": ..., "uri": ...}.
type Entry struct {
	List  string `json:"-"` // the list's id
	Index int    `json:"idx"`
	URI   string `json:"uri"`
}

// Store keeps the issuer's Status Lists in the database, hands out their
// indexes and serves them as signed tokens.
type Store struct {
	db       *db.DB
	base     string
	signer   func(context.Context, string) (Signer, error)
	bits     int
	size     int
	fill     float64
	ttl      time.Duration
	lifetime time.Duration
	clock    kernel.Clock
	log      *slog.Logger

	mu     sync.Mutex
	groups map[string]*group
	metas  map[string]listMeta
	tokens map[string]*tokenSlot
	closed bool
	wg     sync.WaitGroup // lists being made in the background
}

// listMeta is what never changes about a list.
type listMeta struct {
	group string
	bits  int
	size  int
}

// NewStore returns the store of o.DB. Call Ensure for each group before
// the first Allocate, and Close when done.
func NewStore(o Options) (*Store, error) {
	s := &Store{db: o.DB, base: strings.TrimSuffix(o.PublicURL, "/"), signer: o.Signer,
		bits: o.Bits, size: o.Size, fill: o.Fill, ttl: o.TTL, lifetime: o.Lifetime, clock: o.Clock, log: o.Logger,
		groups: map[string]*group{}, metas: map[string]listMeta{}, tokens: map[string]*tokenSlot{}}
	if s.bits == 0 {
		s.bits = DefaultBits
	}
	if s.size == 0 {
		s.size = DefaultSize
	}
	s.size = (s.size + 7) / 8 * 8 // whole bytes for every bits value
	if s.fill == 0 {
		s.fill = DefaultFill
	}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.lifetime == 0 {
		s.lifetime = max(DefaultLifetime, s.ttl)
	}
	if s.clock == nil {
		s.clock = kernel.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.db == nil || s.signer == nil || s.base == "" || !validBits(s.bits) || s.size <= 0 ||
		s.size*s.bits/8 > maxListBytes || s.fill <= 0 || s.fill > 1 || s.ttl < time.Second || s.lifetime < s.ttl {
		return nil, kernel.E(kernel.Invalid, "statuslist.error.options")
	}
	return s, nil
}

// Close waits for the lists being made in the background. Allocate keeps
// working until its group runs out of lists.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}

// URI returns the URI of a list: its "sub", and the "uri" its entries carry.
func (s *Store) URI(list string) string { return s.base + PathPrefix + list }

// validName accepts list ids (kernel.NewID) and group names: short, and
// safe in a URL path and a log line.
func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// querier is what reads: the database (its readers) or a transaction.
type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Ensure makes sure group has a list to hand out indexes from, creating one
// when it has none, and loads what the group has handed out. Call it outside
// any transaction (at start-up, or when a new group appears): Allocate runs
// inside the caller's and cannot create the first list there, since on
// SQLite the single writer is the caller's.
func (s *Store) Ensure(ctx context.Context, group string) error {
	if !validName(group) {
		return kernel.E(kernel.Invalid, "statuslist.error.bad_group")
	}
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM status_lists WHERE group_name = ? AND state = 'open'`, group).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		_, err := s.insertList(ctx, tx, group)
		return err
	})
	if err != nil {
		return kernel.Wrap(err, "statuslist: ensure %s", group)
	}
	g := s.group(group)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.loaded = false // see the list just made, and what other instances took
	return s.load(ctx, s.db, g)
}

// insertList creates an empty open list of group in tx.
func (s *Store) insertList(ctx context.Context, tx *db.Tx, group string) (string, error) {
	id := kernel.NewID()
	now := kernel.Micros(tx.Now)
	_, err := tx.Exec(ctx, `INSERT INTO status_lists (id, group_name, bits, size, packed, version, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 1, 'open', ?, ?)`, id, group, s.bits, s.size, make([]byte, s.size*s.bits/8), now, now)
	return id, err
}

// meta returns what never changes about list, from q on first use.
func (s *Store) meta(ctx context.Context, q querier, list string) (listMeta, error) {
	s.mu.Lock()
	m, ok := s.metas[list]
	s.mu.Unlock()
	if ok {
		return m, nil
	}
	if !validName(list) {
		return m, kernel.E(kernel.NotFound, "statuslist.error.no_list")
	}
	rows, err := q.Query(ctx, `SELECT group_name, bits, size FROM status_lists WHERE id = ?`, list)
	if err != nil {
		return m, kernel.Wrap(err, "statuslist: read list")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return m, kernel.Wrap(err, "statuslist: read list")
		}
		return m, kernel.E(kernel.NotFound, "statuslist.error.no_list")
	}
	if err := rows.Scan(&m.group, &m.bits, &m.size); err != nil {
		return m, kernel.Wrap(err, "statuslist: read list")
	}
	s.mu.Lock()
	s.metas[list] = m
	s.mu.Unlock()
	return m, nil
}

// Set changes the status of an index handed out from list, in tx: the
// change commits with the caller's (a revocation with its audit record).
// The packed list is written once per list just before tx commits, for
// every Set of tx (db.Defer), so a batch of revocations costs one write.
//
// A revoked (Invalid) entry stays revoked: setting it to anything else is a
// Conflict. The index must have been handed out, and the status must fit the
// list's bits.
func (s *Store) Set(ctx context.Context, tx *db.Tx, list string, idx int, st Status) error {
	m, err := s.meta(ctx, tx, list)
	if err != nil {
		return err
	}
	if idx < 0 || idx >= m.size {
		return kernel.E(kernel.Invalid, "statuslist.error.out_of_range")
	}
	if !fits(st, m.bits) {
		return kernel.E(kernel.Invalid, "statuslist.error.bad_status")
	}
	// One byte of the packed list (substr counts from 1), only for an index
	// handed out.
	var b []byte
	err = tx.QueryRow(ctx, `SELECT substr(l.packed, ?, 1) FROM status_list_entries e JOIN status_lists l ON l.id = e.list_id
		WHERE e.list_id = ? AND e.idx = ?`, idx*m.bits/8+1, list, idx).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return kernel.E(kernel.NotFound, "statuslist.error.no_entry")
	}
	if err == nil && len(b) != 1 {
		err = errShortList
	}
	if err != nil {
		return kernel.Wrap(err, "statuslist: set")
	}
	if cur := getPacked(b, m.bits, idx%(8/m.bits)); cur == Invalid && st != Invalid {
		return kernel.E(kernel.Conflict, "statuslist.error.revoked")
	}
	db.Defer(tx, changesKey{s}, change{list: list, idx: idx, status: st}, s.writeChanges)
	return nil
}

// errShortList is a stored list shorter than its size says: a bug, or an
// edited database.
var errShortList = errors.New("the stored list is shorter than its size")

// changesKey keys the changes a Store keeps in a transaction.
type changesKey struct{ s *Store }

// change is one Set waiting for its transaction's commit.
type change struct {
	list   string
	idx    int
	status Status
}

// writeChanges applies the changes of a transaction, list by list: it moves
// the version first, which on PostgreSQL locks the row, so that the bytes
// read next are the latest and no concurrent change is lost.
func (s *Store) writeChanges(ctx context.Context, tx *db.Tx, changes []change) error {
	var order []string
	byList := map[string][]change{}
	for _, c := range changes {
		if _, ok := byList[c.list]; !ok {
			order = append(order, c.list)
		}
		byList[c.list] = append(byList[c.list], c)
	}
	for _, list := range order {
		var bits int
		var packed []byte
		if err := tx.QueryRow(ctx, `UPDATE status_lists SET version = version + 1, updated_at = ? WHERE id = ? RETURNING bits, packed`,
			kernel.Micros(tx.Now), list).Scan(&bits, &packed); err != nil {
			return kernel.Wrap(err, "statuslist: write changes")
		}
		for _, c := range byList[list] {
			if (c.idx+1)*bits > len(packed)*8 {
				return kernel.Wrap(errShortList, "statuslist: write changes")
			}
			// Revocation is final even against a Set of the same
			// transaction that read the byte before it.
			if getPacked(packed, bits, c.idx) == Invalid {
				continue
			}
			setPacked(packed, bits, c.idx, c.status)
		}
		if _, err := tx.Exec(ctx, `UPDATE status_lists SET packed = ? WHERE id = ?`, packed, list); err != nil {
			return kernel.Wrap(err, "statuslist: write changes")
		}
	}
	return nil
}

// Status returns the committed status of an index of list, as the issuer
// sees it.
func (s *Store) Status(ctx context.Context, list string, idx int) (Status, error) {
	m, err := s.meta(ctx, s.db, list)
	if err != nil {
		return 0, err
	}
	if idx < 0 || idx >= m.size {
		return 0, kernel.E(kernel.Invalid, "statuslist.error.out_of_range")
	}
	var b []byte
	err = s.db.QueryRow(ctx, `SELECT substr(packed, ?, 1) FROM status_lists WHERE id = ?`, idx*m.bits/8+1, list).Scan(&b)
	if err == nil && len(b) != 1 {
		err = errShortList
	}
	if err != nil {
		return 0, kernel.Wrap(err, "statuslist: status")
	}
	return getPacked(b, m.bits, idx%(8/m.bits)), nil
}
