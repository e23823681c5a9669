package feedback_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/feedback"
	"civitas/internal/kernel"
)

// ogrStyle is a file as GDAL's ogr2ogr writes it (a name, a CRS member,
// one feature per line, numbers as written).
const ogrStyle = `{
"type": "FeatureCollection",
"name": "quy_hoach",
"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },
"features": [
{ "type": "Feature", "properties": { "name": "Đất ở đô thị", "ma": "ODT", "dien_tich": 12.5 }, "geometry": { "type": "Polygon", "coordinates": [ [ [ 108.04, 12.67 ], [ 108.06, 12.67 ], [ 108.06, 12.69 ], [ 108.04, 12.69 ], [ 108.04, 12.67 ] ] ] } },
{ "type": "Feature", "properties": { "name": "Công viên", "ma": "DKV" }, "geometry": { "type": "MultiPolygon", "coordinates": [ [ [ [ 108.10, 12.60 ], [ 108.12, 12.60 ], [ 108.12, 12.62 ], [ 108.10, 12.60 ] ] ] ] } },
{ "type": "Feature", "properties": { "name": "Đường vành đai" }, "geometry": { "type": "LineString", "coordinates": [ [ 108.0, 12.6 ], [ 108.1, 12.7 ] ] } },
{ "type": "Feature", "properties": { "ten": "Trạm bơm" }, "geometry": { "type": "Point", "coordinates": [ 108.15, 12.75, 480.0 ] } }
]
}
`

func TestParseGeoJSON(t *testing.T) {
	fs, err := feedback.ParseGeoJSON([]byte(ogrStyle), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 4 {
		t.Fatalf("%d features", len(fs))
	}
	want := []struct{ name, kind string }{{"Đất ở đô thị", "polygon"}, {"Công viên", "polygon"}, {"Đường vành đai", "line"}, {"Trạm bơm", "point"}}
	for i, w := range want {
		if fs[i].Name != w.name || fs[i].Kind != w.kind {
			t.Errorf("feature %d: %q %s, want %q %s", i, fs[i].Name, fs[i].Kind, w.name, w.kind)
		}
	}
	if fs[0].Properties["ma"] != "ODT" || fs[0].Properties["dien_tich"] != "12.5" {
		t.Errorf("properties %v", fs[0].Properties)
	}
	if b := fs[0].BBox; b.MinLon != 108.04 || b.MaxLat != 12.69 {
		t.Errorf("bbox %+v", b)
	}
	// The named property wins.
	fs, _ = feedback.ParseGeoJSON([]byte(ogrStyle), "ma")
	if fs[0].Name != "ODT" {
		t.Errorf("named by ma: %q", fs[0].Name)
	}
	// One Feature alone, RFC 7946 style.
	one := `{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Point","coordinates":[108.05,12.68]}}`
	if fs, err := feedback.ParseGeoJSON([]byte(one), ""); err != nil || len(fs) != 1 || fs[0].Name != "A" {
		t.Fatalf("one feature: %v %v", fs, err)
	}
}

// Each fault is refused with its reason and the line it is on.
func TestGeoJSONErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		src    string
		line   int
		reason string
	}{
		{"fail/not JSON", "{\n\"type\": \"FeatureCollection\",\n\"features\": [ nope ]\n}", 3, "syntax"},
		{"fail/cut short", "{\n\"type\": \"FeatureCollection\",\n\"features\": [\n", 3, "syntax"},
		{"fail/trailing comma", "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[108,12]}},\n]}", 4, "syntax"},
		{"fail/an array", "[1, 2]", 1, "not_collection"},
		{"fail/a geometry alone", "{\"type\": \"Polygon\", \"coordinates\": []}", 1, "not_collection"},
		{"fail/no features", "{\"type\":\"FeatureCollection\",\"features\":[]}", 1, "empty"},
		{"fail/not a feature", "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Point\",\"coordinates\":[108,12]}\n]}", 3, "feature"},
		{"fail/unknown geometry", "{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\",\"properties\":{},\n\"geometry\":{\"type\":\"Circle\",\"coordinates\":[108,12]}}]}", 3, "geometry_type"},
		{"fail/null geometry", "{\"type\":\"FeatureCollection\",\"features\":[\n\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":null}]}", 3, "geometry_type"},
		{"fail/latitude first", "{\"type\":\"FeatureCollection\",\"features\":[\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[\n[108.0,12.6],\n[12.6,108.1],\n[108.1,12.7],[108.0,12.6]]]}}]}", 4, "outside"},
		{"fail/position of one number", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\n\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[108.0,12.6],\n[108.1]]}}]}", 3, "position"},
		{"fail/position of text", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\n\"geometry\":{\"type\":\"Point\",\"coordinates\":\n[\"108\",12.6]}}]}", 3, "coordinates"},
		{"fail/ring not closed", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[\n\n[[108.0,12.6],[108.1,12.6],[108.1,12.7],[108.0,12.7]]]}}]}", 3, "ring"},
		{"fail/ring of three", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[\n[[108.0,12.6],[108.1,12.6],[108.0,12.6]]]}}]}", 2, "ring"},
		{"fail/polygon given as a line", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":\n[[108.0,12.6],[108.1,12.6],[108.1,12.7],[108.0,12.6]]}}]}", 2, "coordinates"},
		{"fail/projected coordinates", "{\"type\":\"FeatureCollection\",\n\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::3405\"}},\n\"features\":[]}", 2, "crs"},
		{"fail/too deep", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[[[[[\n[108,12]]]]]]}}]}", 1, "coordinates"},
		{"fail/properties not an object", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\n\"properties\":[1,2],\"geometry\":{\"type\":\"Point\",\"coordinates\":[108,12]}}]}", 2, "properties"},
		{"fail/trailing garbage", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[108,12]}}]}\n\n{}", 3, "syntax"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := feedback.ParseGeoJSON([]byte(tt.src), "")
			var ge *feedback.GeoJSONError
			if !errors.As(err, &ge) {
				t.Fatalf("err = %v, want a GeoJSONError", err)
			}
			if ge.Line != tt.line || ge.Reason != tt.reason {
				t.Fatalf("line %d %s, want line %d %s", ge.Line, ge.Reason, tt.line, tt.reason)
			}
		})
	}
}

func FuzzGeoJSON(f *testing.F) {
	f.Add([]byte(ogrStyle))
	f.Add([]byte(`{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Point","coordinates":[108.05,12.68]}}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":null,"geometry":{"type":"MultiLineString","coordinates":[[[108,12],[108.1,12.1]]]}}]}`))
	f.Add([]byte(`{"features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1e400,12]]]}}],"type":"FeatureCollection"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := feedback.ParseGeoJSON(b, "")
		if err != nil {
			var ge *feedback.GeoJSONError
			if !errors.As(err, &ge) || ge.Line < 1 || ge.Line > strings.Count(string(b), "\n")+1 {
				t.Fatalf("error without a line in the file: %v", err)
			}
			return
		}
		for _, f := range fs {
			if f.BBox.Empty() || !feedback.ValidCoordinates(f.BBox.MinLat, f.BBox.MinLon) || !feedback.ValidCoordinates(f.BBox.MaxLat, f.BBox.MaxLon) {
				t.Fatalf("feature outside Viet Nam accepted: %+v", f.BBox)
			}
			for _, pg := range f.Polygons {
				for _, r := range pg {
					if len(r) < 4 || r[0] != r[len(r)-1] {
						t.Fatalf("open ring accepted: %v", r)
					}
				}
			}
		}
	})
}

// A file written by GDAL's ogr2ogr (from a CSV of WKT) is imported; a
// broken copy is refused naming its line. Skipped without ogr2ogr;
// .ci/feedback requires it.
func TestImportOgr2ogr(t *testing.T) {
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		if os.Getenv("CIVITAS_REQUIRE_GDAL") != "" {
			t.Fatal("ogr2ogr is required (Debian gdal-bin)")
		}
		t.Skip("ogr2ogr not installed (Debian gdal-bin)")
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "zones.csv")
	if err := os.WriteFile(csv, []byte("WKT,name,ma\n"+
		"\"POLYGON ((108.04 12.67,108.06 12.67,108.06 12.69,108.04 12.69,108.04 12.67))\",Đất ở đô thị,ODT\n"+
		"\"POLYGON ((108.10 12.60,108.12 12.60,108.12 12.62,108.10 12.60))\",Công viên,DKV\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "zones.geojson")
	cmd := exec.Command("ogr2ogr", "-f", "GeoJSON", "-a_srs", "EPSG:4326", out, csv)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ogr2ogr: %v\n%s", err, b)
	}
	src, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	ctx := kernel.WithActor(e.ctx, kernel.Actor{Kind: kernel.ActorOfficial, ID: wardStaff, OnBehalfOf: feedback.ActingFor("H980.UBND")})
	l, err := e.s.ImportLayer(ctx, feedback.LayerDraft{Name: "Quy hoạch phân khu", Kind: feedback.LayerZoning, GeoJSON: src, Agency: "H980.UBND"})
	if err != nil {
		t.Fatalf("import of ogr2ogr's file: %v\n%s", err, src)
	}
	if l.Features != 2 {
		t.Fatalf("%d features", l.Features)
	}
	plans, err := e.s.PlannedAt(e.ctx, 12.68, 108.05, "2026-12-01")
	if err != nil || len(plans) != 1 || plans[0].Name != "Đất ở đô thị" {
		t.Fatalf("planned at the point: %+v %v", plans, err)
	}
	// Break the second feature's ring: the error names its line.
	lines := strings.Split(string(src), "\n")
	broken := -1
	for i, l := range lines {
		if strings.Contains(l, "Công viên") {
			lines[i] = strings.Replace(l, "[ 108.1, 12.6 ] ] ]", "[ 108.1, 12.61 ] ] ]", 1)
			broken = i + 1
		}
	}
	_, err = e.s.ImportLayer(ctx, feedback.LayerDraft{Name: "Hỏng", Kind: feedback.LayerZoning, GeoJSON: []byte(strings.Join(lines, "\n"))})
	key, args := kernel.ErrorKey(err)
	if key != "feedback.error.geojson.ring" || len(args) != 1 || args[0] != broken {
		t.Fatalf("broken file: %v (%s %v), want the ring on line %d", err, key, args, broken)
	}
}
