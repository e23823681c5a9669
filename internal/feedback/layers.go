package feedback

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Layer kinds.
const (
	LayerZoning  = "zoning"  // land-use planning zones
	LayerProject = "project" // planned works
)

// Layer is a planning layer imported from GeoJSON.
type Layer struct {
	ID        string
	Name      string
	Kind      string
	ValidFrom string // "2006-01-02", "" from ever
	ValidTo   string // inclusive, "" for ever
	Features  int
	Agency    string // who imported it
	CreatedAt time.Time
	Withdrawn bool
}

// InForce reports whether the layer applies on day ("2006-01-02").
func (l Layer) InForce(day string) bool {
	return !l.Withdrawn && (l.ValidFrom == "" || l.ValidFrom <= day) && (l.ValidTo == "" || day <= l.ValidTo)
}

// LayerDraft is a layer to import.
type LayerDraft struct {
	Name         string
	Kind         string
	ValidFrom    string
	ValidTo      string
	NameProperty string // the property naming each feature; "" tries the usual ones
	Agency       string // the importing official's agency
	GeoJSON      []byte
}

// storedGeometry is how a feature's shape is kept.
type storedGeometry struct {
	Points   []Point   `json:"points,omitempty"`
	Lines    [][]Point `json:"lines,omitempty"`
	Polygons []Polygon `json:"polygons,omitempty"`
}

// layerSet keeps the layers and their features in memory for drawing and
// for lookups by point; read again after an import here, or after
// layersTTL for another instance's.
type layerSet struct {
	s      *Service
	mu     sync.Mutex
	at     time.Time
	layers []Layer
	feats  map[string][]Feature // by layer ID
}

const layersTTL = 10 * time.Second

func (ls *layerSet) forget() {
	ls.mu.Lock()
	ls.at = time.Time{}
	ls.mu.Unlock()
}

func (ls *layerSet) load(ctx context.Context) ([]Layer, map[string][]Feature, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	now := ls.s.o.Clock.Now()
	if !ls.at.IsZero() && now.Sub(ls.at) < layersTTL {
		return ls.layers, ls.feats, nil
	}
	var layers []Layer
	feats := map[string][]Feature{}
	err := ls.s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		if layers, err = findLayers(ctx, tx); err != nil {
			return err
		}
		for _, l := range layers {
			if l.Withdrawn {
				continue
			}
			fs, err := findFeatures(ctx, tx, l.ID)
			if err != nil {
				return err
			}
			feats[l.ID] = fs
		}
		return nil
	})
	if err != nil {
		return nil, nil, kernel.Wrap(err, "feedback: read layers")
	}
	ls.layers, ls.feats, ls.at = layers, feats, now
	return layers, feats, nil
}

// Planning is the planning layers as stored: what an operator's command
// needs, without the rest of the service.
type Planning struct {
	DB    *db.DB
	Clock kernel.Clock
}

// ImportLayer checks and stores a planning layer. Officials import for
// their agency (the actor in ctx); operators from the command line.
func (s *Service) ImportLayer(ctx context.Context, d LayerDraft) (Layer, error) {
	l, err := Planning{DB: s.o.DB, Clock: s.o.Clock}.Import(ctx, d)
	if err == nil {
		s.layers.forget()
	}
	return l, err
}

// Import checks and stores a planning layer; running servers show it
// within layersTTL.
func (pl Planning) Import(ctx context.Context, d LayerDraft) (Layer, error) {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorOfficial && a.Kind != kernel.ActorOperator && a.Kind != kernel.ActorSystem {
		return Layer{}, kernel.E(kernel.Forbidden, "feedback.error.not_staff")
	}
	name, ok := cleanText(d.Name, 200)
	if !ok || name == "" || strings.ContainsAny(name, "\n\t") {
		return Layer{}, kernel.E(kernel.Invalid, "feedback.error.layer_name")
	}
	if d.Kind != LayerZoning && d.Kind != LayerProject {
		return Layer{}, kernel.E(kernel.Invalid, "feedback.error.layer_kind")
	}
	for _, day := range []string{d.ValidFrom, d.ValidTo} {
		if day != "" {
			if _, err := time.Parse(time.DateOnly, day); err != nil {
				return Layer{}, kernel.E(kernel.Invalid, "feedback.error.layer_dates")
			}
		}
	}
	if d.ValidFrom != "" && d.ValidTo != "" && d.ValidTo < d.ValidFrom {
		return Layer{}, kernel.E(kernel.Invalid, "feedback.error.layer_dates")
	}
	nameProp, ok := cleanText(d.NameProperty, 100)
	if !ok {
		return Layer{}, kernel.E(kernel.Invalid, "feedback.error.layer_name")
	}
	fs, err := ParseGeoJSON(d.GeoJSON, nameProp)
	if ge, ok := err.(*GeoJSONError); ok {
		return Layer{}, ge.kernelError()
	}
	if err != nil {
		return Layer{}, err
	}
	l := Layer{ID: kernel.NewID(), Name: name, Kind: d.Kind, ValidFrom: d.ValidFrom, ValidTo: d.ValidTo, Features: len(fs),
		Agency: d.Agency, CreatedAt: pl.Clock.Now()}
	err = pl.DB.Update(ctx, l.CreatedAt, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO feedback_layers (id, name, kind, valid_from, valid_to, features, agency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.Name, l.Kind, l.ValidFrom, l.ValidTo, l.Features, l.Agency, kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "feedback: insert layer")
		}
		for i, f := range fs {
			if err := insertFeature(ctx, tx, l.ID, i, f); err != nil {
				return kernel.Wrap(err, "feedback: insert feature")
			}
		}
		tally.Add(ctx, tx, IndicatorLayers, "", 1)
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "feedback.layer.import", SubjectType: "feedback_layer", SubjectID: l.ID,
			Details: map[string]any{"name": l.Name, "kind": l.Kind, "features": l.Features, "agency": l.Agency}})
		return err
	})
	if err != nil {
		return Layer{}, err
	}
	return l, nil
}

// WithdrawLayer takes a layer off the map.
func (s *Service) WithdrawLayer(ctx context.Context, id string) error {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorOfficial && a.Kind != kernel.ActorOperator && a.Kind != kernel.ActorSystem {
		return kernel.E(kernel.Forbidden, "feedback.error.not_staff")
	}
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE feedback_layers SET withdrawn_at = ? WHERE id = ? AND withdrawn_at = 0`, kernel.Micros(tx.Now), id)
		if err != nil {
			return kernel.Wrap(err, "feedback: withdraw layer")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.NotFound, "feedback.error.no_layer")
		}
		tally.Add(ctx, tx, IndicatorLayers, "", -1)
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "feedback.layer.withdraw", SubjectType: "feedback_layer", SubjectID: id})
		return err
	})
	if err == nil {
		s.layers.forget()
	}
	return err
}

// Layers lists the layers, newest first.
func (s *Service) Layers(ctx context.Context) ([]Layer, error) {
	ls, _, err := s.layers.load(ctx)
	return ls, err
}

// Plan is what a layer in force plans at a point.
type Plan struct {
	Layer      Layer
	Name       string
	Properties []string // "key: value"
}

// nearLine is how close to a planned line or point a place must be to be
// "at" it, in metres.
const nearLine = 50.0

// PlannedAt answers "what is planned here": the features of the layers in
// force on day that hold the point (zones) or pass within 50 m of it
// (works drawn as lines or points).
func (s *Service) PlannedAt(ctx context.Context, lat, lon float64, day string) ([]Plan, error) {
	if !ValidCoordinates(lat, lon) {
		return nil, kernel.E(kernel.Invalid, "feedback.error.coordinates")
	}
	layers, feats, err := s.layers.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []Plan
	pad := nearLine / 111_000 * 2
	for _, l := range layers {
		if !l.InForce(day) {
			continue
		}
		for _, f := range feats[l.ID] {
			if !(BBox{f.BBox.MinLon - pad, f.BBox.MinLat - pad, f.BBox.MaxLon + pad, f.BBox.MaxLat + pad}).Contains(lat, lon) {
				continue
			}
			hit := false
			switch f.Kind {
			case KindPolygon:
				hit = inPolygons(f.Polygons, lon, lat)
			case KindLine:
				for _, line := range f.Lines {
					for i := 1; i < len(line) && !hit; i++ {
						hit = segMetres(Point{lon, lat}, line[i-1], line[i]) <= nearLine
					}
				}
			case KindPoint:
				for _, pt := range f.Points {
					hit = hit || metresBetween(lat, lon, pt[1], pt[0]) <= nearLine
				}
			}
			if hit {
				out = append(out, Plan{Layer: l, Name: f.Name, Properties: propertiesText(f.Properties)})
			}
		}
	}
	return out, nil
}

// segMetres is the distance in metres from p to the segment a–b.
func segMetres(p, a, b Point) float64 {
	d := segDist(p, a, b) // degrees, as if a degree of longitude were one of latitude
	return d * 111_000
}

// zoneColours fill zones by a hash of their name, so one use is one colour.
var zoneColours = []string{"#f4a259", "#8cb369", "#5b8e7d", "#bc4b51", "#f4e285", "#7b9acc", "#c490d1", "#9e9e9e"}

// draw adds the features of the layers in force today to a map.
func (ls *layerSet) draw(ctx context.Context, b *strings.Builder, pr projection) {
	layers, feats, err := ls.load(ctx)
	if err != nil {
		return // the map without plans beats no map
	}
	day := time.Now().In(kernel.Zone()).Format(time.DateOnly)
	tol := 1.0 / pr.scale
	view := pr.box
	b.WriteString(`<g class="plans">`)
	for _, l := range layers {
		if !l.InForce(day) {
			continue
		}
		for _, f := range feats[l.ID] {
			if f.BBox.MaxLon < view.MinLon || f.BBox.MinLon > view.MaxLon || f.BBox.MaxLat < view.MinLat || f.BBox.MinLat > view.MaxLat {
				continue
			}
			h := fnv.New32a()
			h.Write([]byte(f.Name))
			colour := zoneColours[h.Sum32()%uint32(len(zoneColours))]
			switch f.Kind {
			case KindPolygon:
				b.WriteString(`<path fill="` + colour + `" fill-opacity="0.45" stroke="` + colour + `" stroke-width="1" fill-rule="evenodd" d="`)
				for _, pg := range f.Polygons {
					for _, ring := range pg {
						writeLine(b, pr, simplifyRing(ring, tol), true)
					}
				}
				b.WriteString(`"><title>` + xmlEscape(l.Name+": "+f.Name) + `</title></path>`)
			case KindLine:
				b.WriteString(`<path fill="none" stroke="#6a1b9a" stroke-width="3" stroke-dasharray="6 3" d="`)
				for _, line := range f.Lines {
					writeLine(b, pr, line, false)
				}
				b.WriteString(`"><title>` + xmlEscape(l.Name+": "+f.Name) + `</title></path>`)
			case KindPoint:
				for _, pt := range f.Points {
					x, y := pr.xy(pt[0], pt[1])
					b.WriteString(`<rect x="` + f1(x-5) + `" y="` + f1(y-5) + `" width="10" height="10" fill="#6a1b9a"><title>` + xmlEscape(l.Name+": "+f.Name) + `</title></rect>`)
				}
			}
		}
	}
	b.WriteString(`</g>`)
}

func writeLine(b *strings.Builder, pr projection, pts []Point, closed bool) {
	for i, pt := range pts {
		x, y := pr.xy(pt[0], pt[1])
		if i == 0 {
			b.WriteString("M")
		} else {
			b.WriteString("L")
		}
		b.WriteString(f1(x) + " " + f1(y))
	}
	if closed {
		b.WriteString("Z")
	}
}

func findLayers(ctx context.Context, tx *db.Tx) ([]Layer, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, kind, valid_from, valid_to, features, agency, created_at, withdrawn_at FROM feedback_layers ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Layer
	for rows.Next() {
		var l Layer
		var created, withdrawn int64
		if err := rows.Scan(&l.ID, &l.Name, &l.Kind, &l.ValidFrom, &l.ValidTo, &l.Features, &l.Agency, &created, &withdrawn); err != nil {
			return nil, err
		}
		l.CreatedAt, l.Withdrawn = kernel.FromMicros(created), withdrawn != 0
		out = append(out, l)
	}
	return out, rows.Err()
}

func insertFeature(ctx context.Context, tx *db.Tx, layer string, pos int, f Feature) error {
	props, err := json.Marshal(f.Properties)
	if err != nil {
		return err
	}
	geom, err := json.Marshal(storedGeometry{Points: f.Points, Lines: f.Lines, Polygons: f.Polygons})
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO feedback_features (id, layer_id, position, name, properties, kind, geometry, min_lat, min_lon, max_lat, max_lon)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, kernel.NewID(), layer, pos, f.Name, string(props), f.Kind, string(geom),
		f.BBox.MinLat, f.BBox.MinLon, f.BBox.MaxLat, f.BBox.MaxLon)
	return err
}

func findFeatures(ctx context.Context, tx *db.Tx, layer string) ([]Feature, error) {
	rows, err := tx.Query(ctx, `SELECT name, properties, kind, geometry, min_lat, min_lon, max_lat, max_lon FROM feedback_features WHERE layer_id = ? ORDER BY position`, layer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Feature
	for rows.Next() {
		var f Feature
		var props, geom string
		if err := rows.Scan(&f.Name, &props, &f.Kind, &geom, &f.BBox.MinLat, &f.BBox.MinLon, &f.BBox.MaxLat, &f.BBox.MaxLon); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(props), &f.Properties); err != nil {
			return nil, err
		}
		var g storedGeometry
		if err := json.Unmarshal([]byte(geom), &g); err != nil {
			return nil, err
		}
		f.Points, f.Lines, f.Polygons = g.Points, g.Lines, g.Polygons
		out = append(out, f)
	}
	return out, rows.Err()
}
