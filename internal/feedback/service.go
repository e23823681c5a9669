package feedback

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Levels of administrative units.
const (
	LevelProvince = "province"
	LevelDistrict = "district"
	LevelCommune  = "commune"
)

// Unit is an administrative unit as feedback needs it.
type Unit struct {
	Code   string
	Name   string
	Level  string // LevelProvince, LevelDistrict, LevelCommune
	Parent string // "" for the province
}

// Point is a position as GeoJSON writes it: longitude, then latitude.
type Point [2]float64

// Ring is a closed line of points (the first equals the last).
type Ring []Point

// Polygon is an outer ring followed by its holes.
type Polygon []Ring

// Boundary is the outline of a unit: one or more polygons.
type Boundary struct {
	Unit     string
	Polygons []Polygon
}

// Units is what feedback needs of the administrative units (the registry):
// the commune holding a point, every unit, and their outlines.
type Units interface {
	// UnitAt returns the commune that holds the point, or a NotFound error
	// outside the province.
	UnitAt(ctx context.Context, lat, lon float64) (Unit, error)
	// Units returns every unit of the province.
	Units(ctx context.Context) ([]Unit, error)
	// Boundaries returns the outlines of the units that have one.
	Boundaries(ctx context.Context) ([]Boundary, error)
}

// Agency is a public body that may answer reports, or a team (a
// rapid-response or community technology team) a report is assigned to.
type Agency struct {
	Code string
	Name string
	Kind string // the registry's kind: people_committee, police, ...
	Unit string // the unit it serves
}

// Post is an official's post at an agency.
type Post struct {
	Agency Agency
	Role   string
}

// Member is an official of an agency who has an e-ID account, whom a
// report can be assigned to.
type Member struct {
	AccountID string
	Name      string
	Role      string
}

// Person is a reporter as staff may see them when they must reach them,
// every such look recorded in the data-use log.
type Person struct {
	CitizenID string
	Name      string
	Phone     string
}

// Staff is what feedback needs of agencies and their officials.
type Staff interface {
	// Agencies returns every agency and team.
	Agencies(ctx context.Context) ([]Agency, error)
	// Posts returns the posts of an account (none for a citizen).
	Posts(ctx context.Context, accountID string) ([]Post, error)
	// Members returns the officials of an agency who have accounts.
	Members(ctx context.Context, agency string) ([]Member, error)
	// Person returns the holder of an account.
	Person(ctx context.Context, accountID string) (Person, error)
}

// Notice is a message to a reporter: a catalogue key and its arguments.
type Notice struct {
	AccountID string // the reporter's account, or
	Phone     string // a phone an Open311 app gave, or
	Email     string // an e-mail address an Open311 app gave
	Template  string
	Args      []string
}

// Notifier tells reporters of their reports' steps, in the caller's
// transaction: the notice goes if and only if the step commits.
type Notifier interface {
	Notify(ctx context.Context, tx *db.Tx, n Notice) error
}

// UseLog records reads of a person's data by someone else (staff looking
// up a reporter's contact).
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Options configure the service.
type Options struct {
	DB       *db.DB
	Clock    kernel.Clock
	Units    Units
	Staff    Staff
	Notifier Notifier // nil: nobody is told
	UseLog   UseLog
	Logger   *slog.Logger
	// PublicURL is the site's address, for the absolute URLs of photos in
	// Open311 answers.
	PublicURL string
	// Jurisdiction is the Open311 jurisdiction_id this server answers for
	// (default "civitas"); a request naming another is refused.
	Jurisdiction string
	// PhotoMemory bounds the memory decoded photos take at once, in bytes
	// (default 96 MiB); PhotoWorkers bounds how many are decoded at once
	// (default the number of CPUs).
	PhotoMemory  int64
	PhotoWorkers int
	// AnonymousLimit is how many reports one client (an address, an
	// Open311 app) sends per AnonymousWindow without an e-ID (default 10
	// per 10 minutes for an address; apps get AppLimit).
	AnonymousLimit  int
	AnonymousWindow time.Duration
	// AppLimit is how many reports an Open311 app sends per second, with
	// bursts of ten seconds' worth (default 1,000).
	AppLimit int
}

// Service is citizen feedback.
type Service struct {
	o      Options
	photos *photoPipeline
	limits *limiter
	apps   *limiter
	keys   *keyCache
	pins   *mapIndex
	layers *layerSet

	refMu   sync.Mutex
	ref     *refs
	refTime time.Time
}

// refsTTL is how long the reference data (categories, units, agencies,
// routes) are kept before they are read again: changes made by another
// instance show within it.
const refsTTL = time.Minute

// New checks o and makes the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil || o.Units == nil || o.Staff == nil || o.UseLog == nil {
		return nil, errors.New("feedback: DB, Clock, Units, Staff and UseLog are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Jurisdiction == "" {
		o.Jurisdiction = "civitas"
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	if o.PhotoMemory <= 0 {
		o.PhotoMemory = 96 << 20
	}
	if o.PhotoWorkers <= 0 {
		o.PhotoWorkers = runtime.NumCPU()
	}
	if o.AnonymousLimit <= 0 {
		o.AnonymousLimit = 10
	}
	if o.AnonymousWindow <= 0 {
		o.AnonymousWindow = 10 * time.Minute
	}
	if o.AppLimit <= 0 {
		o.AppLimit = 1000
	}
	s := &Service{o: o,
		photos: newPhotoPipeline(o.PhotoMemory, o.PhotoWorkers),
		limits: newLimiter(o.AnonymousLimit, o.AnonymousWindow),
		apps:   newLimiter(o.AppLimit*10, 10*time.Second),
		keys:   newKeyCache(),
	}
	s.pins = newMapIndex(s)
	s.layers = &layerSet{s: s}
	return s, nil
}

// refs are the reference data every report needs, kept in memory.
type refs struct {
	cats     []Category
	catByID  map[string]*Category
	units    map[string]Unit
	children map[string][]string // unit -> its units, in code order
	province string
	agencies map[string]Agency
	rules    []Rule
	// routes is the agency for each category and commune.
	routes map[routeKey]string
}

type routeKey struct{ category, commune string }

// references returns the reference data, reading them again when older
// than refsTTL.
func (s *Service) references(ctx context.Context) (*refs, error) {
	s.refMu.Lock()
	defer s.refMu.Unlock()
	if s.ref != nil && s.o.Clock.Now().Sub(s.refTime) < refsTTL {
		return s.ref, nil
	}
	r, err := s.loadRefs(ctx)
	if err != nil {
		if s.ref != nil { // keep serving what was read before
			s.o.Logger.Warn("feedback: reference data not refreshed", slog.Any("error", err))
			return s.ref, nil
		}
		return nil, err
	}
	s.ref, s.refTime = r, s.o.Clock.Now()
	return r, nil
}

// forgetRefs makes the next call read the reference data again (after a
// change of rules here).
func (s *Service) forgetRefs() {
	s.refMu.Lock()
	s.ref = nil
	s.refMu.Unlock()
}

func (s *Service) loadRefs(ctx context.Context) (*refs, error) {
	r := &refs{catByID: map[string]*Category{}, units: map[string]Unit{}, children: map[string][]string{}, agencies: map[string]Agency{}}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		if r.cats, err = findCategories(ctx, tx); err != nil {
			return err
		}
		r.rules, err = findRules(ctx, tx)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: read categories and rules")
	}
	for i := range r.cats {
		r.catByID[r.cats[i].Code] = &r.cats[i]
	}
	units, err := s.o.Units.Units(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		r.units[u.Code] = u
		if u.Parent != "" {
			r.children[u.Parent] = append(r.children[u.Parent], u.Code)
		}
		if u.Level == LevelProvince {
			r.province = u.Code
		}
	}
	agencies, err := s.o.Staff.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range agencies {
		r.agencies[a.Code] = a
	}
	r.routes = route(r)
	return r, nil
}

// ancestor returns the unit of the level asked that holds code (code itself
// when it is of that level), or "".
func (r *refs) ancestor(code, level string) string {
	for i := 0; code != "" && i < 8; i++ {
		u, ok := r.units[code]
		if !ok {
			return ""
		}
		if u.Level == level {
			return u.Code
		}
		code = u.Parent
	}
	return ""
}

// within reports whether unit lies in area (or is it).
func (r *refs) within(unit, area string) bool {
	for i := 0; unit != "" && i < 8; i++ {
		if unit == area {
			return true
		}
		unit = r.units[unit].Parent
	}
	return false
}

// category returns the category, or an Invalid error.
func (r *refs) category(code string) (*Category, error) {
	c, ok := r.catByID[code]
	if !ok {
		return nil, kernel.E(kernel.Invalid, "feedback.error.category")
	}
	return c, nil
}

// agencyName names an agency, or returns its code when it is unknown.
func (r *refs) agencyName(code string) string {
	if a, ok := r.agencies[code]; ok {
		return a.Name
	}
	return code
}

// unitName names a unit, or returns its code when it is unknown.
func (r *refs) unitName(code string) string {
	if u, ok := r.units[code]; ok {
		return u.Name
	}
	return code
}

// Categories returns the categories in their order.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	r, err := s.references(ctx)
	if err != nil {
		return nil, err
	}
	return r.cats, nil
}
