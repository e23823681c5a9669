package feedback

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"civitas/internal/kernel"
)

// outline is a unit's boundary, ready to draw and to test points against.
type outline struct {
	unit        Unit
	polys       []Polygon
	bbox        BBox
	interior    Point
	hasInterior bool
}

// geometry is the province's outlines, read from the units every
// geometryTTL, with the drawn boundaries of each view kept once made.
type geometry struct {
	outlines map[string]*outline
	province string
	bbox     BBox
	drawn    sync.Map // viewKey -> string
}

func (m *mapIndex) geometry(ctx context.Context) (*geometry, error) {
	m.geoMu.Lock()
	defer m.geoMu.Unlock()
	if m.geo != nil && m.s.o.Clock.Now().Sub(m.geoAt) < geometryTTL {
		return m.geo, nil
	}
	r, err := m.s.references(ctx)
	if err != nil {
		return nil, err
	}
	bs, err := m.s.o.Units.Boundaries(ctx)
	if err != nil {
		if m.geo != nil {
			return m.geo, nil
		}
		return nil, err
	}
	g := &geometry{outlines: map[string]*outline{}, province: r.province, bbox: emptyBBox()}
	for _, b := range bs {
		u, ok := r.units[b.Unit]
		if !ok || len(b.Polygons) == 0 {
			continue
		}
		o := &outline{unit: u, polys: b.Polygons, bbox: polygonsBBox(b.Polygons)}
		o.interior, o.hasInterior = interiorPoint(b.Polygons)
		g.outlines[u.Code] = o
		g.bbox.union(o.bbox)
	}
	m.geo, m.geoAt = g, m.s.o.Clock.Now()
	return g, nil
}

// projection maps longitudes and latitudes into a view of a given width:
// equirectangular, with longitudes shrunk by the cosine of the middle
// latitude so that shapes keep their proportions.
type projection struct {
	box           BBox
	kx, scale     float64
	width, height int
}

// newProjection fits the box within width pixels, and within a height of
// maxAspect times the width: a tall unit is drawn narrower, not taller
// than a screen.
func newProjection(b BBox, width int) projection {
	mid := (b.MinLat + b.MaxLat) / 2
	kx := math.Cos(mid * math.Pi / 180)
	dx, dy := (b.MaxLon-b.MinLon)*kx, b.MaxLat-b.MinLat
	if dx <= 0 || dy <= 0 {
		dx, dy = 0.01, 0.01
	}
	scale := min(float64(width)/dx, float64(width)*maxAspect/dy)
	w, h := int(math.Ceil(dx*scale)), int(math.Ceil(dy*scale))
	return projection{box: b, kx: kx, scale: scale, width: max(w, 1), height: max(h, 1)}
}

// maxAspect bounds a map's height: 1.25 times its width.
const maxAspect = 1.25

func (p projection) xy(lon, lat float64) (float64, float64) {
	return (lon - p.box.MinLon) * p.kx * p.scale, (p.box.MaxLat - lat) * p.scale
}

// lonLat inverts xy: the point under a pixel of the view.
func (p projection) lonLat(x, y float64) (float64, float64) {
	return x/(p.scale*p.kx) + p.box.MinLon, p.box.MaxLat - y/p.scale
}

// MapWidth bounds the widths a view is drawn at.
const (
	MinMapWidth     = 240
	MaxMapWidth     = 1200
	DefaultMapWidth = 640
	// PickWidth is the width of the map a citizen taps to place a report:
	// narrow enough for a 320-pixel phone (its page, margins and frame
	// leave some 270 pixels), which must not scale it: the tapped pixel is
	// read back as a place.
	PickWidth = 256
)

// MapView says what a map shows.
type MapView struct {
	Unit     string // "" the province, or a district or a commune
	Category string // "" every public category
	Status   string // "", "open", "closed", or one status
	From, To time.Time
	Width    int
	// Mark is a point to mark (the place being picked), or zero.
	MarkLat, MarkLon float64
	// NoPins draws the outlines alone (the map a citizen taps to pick a
	// place).
	NoPins bool
	// Layers draws the planning layers in force.
	Layers bool
	// Lang names categories in the reader's language; Link makes
	// outlines and pins links.
	Lang string
	Link bool
}

// Map is a drawn view: the SVG, and the table that says the same in rows.
type Map struct {
	View   MapView
	Unit   Unit // the unit shown
	Parent Unit // the unit above it, zero for the province
	SVG    string
	Width  int
	Height int
	Total  int // reports shown
	// Areas counts reports per unit below the one shown (district or
	// province views); Pins lists the newest reports of a commune view.
	Areas []AreaCount
	Pins  []Pin
	// More says the commune has more reports than Pins lists.
	More bool
}

// AreaCount is a row of the map's table.
type AreaCount struct {
	Unit             Unit
	Open, Done, All  int
	HasOutline, Link bool
}

// MaxMapPins is how many reports a commune view lists beside its map.
const MaxMapPins = 50

// viewKey names the drawn outlines of a view.
type viewKey struct {
	unit  string
	width int
	link  bool
}

// Map draws a view of the public reports.
func (s *Service) Map(ctx context.Context, v MapView) (Map, error) {
	r, err := s.references(ctx)
	if err != nil {
		return Map{}, err
	}
	g, err := s.pins.geometry(ctx)
	if err != nil {
		return Map{}, err
	}
	if v.Width <= 0 {
		v.Width = DefaultMapWidth
	}
	v.Width = max(MinMapWidth, min(MaxMapWidth, v.Width))
	if v.Unit == "" {
		v.Unit = r.province
	}
	u, ok := r.units[v.Unit]
	if !ok {
		return Map{}, kernel.E(kernel.NotFound, "feedback.error.unit")
	}
	if v.Category != "" {
		c, err := r.category(v.Category)
		if err != nil || c.Sensitive {
			return Map{}, kernel.E(kernel.Invalid, "feedback.error.category")
		}
	}
	if !validStatusFilter(v.Status) {
		return Map{}, kernel.E(kernel.Invalid, "feedback.error.status")
	}
	box := g.bbox
	if o, ok := g.outlines[u.Code]; ok {
		box = o.bbox
	}
	if box.Empty() {
		return Map{}, kernel.E(kernel.Unavailable, "feedback.error.no_outlines")
	}
	pr := newProjection(box.grow(0.03), v.Width)
	out := Map{View: v, Unit: u, Width: pr.width, Height: pr.height}
	if u.Parent != "" {
		out.Parent = r.units[u.Parent]
	}
	var b strings.Builder
	b.Grow(32 << 10)
	// role="group", not "img": the map holds links (areas, reports), and an
	// image may not hold anything interactive (axe: nested-interactive).
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `)
	b.WriteString(strconv.Itoa(pr.width) + " " + strconv.Itoa(pr.height))
	b.WriteString(`" width="` + strconv.Itoa(pr.width) + `" height="` + strconv.Itoa(pr.height) + `" class="feedback-map" role="group" aria-labelledby="map-title">`)
	b.WriteString(`<title id="map-title">` + xmlEscape(u.Name) + `</title>`)
	b.WriteString(`<rect width="100%" height="100%" fill="#eef3f6"/>`)
	b.WriteString(g.drawOutlines(r, pr, viewKey{u.Code, pr.width, v.Link}))
	if v.Layers {
		s.layers.draw(ctx, &b, pr)
	}
	if !v.NoPins {
		if err := s.drawPins(ctx, r, g, &b, pr, v, &out); err != nil {
			return Map{}, err
		}
	}
	if v.MarkLat != 0 || v.MarkLon != 0 {
		x, y := pr.xy(v.MarkLon, v.MarkLat)
		b.WriteString(`<g class="mark"><circle cx="` + f1(x) + `" cy="` + f1(y) + `" r="9" fill="#ffd23f" stroke="#1b1b1f" stroke-width="2"/>`)
		b.WriteString(`<circle cx="` + f1(x) + `" cy="` + f1(y) + `" r="2" fill="#1b1b1f"/></g>`)
	}
	b.WriteString(`</svg>`)
	out.SVG = b.String()
	return out, nil
}

func validStatusFilter(s string) bool {
	return s == "" || s == "open" || s == "closed" || Status(s).Valid()
}

func statusMatches(filter string, st Status) bool {
	switch filter {
	case "":
		return true
	case "open":
		return st.Open()
	case "closed":
		return !st.Open()
	}
	return string(st) == filter
}

// drawOutlines draws the outlines a view shows, simplified to what its
// scale can show: every commune within the view, lightly, and the districts
// (or the commune shown) over them. Made once per unit and width.
func (g *geometry) drawOutlines(r *refs, pr projection, k viewKey) string {
	if s, ok := g.drawn.Load(k); ok {
		return s.(string)
	}
	tol := 1.2 / (pr.scale) // 1.2 pixels, in degrees of latitude
	view := pr.box
	var b strings.Builder
	codes := make([]string, 0, len(g.outlines))
	for c := range g.outlines {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	focus := r.units[k.unit]
	draw := func(o *outline, fill, stroke string, width float64, link bool) {
		if o.bbox.MaxLon < view.MinLon || o.bbox.MinLon > view.MaxLon || o.bbox.MaxLat < view.MinLat || o.bbox.MinLat > view.MaxLat {
			return
		}
		if link {
			b.WriteString(`<a href="/feedback/map?unit=` + o.unit.Code + `">`)
		}
		b.WriteString(`<path fill="` + fill + `" stroke="` + stroke + `" stroke-width="` + f1(width) + `" stroke-linejoin="round" fill-rule="evenodd" d="`)
		for _, p := range o.polys {
			for _, ring := range p {
				ring = simplifyRing(ring, tol)
				for i, pt := range ring {
					x, y := pr.xy(pt[0], pt[1])
					if i == 0 {
						b.WriteString("M")
					} else {
						b.WriteString("L")
					}
					b.WriteString(f1(x) + " " + f1(y))
				}
				b.WriteString("Z")
			}
		}
		b.WriteString(`">`)
		b.WriteString(`<title>` + xmlEscape(o.unit.Name) + `</title></path>`)
		if link {
			b.WriteString(`</a>`)
		}
	}
	// Communes first, then districts over them.
	for _, c := range codes {
		o := g.outlines[c]
		if o.unit.Level != LevelCommune {
			continue
		}
		inFocus := r.within(c, focus.Code)
		fill := "#ffffff"
		if !inFocus {
			fill = "#e4e8eb"
		}
		link := k.link && focus.Level != LevelCommune && inFocus
		if focus.Level == LevelProvince {
			link = false // the district is the next step from the province
		}
		draw(o, fill, "#9aa5ad", 0.6, link)
	}
	for _, c := range codes {
		o := g.outlines[c]
		switch {
		case o.unit.Level == LevelDistrict && focus.Level == LevelProvince:
			draw(o, "none", "#45454d", 1.4, k.link)
		case o.unit.Code == focus.Code && focus.Level != LevelProvince:
			draw(o, "none", "#1b1b1f", 2, false)
		}
	}
	s := b.String()
	g.drawn.Store(k, s)
	return s
}

// cluster is the reports of one cell of the view's grid.
type cluster struct {
	x, y    float64 // sums, for the mean position
	n, open int
	one     pin // when n == 1
}

// drawPins draws the reports that match the view: alone when the view
// shows a commune and they do not overlap, else in clusters per cell of a
// grid, and fills the table.
func (s *Service) drawPins(ctx context.Context, r *refs, g *geometry, b *strings.Builder, pr projection, v MapView, out *Map) error {
	cell := 36.0 // pixels
	if r.units[v.Unit].Level == LevelCommune {
		cell = 10
	}
	cols := int(math.Ceil(float64(pr.width)/cell)) + 1
	cells := map[int]*cluster{}
	level := r.units[v.Unit].Level
	areas := map[string]*AreaCount{}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !v.From.IsZero() {
		from = kernel.Micros(v.From)
	}
	if !v.To.IsZero() {
		to = kernel.Micros(v.To)
	}
	view := pr.box
	var listed []pin
	// A commune's or a district's map reads the pins of the communes it
	// shows (their outlines meet the view), not the province's.
	var want func(string) bool
	if level != LevelProvince {
		want = func(c string) bool {
			o, ok := g.outlines[c]
			if !ok {
				return r.within(c, v.Unit)
			}
			b := o.bbox
			return !(b.MaxLon < view.MinLon || b.MinLon > view.MaxLon || b.MaxLat < view.MinLat || b.MinLat > view.MaxLat)
		}
	}
	err := s.pins.each(ctx, want, func(p *pin) {
		if v.Category != "" && p.category != v.Category || !statusMatches(v.Status, p.status) || p.created < from || p.created >= to {
			return
		}
		inUnit := false
		switch level {
		case LevelProvince:
			inUnit = true
		case LevelDistrict:
			inUnit = p.district == v.Unit
		case LevelCommune:
			inUnit = p.commune == v.Unit
		}
		if inUnit {
			out.Total++
			var key string
			switch level {
			case LevelProvince:
				key = p.district
			case LevelDistrict:
				key = p.commune
			default:
				listed = append(listed, *p)
			}
			if key != "" {
				a := areas[key]
				if a == nil {
					a = &AreaCount{Unit: r.units[key]}
					areas[key] = a
				}
				a.All++
				if p.status.Open() {
					a.Open++
				} else {
					a.Done++
				}
			}
		}
		if !view.Contains(p.lat, p.lon) || !inUnit && level != LevelCommune {
			return
		}
		x, y := pr.xy(p.lon, p.lat)
		k := int(y/cell)*cols + int(x/cell)
		c := cells[k]
		if c == nil {
			c = &cluster{one: *p}
			cells[k] = c
		}
		c.x += x
		c.y += y
		c.n++
		if p.status.Open() {
			c.open++
		}
	})
	if err != nil {
		return err
	}
	keys := make([]int, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString(`<g class="pins">`)
	for _, k := range keys {
		c := cells[k]
		x, y := c.x/float64(c.n), c.y/float64(c.n)
		fill := "#2e7d32" // all done
		if c.open*2 >= c.n {
			fill = "#b3261e" // mostly waiting
		} else if c.open > 0 {
			fill = "#b25e09"
		}
		if c.n == 1 {
			if v.Link {
				b.WriteString(`<a href="/feedback/r/` + c.one.id + `">`)
			}
			b.WriteString(`<circle cx="` + f1(x) + `" cy="` + f1(y) + `" r="6" fill="` + fill + `" stroke="#ffffff" stroke-width="1.5">`)
			b.WriteString(`<title>` + xmlEscape(r.catByID[c.one.category].Name(v.Lang)) + `</title></circle>`)
			if v.Link {
				b.WriteString(`</a>`)
			}
			continue
		}
		rad := 8 + 3*math.Log10(float64(c.n))*2
		b.WriteString(`<g><circle cx="` + f1(x) + `" cy="` + f1(y) + `" r="` + f1(rad) + `" fill="` + fill + `" fill-opacity="0.85" stroke="#ffffff" stroke-width="1.5"/>`)
		b.WriteString(`<text x="` + f1(x) + `" y="` + f1(y+4) + `" text-anchor="middle" font-size="11" font-family="sans-serif" fill="#ffffff">` + strconv.Itoa(c.n) + `</text></g>`)
	}
	b.WriteString(`</g>`)
	for code, a := range areas {
		_, a.HasOutline = g.outlines[code]
		a.Link = v.Link
		out.Areas = append(out.Areas, *a)
	}
	slices.SortFunc(out.Areas, func(a, b AreaCount) int { return strings.Compare(a.Unit.Name, b.Unit.Name) })
	if level == LevelCommune {
		slices.SortFunc(listed, func(a, b pin) int { return strings.Compare(b.id, a.id) }) // newest first: IDs start with their time
		if len(listed) > MaxMapPins {
			listed, out.More = listed[:MaxMapPins], true
		}
		for _, p := range listed {
			out.Pins = append(out.Pins, p.public())
		}
	}
	return nil
}

// PickPoint reads the place under a pixel of a view drawn at width: what a
// citizen tapped on the map to place a report.
func (s *Service) PickPoint(ctx context.Context, unit string, width int, x, y float64) (lat, lon float64, err error) {
	r, err := s.references(ctx)
	if err != nil {
		return 0, 0, err
	}
	g, err := s.pins.geometry(ctx)
	if err != nil {
		return 0, 0, err
	}
	if unit == "" {
		unit = r.province
	}
	box := g.bbox
	if o, ok := g.outlines[unit]; ok {
		box = o.bbox
	}
	if box.Empty() {
		return 0, 0, kernel.E(kernel.Unavailable, "feedback.error.no_outlines")
	}
	width = max(MinMapWidth, min(MaxMapWidth, width))
	pr := newProjection(box.grow(0.03), width)
	if x < 0 || y < 0 || x > float64(pr.width) || y > float64(pr.height) || math.IsNaN(x) || math.IsNaN(y) {
		return 0, 0, kernel.E(kernel.Invalid, "feedback.error.coordinates")
	}
	lon, lat = pr.lonLat(x, y)
	return lat, lon, nil
}

// f1 writes a coordinate with one decimal: a tenth of a pixel is finer
// than any screen draws, and keeps the page small.
func f1(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

var xmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlReplacer.Replace(s) }
