package demo

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"civitas/internal/registry"
)

// The health-insurance cards and vehicles of the demo population: most
// adults hold a card, some own a motorbike or a car or both. They come from
// a random source of their own, so adding them changed none of the persons
// a seed gives.

// showcase is how many of the first adults with a phone (in the order they
// are written, the order of the README's query) surely hold a card and a
// motorbike, the first of them a car too: a demo can always pull both
// kinds, and two vehicles.
const showcase = 5

// cardsValidTo are the last days of the demo cards' validity. Real cards
// often run a year; the demo's run years ahead so that a demo loaded any day
// in the next few years shows them valid, as the data must not depend on
// the day it is loaded.
var cardsValidTo = []string{"2030-12-31", "2031-12-31", "2032-12-31"}

// bikeSeries and carSeries are the plate series of the demo province (one
// or two letters, a digit for motorbikes); each holds 90,000 plates.
var (
	carSeries  = []string{"A", "K", "H", "F", "G", "C", "D", "E", "L"}
	bikeSeries = func() []string {
		var out []string
		for _, l := range "BCDEFGHKLMNPSTUVXYZ" {
			for d := 1; d <= 9; d++ {
				out = append(out, fmt.Sprintf("%c%d", l, d))
			}
		}
		return out
	}()
)

const platesPerSeries = 90_000

type model struct{ make, model, frame, engine string }

var (
	bikes = []model{
		{"Honda", "Wave Alpha", "RLHJA", "JA39E"}, {"Honda", "Wave Alpha", "RLHJA", "JA39E"}, {"Honda", "Vision", "RLHJF", "JF58E"},
		{"Honda", "Air Blade", "RLHJF", "JF63E"}, {"Honda", "SH Mode", "RLHJF", "JF51E"}, {"Yamaha", "Sirius", "RLCS5", "5C6JE"},
		{"Yamaha", "Exciter", "RLCE2", "G3D4E"}, {"Suzuki", "Raider", "RLSBG", "CGA1E"}, {"VinFast", "Evo200", "RLVEV", "VFE20"},
	}
	cars = []model{
		{"Toyota", "Vios", "RL4B1", "2NRFE"}, {"Hyundai", "Accent", "RLUHC", "G4LCE"}, {"Kia", "Morning", "RLNTA", "G3LAE"},
		{"VinFast", "VF 5", "RLVF5", "VFM50"}, {"Mazda", "3", "RLMBP", "PEVPE"}, {"Ford", "Ranger", "MNCUM", "YN2SE"},
		{"Honda", "City", "RLHGN", "L15ZE"},
	}
	colours = []string{"Đen", "Trắng", "Đỏ", "Xanh", "Bạc", "Xám", "Vàng"}
)

// hospitalsOf lists, for each commune, where its residents register for
// first care: the district's health centre, the provincial hospital, the
// commune's health station.
func hospitalsOf(st *structure) map[string][]string {
	out := make(map[string][]string, len(st.communes))
	for i, c := range st.communes {
		d := st.districts[st.communeDistrict[i]]
		out[c.Code] = []string{"Trung tâm Y tế " + lowerFirst(d.Name), "Bệnh viện Đa khoa " + lowerFirst(st.prov.Name), "Trạm Y tế " + lowerFirst(c.Name)}
	}
	return out
}

// lowerFirst writes "Huyện Tân Phú" as a name reads inside another: "huyện Tân Phú".
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// holdings gives p, aged age, a card and vehicles, or none.
func (g *generator) holdings(c *chunk, p *registry.Person, age int) {
	if age < 18 {
		return
	}
	r := g.hr
	show := p.Phone != "" && g.shown < showcase
	if show {
		g.shown++
	}
	if show || r.IntN(100) < 90 {
		g.card(c, p, age)
	}
	if age > 75 && !show {
		return
	}
	if show || r.IntN(100) < 25 {
		g.vehicle(c, p, age, false)
	}
	if g.shown == 1 && show || age >= 25 && age <= 70 && r.IntN(100) < 6 {
		g.vehicle(c, p, age, true)
	}
}

func (g *generator) card(c *chunk, p *registry.Person, age int) {
	r := g.hr
	g.cards++
	hs := g.hospitals[p.UnitCode]
	h := hs[0]
	switch x := r.IntN(100); {
	case x < 25:
		h = hs[1]
	case x < 45:
		h = hs[2]
	}
	level := "4 (80%)"
	switch x := r.IntN(100); {
	case age >= 80:
		level = "2 (100%)"
	case x < 8:
		level = "3 (95%)"
	case x < 13:
		level = "" // not recorded
	}
	from := refDate.AddDate(0, -r.IntN(9), 0)
	c.cards = append(c.cards, registry.InsuranceCard{
		CardNumber:   fmt.Sprintf("%s%08d", g.st.prov.unit(), 10_000_000+g.cards),
		CitizenID:    p.CitizenID,
		Hospital:     h,
		BenefitLevel: level,
		ValidFrom:    fmt.Sprintf("%04d-%02d-01", from.Year(), from.Month()),
		ValidTo:      cardsValidTo[r.IntN(len(cardsValidTo))],
	})
}

func (g *generator) vehicle(c *chunk, p *registry.Person, age int, car bool) {
	r := g.hr
	kinds, series, n := bikes, bikeSeries, &g.bikes
	if car {
		kinds, series, n = cars, carSeries, &g.cars
	}
	if *n >= len(series)*platesPerSeries {
		return // the province has run out of plates
	}
	m := kinds[r.IntN(len(kinds))]
	num := 10_000 + *n%platesPerSeries
	plate := fmt.Sprintf("%s%s-%03d.%02d", g.st.prov.unit(), series[*n/platesPerSeries], num/100, num%100)
	*n++
	g.vehicles++
	c.vehicles = append(c.vehicles, registry.Vehicle{
		Plate:          plate,
		OwnerCitizenID: p.CitizenID,
		Make:           m.make,
		Model:          m.model,
		Colour:         colours[r.IntN(len(colours))],
		RegisteredOn:   refDate.AddDate(0, 0, -r.IntN(365*min(age-17, 15))).Format(registry.DateLayout),
		FrameNumber:    fmt.Sprintf("%s%012d", m.frame, g.vehicles),
		EngineNumber:   fmt.Sprintf("%s%07d", m.engine, g.vehicles),
	})
}
