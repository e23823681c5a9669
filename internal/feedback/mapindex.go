package feedback

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"civitas/internal/kernel"
)

// pin is a report as the public map needs it: no text, no person. Reports
// of sensitive categories have no pin.
type pin struct {
	id       string
	lat, lon float64
	category string
	status   Status
	commune  string
	district string
	created  int64 // Unix microseconds
	photos   int
}

// mapIndex keeps the pins of every public report in memory, so that the
// public map of a province with hundreds of thousands of reports is drawn
// without reading them all from the database at each view. This
// instance's changes are put in at once; other instances' changes are read
// in by their update time, at most refreshEvery after they are made, by a
// refresh that a view starts and does not wait for.
type mapIndex struct {
	s *Service

	loadMu sync.Mutex // one initial load at a time
	mu     sync.RWMutex
	loaded bool
	// groups holds the pins by commune, so that a commune's map reads its
	// own and its neighbours' pins, not the province's.
	groups map[string][]pin
	byID   map[string]pinRef
	intern map[string]string
	mark   int64 // the latest update time read, Unix microseconds
	readAt time.Time

	refreshing atomic.Bool

	geoMu sync.Mutex
	geo   *geometry
	geoAt time.Time
}

// refreshEvery is how stale the pins may grow before a view reads the
// changes; refreshOverlap is how far before the last update time read a
// refresh looks again, for transactions that committed late.
const (
	refreshEvery   = 5 * time.Second
	refreshOverlap = 10 * time.Second
	geometryTTL    = 10 * time.Minute
)

// pinRef is where a pin is: its commune's group and its place in it.
type pinRef struct {
	commune string
	i       int
}

func newMapIndex(s *Service) *mapIndex {
	return &mapIndex{s: s, groups: map[string][]pin{}, byID: map[string]pinRef{}, intern: map[string]string{}}
}

func (m *mapIndex) str(s string) string {
	if v, ok := m.intern[s]; ok {
		return v
	}
	m.intern[s] = s
	return s
}

// put records a report's pin, or removes it when the report is sensitive.
// Callers hold no lock.
func (m *mapIndex) put(r Report) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded {
		return // the initial load will read it
	}
	m.putLocked(r.ID, r.Sensitive, pin{id: r.ID, lat: r.Place.Lat, lon: r.Place.Lon, category: r.Category, status: r.Status,
		commune: r.Commune, district: r.District, created: kernel.Micros(r.CreatedAt), photos: r.Photos})
}

func (m *mapIndex) putLocked(id string, sensitive bool, p pin) {
	ref, ok := m.byID[id]
	if ok && (sensitive || ref.commune != p.commune) { // a category made sensitive since: the pin goes
		g := m.groups[ref.commune]
		last := len(g) - 1
		g[ref.i] = g[last]
		m.byID[g[ref.i].id] = pinRef{ref.commune, ref.i}
		m.groups[ref.commune] = g[:last]
		delete(m.byID, id)
		ok = false
	}
	if sensitive {
		return
	}
	p.category, p.commune, p.district, p.status = m.str(p.category), m.str(p.commune), m.str(p.district), Status(m.str(string(p.status)))
	if ok {
		m.groups[ref.commune][ref.i] = p
		return
	}
	m.byID[id] = pinRef{p.commune, len(m.groups[p.commune])}
	m.groups[p.commune] = append(m.groups[p.commune], p)
}

// ready loads the pins on first use, and starts a refresh when they are
// stale.
func (m *mapIndex) ready(ctx context.Context) error {
	m.mu.RLock()
	loaded, stale := m.loaded, m.s.o.Clock.Now().Sub(m.readAt) > refreshEvery
	m.mu.RUnlock()
	if !loaded {
		m.loadMu.Lock()
		defer m.loadMu.Unlock()
		m.mu.RLock()
		loaded = m.loaded
		m.mu.RUnlock()
		if !loaded {
			return m.refresh(ctx)
		}
		return nil
	}
	if stale && m.refreshing.CompareAndSwap(false, true) {
		go func() {
			defer m.refreshing.Store(false)
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := m.refresh(bg); err != nil {
				m.s.o.Logger.Warn("feedback: map refresh failed", slog.Any("error", err))
			}
		}()
	}
	return nil
}

// refresh reads the reports updated since the last read (all of them the
// first time).
func (m *mapIndex) refresh(ctx context.Context) error {
	m.mu.RLock()
	since := m.mark
	m.mu.RUnlock()
	if since > 0 {
		since -= refreshOverlap.Microseconds()
	}
	readAt := m.s.o.Clock.Now()
	rows, err := m.s.o.DB.Query(ctx, `SELECT id, sensitive, lat, lon, category, status, commune, district, created_at, photos, updated_at
		FROM feedback_reports WHERE updated_at >= ?`, since)
	if err != nil {
		return kernel.Wrap(err, "feedback: read pins")
	}
	defer rows.Close()
	type row struct {
		p         pin
		sensitive bool
	}
	var batch []row
	mark := since
	for rows.Next() {
		var r row
		var sens int
		var status string
		var updated int64
		if err := rows.Scan(&r.p.id, &sens, &r.p.lat, &r.p.lon, &r.p.category, &status, &r.p.commune, &r.p.district, &r.p.created,
			&r.p.photos, &updated); err != nil {
			return kernel.Wrap(err, "feedback: read pins")
		}
		r.sensitive, r.p.status = sens != 0, Status(status)
		mark = max(mark, updated)
		batch = append(batch, r)
	}
	if err := rows.Err(); err != nil {
		return kernel.Wrap(err, "feedback: read pins")
	}
	m.mu.Lock()
	for _, r := range batch {
		m.putLocked(r.p.id, r.sensitive, r.p)
	}
	m.mark = max(m.mark, mark)
	m.readAt = readAt
	m.loaded = true
	m.mu.Unlock()
	return nil
}

// nearby returns the open pins of a category within radius metres of a
// point, nearest first, at most limit.
func (m *mapIndex) nearby(ctx context.Context, category string, lat, lon, radius float64, limit int) ([]pin, error) {
	if err := m.ready(ctx); err != nil {
		return nil, err
	}
	// A degree of latitude is 111 km; of longitude, less.
	dLat := radius / 111_000
	dLon := dLat * 2
	type near struct {
		p pin
		d float64
	}
	var out []near
	m.mu.RLock()
	for _, g := range m.groups {
		for _, p := range g {
			if p.category != category || !p.status.Open() || p.lat < lat-dLat || p.lat > lat+dLat || p.lon < lon-dLon || p.lon > lon+dLon {
				continue
			}
			if d := metresBetween(lat, lon, p.lat, p.lon); d <= radius {
				out = append(out, near{p, d})
			}
		}
	}
	m.mu.RUnlock()
	// A short list: insertion sort by distance.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].d < out[j-1].d; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	res := make([]pin, 0, min(len(out), limit))
	for i := 0; i < len(out) && i < limit; i++ {
		res = append(res, out[i].p)
	}
	return res, nil
}

// each calls fn for every pin of the communes that want says yes to (every
// commune when want is nil), under the read lock: fn must be quick and must
// not call back into the index.
func (m *mapIndex) each(ctx context.Context, want func(commune string) bool, fn func(p *pin)) error {
	if err := m.ready(ctx); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for c, g := range m.groups {
		if want != nil && !want(c) {
			continue
		}
		for i := range g {
			fn(&g[i])
		}
	}
	return nil
}

// inside returns a point inside a unit's outline.
func (m *mapIndex) inside(ctx context.Context, unit string) (Point, bool) {
	g, err := m.geometry(ctx)
	if err != nil {
		return Point{}, false
	}
	o, ok := g.outlines[unit]
	if !ok {
		return Point{}, false
	}
	return o.interior, o.hasInterior
}

// Nearby lists open reports of a category near a point (within radius
// metres, nearest first): what a citizen about to send the same report is
// shown first. Sensitive categories have none to show.
func (s *Service) Nearby(ctx context.Context, category string, lat, lon, radius float64) ([]Pin, error) {
	if !ValidCoordinates(lat, lon) {
		return nil, kernel.E(kernel.Invalid, "feedback.error.coordinates")
	}
	ps, err := s.pins.nearby(ctx, category, lat, lon, radius, 5)
	if err != nil {
		return nil, err
	}
	out := make([]Pin, len(ps))
	for i, p := range ps {
		out[i] = p.public()
	}
	return out, nil
}

// Pin is a public report on the map.
type Pin struct {
	ID       string
	Lat, Lon float64
	Category string
	Status   Status
	Commune  string
	Created  time.Time
	Photos   int
}

func (p pin) public() Pin {
	return Pin{ID: p.id, Lat: p.lat, Lon: p.lon, Category: p.category, Status: p.status, Commune: p.commune,
		Created: kernel.FromMicros(p.created), Photos: p.photos}
}
