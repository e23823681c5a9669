package demo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Options say how large a province to build, from which seed.
type Options struct {
	Persons int
	Seed    int64
	// Province is the code of the demo province to build (ProvinceCodes);
	// empty is ProvinceCode.
	Province string
	// Progress receives a progress bar (a terminal) or a line every 10 % (any
	// other writer); nil is silent.
	Progress io.Writer
	Clock    kernel.Clock
}

// Stats count what Load wrote.
type Stats struct {
	Units, Households, Persons, Agencies, Officials, Businesses int
	InsuranceCards, Vehicles                                    int
	Areas, Residences, Births, Deaths, Marriages                int
	Parcels, LandCertificates, HouseholdBusinesses              int
	Schools, Classes, Pupils                                    int
	Duration                                                    time.Duration
}

// MaxPersons bounds a demo province.
const MaxPersons = 3_000_000

// chunkPersons is how many persons one write transaction carries: large
// enough to amortise the commit, small enough that a running server gets the
// write lock between chunks within a fraction of a second.
const chunkPersons = 20_000

// loadGCPercent is the collector's target during a load (GOGC): a load's
// live heap is a chunk or two of rows.
const loadGCPercent = 400

// refDate is "today" for the demo population: ages are computed against it,
// so the data does not change with the day it is loaded.
var refDate = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)

// Load builds the demo province into d. It refuses a database whose
// population registry is not empty.
func Load(ctx context.Context, d *db.DB, o Options) (Stats, error) {
	return load(ctx, d, o, chunkPersons)
}

// load is Load writing perChunk persons a transaction.
func load(ctx context.Context, d *db.DB, o Options, perChunk int) (Stats, error) {
	if o.Persons < 1 || o.Persons > MaxPersons {
		return Stats{}, kernel.E(kernel.Invalid, "error.demo.bad_size", MaxPersons)
	}
	if o.Clock == nil {
		o.Clock = kernel.SystemClock{}
	}
	pv, err := LookupProvince(o.Province)
	if err != nil {
		return Stats{}, err
	}
	start := time.Now()
	// The generator allocates every row it hands to the writer and drops it
	// a chunk later: collecting at 5× the live heap instead of 2× takes a
	// tenth of the load's CPU off (50,000 persons: 4.9 → 4.5 s of CPU).
	if prev := debug.SetGCPercent(loadGCPercent); prev < 0 || prev > loadGCPercent {
		debug.SetGCPercent(prev)
	} else {
		defer debug.SetGCPercent(prev)
	}
	svc := registry.New(d, o.Clock)
	empty, err := svc.Empty(ctx)
	if err != nil {
		return Stats{}, err
	}
	// A load stopped after the units were written (before any person) must
	// be refused as clearly as a full registry.
	if _, err := svc.Unit(ctx, pv.unit()); kernel.ErrorCode(err) != kernel.NotFound {
		empty = false
	}
	if !empty {
		return Stats{}, kernel.E(kernel.Conflict, "error.demo.not_empty")
	}
	// The persons, their cards and vehicles and the first officials come
	// from r and the holdings' source as they always have; everything added
	// since draws from sources of its own (newSources), so a seed still
	// gives the same people.
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0x5e6d_c1f1_7a50_0099))
	src := newSources(o.Seed)
	st := buildStructure(r, pv)
	st.addReference(src.geo)
	ref := registry.Reference{Units: st.units, Boundaries: st.ref.boundaries, Agencies: append(slices.Clip(st.agencies), st.ref.agencies...),
		Registries: st.ref.registries, Schools: st.ref.schools}
	for _, as := range st.ref.areas {
		ref.Areas = append(ref.Areas, as...)
	}
	if err := svc.AddReference(ctx, ref); err != nil {
		return Stats{}, err
	}
	// The writer checkpoints by itself during the load (StartBulk sets its
	// wal_autocheckpoint); the background checkpointer waits until the end.
	defer d.PauseCheckpoints()()
	bulk, err := svc.StartBulk(ctx)
	if err != nil {
		return Stats{}, err
	}
	// Dropping the records' indexes and building them again pays for a
	// large province only.
	if o.Persons >= 50_000 {
		if err := bulk.StartRecords(ctx); err != nil {
			_ = bulk.Finish(context.WithoutCancel(ctx))
			return Stats{}, err
		}
	}
	// finish builds the indexes the bulk load dropped, whatever happens.
	finish := func() {
		_ = bulk.Finish(context.WithoutCancel(ctx))
		_ = bulk.FinishRecords(context.WithoutCancel(ctx))
	}
	g := newGenerator(r, rand.New(rand.NewPCG(uint64(o.Seed), 0x1a5e_ca2d_0b1c_0099)), &st, o.Persons)
	g.src, g.chunk = src, perChunk
	chunks := make(chan chunk, 2)
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	go g.run(genCtx, chunks)

	pr := newProgress(o.Progress, o.Persons)
	stats := Stats{Units: len(st.units), Agencies: len(ref.Agencies), Areas: len(ref.Areas), Schools: len(ref.Schools)}
	for c := range chunks {
		err := bulk.WriteBatch(ctx, registry.Batch{Homes: c.homes, Persons: c.persons, Cards: c.cards, Vehicles: c.vehicles})
		if err == nil {
			err = bulk.WriteRecords(ctx, c.records)
		}
		if err != nil {
			stopGen()
			for range chunks { // let the generator finish
			}
			finish()
			return stats, err
		}
		stats.Households += len(c.homes)
		stats.Persons += len(c.persons)
		stats.InsuranceCards += len(c.cards)
		stats.Vehicles += len(c.vehicles)
		stats.add(&c.records)
		pr.update(stats.Persons)
	}
	if err := ctx.Err(); err != nil {
		finish()
		return stats, err
	}
	// The officials, enterprises, schools and enterprises' land go in
	// before the indexes are built again: on SQLite the load is still
	// unchecked and unsynced, and the generator made them valid.
	officials := g.officials(st.agencies)
	// The posts of the capabilities come after, from their own source.
	officials = append(officials, g.moreOfficials(append(slices.Clip(st.agencies), st.ref.agencies...))...)
	businesses := g.businesses()
	businesses = append(businesses, g.enterprises()...)
	last := g.schools()
	officials = append(officials, g.recs.teacherPosts...)
	officials = dedupeOfficials(officials)
	if err := svc.AddStructure(ctx, nil, nil, officials); err != nil {
		finish()
		return stats, err
	}
	stats.Officials = len(officials)
	if err := svc.AddBusinesses(ctx, businesses); err != nil {
		finish()
		return stats, err
	}
	stats.Businesses = len(businesses)
	last.Parcels, last.LandOwners, last.Certificates = g.enterpriseLand(businesses)
	if err := bulk.WriteRecords(ctx, last); err != nil {
		finish()
		return stats, err
	}
	if err := bulk.Finish(ctx); err != nil {
		finish()
		return stats, err
	}
	if err := bulk.FinishRecords(ctx); err != nil {
		return stats, err
	}
	stats.add(&last)
	stats.Duration = time.Since(start)
	pr.done(stats)
	return stats, nil
}

// add counts what a write of records stored.
func (s *Stats) add(r *registry.Records) {
	s.Residences += len(r.Residences)
	s.Births += len(r.Births)
	s.Deaths += len(r.Deaths)
	s.Marriages += len(r.Marriages)
	s.Parcels += len(r.Parcels)
	s.LandCertificates += len(r.Certificates)
	s.HouseholdBusinesses += len(r.HouseholdBusinesses)
	s.Classes += len(r.Classes)
	s.Pupils += len(r.Enrolments)
}

type chunk struct {
	homes    []registry.Household
	persons  []registry.Person
	cards    []registry.InsuranceCard
	vehicles []registry.Vehicle
	records  registry.Records // residence, civil status, land, participation, household businesses
}

// generator makes households and persons in a fixed order from one random
// source, and their insurance cards and vehicles from another, so the same
// seed gives the same province. What came later (records.go) draws from
// sources of its own, src.
type generator struct {
	r        *rand.Rand
	hr       *rand.Rand // for the cards and vehicles (holdings.go)
	chunk    int        // persons a chunk
	src      sources
	st       *structure
	total    int
	weights  []int // cumulative commune weights
	serials  map[int]int
	phones   int
	homes    int
	officers map[string][]string // commune code -> candidate officials' citizen IDs

	hospitals                    map[string][]string // commune code -> where its residents register for care
	cards, bikes, cars, vehicles int
	shown                        int // showcase adults so far
	recs                         recordState
	used                         map[string]int // posts given per unit's pool, by officials

}

// candidatesPerCommune bounds how many adults of working age per commune are
// kept as possible officials.
const candidatesPerCommune = 24

func newGenerator(r, holdings *rand.Rand, st *structure, total int) *generator {
	g := &generator{r: r, hr: holdings, st: st, total: total, chunk: chunkPersons, serials: map[int]int{}, officers: map[string][]string{}, hospitals: hospitalsOf(st)}
	g.recs.init(st)
	sum := 0
	for i := range st.communes {
		w := 2
		if st.urban(st.communeDistrict[i]) { // city and town wards are denser
			w = 5
		}
		sum += w
		g.weights = append(g.weights, sum)
	}
	return g
}

func (g *generator) run(ctx context.Context, out chan<- chunk) {
	defer close(out)
	done := 0
	for done < g.total {
		c := chunk{
			homes:   make([]registry.Household, 0, g.chunk/3),
			persons: make([]registry.Person, 0, g.chunk+6),
		}
		for len(c.persons) < g.chunk && done+len(c.persons) < g.total {
			g.household(&c, g.total-done-len(c.persons))
		}
		done += len(c.persons)
		sortRecords(&c.records)
		select {
		case out <- c:
		case <-ctx.Done():
			return
		}
	}
}

var sizeWeights = []int{12, 32, 54, 78, 92, 100} // cumulative %, sizes 1..6

// member is a person of the household being made: where in the chunk,
// how old, how related to the head.
type member struct {
	i   int
	age int
	rel registry.Relation
}

func (g *generator) household(c *chunk, left int) {
	r := g.r
	p := r.IntN(100)
	size := 1
	for size < 6 && p >= sizeWeights[size-1] {
		size++
	}
	size = min(size, left)
	ci := g.pickCommune()
	commune := g.st.communes[ci]
	district := g.st.districts[g.st.communeDistrict[ci]]
	g.homes++
	// Three draws place the house: its number and, from two more, its
	// residential area.
	num, a, b := 1+r.IntN(300), r.IntN(4), r.IntN(15)
	area := g.st.area(ci, a, b)
	home := registry.Household{
		ID:       fmt.Sprintf("%s%09d", g.st.prov.Code, g.homes),
		UnitCode: commune.Code,
		Address:  fmt.Sprintf("Số %d, %s, %s, %s, %s", num, area.Name, commune.Name, district.Name, g.st.prov.Name),
	}
	c.homes = append(c.homes, home)
	cards0 := len(c.cards)
	var ms []member
	add := func(age int, sex registry.Sex, family string, rel registry.Relation) {
		ms = append(ms, member{i: g.person(c, home, age, sex, family, area.Remote), age: age, rel: rel})
	}

	// The head of the household, then a spouse, then children or grandchildren.
	var headAge int
	switch {
	case size == 1 && r.IntN(2) == 0:
		headAge = 19 + r.IntN(17)
	case size == 1:
		headAge = 60 + r.IntN(32)
	default:
		headAge = 25 + r.IntN(50)
	}
	headSex := registry.Male
	if (size == 1 && r.IntN(2) == 0) || (size > 1 && r.IntN(10) < 3) {
		headSex = registry.Female
	}
	family := familyNames[r.IntN(len(familyNames))]
	add(headAge, headSex, family, registry.Head)
	n := 1
	if size > 1 && r.IntN(100) < 85 {
		spouseSex := registry.Female
		if headSex == registry.Female {
			spouseSex = registry.Male
		}
		spouseFamily := familyNames[r.IntN(len(familyNames))]
		if spouseSex == registry.Male {
			family = spouseFamily // children take their father's family name
		}
		add(max(18, headAge-3+r.IntN(7)), spouseSex, spouseFamily, registry.Spouse)
		n++
	}
	// Many households keep an elderly parent at home.
	if n < size && headAge < 60 && r.IntN(100) < 35 {
		sex := registry.Female
		if r.IntN(3) == 0 {
			sex = registry.Male
		}
		add(min(99, headAge+22+r.IntN(14)), sex, familyNames[r.IntN(len(familyNames))], registry.Parent)
		n++
	}
	for ; n < size; n++ {
		var age int
		rel := registry.Child
		if headAge < 55 {
			age = r.IntN(max(1, min(headAge-19, 28)))
		} else if r.IntN(2) == 0 {
			age = max(18, headAge-32+r.IntN(12)) // a grown child
		} else {
			age, rel = r.IntN(16), registry.Grandchild
		}
		sex := registry.Male
		if r.IntN(2) == 0 {
			sex = registry.Female
		}
		add(age, sex, family, rel)
	}
	g.records(c, home, ci, area, ms, cards0)
}

func (g *generator) pickCommune() int {
	x := g.r.IntN(g.weights[len(g.weights)-1])
	lo, hi := 0, len(g.weights)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.weights[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// person makes a person of the household and returns where in the chunk
// it is. In a remote area some who would have a phone have none (the
// number they would have had stays unused, so nobody else's changes).
func (g *generator) person(c *chunk, home registry.Household, age int, sex registry.Sex, family string, remote bool) int {
	r := g.r
	born := refDate.AddDate(-age, 0, -r.IntN(365))
	middle, given := maleMiddle, maleGiven
	if sex == registry.Female {
		middle, given = femaleMiddle, femaleGiven
	}
	// Serial numbers per (year, sex) run through a bijection of the six-digit
	// space, so they look random yet never collide.
	key := born.Year() * 2
	if sex == registry.Female {
		key++
	}
	n := g.serials[key]
	g.serials[key] = n + 1
	serial := (n*7919 + key*104729) % 1_000_000
	p := registry.Person{
		CitizenID:   registry.FormatCitizenID(g.st.prov.Code, sex, born.Year(), serial),
		FullName:    family + " " + middle[r.IntN(len(middle))] + " " + given[r.IntN(len(given))],
		BirthDate:   born.Format(registry.DateLayout),
		Sex:         sex,
		HouseholdID: home.ID,
		UnitCode:    home.UnitCode,
	}
	hasPhone := age >= 15 && (age < 75 && r.IntN(100) < 96 || age >= 75 && r.IntN(100) < 55)
	if hasPhone {
		g.phones++
		if !remote || g.src.phone.IntN(100) >= remoteWithoutPhone {
			p.Phone = fmt.Sprintf("09%08d", (g.phones*48271+1234567)%100_000_000)
		}
	}
	if age >= 25 && age <= 60 && len(g.officers[home.UnitCode]) < candidatesPerCommune {
		g.officers[home.UnitCode] = append(g.officers[home.UnitCode], p.CitizenID)
	} else if age >= 23 && age <= 58 && len(g.recs.teachers[home.UnitCode]) < teachersPerCommune {
		g.recs.teachers[home.UnitCode] = append(g.recs.teachers[home.UnitCode], p.CitizenID)
	}
	c.persons = append(c.persons, p)
	g.holdings(c, &c.persons[len(c.persons)-1], age)
	return len(c.persons) - 1
}

// remoteWithoutPhone is the share (%) of people of remote villages who
// would have a phone elsewhere and have none.
const remoteWithoutPhone = 35

// trades name the demo businesses.
var trades = []string{"Thương mại", "Nông sản", "Xây dựng", "Vận tải", "Dịch vụ", "May mặc"}

// businesses registers up to two enterprises per commune, their legal
// representatives taken from the end of the commune's candidate list.
func (g *generator) businesses() []registry.Business {
	var out []registry.Business
	for _, c := range g.st.communes {
		cands := g.officers[c.Code]
		for i := 0; i < 2 && i < len(cands); i++ {
			n := len(out) + 1
			out = append(out, registry.Business{
				RegNumber:         fmt.Sprintf("%s%08d", g.st.prov.unit(), 100000+n*37),
				Name:              fmt.Sprintf("Công ty TNHH %s %s %d", trades[n%len(trades)], c.Name, n),
				LegalRepCitizenID: cands[len(cands)-1-i],
				UnitCode:          c.Code,
				RegisteredOn:      refDate.AddDate(0, 0, -30*n).Format(registry.DateLayout),
				Kind:              registry.MultiMemberLLC,
				Address:           g.seat(c),
				Activity:          tradeActivities[n%len(trades)],
				Status:            registry.Active,
				AgencyCode:        g.st.prov.tag() + ".KHDT",
			})
		}
	}
	return out
}

// pools lists, for each unit, the candidate officials living in it: a
// commune's, all of its district's communes', all of the province's.
func (g *generator) pools() map[string][]string {
	pools := map[string][]string{}
	for i, c := range g.st.communes {
		cands := g.officers[c.Code]
		pools[c.Code] = cands
		d := g.st.districts[g.st.communeDistrict[i]].Code
		pools[d] = append(pools[d], cands...)
		pools[g.st.units[0].Code] = append(pools[g.st.units[0].Code], cands...)
	}
	return pools
}

// officials assigns the roles of every agency to working-age residents of
// its unit (of any commune of its district, or of the province).
func (g *generator) officials(agencies []registry.Agency) []registry.Official {
	pools := g.pools()
	used := map[string]int{}
	var out []registry.Official
	for _, a := range agencies {
		roles := officialRoles[a.Code[strings.LastIndexByte(a.Code, '.')+1:]]
		pool := pools[a.UnitCode]
		for _, role := range roles {
			if len(pool) == 0 {
				break
			}
			// Walk the pool so each person holds at most one post while there are enough people.
			i := used[a.UnitCode] % len(pool)
			used[a.UnitCode]++
			out = append(out, registry.Official{
				ID:         fmt.Sprintf("of%014x", g.r.Uint64()>>8),
				CitizenID:  pool[i],
				AgencyCode: a.Code,
				Role:       role,
			})
		}
	}
	g.used = used // moreOfficials walks on from here
	// The same person may come round twice for one agency and role in a tiny
	// province: keep the first.
	return dedupeOfficials(out)
}

// progress draws a bar on a terminal or prints a line every 10 %.
type progress struct {
	w      io.Writer
	term   bool
	total  int
	start  time.Time
	lastPc int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), lastPc: -1}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.term = true
		}
	}
	return p
}

func (p *progress) update(done int) {
	if p.w == nil {
		return
	}
	pc := done * 100 / p.total
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-9)
	if p.term {
		const width = 30
		bar := strings.Repeat("█", pc*width/100) + strings.Repeat("░", width-pc*width/100)
		fmt.Fprintf(p.w, "\r%s %3d%%  %d/%d persons  %.0f/s ", bar, pc, done, p.total, rate)
		return
	}
	if pc/10 > p.lastPc/10 || done == p.total {
		p.lastPc = pc
		fmt.Fprintf(p.w, "demo: %d%% (%d/%d persons, %.0f/s)\n", pc, done, p.total, rate)
	}
}

func (p *progress) done(s Stats) {
	if p.w != nil && p.term {
		fmt.Fprintln(p.w)
	}
}
