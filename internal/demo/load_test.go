package demo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

func load(t testing.TB, persons int, seed int64) (*db.DB, demo.Stats) {
	t.Helper()
	d := dbtest.Open(t)
	st, err := demo.Load(context.Background(), d, demo.Options{Persons: persons, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return d, st
}

// digest hashes every registry row (but the load time), in key order.
func digest(t *testing.T, d *db.DB) string {
	t.Helper()
	h := sha256.New()
	for _, q := range []string{
		"SELECT code || '|' || name || '|' || level || '|' || COALESCE(parent_code, '') FROM units ORDER BY code",
		"SELECT id || '|' || unit_code || '|' || address FROM households ORDER BY id",
		"SELECT citizen_id || '|' || full_name || '|' || birth_date || '|' || sex || '|' || household_id || '|' || unit_code || '|' || phone FROM persons ORDER BY citizen_id",
		"SELECT code || '|' || name || '|' || kind || '|' || unit_code FROM agencies ORDER BY code",
		"SELECT id || '|' || citizen_id || '|' || agency_code || '|' || role FROM officials ORDER BY id",
		"SELECT card_number || '|' || citizen_id || '|' || hospital || '|' || benefit_level || '|' || valid_from || '|' || valid_to FROM insurance_cards ORDER BY card_number",
		"SELECT plate || '|' || owner_citizen_id || '|' || make || '|' || model || '|' || colour || '|' || registered_on || '|' || frame_number || '|' || engine_number FROM vehicles ORDER BY plate",
		"SELECT unit_code || '|' || geojson FROM unit_boundaries ORDER BY unit_code",
		"SELECT code || '|' || name || '|' || unit_code || '|' || lat || '|' || lon || '|' || remote FROM residential_areas ORDER BY code",
		"SELECT id || '|' || kind || '|' || household_id || '|' || relation || '|' || address || '|' || area_code || '|' || from_date || '|' || until_date FROM residences ORDER BY citizen_id, id",
		"SELECT citizen_id || '|' || place_of_birth || '|' || mother_citizen_id || '|' || mother_name || '|' || father_name || '|' || registration_number || '|' || registered_on || '|' || agency_code FROM births ORDER BY citizen_id",
		"SELECT citizen_id || '|' || full_name || '|' || died_on || '|' || registration_number FROM deaths ORDER BY citizen_id",
		"SELECT id || '|' || husband_citizen_id || '|' || wife_citizen_id || '|' || married_on || '|' || ended_on FROM marriages ORDER BY id",
		"SELECT id || '|' || area_m2 || '|' || land_use || '|' || address FROM land_parcels ORDER BY id",
		"SELECT parcel_id || '|' || owner_kind || '|' || owner_id FROM land_owners ORDER BY parcel_id, owner_kind, owner_id",
		"SELECT number || '|' || parcel_id || '|' || issued_on || '|' || agency_code FROM land_certificates ORDER BY number",
		"SELECT card_number || '|' || kind FROM insurance_participations ORDER BY card_number",
		"SELECT reg_number || '|' || name || '|' || owner_citizen_id || '|' || registered_on || '|' || status FROM household_businesses ORDER BY reg_number",
		"SELECT reg_number || '|' || name || '|' || kind || '|' || address || '|' || activity FROM businesses ORDER BY reg_number",
		"SELECT id || '|' || teacher_citizen_id FROM school_classes ORDER BY id",
		"SELECT citizen_id || '|' || class_id FROM school_pupils ORDER BY citizen_id",
		"SELECT citizen_id || '|' || guardian_citizen_id || '|' || relation FROM school_guardians ORDER BY citizen_id, guardian_citizen_id",
	} {
		rows, err := d.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			h.Write([]byte(s + "\n"))
		}
		rows.Close()
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestLoadIsDeterministic(t *testing.T) {
	a, sa := load(t, 3000, 42)
	b, sb := load(t, 3000, 42)
	c, _ := load(t, 3000, 43)
	if sa.Persons != 3000 || sa.Persons != sb.Persons || sa.Households != sb.Households || sa.Officials != sb.Officials ||
		sa.InsuranceCards == 0 || sa.InsuranceCards != sb.InsuranceCards || sa.Vehicles == 0 || sa.Vehicles != sb.Vehicles {
		t.Fatalf("stats differ: %+v %+v", sa, sb)
	}
	da, db, dc := digest(t, a), digest(t, b), digest(t, c)
	if da != db {
		t.Fatal("same seed gave different provinces")
	}
	if da == dc {
		t.Fatal("different seeds gave the same province")
	}
}

func TestPopulationIsPlausible(t *testing.T) {
	ctx := context.Background()
	d, st := load(t, 5000, 1)
	svc := registry.New(d, kernel.SystemClock{})
	counts, err := svc.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Persons != 5000 || counts.Households != int64(st.Households) || counts.Units < 100 || counts.Agencies < 200 || counts.Officials < 100 {
		t.Fatalf("counts = %+v, stats %+v", counts, st)
	}
	ref := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	var children, elderly, elderlyNoPhone, childWithAdult int
	households := map[string][]registry.Person{}
	after := ""
	for {
		ps, err := svc.ListPersons(ctx, kernel.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if err := p.Validate(); err != nil {
				t.Fatalf("invalid person %+v: %v", p, err)
			}
			if !strings.HasPrefix(p.CitizenID, demo.ProvinceCode) {
				t.Fatalf("citizen ID %s outside the demo province code", p.CitizenID)
			}
			households[p.HouseholdID] = append(households[p.HouseholdID], p)
			age := p.AgeOn(ref)
			if age < 14 {
				children++
				if p.Phone != "" {
					t.Fatalf("a %d-year-old has a phone", age)
				}
			}
			if age >= 75 {
				elderly++
				if p.Phone == "" {
					elderlyNoPhone++
				}
			}
		}
		if len(ps) < 1000 {
			break
		}
		after = ps[len(ps)-1].CitizenID
	}
	for _, members := range households {
		hasChild, hasAdult := false, false
		for _, p := range members {
			hasChild = hasChild || p.AgeOn(ref) < 14
			hasAdult = hasAdult || p.AgeOn(ref) >= 18
		}
		if hasChild && hasAdult {
			childWithAdult++
		}
	}
	if children < 500 || elderly < 100 || elderlyNoPhone == 0 || childWithAdult == 0 {
		t.Fatalf("children %d, elderly %d (without phone %d), households with child and adult %d", children, elderly, elderlyNoPhone, childWithAdult)
	}
	// Officials are residents of the province with valid roles.
	offs, err := svc.ListOfficials(ctx, kernel.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offs {
		if err := o.Validate(); err != nil {
			t.Fatalf("official %+v: %v", o, err)
		}
		if _, err := svc.Person(ctx, o.CitizenID); err != nil {
			t.Fatalf("official %s is nobody: %v", o.ID, err)
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	ctx := context.Background()
	d, _ := load(t, 1000, 1)
	if _, err := demo.Load(ctx, d, demo.Options{Persons: 1000, Seed: 1}); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("second load into a full registry: %v", err)
	}
	for _, n := range []int{0, -1, demo.MaxPersons + 1} {
		if _, err := demo.Load(ctx, dbtest.Open(t), demo.Options{Persons: n}); kernel.ErrorCode(err) != kernel.Invalid {
			t.Fatalf("persons=%d: %v", n, err)
		}
	}
}

// BenchmarkLoad measures persons per second into the database under test.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 50_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var total int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				d := dbtest.Open(b)
				b.StartTimer()
				st, err := demo.Load(context.Background(), d, demo.Options{Persons: n, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				total += st.Persons
				elapsed += st.Duration
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "persons/s")
		})
	}
}

func TestLoadRefusesHalfLoadedStructure(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	svc := registry.New(d, kernel.SystemClock{})
	if err := svc.AddStructure(ctx, []registry.Unit{{Code: "99", Name: demo.ProvinceName, Level: registry.Province}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, d, demo.Options{Persons: 1000, Seed: 1}); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("load over a half-loaded structure: %v", err)
	}
}

// Most adults hold a health-insurance card, some own one or two vehicles,
// children neither; every record is valid; the first adults with a phone
// (those the README's query shows first) hold a card and a vehicle, the
// first of them two.
func TestHoldingsArePlausible(t *testing.T) {
	ctx := context.Background()
	d, st := load(t, 5000, 1)
	svc := registry.New(d, kernel.SystemClock{})
	ref := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	counts, err := svc.Counts(ctx)
	if err != nil || counts.InsuranceCards != int64(st.InsuranceCards) || counts.Vehicles != int64(st.Vehicles) {
		t.Fatalf("counts %+v, stats %+v, %v", counts, st, err)
	}
	ages := map[string]int{}
	var adults []string // with a phone, in the order they were written
	var readme []string // the README's five demo people (seed 1, as serve --demo loads)
	rows, err := d.Query(ctx, "SELECT citizen_id, birth_date, phone FROM persons ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p registry.Person
		if err := rows.Scan(&p.CitizenID, &p.BirthDate, &p.Phone); err != nil {
			t.Fatal(err)
		}
		ages[p.CitizenID] = p.AgeOn(ref)
		if p.Phone != "" && len(readme) < 5 {
			readme = append(readme, p.CitizenID)
		}
		if p.Phone != "" && ages[p.CitizenID] >= 18 {
			adults = append(adults, p.CitizenID)
		}
	}
	rows.Close()
	nAdults, carded := 0, 0
	for id, age := range ages {
		if age < 18 {
			if _, err := svc.InsuranceCard(ctx, id); kernel.ErrorCode(err) != kernel.NotFound {
				t.Fatalf("a %d-year-old's card: %v", age, err)
			}
			continue
		}
		nAdults++
		c, err := svc.InsuranceCard(ctx, id)
		if kernel.ErrorCode(err) == kernel.NotFound {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil || c.CitizenID != id || c.ValidTo < "2030-12-31" || c.ValidFrom > "2025-10-01" {
			t.Fatalf("card %+v: %v", c, err)
		}
		carded++
	}
	if carded < nAdults*80/100 || carded == nAdults || carded != st.InsuranceCards {
		t.Fatalf("%d of %d adults hold a card (%d written)", carded, nAdults, st.InsuranceCards)
	}
	owned := map[string]int{}
	for id := range ages {
		vs, err := svc.VehiclesOf(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if err := v.Validate(); err != nil || v.OwnerCitizenID != id || ages[id] < 18 {
				t.Fatalf("vehicle %+v of a %d-year-old: %v", v, ages[id], err)
			}
		}
		owned[id] = len(vs)
	}
	hist := map[int]int{}
	for _, n := range owned {
		hist[n]++
	}
	if hist[1] < nAdults/10 || hist[2] == 0 || len(hist) != 3 || hist[1]+2*hist[2] != st.Vehicles {
		t.Fatalf("persons by number of vehicles %v (%d written)", hist, st.Vehicles)
	}
	t.Logf("%d of %d adults hold a card; persons by number of vehicles: %v", carded, nAdults, hist)
	for i, id := range adults[:5] {
		if _, err := svc.InsuranceCard(ctx, id); err != nil || owned[id] == 0 || i == 0 && owned[id] != 2 {
			t.Fatalf("showcase adult %d: card %v, %d vehicles", i, err, owned[id])
		}
	}
	for _, id := range readme {
		if !slices.Contains(adults[:5], id) {
			t.Fatalf("the README's demo people %v are not the showcase adults %v", readme, adults[:5])
		}
	}
}
