package feedback

import (
	"math"
	"slices"
)

// BBox is a box of longitudes and latitudes.
type BBox struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// emptyBBox is the box that any point extends.
func emptyBBox() BBox {
	return BBox{MinLon: math.Inf(1), MinLat: math.Inf(1), MaxLon: math.Inf(-1), MaxLat: math.Inf(-1)}
}

// Empty reports whether the box holds no point.
func (b BBox) Empty() bool { return b.MinLon > b.MaxLon || b.MinLat > b.MaxLat }

func (b *BBox) add(p Point) {
	b.MinLon, b.MaxLon = min(b.MinLon, p[0]), max(b.MaxLon, p[0])
	b.MinLat, b.MaxLat = min(b.MinLat, p[1]), max(b.MaxLat, p[1])
}

func (b *BBox) union(o BBox) {
	if o.Empty() {
		return
	}
	b.add(Point{o.MinLon, o.MinLat})
	b.add(Point{o.MaxLon, o.MaxLat})
}

// Contains reports whether the point lies in the box (edges included).
func (b BBox) Contains(lat, lon float64) bool {
	return lon >= b.MinLon && lon <= b.MaxLon && lat >= b.MinLat && lat <= b.MaxLat
}

// grow returns the box widened by a fraction of its size on every side.
func (b BBox) grow(f float64) BBox {
	dx, dy := (b.MaxLon-b.MinLon)*f, (b.MaxLat-b.MinLat)*f
	return BBox{b.MinLon - dx, b.MinLat - dy, b.MaxLon + dx, b.MaxLat + dy}
}

func polygonsBBox(ps []Polygon) BBox {
	b := emptyBBox()
	for _, p := range ps {
		if len(p) > 0 {
			for _, pt := range p[0] {
				b.add(pt)
			}
		}
	}
	return b
}

// inRing reports whether (lon, lat) is inside the ring (even-odd rule).
func inRing(r Ring, lon, lat float64) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		xi, yi, xj, yj := r[i][0], r[i][1], r[j][0], r[j][1]
		if (yi > lat) != (yj > lat) && lon < (xj-xi)*(lat-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// inPolygon reports whether the point is inside the outer ring and
// outside every hole.
func inPolygon(p Polygon, lon, lat float64) bool {
	if len(p) == 0 || !inRing(p[0], lon, lat) {
		return false
	}
	for _, h := range p[1:] {
		if inRing(h, lon, lat) {
			return false
		}
	}
	return true
}

func inPolygons(ps []Polygon, lon, lat float64) bool {
	for _, p := range ps {
		if inPolygon(p, lon, lat) {
			return true
		}
	}
	return false
}

// ringArea is the ring's signed area in square degrees (shoelace).
func ringArea(r Ring) float64 {
	a := 0.0
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a += r[j][0]*r[i][1] - r[i][0]*r[j][1]
	}
	return a / 2
}

// interiorPoint returns a point inside the polygons: on the horizontal line
// through the largest polygon's middle, the midpoint of the widest stretch
// inside it. A citizen who gives an address rather than a point is placed
// there, inside the commune they chose.
func interiorPoint(ps []Polygon) (Point, bool) {
	best, bestArea := -1, 0.0
	for i, p := range ps {
		if len(p) == 0 {
			continue
		}
		if a := math.Abs(ringArea(p[0])); a > bestArea {
			best, bestArea = i, a
		}
	}
	if best < 0 {
		return Point{}, false
	}
	p := ps[best]
	b := polygonsBBox([]Polygon{p})
	// Try the middle line first, then lines around it.
	for _, f := range []float64{0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8} {
		lat := b.MinLat + (b.MaxLat-b.MinLat)*f
		var xs []float64
		for _, r := range p {
			for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
				yi, yj := r[i][1], r[j][1]
				if (yi > lat) != (yj > lat) {
					xs = append(xs, (r[j][0]-r[i][0])*(lat-yi)/(yj-yi)+r[i][0])
				}
			}
		}
		slices.Sort(xs)
		wide, at := 0.0, 0.0
		for i := 0; i+1 < len(xs); i += 2 {
			if w := xs[i+1] - xs[i]; w > wide {
				wide, at = w, (xs[i]+xs[i+1])/2
			}
		}
		if wide > 0 && inPolygon(p, at, lat) {
			return Point{at, lat}, true
		}
	}
	return Point{}, false
}

// simplifyRing drops the points of r that lie within tol (degrees) of the
// line between the points kept around them (Douglas–Peucker), keeping the
// ring closed and at least a triangle.
func simplifyRing(r Ring, tol float64) Ring {
	if len(r) <= 4 || tol <= 0 {
		return r
	}
	keep := make([]bool, len(r))
	keep[0], keep[len(r)-1] = true, true
	// The ring starts and ends at one point: split it at the point
	// farthest from the start, so both halves have a chord.
	far, farD := 0, -1.0
	for i := range r {
		if d := math.Hypot(r[i][0]-r[0][0], r[i][1]-r[0][1]); d > farD {
			far, farD = i, d
		}
	}
	keep[far] = true
	var stack [][2]int
	stack = append(stack, [2]int{0, far}, [2]int{far, len(r) - 1})
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		a, b := s[0], s[1]
		if b-a < 2 {
			continue
		}
		idx, dmax := -1, tol
		for i := a + 1; i < b; i++ {
			if d := segDist(r[i], r[a], r[b]); d > dmax {
				idx, dmax = i, d
			}
		}
		if idx >= 0 {
			keep[idx] = true
			stack = append(stack, [2]int{a, idx}, [2]int{idx, b})
		}
	}
	out := make(Ring, 0, 16)
	for i, k := range keep {
		if k {
			out = append(out, r[i])
		}
	}
	if len(out) < 4 {
		return r
	}
	return out
}

// segDist is the distance from p to the segment a–b, in degrees.
func segDist(p, a, b Point) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	if dx == 0 && dy == 0 {
		return math.Hypot(p[0]-a[0], p[1]-a[1])
	}
	t := ((p[0]-a[0])*dx + (p[1]-a[1])*dy) / (dx*dx + dy*dy)
	t = max(0, min(1, t))
	return math.Hypot(p[0]-(a[0]+t*dx), p[1]-(a[1]+t*dy))
}

// metresBetween is the distance between two points on the Earth, in metres
// (equirectangular: exact enough within a province).
func metresBetween(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6_371_000.0
	x := (lon2 - lon1) * math.Pi / 180 * math.Cos((lat1+lat2)/2*math.Pi/180)
	y := (lat2 - lat1) * math.Pi / 180
	return r * math.Hypot(x, y)
}
