package feedback

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"civitas/internal/kernel"
)

// Limits of a GeoJSON import.
const (
	MaxGeoJSONBytes     = 20 << 20
	MaxLayerFeatures    = 10_000
	MaxLayerPositions   = 1_000_000
	maxPropertyValueLen = 500
	maxProperties       = 50
)

// Feature is a feature of a planning layer: a zone or a project, with its
// name, its properties and its shape.
type Feature struct {
	Name       string
	Properties map[string]string
	Kind       string // "point", "line", "polygon"
	Points     []Point
	Lines      [][]Point
	Polygons   []Polygon
	BBox       BBox
}

// Feature kinds.
const (
	KindPoint   = "point"
	KindLine    = "line"
	KindPolygon = "polygon"
)

// GeoJSONError says what is wrong with a GeoJSON file and on which line.
type GeoJSONError struct {
	Line   int
	Reason string // a word the catalogue has as feedback.error.geojson.<reason>
}

func (e *GeoJSONError) Error() string {
	return "feedback: GeoJSON line " + strconv.Itoa(e.Line) + ": " + e.Reason
}

// kernelError is the error users see: the reason, on its line.
func (e *GeoJSONError) kernelError() error {
	key := "feedback.error.geojson." + e.Reason // every reason's key is checked at Mount (pageKeys)
	return kernel.E(kernel.Invalid, key, e.Line).WithCause(e)
}

// geojsonReasons are the reasons a file is refused; each is a catalogue key.
func geojsonReasons() []string {
	return []string{"syntax", "not_collection", "feature", "geometry_type", "coordinates", "position", "outside", "ring",
		"crs", "properties", "too_many", "empty", "too_large"}
}

// ParseGeoJSON reads a FeatureCollection (or one Feature) in WGS 84 (RFC
// 7946, or the OGC CRS84 / EPSG:4326 names GDAL's ogr2ogr writes) and
// returns its features. nameProperty names the property that names a
// feature ("" tries name, ten, NAME, Name, TEN). A file that is not valid
// GeoJSON of points, lines and polygons within Viet Nam is refused with a
// *GeoJSONError naming the line of the first fault.
func ParseGeoJSON(b []byte, nameProperty string) ([]Feature, error) {
	p := &gjParser{src: b}
	if len(b) > MaxGeoJSONBytes {
		return nil, &GeoJSONError{Line: 1, Reason: "too_large"}
	}
	fs, err := p.parse(nameProperty)
	if err != nil {
		return nil, err
	}
	return fs, nil
}

type gjParser struct {
	src   []byte
	nl    []int // offsets of newlines, found on the first error
	count int   // positions read
}

// syntaxOffset finds the first syntax error of the whole file, at its
// offset in the file (the decoder's offsets count from the value it was
// reading): -1 when the file is valid JSON.
func (p *gjParser) syntaxOffset() int {
	var se *json.SyntaxError
	if err := json.Unmarshal(p.src, new(json.RawMessage)); errors.As(err, &se) {
		return int(se.Offset)
	}
	return -1
}

// line returns the 1-based line of byte offset off.
func (p *gjParser) line(off int) int {
	if p.nl == nil {
		p.nl = []int{}
		for i, c := range p.src {
			if c == '\n' {
				p.nl = append(p.nl, i)
			}
		}
	}
	off = max(0, min(off, len(p.src)))
	return 1 + sort.SearchInts(p.nl, off)
}

// tokenStart moves off past white space to the token that starts there.
func (p *gjParser) tokenStart(off int) int {
	for off < len(p.src) {
		switch p.src[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *gjParser) fail(off int, reason string) error {
	return &GeoJSONError{Line: p.line(off), Reason: reason}
}

// syntaxFail turns a decoder error into a fault on its line.
func (p *gjParser) syntaxFail(err error, base int, fallback int) error {
	if off := p.syntaxOffset(); off >= 0 {
		return p.fail(max(off-1, 0), "syntax")
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return p.fail(base+int(te.Offset)-1, "syntax")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return p.fail(len(p.src), "syntax")
	}
	return p.fail(fallback, "syntax")
}

func (p *gjParser) parse(nameProperty string) ([]Feature, error) {
	dec := json.NewDecoder(bytes.NewReader(p.src))
	start := p.tokenStart(0)
	tok, err := dec.Token()
	if err != nil {
		return nil, p.syntaxFail(err, 0, start)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, p.fail(start, "not_collection")
	}
	var typ string
	var features []Feature
	sawFeatures := false
	for dec.More() {
		keyOff := p.tokenStart(int(dec.InputOffset()))
		kt, err := dec.Token()
		if err != nil {
			return nil, p.syntaxFail(err, 0, keyOff)
		}
		key, _ := kt.(string)
		valOff := p.tokenStart(int(dec.InputOffset()))
		switch key {
		case "type":
			vt, err := dec.Token()
			if err != nil {
				return nil, p.syntaxFail(err, 0, valOff)
			}
			s, ok := vt.(string)
			if !ok || s != "FeatureCollection" && s != "Feature" {
				return nil, p.fail(valOff, "not_collection")
			}
			typ = s
		case "features":
			sawFeatures = true
			vt, err := dec.Token()
			if err != nil {
				return nil, p.syntaxFail(err, 0, valOff)
			}
			if d, ok := vt.(json.Delim); !ok || d != '[' {
				return nil, p.fail(valOff, "not_collection")
			}
			for dec.More() {
				fOff := p.tokenStart(int(dec.InputOffset()))
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, p.syntaxFail(err, 0, fOff)
				}
				if len(features) >= MaxLayerFeatures {
					return nil, p.fail(fOff, "too_many")
				}
				f, err := p.feature(raw, fOff, nameProperty)
				if err != nil {
					return nil, err
				}
				features = append(features, f)
			}
			if _, err := dec.Token(); err != nil { // ]
				return nil, p.syntaxFail(err, 0, len(p.src))
			}
		case "crs":
			var crs struct {
				Properties struct {
					Name string `json:"name"`
				} `json:"properties"`
			}
			if err := dec.Decode(&crs); err != nil {
				return nil, p.syntaxFail(err, valOff, valOff)
			}
			switch crs.Properties.Name {
			case "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "urn:ogc:def:crs:OGC::CRS84":
			default:
				return nil, p.fail(valOff, "crs")
			}
		case "geometry", "properties", "id", "bbox":
			// Members of a single Feature: read it whole below.
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, p.syntaxFail(err, valOff, valOff)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, p.syntaxFail(err, valOff, valOff)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, p.syntaxFail(err, 0, len(p.src))
	}
	if _, err := dec.Token(); err != io.EOF {
		if off := p.syntaxOffset(); off >= 0 {
			return nil, p.fail(max(off-1, 0), "syntax")
		}
		return nil, p.fail(p.tokenStart(int(dec.InputOffset())), "syntax")
	}
	switch typ {
	case "Feature":
		f, err := p.feature(p.src[start:], start, nameProperty)
		if err != nil {
			return nil, err
		}
		return []Feature{f}, nil
	case "FeatureCollection":
		if !sawFeatures {
			return nil, p.fail(start, "not_collection")
		}
		if len(features) == 0 {
			return nil, p.fail(start, "empty")
		}
		return features, nil
	}
	return nil, p.fail(start, "not_collection")
}

// feature reads one Feature whose text starts at offset base.
func (p *gjParser) feature(raw []byte, base int, nameProperty string) (Feature, error) {
	var f struct {
		Type       *string         `json:"type"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return Feature{}, p.syntaxFail(err, base, base)
	}
	if f.Type == nil || *f.Type != "Feature" {
		return Feature{}, p.fail(base, "feature")
	}
	out := Feature{Properties: map[string]string{}, BBox: emptyBBox()}
	if len(f.Properties) > 0 && string(f.Properties) != "null" {
		off := base + bytes.Index(raw, f.Properties)
		var props map[string]any
		d := json.NewDecoder(bytes.NewReader(f.Properties))
		d.UseNumber()
		if err := d.Decode(&props); err != nil {
			return Feature{}, p.fail(off, "properties")
		}
		if len(props) > maxProperties {
			return Feature{}, p.fail(off, "properties")
		}
		for k, v := range props {
			s, ok := propertyText(v)
			if !ok || !utf8.ValidString(k) || len(k) > 100 {
				return Feature{}, p.fail(off, "properties")
			}
			if s != "" {
				out.Properties[k] = s
			}
		}
	}
	names := []string{nameProperty}
	if nameProperty == "" {
		names = []string{"name", "ten", "NAME", "Name", "TEN", "Ten"}
	}
	for _, n := range names {
		if v := out.Properties[n]; v != "" {
			out.Name = v
			break
		}
	}
	if len(f.Geometry) == 0 || string(f.Geometry) == "null" {
		return Feature{}, p.fail(base, "geometry_type")
	}
	gOff := base + bytes.Index(raw, f.Geometry)
	if err := p.geometry(f.Geometry, gOff, &out); err != nil {
		return Feature{}, err
	}
	return out, nil
}

// propertyText writes a property's value as text.
func propertyText(v any) (string, bool) {
	var s string
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		s = v
	case json.Number:
		s = v.String()
	case bool:
		s = strconv.FormatBool(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		s = string(b)
	}
	s, ok := cleanText(s, maxPropertyValueLen)
	return s, ok
}

// coords is a coordinates array as read: a position, or a list of them,
// with the offset of its opening bracket.
type coords struct {
	off  int
	pos  []float64
	kids []coords
}

func (p *gjParser) geometry(raw []byte, base int, f *Feature) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return p.syntaxFail(err, base, base)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return p.fail(base, "geometry_type")
	}
	typ := ""
	var c *coords
	cOff := base
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return p.syntaxFail(err, base, base)
		}
		key, _ := kt.(string)
		valOff := base + p.skipSpace(raw, int(dec.InputOffset()))
		switch key {
		case "type":
			vt, err := dec.Token()
			if err != nil {
				return p.syntaxFail(err, base, valOff)
			}
			typ, _ = vt.(string)
		case "coordinates":
			cOff = valOff
			open, err := dec.Token()
			if err != nil {
				return p.syntaxFail(err, base, valOff)
			}
			if d, ok := open.(json.Delim); !ok || d != '[' {
				return p.fail(valOff, "coordinates")
			}
			got, err := p.readCoords(dec, raw, base, valOff, 0)
			if err != nil {
				return err
			}
			c = &got
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return p.syntaxFail(err, base, valOff)
			}
		}
	}
	if c == nil {
		return p.fail(base, "coordinates")
	}
	switch typ {
	case "Point":
		pt, err := p.position(*c)
		if err != nil {
			return err
		}
		f.Kind, f.Points = KindPoint, []Point{pt}
		f.BBox.add(pt)
	case "MultiPoint":
		f.Kind = KindPoint
		for _, k := range c.kids {
			pt, err := p.position(k)
			if err != nil {
				return err
			}
			f.Points = append(f.Points, pt)
			f.BBox.add(pt)
		}
		if len(f.Points) == 0 {
			return p.fail(cOff, "coordinates")
		}
	case "LineString":
		l, err := p.line2(*c, 2)
		if err != nil {
			return err
		}
		f.Kind, f.Lines = KindLine, [][]Point{l}
	case "MultiLineString":
		f.Kind = KindLine
		for _, k := range c.kids {
			l, err := p.line2(k, 2)
			if err != nil {
				return err
			}
			f.Lines = append(f.Lines, l)
		}
		if len(f.Lines) == 0 {
			return p.fail(cOff, "coordinates")
		}
	case "Polygon":
		pg, err := p.polygon(*c)
		if err != nil {
			return err
		}
		f.Kind, f.Polygons = KindPolygon, []Polygon{pg}
	case "MultiPolygon":
		f.Kind = KindPolygon
		for _, k := range c.kids {
			pg, err := p.polygon(k)
			if err != nil {
				return err
			}
			f.Polygons = append(f.Polygons, pg)
		}
		if len(f.Polygons) == 0 {
			return p.fail(cOff, "coordinates")
		}
	default:
		return p.fail(base, "geometry_type")
	}
	for _, l := range f.Lines {
		for _, pt := range l {
			f.BBox.add(pt)
		}
	}
	for _, pg := range f.Polygons {
		for _, pt := range pg[0] {
			f.BBox.add(pt)
		}
	}
	return nil
}

func (p *gjParser) skipSpace(raw []byte, off int) int {
	for off < len(raw) {
		switch raw[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	return off
}

// readCoords reads the rest of an array whose '[' was just read at
// absolute offset off: numbers (a position) or arrays, not both.
func (p *gjParser) readCoords(dec *json.Decoder, raw []byte, base, off, depth int) (coords, error) {
	c := coords{off: off}
	if depth > 3 {
		return c, p.fail(off, "coordinates")
	}
	for dec.More() {
		elOff := base + p.skipSpace(raw, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return c, p.syntaxFail(err, base, elOff)
		}
		switch t := tok.(type) {
		case json.Delim:
			if t != '[' || c.pos != nil {
				return c, p.fail(elOff, "coordinates")
			}
			k, err := p.readCoords(dec, raw, base, elOff, depth+1)
			if err != nil {
				return c, err
			}
			c.kids = append(c.kids, k)
		case float64:
			if c.kids != nil || len(c.pos) >= 3 {
				return c, p.fail(elOff, "position")
			}
			c.pos = append(c.pos, t)
		default:
			return c, p.fail(elOff, "coordinates")
		}
	}
	if _, err := dec.Token(); err != nil { // ]
		return c, p.syntaxFail(err, base, off)
	}
	if c.pos != nil {
		p.count++
		if p.count > MaxLayerPositions {
			return c, p.fail(off, "too_many")
		}
	}
	return c, nil
}

// position checks a position: longitude and latitude (an altitude is
// ignored), within Viet Nam.
func (p *gjParser) position(c coords) (Point, error) {
	if len(c.pos) < 2 || c.kids != nil {
		return Point{}, p.fail(c.off, "position")
	}
	lon, lat := c.pos[0], c.pos[1]
	if math.IsNaN(lon) || math.IsNaN(lat) || math.Abs(lon) > 180 || math.Abs(lat) > 180 {
		return Point{}, p.fail(c.off, "position")
	}
	if !ValidCoordinates(lat, lon) {
		return Point{}, p.fail(c.off, "outside")
	}
	return Point{lon, lat}, nil
}

// line2 reads a list of at least least positions.
func (p *gjParser) line2(c coords, least int) ([]Point, error) {
	if c.pos != nil || len(c.kids) < least {
		return nil, p.fail(c.off, "coordinates")
	}
	out := make([]Point, 0, len(c.kids))
	for _, k := range c.kids {
		pt, err := p.position(k)
		if err != nil {
			return nil, err
		}
		out = append(out, pt)
	}
	return out, nil
}

// polygon reads rings: each closed, of at least four positions.
func (p *gjParser) polygon(c coords) (Polygon, error) {
	if c.pos != nil || len(c.kids) == 0 {
		return nil, p.fail(c.off, "coordinates")
	}
	var out Polygon
	for _, k := range c.kids {
		l, err := p.line2(k, 4)
		if err != nil {
			if ge, ok := err.(*GeoJSONError); ok && ge.Reason == "coordinates" && k.pos == nil {
				return nil, p.fail(k.off, "ring")
			}
			return nil, err
		}
		if l[0] != l[len(l)-1] {
			return nil, p.fail(k.off, "ring")
		}
		out = append(out, Ring(l))
	}
	return out, nil
}

// propertiesText lists a feature's properties as "key: value" lines, keys
// in order, for a page.
func propertiesText(props map[string]string) []string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+": "+props[k])
	}
	return out
}
