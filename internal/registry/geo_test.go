package registry_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// lShape is a concave polygon: the square 0..2 × 0..2 without its
// top-right quarter (latitude up, longitude right).
var lShape = registry.Polygon{{Lat: 0, Lon: 0}, {Lat: 0, Lon: 2}, {Lat: 1, Lon: 2}, {Lat: 1, Lon: 1}, {Lat: 2, Lon: 1}, {Lat: 2, Lon: 0}}

func TestPolygonContains(t *testing.T) {
	for _, tt := range []struct {
		name     string
		lat, lon float64
		in       bool
	}{
		{"ok/inside the foot", 0.5, 1.5, true},
		{"ok/inside the stem", 1.5, 0.5, true},
		{"ok/inside the corner", 0.5, 0.5, true},
		{"fail/in the missing quarter", 1.5, 1.5, false},
		{"fail/left of it", 0.5, -0.1, false},
		{"fail/right of it", 0.5, 2.1, false},
		{"fail/below it", -0.5, 0.5, false},
		{"fail/above it", 2.5, 0.5, false},
		{"fail/level with a vertex, outside", 1, 3, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := lShape.Contains(registry.Point{Lat: tt.lat, Lon: tt.lon}); got != tt.in {
				t.Fatalf("Contains = %v", got)
			}
		})
	}
	if b := lShape.BBox(); b != (registry.BBox{MinLat: 0, MinLon: 0, MaxLat: 2, MaxLon: 2}) {
		t.Fatalf("bbox %+v", b)
	}
	if a := lShape.Area(); a != 3 {
		t.Fatalf("area %v", a)
	}
}

func TestParsePolygon(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"ok/triangle", `{"type":"Polygon","coordinates":[[[108,12],[108.1,12],[108,12.1],[108,12]]]}`, true},
		{"ok/clockwise", `{"type":"Polygon","coordinates":[[[108,12],[108,12.1],[108.1,12],[108,12]]]}`, true},
		{"fail/not closed", `{"type":"Polygon","coordinates":[[[108,12],[108.1,12],[108,12.1],[108,12.2]]]}`, false},
		{"fail/two points", `{"type":"Polygon","coordinates":[[[108,12],[108.1,12],[108,12]]]}`, false},
		{"fail/a hole", `{"type":"Polygon","coordinates":[[[0,0],[3,0],[0,3],[0,0]],[[1,1],[1.5,1],[1,1.5],[1,1]]]}`, false},
		{"fail/altitude", `{"type":"Polygon","coordinates":[[[108,12,5],[108.1,12,5],[108,12.1,5],[108,12,5]]]}`, false},
		{"fail/latitude beyond the pole", `{"type":"Polygon","coordinates":[[[108,91],[108.1,12],[108,12.1],[108,91]]]}`, false},
		{"fail/no area", `{"type":"Polygon","coordinates":[[[108,12],[108.1,12],[108.2,12],[108,12]]]}`, false},
		{"fail/a point", `{"type":"Point","coordinates":[108,12]}`, false},
		{"fail/not JSON", `{"type":"Polygon"`, false},
		{"fail/empty", ``, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := registry.ParsePolygon([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if !tt.ok {
				if kernel.ErrorCode(err) != kernel.Invalid {
					t.Fatalf("code %s", kernel.ErrorCode(err))
				}
				return
			}
			if len(pg) != 3 || !strings.Contains(pg.GeoJSON(), "[108.0000000,12.0000000]") {
				t.Fatalf("parsed %v as %s", pg, pg.GeoJSON())
			}
		})
	}
}

// FuzzParsePolygon: whatever ParsePolygon accepts is a valid polygon that
// writes back as GeoJSON and reads again as the same polygon, and holds no
// point outside its bounding box.
func FuzzParsePolygon(f *testing.F) {
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[108,12],[108.1,12],[108,12.1],[108,12]]]}`), 108.01, 12.01)
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,1],[1,1],[1,2],[0,2],[0,0]]]}`), 1.5, 1.5)
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[1e308,0],[-1e308,0],[0,1e308],[1e308,0]]]}`), 0.0, 0.0)
	f.Fuzz(func(t *testing.T, data []byte, lon, lat float64) {
		pg, err := registry.ParsePolygon(data)
		if err != nil {
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("error %v is not Invalid", err)
			}
			return
		}
		if err := pg.Validate(); err != nil {
			t.Fatalf("accepted an invalid polygon: %v", err)
		}
		again, err := registry.ParsePolygon([]byte(pg.GeoJSON()))
		if err != nil || len(again) != len(pg) {
			t.Fatalf("round trip of %s: %v, %d vertices", pg.GeoJSON(), err, len(again))
		}
		p := registry.Point{Lat: lat, Lon: lon}
		if pg.Contains(p) && !pg.BBox().Contains(p) {
			t.Fatalf("%v inside %v but outside its box", p, pg)
		}
	})
}

// FuzzPolygonContains compares ray casting with the half-plane test on a
// convex polygon (a regular polygon of 3 to 40 sides, at a centre, turned),
// away from its edges, and checks that where a polygon's ring starts does
// not change the answer.
func FuzzPolygonContains(f *testing.F) {
	f.Add(12.7, 108.2, 0.5, uint8(6), 0.3, 12.9, 108.1)
	f.Add(0.0, 0.0, 1.0, uint8(3), 0.0, 0.2, 0.2)
	f.Add(-45.0, 170.0, 0.01, uint8(40), 2.0, -45.005, 170.001)
	f.Fuzz(func(t *testing.T, clat, clon, r float64, sides uint8, turn, plat, plon float64) {
		if math.IsNaN(clat+clon+r+turn+plat+plon) || math.IsInf(clat+clon+r+turn+plat+plon, 0) ||
			math.Abs(clat) > 80 || math.Abs(clon) > 170 || r < 1e-4 || r > 5 || math.Abs(turn) > 10 {
			return
		}
		n := 3 + int(sides)%38
		pg := make(registry.Polygon, n)
		for i := range pg {
			a := turn + 2*math.Pi*float64(i)/float64(n)
			pg[i] = registry.Point{Lat: clat + r*math.Sin(a), Lon: clon + r*math.Cos(a)}
		}
		p := registry.Point{Lat: plat, Lon: plon}
		in, near := true, false
		for i := range pg {
			a, b := pg[i], pg[(i+1)%n]
			// Signed distance of p from the edge's line, positive inside.
			cross := (b.Lon-a.Lon)*(p.Lat-a.Lat) - (b.Lat-a.Lat)*(p.Lon-a.Lon)
			d := cross / math.Hypot(b.Lon-a.Lon, b.Lat-a.Lat)
			if d < 0 {
				in = false
			}
			if math.Abs(d) < 1e-9*(1+r) {
				near = true
			}
		}
		got := pg.Contains(p)
		if !near && got != in {
			t.Fatalf("Contains(%v) = %v, half planes say %v, polygon %v", p, got, in, pg)
		}
		for k := 1; k < n; k++ {
			turned := append(append(registry.Polygon{}, pg[k:]...), pg[:k]...)
			if turned.Contains(p) != got {
				t.Fatalf("starting the ring at vertex %d changes Contains(%v)", k, p)
			}
		}
	})
}

// demoRegistry loads a demo province of persons into a fresh database.
func demoRegistry(t testing.TB, persons int, o ...func(*demo.Options)) (*registry.Service, *db.DB) {
	t.Helper()
	d := dbtest.Open(t)
	opts := demo.Options{Persons: persons, Seed: 1, Clock: kernel.NewManualClock(time.Date(2025, 10, 1, 3, 0, 0, 0, time.UTC))}
	for _, f := range o {
		f(&opts)
	}
	if _, err := demo.Load(context.Background(), d, opts); err != nil {
		t.Fatal(err)
	}
	return registry.New(d, opts.Clock), d
}

// TestBoundariesTileTheProvince checks the demo's map: the city of the
// province is where Buôn Ma Thuột is; every point of the province lies in
// exactly one commune, inside that commune's district; the communes'
// areas add up to their district's and the districts' to the province's;
// UnitAt finds the commune; every residential area's centre and every
// school lies in its commune.
func TestBoundariesTileTheProvince(t *testing.T) {
	ctx := context.Background()
	s, _ := demoRegistry(t, 1000)
	u, err := s.UnitAt(ctx, 12.68, 108.05)
	if err != nil || u.Level != registry.Commune {
		t.Fatalf("UnitAt(12.68, 108.05) = %+v, %v", u, err)
	}
	if d, err := s.Unit(ctx, u.ParentCode); err != nil || !strings.HasPrefix(d.Name, "Thành phố") {
		t.Fatalf("the point is in %+v of %+v (%v), not the city", u, d, err)
	}
	var all []registry.Boundary
	for after := ""; ; {
		bs, err := s.ListBoundaries(ctx, kernel.Page{After: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, bs...)
		if len(bs) < 100 {
			break
		}
		after = bs[len(bs)-1].UnitCode
	}
	units := map[string]registry.Unit{}
	us, err := s.ListUnits(ctx, kernel.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		units[u.Code] = u
	}
	if len(all) != len(us) {
		t.Fatalf("%d boundaries for %d units", len(all), len(us))
	}
	var province registry.Boundary
	area := map[string]float64{}   // a unit's own area
	summed := map[string]float64{} // its children's
	byLevel := map[registry.Level][]registry.Boundary{}
	for _, b := range all {
		u := units[b.UnitCode]
		if b.BBox != b.Polygon.BBox() {
			t.Fatalf("%s: stored box %+v, polygon's %+v", b.UnitCode, b.BBox, b.Polygon.BBox())
		}
		area[u.Code] = math.Abs(b.Polygon.Area())
		summed[u.ParentCode] += math.Abs(b.Polygon.Area())
		byLevel[u.Level] = append(byLevel[u.Level], b)
		if u.Level == registry.Province {
			province = b
		}
	}
	for code, a := range area {
		if units[code].Level == registry.Commune {
			continue
		}
		if math.Abs(summed[code]-a) > 1e-6*a {
			t.Errorf("%s: area %.9f, its parts' %.9f", code, a, summed[code])
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	hits := 0
	for range 3000 {
		p := registry.Point{Lat: province.MinLat + r.Float64()*(province.MaxLat-province.MinLat), Lon: province.MinLon + r.Float64()*(province.MaxLon-province.MinLon)}
		var in []registry.Boundary
		for _, b := range byLevel[registry.Commune] {
			if b.Polygon.Contains(p) {
				in = append(in, b)
			}
		}
		u, err := s.UnitAt(ctx, p.Lat, p.Lon)
		if !province.Polygon.Contains(p) {
			if len(in) != 0 || kernel.ErrorCode(err) != kernel.NotFound {
				t.Fatalf("%v outside the province is in %d communes; UnitAt: %+v, %v", p, len(in), u, err)
			}
			continue
		}
		hits++
		if len(in) != 1 {
			t.Fatalf("%v is in %d communes", p, len(in))
		}
		if err != nil || u.Code != in[0].UnitCode {
			t.Fatalf("UnitAt(%v) = %+v, %v; the commune is %s", p, u, err, in[0].UnitCode)
		}
		district, err := s.Boundary(ctx, u.ParentCode)
		if err != nil || !district.Polygon.Contains(p) {
			t.Fatalf("%v in commune %s but not in its district %s: %v", p, u.Code, u.ParentCode, err)
		}
	}
	if hits < 1500 {
		t.Fatalf("only %d of 3000 points fell in the province", hits)
	}
	for _, tt := range []struct {
		name     string
		lat, lon float64
		code     kernel.Code
	}{
		{"fail/far away", 21.03, 105.85, kernel.NotFound},
		{"fail/not a place", 95, 0, kernel.Invalid},
		{"fail/NaN", math.NaN(), 108, kernel.Invalid},
	} {
		if _, err := s.UnitAt(ctx, tt.lat, tt.lon); kernel.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	for after := ""; ; {
		as, err := s.ListAreas(ctx, kernel.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if u, err := s.UnitAt(ctx, a.Centre.Lat, a.Centre.Lon); err != nil || u.Code != a.UnitCode {
				t.Fatalf("area %+v: centre in %+v, %v", a, u, err)
			}
		}
		if len(as) < 1000 {
			break
		}
		after = as[len(as)-1].Code
	}
	schools, err := s.ListSchools(ctx, kernel.Page{Limit: 1000})
	if err != nil || len(schools) < 300 {
		t.Fatalf("%d schools, %v", len(schools), err)
	}
	for _, sc := range schools {
		if u, err := s.UnitAt(ctx, sc.Location.Lat, sc.Location.Lon); err != nil || u.Code != sc.UnitCode {
			t.Fatalf("school %+v: located in %+v, %v", sc, u, err)
		}
	}
}

// BenchmarkUnitAt looks up random points of the demo province's bounding
// box in the in-memory index.
func BenchmarkUnitAt(b *testing.B) {
	ctx := context.Background()
	s, _ := demoRegistry(b, 1000)
	pb, err := s.Boundary(ctx, "99")
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	pts := make([]registry.Point, 4096)
	for i := range pts {
		pts[i] = registry.Point{Lat: pb.MinLat + r.Float64()*(pb.MaxLat-pb.MinLat), Lon: pb.MinLon + r.Float64()*(pb.MaxLon-pb.MinLon)}
	}
	if _, err := s.UnitAt(ctx, 12.68, 108.05); err != nil { // build the index
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		p := pts[i%len(pts)]
		if _, err := s.UnitAt(ctx, p.Lat, p.Lon); err != nil && kernel.ErrorCode(err) != kernel.NotFound {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
