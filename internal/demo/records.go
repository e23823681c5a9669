package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"civitas/internal/registry"
)

// The registries besides the population, made household by household as
// the persons are: residence (the household's entries, a spouse's earlier
// home, young people's rented rooms), civil status (births since 1975,
// the couples' marriages, the deaths that left widows and widowers), land
// (the home's parcel, a farming household's fields), the participation
// type of each insurance card, household businesses, and the school-age
// children with their guardians (put in classes at the end, schools.go).
// Each registry draws from a random source of its own.

// sources are the random sources of what was added to the demo after the
// persons, cards and vehicles: one each, so that adding to one registry
// changes no other.
type sources struct {
	geo, residence, civil, land, business, phone, school *rand.Rand
}

func newSources(seed int64) sources {
	at := func(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), stream)) }
	return sources{geo: at(0x6e0_0099), residence: at(0x7e5_0099), civil: at(0xc1f_0099), land: at(0x1a4d_0099),
		business: at(0xb12_0099), phone: at(0x9b0e_0099), school: at(0x5c0_0099)}
}

// recordState is what the records' generator keeps between households.
type recordState struct {
	books    map[string]int // civil-status entries so far, by book ("births|agency|year")
	dead     map[int]int    // serials given to the dead, by the persons' serial key
	sheets   [][2]int       // per commune: current map sheet and parcel number
	hhb      map[string]int // household businesses so far, per district
	certs    int
	teachers map[string][]string // commune -> candidate teachers
	pupils   []pupil
	founders []founder
	// teacherPosts are the teachers' and principals' posts schools made.
	teacherPosts []registry.Official
}

// teachersPerCommune bounds how many adults per commune are kept as
// possible teachers.
const teachersPerCommune = 240

// pupil is a school-age child waiting for a class.
type pupil struct {
	citizenID string
	commune   int
	grade     int
	guardians []registry.Guardian
}

// founder is a household head who founds an enterprise.
type founder struct {
	citizenID string
	commune   int
	born      time.Time
}

func (rs *recordState) init(st *structure) {
	rs.books = map[string]int{}
	rs.dead = map[int]int{}
	rs.sheets = make([][2]int, len(st.communes))
	for i := range rs.sheets {
		rs.sheets[i] = [2]int{1, 0}
	}
	rs.hhb = map[string]int{}
	rs.teachers = map[string][]string{}
}

// schoolStart is the day the demo's school year began; a child goes to
// grade 1 in the year they turn six.
const schoolYear = "2025-2026"

func date(t time.Time) string { return t.Format(registry.DateLayout) }

func parse(s string) time.Time {
	t, _ := time.Parse(registry.DateLayout, s)
	return t
}

// days adds n days.
func days(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// later and earlier pick the later or earlier of two days.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// entry numbers the next entry of an agency's civil-status book of a year.
func (g *generator) entry(book, agency string, on time.Time) string {
	k := book + "|" + agency + "|" + fmt.Sprint(on.Year())
	g.recs.books[k]++
	return fmt.Sprintf("%d/%d", g.recs.books[k], on.Year())
}

// records makes the household's records: ms are its members, head first;
// cards0 is where its persons' cards start in the chunk.
func (g *generator) records(c *chunk, home registry.Household, ci int, area *registry.ResidentialArea, ms []member, cards0 int) {
	rec := &c.records
	st := g.st
	di := st.communeDistrict[ci]
	ubnd := "X" + st.communes[ci].Code + ".UBND"
	person := func(m member) *registry.Person { return &c.persons[m.i] }
	head := ms[0]
	headP := person(head)
	headBorn := parse(headP.BirthDate)

	// The household was registered when its head was 18 or more.
	rr := g.src.residence
	since := days(refDate.AddDate(-rr.IntN(max(1, min(head.age-17, 36))), 0, 0), -rr.IntN(365))
	since = later(since, headBorn.AddDate(18, 0, 0))
	since = earlier(since, refDate)

	// The couple's marriage.
	cr := g.src.civil
	var spouse *member
	for k := range ms {
		if ms[k].rel == registry.Spouse {
			spouse = &ms[k]
		}
	}
	var married time.Time
	if spouse != nil {
		husband, wife := headP, person(*spouse)
		if husband.Sex == registry.Female {
			husband, wife = wife, husband
		}
		hb, wb := parse(husband.BirthDate), parse(wife.BirthDate)
		legal := later(hb.AddDate(20, 0, 0), wb.AddDate(18, 0, 0))
		married = days(later(hb.AddDate(22, 0, 0), wb.AddDate(19, 0, 0)).AddDate(cr.IntN(5), 0, 0), cr.IntN(365))
		for _, m := range ms {
			if m.rel == registry.Child {
				if b := parse(person(m).BirthDate); b.Before(married.AddDate(1, 0, 0)) {
					married = days(b, -300-cr.IntN(700))
				}
			}
		}
		married = earlier(later(married, legal), days(refDate, -30))
		if !married.Before(legal) {
			m := registry.Marriage{HusbandCitizenID: husband.CitizenID, HusbandName: husband.FullName, WifeCitizenID: wife.CitizenID,
				WifeName: wife.FullName, MarriedOn: date(married), AgencyCode: ubnd}
			m.RegistrationNumber = g.entry("marriages", ubnd, married)
			m.ID = registry.MarriageID(ubnd, m.RegistrationNumber)
			rec.Marriages = append(rec.Marriages, m)
		} else {
			married = time.Time{} // they live together unmarried: too young to marry
		}
	}

	// Permanent residence in the household; a spouse who came at the
	// marriage lived elsewhere before.
	var births []registry.Birth
	for _, m := range ms {
		p := person(m)
		born := parse(p.BirthDate)
		from := later(since, born)
		n := 1
		bci := ci
		if m.rel == registry.Spouse && !married.IsZero() && married.After(since) {
			pci := rr.IntN(len(st.communes))
			parea := &st.ref.areas[pci][rr.IntN(len(st.ref.areas[pci]))]
			rec.Residences = append(rec.Residences, registry.Residence{ID: registry.ResidenceID(p.CitizenID, n), CitizenID: p.CitizenID,
				Kind: registry.Permanent, HouseholdID: fmt.Sprintf("%s9%08d", st.prov.Code, g.homes), Relation: registry.Child,
				Address: g.address(rr, pci, parea), AreaCode: parea.Code, UnitCode: st.communes[pci].Code,
				From: p.BirthDate, Until: date(days(married, -1))})
			n++
			from = married
			bci = pci
		}
		rec.Residences = append(rec.Residences, registry.Residence{ID: registry.ResidenceID(p.CitizenID, n), CitizenID: p.CitizenID,
			Kind: registry.Permanent, HouseholdID: home.ID, Relation: m.rel, Address: home.Address, AreaCode: area.Code,
			UnitCode: home.UnitCode, From: date(from)})
		n++
		// Some young adults rent a room in the city, for work or study.
		if m.age >= 18 && m.age <= 35 && rr.IntN(100) < 7 {
			tci := g.cityCommune(rr)
			tarea := &st.ref.areas[tci][rr.IntN(len(st.ref.areas[tci]))]
			tfrom := days(refDate, -rr.IntN(900))
			rec.Residences = append(rec.Residences, registry.Residence{ID: registry.ResidenceID(p.CitizenID, n), CitizenID: p.CitizenID,
				Kind: registry.Temporary, Address: strings.Replace(g.address(rr, tci, tarea), "Số", "Phòng trọ số", 1), AreaCode: tarea.Code,
				UnitCode: st.communes[tci].Code, From: date(tfrom), Until: date(days(tfrom.AddDate(2, 0, 0), -1))})
		}
		if born.Year() >= 1975 {
			births = append(births, g.birth(cr, p, m, ms, c, bci))
		}
	}
	rec.Births = append(rec.Births, births...)

	// The widowed: an elderly parent, a head living alone at 60 or more.
	for _, m := range ms {
		if m.rel == registry.Parent && m.age >= 55 && cr.IntN(100) < 85 || m.rel == registry.Head && len(ms) == 1 && m.age >= 60 && cr.IntN(100) < 80 {
			rel := registry.Parent
			if m.rel == registry.Head {
				rel = registry.Spouse
			}
			g.lateSpouse(c, person(m), rel, home, area, ubnd, since)
		}
	}

	g.land(c, home, ci, di, area, headP, spouse, ms, since)
	g.participations(c, ms, cards0, area)
	g.householdBusiness(c, home, ci, di, head, headP)
	g.pupils(c, ci, ms)
}

// address writes an address in an area of commune ci.
func (g *generator) address(r *rand.Rand, ci int, a *registry.ResidentialArea) string {
	st := g.st
	return fmt.Sprintf("Số %d, %s, %s, %s, %s", 1+r.IntN(300), a.Name, st.communes[ci].Name, st.districts[st.communeDistrict[ci]].Name, st.prov.Name)
}

// cityCommune picks a ward of the city.
func (g *generator) cityCommune(r *rand.Rand) int {
	for {
		if ci := r.IntN(len(g.st.communes)); g.st.communeDistrict[ci] == 0 {
			return ci
		}
	}
}

// name makes a name of a sex in a family.
func name(r *rand.Rand, family string, sex registry.Sex) string {
	middle, given := maleMiddle, maleGiven
	if sex == registry.Female {
		middle, given = femaleMiddle, femaleGiven
	}
	if family == "" {
		family = familyNames[r.IntN(len(familyNames))]
	}
	return family + " " + middle[r.IntN(len(middle))] + " " + given[r.IntN(len(given))]
}

func familyOf(fullName string) string { return fullName[:strings.IndexByte(fullName, ' ')] }

// birth makes the birth registration of p: its parents are the household's
// head and spouse for a child, the elderly parent for the head, a grown
// child for a grandchild, when their ages allow; otherwise names only.
func (g *generator) birth(r *rand.Rand, p *registry.Person, m member, ms []member, c *chunk, ci int) registry.Birth {
	st := g.st
	agency := "X" + st.communes[ci].Code + ".UBND"
	born := parse(p.BirthDate)
	b := registry.Birth{CitizenID: p.CitizenID, FullName: p.FullName, BirthDate: p.BirthDate, Sex: p.Sex, AgencyCode: agency}
	reg := earlier(days(born, 1+r.IntN(59)), refDate)
	b.RegisteredOn = date(reg)
	b.RegistrationNumber = g.entry("births", agency, reg)
	commune := st.communes[ci]
	district := st.districts[st.communeDistrict[ci]]
	switch x := r.IntN(100); {
	case born.Year() < 1995:
		b.PlaceOfBirth = commune.Name + ", " + district.Name + ", " + st.prov.Name
	case x < 40:
		b.PlaceOfBirth = "Bệnh viện Đa khoa " + lowerFirst(st.prov.Name)
	case x < 80:
		b.PlaceOfBirth = "Trung tâm Y tế " + lowerFirst(district.Name) + ", " + st.prov.Name
	default:
		b.PlaceOfBirth = "Trạm Y tế " + lowerFirst(commune.Name) + ", " + district.Name + ", " + st.prov.Name
	}
	parent := func(q member) bool { return q.age-m.age >= 16 }
	for _, q := range ms {
		qp := &c.persons[q.i]
		ok := false
		switch m.rel {
		case registry.Child:
			ok = (q.rel == registry.Head || q.rel == registry.Spouse) && parent(q)
		case registry.Head:
			ok = q.rel == registry.Parent && parent(q)
		case registry.Grandchild:
			ok = q.rel == registry.Child && q.age-m.age >= 18
		}
		if !ok {
			continue
		}
		if qp.Sex == registry.Male && b.FatherName == "" && familyOf(qp.FullName) == familyOf(p.FullName) {
			b.FatherCitizenID, b.FatherName = qp.CitizenID, qp.FullName
		} else if qp.Sex == registry.Female && b.MotherName == "" {
			b.MotherCitizenID, b.MotherName = qp.CitizenID, qp.FullName
		}
	}
	if b.MotherName == "" {
		b.MotherName = name(r, "", registry.Female)
	}
	if b.FatherName == "" && r.IntN(100) >= 3 {
		b.FatherName = name(r, familyOf(p.FullName), registry.Male)
	}
	return b
}

// lateSpouse records the death of p's husband or wife, their marriage
// ended by it, and their residence in the household until then.
func (g *generator) lateSpouse(c *chunk, p *registry.Person, rel registry.Relation, home registry.Household, area *registry.ResidentialArea, agency string, since time.Time) {
	r := g.src.civil
	rec := &c.records
	sex := registry.Male
	if p.Sex == registry.Male {
		sex = registry.Female
	}
	// Husbands are mostly a few years older than their wives.
	pb := parse(p.BirthDate)
	born := days(pb.AddDate(-r.IntN(7), 0, 0), -r.IntN(365))
	if sex == registry.Female {
		born = days(pb.AddDate(r.IntN(6), 0, 0), r.IntN(365))
	}
	born = earlier(born, days(refDate, -18*365))
	// The dead take serials from the top of the persons' bijection down,
	// so they never meet a living person's.
	key := born.Year() * 2
	if sex == registry.Female {
		key++
	}
	g.recs.dead[key]++
	serial := ((1_000_000-g.recs.dead[key])*7919 + key*104729) % 1_000_000
	id := registry.FormatCitizenID(g.st.prov.Code, sex, born.Year(), serial)
	died := days(refDate, -1-r.IntN(25*365))
	died = later(died, born.AddDate(45, 0, 0))
	died = earlier(died, days(refDate, -1))
	full := name(r, "", sex)
	husband, wife := p, &registry.Person{CitizenID: id, FullName: full, BirthDate: date(born)}
	hb, wb := pb, born
	if sex == registry.Male {
		husband, wife, hb, wb = wife, p, born, pb
	}
	married := days(later(hb.AddDate(21, 0, 0), wb.AddDate(18, 0, 0)).AddDate(r.IntN(6), 0, 0), r.IntN(365))
	married = earlier(married, days(died, -1))
	reg := earlier(days(died, 1+r.IntN(14)), refDate)
	d := registry.Death{CitizenID: id, FullName: full, BirthDate: date(born), Sex: sex, DiedOn: date(died), RegisteredOn: date(reg), AgencyCode: agency,
		PlaceOfDeath: "Tại nhà, " + home.Address}
	if r.IntN(100) < 40 {
		d.PlaceOfDeath = "Bệnh viện Đa khoa " + lowerFirst(g.st.prov.Name)
	}
	d.RegistrationNumber = g.entry("deaths", agency, reg)
	rec.Deaths = append(rec.Deaths, d)
	if legal := later(hb.AddDate(20, 0, 0), wb.AddDate(18, 0, 0)); !married.Before(legal) {
		m := registry.Marriage{HusbandCitizenID: husband.CitizenID, HusbandName: husband.FullName, WifeCitizenID: wife.CitizenID,
			WifeName: wife.FullName, MarriedOn: date(married), AgencyCode: agency, EndedOn: date(died), EndReason: registry.EndedByDeath}
		m.RegistrationNumber = g.entry("marriages", agency, married)
		m.ID = registry.MarriageID(agency, m.RegistrationNumber)
		rec.Marriages = append(rec.Marriages, m)
	}
	from := earlier(later(since, born.AddDate(18, 0, 0)), died)
	rec.Residences = append(rec.Residences, registry.Residence{ID: registry.ResidenceID(id, 1), CitizenID: id, Kind: registry.Permanent,
		HouseholdID: home.ID, Relation: rel, Address: home.Address, AreaCode: area.Code, UnitCode: home.UnitCode,
		From: date(from), Until: date(died)})
}

// sortRecords puts a chunk's parcels in the order of their key (the other
// big tables are appended to, in any order): the B-tree takes them faster
// so than scattered over the communes.
func sortRecords(r *registry.Records) {
	slices.SortFunc(r.Parcels, func(a, b registry.LandParcel) int { return strings.Compare(a.ID, b.ID) })
}
