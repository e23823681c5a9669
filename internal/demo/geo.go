package demo

import (
	"math"
	"math/rand/v2"
	"slices"

	"civitas/internal/registry"
)

// The demo province's map: a convex outline around its centre, cut into
// districts and the districts into communes by Voronoi cells (each unit the
// part of its parent nearer to its seat than to any sibling's). Convex
// cells clipped from the same parent share their edges, so the communes
// tile their district and the districts the province, with no gap and no
// overlap but along the edges themselves.

// plane maps degrees to a local flat plane where a unit of x and of y is
// the same distance (a degree of latitude), so that "nearer" is true
// distance and shapes are not squashed east-west.
type plane struct{ k float64 }

func newPlane(lat float64) plane { return plane{k: math.Cos(lat * math.Pi / 180)} }

type xy struct{ x, y float64 }

func (pl plane) to(p registry.Point) xy   { return xy{p.Lon * pl.k, p.Lat} }
func (pl plane) from(q xy) registry.Point { return registry.Point{Lat: q.y, Lon: q.x / pl.k} }

func (pl plane) polygon(ring []xy) registry.Polygon {
	out := make(registry.Polygon, len(ring))
	for i, q := range ring {
		p := pl.from(q)
		// Seven decimals, as the boundaries are stored: what is tested is
		// what is written.
		p.Lat, p.Lon = round7(p.Lat), round7(p.Lon)
		out[i] = p
	}
	return out
}

// outline is a convex polygon of about radius r around c.
func outline(rng *rand.Rand, c xy, r float64) []xy {
	const n = 30
	pts := make([]xy, 0, n)
	phase := rng.Float64() * 2 * math.Pi
	for i := range n {
		a := 2*math.Pi*float64(i)/n + (rng.Float64()-0.5)*0.15
		// A smooth wobble and a little noise, then the hull keeps it convex.
		rr := r * (0.86 + 0.1*math.Sin(2*a+phase) + 0.04*rng.Float64())
		pts = append(pts, xy{c.x + rr*math.Cos(a), c.y + rr*math.Sin(a)})
	}
	return hull(pts)
}

// hull is the convex hull of pts, counter-clockwise (Andrew's monotone chain).
func hull(pts []xy) []xy {
	pts = slices.Clone(pts)
	slices.SortFunc(pts, func(a, b xy) int {
		if a.x != b.x {
			return cmpFloat(a.x, b.x)
		}
		return cmpFloat(a.y, b.y)
	})
	cross := func(o, a, b xy) float64 { return (a.x-o.x)*(b.y-o.y) - (a.y-o.y)*(b.x-o.x) }
	var h []xy
	for _, p := range pts {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	lower := len(h) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		p := pts[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	return h[:len(h)-1]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// clip keeps the part of the convex polygon ring nearer to a than to b
// (Sutherland–Hodgman against the perpendicular bisector of a and b).
func clip(ring []xy, a, b xy) []xy {
	// Inside: (p - m)·(b - a) <= 0, m the midpoint.
	nx, ny := b.x-a.x, b.y-a.y
	m := xy{(a.x + b.x) / 2, (a.y + b.y) / 2}
	side := func(p xy) float64 { return (p.x-m.x)*nx + (p.y-m.y)*ny }
	var out []xy
	for i := range ring {
		p, q := ring[i], ring[(i+1)%len(ring)]
		sp, sq := side(p), side(q)
		if sp <= 0 {
			out = append(out, p)
		}
		if (sp < 0 && sq > 0) || (sp > 0 && sq < 0) {
			t := sp / (sp - sq)
			out = append(out, xy{p.x + t*(q.x-p.x), p.y + t*(q.y-p.y)})
		}
	}
	return dedupe(out)
}

// dedupe drops vertices that repeat their predecessor.
func dedupe(ring []xy) []xy {
	out := ring[:0]
	for i, p := range ring {
		if i > 0 && math.Abs(p.x-out[len(out)-1].x) < 1e-12 && math.Abs(p.y-out[len(out)-1].y) < 1e-12 {
			continue
		}
		out = append(out, p)
	}
	if len(out) > 1 && math.Abs(out[0].x-out[len(out)-1].x) < 1e-12 && math.Abs(out[0].y-out[len(out)-1].y) < 1e-12 {
		out = out[:len(out)-1]
	}
	return out
}

// cells cuts the convex ring into one Voronoi cell per seed.
func cells(ring []xy, seeds []xy) [][]xy {
	out := make([][]xy, len(seeds))
	for i, s := range seeds {
		c := ring
		for j, t := range seeds {
			if i != j && len(c) > 0 {
				c = clip(c, s, t)
			}
		}
		out[i] = c
	}
	return out
}

// inside reports whether q lies inside the convex counter-clockwise ring.
func inside(ring []xy, q xy) bool {
	for i := range ring {
		a, b := ring[i], ring[(i+1)%len(ring)]
		if (b.x-a.x)*(q.y-a.y)-(b.y-a.y)*(q.x-a.x) < 0 {
			return false
		}
	}
	return len(ring) >= 3
}

// seeds draws n points inside ring, as far apart as the tries allow, the
// fixed ones first.
func seeds(rng *rand.Rand, ring []xy, n int, fixed ...xy) []xy {
	minX, minY, maxX, maxY := bounds(ring)
	// Spread n points evenly: each would hold an area of about A/n.
	area := math.Abs(ringArea(ring))
	gap := 0.8 * math.Sqrt(area/float64(n))
	out := append([]xy(nil), fixed...)
	for tries := 0; len(out) < n; tries++ {
		if tries > 0 && tries%200 == 0 {
			gap *= 0.9
		}
		q := xy{minX + rng.Float64()*(maxX-minX), minY + rng.Float64()*(maxY-minY)}
		if !inside(ring, q) {
			continue
		}
		ok := true
		for _, p := range out {
			if math.Hypot(p.x-q.x, p.y-q.y) < gap {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, q)
		}
	}
	return out
}

// pointIn draws a point inside ring, away from its edges.
func pointIn(rng *rand.Rand, ring []xy) xy {
	minX, minY, maxX, maxY := bounds(ring)
	c := centroid(ring)
	for range 1000 {
		q := xy{minX + rng.Float64()*(maxX-minX), minY + rng.Float64()*(maxY-minY)}
		// Pull towards the centre so the point keeps off the boundary.
		q = xy{c.x + 0.85*(q.x-c.x), c.y + 0.85*(q.y-c.y)}
		if inside(ring, q) {
			return q
		}
	}
	return c
}

func bounds(ring []xy) (minX, minY, maxX, maxY float64) {
	minX, minY, maxX, maxY = ring[0].x, ring[0].y, ring[0].x, ring[0].y
	for _, p := range ring[1:] {
		minX, maxX = min(minX, p.x), max(maxX, p.x)
		minY, maxY = min(minY, p.y), max(maxY, p.y)
	}
	return
}

func ringArea(ring []xy) float64 {
	s := 0.0
	for i := range ring {
		a, b := ring[i], ring[(i+1)%len(ring)]
		s += a.x*b.y - b.x*a.y
	}
	return s / 2
}

func centroid(ring []xy) xy {
	var cx, cy float64
	for _, p := range ring {
		cx += p.x
		cy += p.y
	}
	return xy{cx / float64(len(ring)), cy / float64(len(ring))}
}

// mapUnits draws the province's map: an outline, district cells around
// district seats (the first at the province's city), commune cells inside
// each district. It returns the rings of the province, the districts and
// the communes, in the plane pl.
func mapUnits(rng *rand.Rand, st *structure, pl plane) (province []xy, districts, communes [][]xy) {
	pv := st.prov
	province = outline(rng, pl.to(pv.centre), pv.radius)
	districts = cells(province, seeds(rng, province, len(st.districts), pl.to(pv.city)))
	communes = make([][]xy, len(st.communes))
	for di := range st.districts {
		var idx []int
		for ci, d := range st.communeDistrict {
			if d == di {
				idx = append(idx, ci)
			}
		}
		for k, c := range cells(districts[di], seeds(rng, districts[di], len(idx))) {
			communes[idx[k]] = c
		}
	}
	return province, districts, communes
}
