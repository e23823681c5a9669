package registry

import (
	"context"
	"math"
	"slices"
	"sync"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Boundary is the outline of an administrative unit. The province's, its
// districts' and its communes' boundaries tile one another: the communes of
// a district cover it without overlapping, as do the districts the
// province. JSON: unit, min_lat, min_lon, max_lat, max_lon (the bounding
// box) and geometry (a GeoJSON Polygon).
type Boundary struct {
	UnitCode string `json:"unit"`
	BBox
	Polygon Polygon `json:"geometry"`
}

// Validate checks a boundary's fields and fills its bounding box.
func (b *Boundary) Validate() error {
	if b.UnitCode == "" {
		return kernel.E(kernel.Invalid, "error.registry.bad_unit")
	}
	if err := b.Polygon.Validate(); err != nil {
		return err
	}
	b.BBox = b.Polygon.BBox()
	return nil
}

const boundaryColumns = "unit_code, min_lat, min_lon, max_lat, max_lon, geojson"

func scanBoundary(sc interface{ Scan(...any) error }) (Boundary, error) {
	var b Boundary
	var geo string
	if err := sc.Scan(&b.UnitCode, &b.MinLat, &b.MinLon, &b.MaxLat, &b.MaxLon, &geo); err != nil {
		return b, err
	}
	pg, err := ParsePolygon([]byte(geo))
	if err != nil {
		return b, kernel.Wrap(err, "registry: stored boundary of %s", b.UnitCode)
	}
	b.Polygon = pg
	return b, nil
}

// Boundary returns a unit's boundary.
func (s *Service) Boundary(ctx context.Context, unitCode string) (Boundary, error) {
	return one(s.db.QueryRow(ctx, "SELECT "+boundaryColumns+" FROM unit_boundaries WHERE unit_code = ?", unitCode),
		scanBoundary, "error.registry.boundary_not_found", "boundary")
}

// ListBoundaries lists boundaries by unit code, after p.After.
func (s *Service) ListBoundaries(ctx context.Context, p kernel.Page) ([]Boundary, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanBoundary, "boundaries",
		"SELECT "+boundaryColumns+" FROM unit_boundaries WHERE unit_code > ? ORDER BY unit_code LIMIT ?", p.After, p.Limit)
}

// UnitAt returns the smallest administrative unit whose boundary holds the
// point: a commune wherever the communes have boundaries. A point outside
// every boundary is NotFound. The boundaries are read once into an index
// in memory (a grid of bounding boxes, then ray casting), so a lookup
// touches no database.
func (s *Service) UnitAt(ctx context.Context, lat, lon float64) (Unit, error) {
	p := Point{Lat: lat, Lon: lon}
	if !p.Valid() {
		return Unit{}, kernel.E(kernel.Invalid, "error.registry.bad_point")
	}
	ix, err := s.geo.get(ctx, s)
	if err != nil {
		return Unit{}, err
	}
	if u, ok := ix.at(p); ok {
		return u, nil
	}
	return Unit{}, kernel.E(kernel.NotFound, "error.registry.no_unit_at")
}

// geoCache holds the index UnitAt builds on first use. An empty index is
// not kept: the boundaries may not be loaded yet.
type geoCache struct {
	mu sync.Mutex
	ix *unitIndex
}

func (c *geoCache) get(ctx context.Context, s *Service) (*unitIndex, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ix != nil {
		return c.ix, nil
	}
	ix, err := s.buildIndex(ctx)
	if err != nil {
		return nil, err
	}
	if len(ix.shapes) > 0 {
		c.ix = ix
	}
	return ix, nil
}

// forget drops the index after boundaries changed.
func (c *geoCache) forget() {
	c.mu.Lock()
	c.ix = nil
	c.mu.Unlock()
}

// shape is one boundary in the index, its vertices in two flat arrays.
type shape struct {
	box      BBox
	lat, lon []float64
	depth    int // 0 province, 1 district, 2 commune: the deepest wins
	unit     Unit
}

func (sh *shape) contains(lat, lon float64) bool {
	in := false
	ys, xs := sh.lat, sh.lon
	n := len(ys)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		if (ys[i] > lat) != (ys[j] > lat) && lon < (xs[j]-xs[i])*(lat-ys[i])/(ys[j]-ys[i])+xs[i] {
			in = !in
		}
	}
	return in
}

// unitIndex is a grid over the boundaries' extent; each cell lists the
// shapes whose bounding box meets it.
type unitIndex struct {
	box          BBox
	rows, cols   int
	cellH, cellW float64
	cells        [][]int32
	shapes       []shape
}

const gridSize = 128

func (s *Service) buildIndex(ctx context.Context) (*unitIndex, error) {
	ix := &unitIndex{}
	err := s.db.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+boundaryColumns+", u.name, u.level, COALESCE(u.parent_code, '') FROM unit_boundaries b JOIN units u ON u.code = b.unit_code ORDER BY b.unit_code")
		if err != nil {
			return kernel.Wrap(err, "registry: read boundaries")
		}
		defer rows.Close()
		for rows.Next() {
			var b Boundary
			var geo string
			var u Unit
			if err := rows.Scan(&b.UnitCode, &b.MinLat, &b.MinLon, &b.MaxLat, &b.MaxLon, &geo, &u.Name, &u.Level, &u.ParentCode); err != nil {
				return kernel.Wrap(err, "registry: scan boundary")
			}
			pg, err := ParsePolygon([]byte(geo))
			if err != nil {
				return kernel.Wrap(err, "registry: stored boundary of %s", b.UnitCode)
			}
			u.Code = b.UnitCode
			sh := shape{box: pg.BBox(), unit: u, lat: make([]float64, len(pg)), lon: make([]float64, len(pg))}
			for i, p := range pg {
				sh.lat[i], sh.lon[i] = p.Lat, p.Lon
			}
			switch u.Level {
			case District:
				sh.depth = 1
			case Commune:
				sh.depth = 2
			}
			ix.shapes = append(ix.shapes, sh)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	ix.grid()
	return ix, nil
}

// grid lays the cells over the shapes' extent and files every shape in the
// cells its bounding box meets.
func (ix *unitIndex) grid() {
	if len(ix.shapes) == 0 {
		return
	}
	// Deeper shapes first, so the first hit is the smallest unit.
	slices.SortStableFunc(ix.shapes, func(a, b shape) int { return b.depth - a.depth })
	ix.box = ix.shapes[0].box
	for _, sh := range ix.shapes[1:] {
		ix.box.MinLat, ix.box.MaxLat = min(ix.box.MinLat, sh.box.MinLat), max(ix.box.MaxLat, sh.box.MaxLat)
		ix.box.MinLon, ix.box.MaxLon = min(ix.box.MinLon, sh.box.MinLon), max(ix.box.MaxLon, sh.box.MaxLon)
	}
	ix.rows, ix.cols = gridSize, gridSize
	ix.cellH = math.Max((ix.box.MaxLat-ix.box.MinLat)/gridSize, 1e-9)
	ix.cellW = math.Max((ix.box.MaxLon-ix.box.MinLon)/gridSize, 1e-9)
	ix.cells = make([][]int32, ix.rows*ix.cols)
	for i, sh := range ix.shapes {
		r0, c0 := ix.cell(sh.box.MinLat, sh.box.MinLon)
		r1, c1 := ix.cell(sh.box.MaxLat, sh.box.MaxLon)
		for r := r0; r <= r1; r++ {
			for c := c0; c <= c1; c++ {
				ix.cells[r*ix.cols+c] = append(ix.cells[r*ix.cols+c], int32(i))
			}
		}
	}
}

func (ix *unitIndex) cell(lat, lon float64) (int, int) {
	r := int((lat - ix.box.MinLat) / ix.cellH)
	c := int((lon - ix.box.MinLon) / ix.cellW)
	return min(max(r, 0), ix.rows-1), min(max(c, 0), ix.cols-1)
}

// at finds the deepest shape holding p.
func (ix *unitIndex) at(p Point) (Unit, bool) {
	if len(ix.shapes) == 0 || !ix.box.Contains(p) {
		return Unit{}, false
	}
	r, c := ix.cell(p.Lat, p.Lon)
	for _, i := range ix.cells[r*ix.cols+c] {
		sh := &ix.shapes[i]
		if sh.box.Contains(p) && sh.contains(p.Lat, p.Lon) {
			return sh.unit, true
		}
	}
	return Unit{}, false
}
