package registry

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"civitas/internal/kernel"
)

// Point is a place in WGS 84 degrees. JSON: lat, lon.
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Valid reports whether p is a place on Earth: finite, latitude within
// ±90, longitude within ±180.
func (p Point) Valid() bool {
	return !math.IsNaN(p.Lat) && !math.IsNaN(p.Lon) && p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180
}

// BBox is the smallest latitude-longitude rectangle around a shape.
// JSON: min_lat, min_lon, max_lat, max_lon.
type BBox struct {
	MinLat float64 `json:"min_lat"`
	MinLon float64 `json:"min_lon"`
	MaxLat float64 `json:"max_lat"`
	MaxLon float64 `json:"max_lon"`
}

// Contains reports whether p is inside the box or on its edge.
func (b BBox) Contains(p Point) bool {
	return p.Lat >= b.MinLat && p.Lat <= b.MaxLat && p.Lon >= b.MinLon && p.Lon <= b.MaxLon
}

// Polygon is a simple polygon: its outer ring of vertices, in order,
// without repeating the first at the end. Boundaries have no holes: a unit
// lying inside another is a unit of its own, not a hole.
type Polygon []Point

// maxVertices bounds a polygon read from outside.
const maxVertices = 100_000

// BBox returns the polygon's bounding box.
func (pg Polygon) BBox() BBox {
	if len(pg) == 0 {
		return BBox{}
	}
	b := BBox{MinLat: pg[0].Lat, MaxLat: pg[0].Lat, MinLon: pg[0].Lon, MaxLon: pg[0].Lon}
	for _, p := range pg[1:] {
		b.MinLat, b.MaxLat = min(b.MinLat, p.Lat), max(b.MaxLat, p.Lat)
		b.MinLon, b.MaxLon = min(b.MinLon, p.Lon), max(b.MaxLon, p.Lon)
	}
	return b
}

// Contains reports whether p lies inside the polygon, by casting a ray
// from p towards increasing longitude and counting the edges it crosses
// (the even-odd rule). A point exactly on an edge may count either way;
// two units sharing that edge then disagree only on a line of no width.
func (pg Polygon) Contains(p Point) bool {
	in := false
	n := len(pg)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := pg[i], pg[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}

// Area returns the polygon's signed area in square degrees (positive when
// the vertices run counter-clockwise, east then north).
func (pg Polygon) Area() float64 {
	s := 0.0
	for i, j := 0, len(pg)-1; i < len(pg); j, i = i, i+1 {
		s += pg[j].Lon*pg[i].Lat - pg[i].Lon*pg[j].Lat
	}
	return s / 2
}

// Validate checks that the polygon has at least three vertices, all places
// on Earth, and encloses some area.
func (pg Polygon) Validate() error {
	if len(pg) < 3 || len(pg) > maxVertices {
		return kernel.E(kernel.Invalid, "error.registry.bad_polygon")
	}
	for _, p := range pg {
		if !p.Valid() {
			return kernel.E(kernel.Invalid, "error.registry.bad_polygon")
		}
	}
	if a := pg.Area(); a == 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return kernel.E(kernel.Invalid, "error.registry.bad_polygon")
	}
	return nil
}

// GeoJSON writes the polygon as a GeoJSON Polygon geometry (RFC 7946):
// longitude before latitude, the ring closed, counter-clockwise, seven
// decimals (about a centimetre).
func (pg Polygon) GeoJSON() string {
	ring := pg
	if pg.Area() < 0 {
		ring = make(Polygon, len(pg))
		for i, p := range pg {
			ring[len(pg)-1-i] = p
		}
	}
	var b bytes.Buffer
	b.Grow(24 * (len(ring) + 2))
	b.WriteString(`{"type":"Polygon","coordinates":[[`)
	for i := 0; i <= len(ring); i++ {
		p := ring[i%len(ring)]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		b.WriteString(strconv.FormatFloat(p.Lon, 'f', 7, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(p.Lat, 'f', 7, 64))
		b.WriteByte(']')
	}
	b.WriteString(`]]}`)
	return b.String()
}

// ParsePolygon reads a GeoJSON Polygon geometry of one closed ring (RFC
// 7946: [longitude, latitude] positions, the last repeating the first),
// as an import or a layer from outside supplies it. Holes, altitudes, and
// other geometry types are refused; a ring that crosses itself is read as
// it is drawn, inside where the even-odd rule says (Contains).
func ParsePolygon(data []byte) (Polygon, error) {
	var g struct {
		Type        string        `json:"type"`
		Coordinates [][][]float64 `json:"coordinates"`
	}
	if len(data) > 64*maxVertices {
		return nil, kernel.E(kernel.Invalid, "error.registry.bad_polygon")
	}
	if err := json.Unmarshal(data, &g); err != nil || g.Type != "Polygon" || len(g.Coordinates) != 1 {
		return nil, kernel.E(kernel.Invalid, "error.registry.bad_polygon")
	}
	ring := g.Coordinates[0]
	if len(ring) < 4 || len(ring) > maxVertices+1 {
		return nil, kernel.E(kernel.Invalid, "error.registry.bad_polygon")
	}
	pg := make(Polygon, 0, len(ring)-1)
	for _, c := range ring {
		if len(c) != 2 {
			return nil, kernel.E(kernel.Invalid, "error.registry.bad_polygon")
		}
		pg = append(pg, Point{Lat: c[1], Lon: c[0]})
	}
	if pg[0] != pg[len(pg)-1] {
		return nil, kernel.E(kernel.Invalid, "error.registry.bad_polygon")
	}
	pg = pg[:len(pg)-1]
	if err := pg.Validate(); err != nil {
		return nil, err
	}
	return pg, nil
}

// MarshalJSON writes the polygon as its GeoJSON geometry.
func (pg Polygon) MarshalJSON() ([]byte, error) {
	if len(pg) == 0 {
		return []byte("null"), nil
	}
	return []byte(pg.GeoJSON()), nil
}

// UnmarshalJSON reads a GeoJSON Polygon geometry with ParsePolygon.
func (pg *Polygon) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*pg = nil
		return nil
	}
	p, err := ParsePolygon(data)
	if err != nil {
		return err
	}
	*pg = p
	return nil
}
