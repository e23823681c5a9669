package demo

import (
	"fmt"
	"math"
	"time"

	"civitas/internal/registry"
)

// The land registry of the demo: every household's home stands on a
// parcel held by the head (and the spouse); a rural household farms a few
// more parcels — coffee and pepper (CLN), rice (LUA), annual crops (HNK),
// production forest (RSX), fish ponds (NTS); an enterprise has its site.
// Most parcels have a certificate, issued by the district's people's
// committee before 2016 and by the land registration office's branch
// since.

// fieldUses are the farming parcels' land uses, by weight, with the range
// of their area in m².
var fieldUses = []struct {
	code     string
	weight   int
	min, max float64
}{
	{"CLN", 35, 1000, 20000}, {"LUA", 25, 500, 5000}, {"HNK", 20, 500, 8000}, {"RSX", 12, 5000, 50000}, {"NTS", 8, 500, 5000},
}

// parcel numbers the next parcel of commune ci: sheets of 300 to 500
// parcels, as the cadastral maps run.
func (g *generator) parcel(ci int) (sheet, n int) {
	s := &g.recs.sheets[ci]
	s[1]++
	if s[1] > 300+(s[0]*7919)%200 {
		s[0], s[1] = s[0]+1, 1
	}
	return s[0], s[1]
}

// certificate numbers the next land-use right certificate, issued on day
// for a parcel of district di.
func (g *generator) certificate(parcel string, di int, day time.Time) registry.LandCertificate {
	k := g.recs.certs
	g.recs.certs++
	// Series of two letters, a million serials each; each demo province
	// has twenty series of its own.
	series := 40 + 20*(99-atoi(g.st.prov.Code)) + k/1_000_000
	number := fmt.Sprintf("%c%c %06d", 'A'+series/26%26, 'A'+series%26, k%1_000_000)
	d := g.st.districts[di].Code
	agency := "H" + d + ".UBND"
	if day.Year() >= 2016 {
		agency = "H" + d + ".VPDKDD"
	}
	return registry.LandCertificate{Number: number, ParcelID: parcel, IssuedOn: date(day), AgencyCode: agency}
}

func squareMetres(min, max, f float64) float64 { return math.Round((min+f*(max-min))*10) / 10 }

func (g *generator) land(c *chunk, home registry.Household, ci, di int, a *registry.ResidentialArea, head *registry.Person, spouse *member, ms []member, since time.Time) {
	r := g.src.land
	rec := &c.records
	st := g.st
	owners := []string{head.CitizenID}
	if spouse != nil && c.persons[spouse.i].BirthDate <= date(refDate.AddDate(-18, 0, 0)) {
		owners = append(owners, c.persons[spouse.i].CitizenID)
	}
	add := func(use string, m2 float64, address string, certified int) {
		sheet, n := g.parcel(ci)
		p := registry.LandParcel{ID: registry.ParcelID(home.UnitCode, sheet, n), UnitCode: home.UnitCode, MapSheet: sheet, ParcelNumber: n,
			AreaM2: m2, LandUse: use, Address: address}
		rec.Parcels = append(rec.Parcels, p)
		for _, o := range owners {
			rec.LandOwners = append(rec.LandOwners, registry.LandOwner{ParcelID: p.ID, Kind: registry.OwnerPerson, OwnerID: o})
		}
		if r.IntN(100) < certified {
			span := int(refDate.Sub(since).Hours()/24) + 1
			rec.Certificates = append(rec.Certificates, g.certificate(p.ID, di, days(since, r.IntN(span))))
		}
	}
	if st.urban(di) {
		add("ODT", squareMetres(45, 180, r.Float64()), home.Address, 90)
		return
	}
	add("ONT", squareMetres(150, 700, r.Float64()), home.Address, 88)
	if ms[0].age < 25 {
		return
	}
	fields := 0
	switch x := r.IntN(100); {
	case x >= 90:
		fields = 3
	case x >= 70:
		fields = 2
	case x >= 35:
		fields = 1
	}
	for range fields {
		x := r.IntN(100)
		u := fieldUses[0]
		for _, f := range fieldUses {
			if x < f.weight {
				u = f
				break
			}
			x -= f.weight
		}
		add(u.code, squareMetres(u.min, u.max, r.Float64()), fmt.Sprintf("Cánh đồng %s, %s, %s, %s", a.Name, st.communes[ci].Name, st.districts[di].Name, st.prov.Name), 80)
	}
}

// enterpriseLand gives each enterprise of the province its site: a parcel
// in its commune for commerce or production, certified.
func (g *generator) enterpriseLand(bs []registry.Business) (ps []registry.LandParcel, os []registry.LandOwner, cs []registry.LandCertificate) {
	r := g.src.land
	for _, b := range bs {
		ci := g.communeIndex(b.UnitCode)
		if ci < 0 {
			continue
		}
		sheet, n := g.parcel(ci)
		use := "TMD"
		if r.IntN(100) < 40 {
			use = "SKC"
		}
		p := registry.LandParcel{ID: registry.ParcelID(b.UnitCode, sheet, n), UnitCode: b.UnitCode, MapSheet: sheet, ParcelNumber: n,
			AreaM2: squareMetres(300, 5000, r.Float64()), LandUse: use, Address: b.Address}
		ps = append(ps, p)
		os = append(os, registry.LandOwner{ParcelID: p.ID, Kind: registry.OwnerBusiness, OwnerID: b.RegNumber})
		cs = append(cs, g.certificate(p.ID, g.st.communeDistrict[ci], later(parse(b.RegisteredOn), days(refDate, -3650))))
	}
	return ps, os, cs
}

// communeIndex finds a commune by code.
func (g *generator) communeIndex(code string) int {
	for i, c := range g.st.communes {
		if c.Code == code {
			return i
		}
	}
	return -1
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = 10*n + int(c-'0')
	}
	return n
}
