package registry_test

import (
	"context"
	"testing"

	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

func TestNormalisePlate(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"ok/car", "99A-123.45", "99A-123.45"},
		{"ok/lower case and a space", " 99a 123.45 ", "99A-123.45"},
		{"ok/five digits without the dot", "99A-12345", "99A-123.45"},
		{"ok/motorbike as printed", "29-B1 234.56", "29B1-234.56"},
		{"ok/motorbike hyphen and space", "29B1- 234.56", "29B1-234.56"},
		{"ok/old four-digit plate", "51F-1234", "51F-1234"},
		{"ok/two-letter series", "80LD-012.34", "80LD-012.34"},
		{"ok/electric motorbike series", "29mđ1-123.45", "29MĐ1-123.45"},
		{"fail/empty", "", ""},
		{"fail/no series", "99-123.45", ""},
		{"fail/series and number together", "99A12345", ""},
		{"fail/six digits", "99A-123.456", ""},
		{"fail/three digits", "99A-123", ""},
		{"fail/three-digit province", "999A-123.45", ""},
		{"fail/three letters", "99ABC-123.45", ""},
		{"fail/words", "not a plate", ""},
		{"fail/SQL", "99A-1'; DROP TABLE vehicles; --", ""},
		{"fail/unicode digits", "٩٩A-١٢٣.٤٥", ""},
		{"fail/newline", "99A-123.45\n99A-123.46", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := registry.NormalisePlate(tc.in)
			if tc.want == "" {
				if kernel.ErrorCode(err) != kernel.Invalid {
					t.Fatalf("%q: %q, %v", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzNormalisePlate(f *testing.F) {
	for _, s := range []string{"99A-123.45", "29-B1 234.56", "51F-1234", "99a 12345", "", "29MĐ1-123.45", "99A-\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := registry.NormalisePlate(s)
		if err != nil {
			return
		}
		// What is accepted is written one way: normalising again changes nothing.
		if again, err := registry.NormalisePlate(p); err != nil || again != p {
			t.Fatalf("%q normalises to %q, then to %q (%v)", s, p, again, err)
		}
	})
}

func TestInsuranceCards(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	lan, other := "099160000000", "099161000001"
	good := registry.InsuranceCard{CardNumber: "9912345678", CitizenID: lan, Hospital: "Trung tâm Y tế thành phố Sông Xanh",
		BenefitLevel: "4 (80%)", ValidFrom: "2025-01-01", ValidTo: "2030-12-31"}
	if err := s.AddInsuranceCards(ctx, []registry.InsuranceCard{good}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.InsuranceCard(ctx, lan); err != nil || c != good {
		t.Fatalf("card = %+v, %v", c, err)
	}
	if _, err := s.InsuranceCard(ctx, other); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("a person without a card: %v", err)
	}
	if _, err := s.InsuranceCard(ctx, "not-an-id"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("malformed citizen ID: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*registry.InsuranceCard)
		code   kernel.Code
	}{
		{"fail/nine digits", func(c *registry.InsuranceCard) { c.CardNumber = "991234567" }, kernel.Invalid},
		{"fail/a letter in the number", func(c *registry.InsuranceCard) { c.CardNumber = "DN47979123" }, kernel.Invalid},
		{"fail/no hospital", func(c *registry.InsuranceCard) { c.Hospital = "" }, kernel.Invalid},
		{"fail/benefit level with a newline", func(c *registry.InsuranceCard) { c.BenefitLevel = "4\n(80%)" }, kernel.Invalid},
		{"fail/ends before it starts", func(c *registry.InsuranceCard) { c.ValidTo = "2024-12-31" }, kernel.Invalid},
		{"fail/not a date", func(c *registry.InsuranceCard) { c.ValidFrom = "01/01/2025" }, kernel.Invalid},
		{"fail/bad citizen ID", func(c *registry.InsuranceCard) { c.CitizenID = "12345" }, kernel.Invalid},
		{"fail/nobody with that citizen ID", func(c *registry.InsuranceCard) { c.CitizenID = "099160999999" }, kernel.NotFound},
		{"fail/a second card for one person", func(c *registry.InsuranceCard) {}, kernel.Conflict},
		{"fail/another person with the same number", func(c *registry.InsuranceCard) { c.CitizenID = other; c.CardNumber = good.CardNumber }, kernel.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.CardNumber = "9900000001"
			tc.mutate(&c)
			// A good card before the bad one is not written either.
			first := registry.InsuranceCard{CardNumber: "9900000002", CitizenID: "099162000002", Hospital: "Trạm Y tế phường Hòa Bình",
				ValidFrom: "2025-01-01", ValidTo: "2025-12-31"}
			if err := s.AddInsuranceCards(ctx, []registry.InsuranceCard{first, c}); kernel.ErrorCode(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			if _, err := s.InsuranceCard(ctx, first.CitizenID); kernel.ErrorCode(err) != kernel.NotFound {
				t.Fatalf("the batch was written in part: %v", err)
			}
		})
	}
	if c, err := s.Counts(ctx); err != nil || c.InsuranceCards != 1 {
		t.Fatalf("counts = %+v, %v", c, err)
	}
}

func TestVehicles(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	owner, other := "099160000000", "099161000001"
	car := registry.Vehicle{Plate: "99a 123.45", OwnerCitizenID: owner, Make: "Toyota", Model: "Vios", Colour: "Trắng",
		RegisteredOn: "2021-06-15", FrameNumber: "RL4B1000000000001", EngineNumber: "2NRFE0000001"}
	bike := registry.Vehicle{Plate: "99-B1 234.56", OwnerCitizenID: owner, Make: "Honda", Model: "Wave Alpha", RegisteredOn: "2019-03-02"}
	if err := s.AddVehicles(ctx, []registry.Vehicle{car, bike}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Vehicle(ctx, "99A-12345")
	if err != nil || v.Plate != "99A-123.45" || v.OwnerCitizenID != owner || v.Model != "Vios" || v.FrameNumber != car.FrameNumber {
		t.Fatalf("vehicle = %+v, %v", v, err)
	}
	vs, err := s.VehiclesOf(ctx, owner)
	if err != nil || len(vs) != 2 || vs[0].Plate != "99A-123.45" || vs[1].Plate != "99B1-234.56" || vs[1].Colour != "" {
		t.Fatalf("vehicles of the owner = %+v, %v", vs, err)
	}
	if vs, err := s.VehiclesOf(ctx, other); err != nil || len(vs) != 0 {
		t.Fatalf("vehicles of someone owning none = %+v, %v", vs, err)
	}
	if _, err := s.VehiclesOf(ctx, "nope"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("malformed citizen ID: %v", err)
	}
	if _, err := s.Vehicle(ctx, "99A-999.99"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown plate: %v", err)
	}
	if _, err := s.Vehicle(ctx, "<script>"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("garbage plate: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*registry.Vehicle)
		code   kernel.Code
	}{
		{"fail/the same plate written another way", func(v *registry.Vehicle) { v.Plate = "99A-12345" }, kernel.Conflict},
		{"fail/garbage plate", func(v *registry.Vehicle) { v.Plate = "ABC" }, kernel.Invalid},
		{"fail/no make", func(v *registry.Vehicle) { v.Make = "" }, kernel.Invalid},
		{"fail/bad registration date", func(v *registry.Vehicle) { v.RegisteredOn = "2021-13-01" }, kernel.Invalid},
		{"fail/frame number with a space", func(v *registry.Vehicle) { v.FrameNumber = "RL4B1 0001" }, kernel.Invalid},
		{"fail/nobody with that citizen ID", func(v *registry.Vehicle) { v.OwnerCitizenID = "099160999999" }, kernel.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := car
			v.Plate = "99A-555.55"
			tc.mutate(&v)
			first := registry.Vehicle{Plate: "99C-100.00", OwnerCitizenID: other, Make: "Kia", Model: "Morning", RegisteredOn: "2020-01-01"}
			if err := s.AddVehicles(ctx, []registry.Vehicle{first, v}); kernel.ErrorCode(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			if vs, err := s.VehiclesOf(ctx, other); err != nil || len(vs) != 0 {
				t.Fatalf("the batch was written in part: %+v %v", vs, err)
			}
		})
	}
	if err := (registry.Vehicle{Plate: "99a-123.45", OwnerCitizenID: owner, Make: "A", Model: "B", RegisteredOn: "2020-01-01"}).Validate(); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("Validate takes only normalised plates: %v", err)
	}
}

// A bulk load writes cards and vehicles with their persons, refuses those
// of persons not in the batch, and rebuilds their indexes when it ends.
func TestBulkCardsAndVehicles(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	s := registry.New(d, kernel.SystemClock{})
	if err := s.AddStructure(ctx, []registry.Unit{
		{Code: "99", Name: "Tỉnh Sông Xanh", Level: registry.Province},
		{Code: "990", Name: "Thành phố Sông Xanh", Level: registry.District, ParentCode: "99"},
		{Code: "31001", Name: "Phường Hòa Bình", Level: registry.Commune, ParentCode: "990"},
	}, nil, nil); err != nil {
		t.Fatal(err)
	}
	b, err := s.StartBulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	home := registry.Household{ID: "h1", UnitCode: "31001", Address: "Số 1"}
	p := registry.Person{CitizenID: "099085123456", FullName: "Trần Văn Bình", BirthDate: "1985-04-30", Sex: registry.Male, HouseholdID: "h1", UnitCode: "31001"}
	card := registry.InsuranceCard{CardNumber: "9910000001", CitizenID: p.CitizenID, Hospital: "Bệnh viện Đa khoa tỉnh Sông Xanh", ValidFrom: "2025-01-01", ValidTo: "2030-12-31"}
	vehicle := registry.Vehicle{Plate: "99A-100.00", OwnerCitizenID: p.CitizenID, Make: "Toyota", Model: "Vios", RegisteredOn: "2020-05-05"}
	for _, tc := range []struct {
		name  string
		batch registry.Batch
	}{
		{"fail/a card of a person not in the batch", registry.Batch{Homes: []registry.Household{home}, Persons: []registry.Person{p},
			Cards: []registry.InsuranceCard{{CardNumber: "9910000002", CitizenID: "099160000000", Hospital: "H", ValidFrom: "2025-01-01", ValidTo: "2025-12-31"}}}},
		{"fail/a vehicle of a person not in the batch", registry.Batch{Homes: []registry.Household{home}, Persons: []registry.Person{p},
			Vehicles: []registry.Vehicle{{Plate: "99A-100.01", OwnerCitizenID: "099160000000", Make: "Kia", Model: "Morning", RegisteredOn: "2020-01-01"}}}},
		{"fail/a plate not normalised", registry.Batch{Homes: []registry.Household{home}, Persons: []registry.Person{p},
			Vehicles: []registry.Vehicle{{Plate: "99a 100.01", OwnerCitizenID: p.CitizenID, Make: "Kia", Model: "Morning", RegisteredOn: "2020-01-01"}}}},
		{"fail/an invalid card", registry.Batch{Homes: []registry.Household{home}, Persons: []registry.Person{p},
			Cards: []registry.InsuranceCard{{CardNumber: "1", CitizenID: p.CitizenID, Hospital: "H", ValidFrom: "2025-01-01", ValidTo: "2025-12-31"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := b.WriteBatch(ctx, tc.batch); kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("got %v", err)
			}
		})
	}
	if err := b.WriteBatch(ctx, registry.Batch{Homes: []registry.Household{home}, Persons: []registry.Person{p},
		Cards: []registry.InsuranceCard{card}, Vehicles: []registry.Vehicle{vehicle}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := s.InsuranceCard(ctx, p.CitizenID); err != nil || c != card {
		t.Fatalf("card = %+v, %v", c, err)
	}
	if vs, err := s.VehiclesOf(ctx, p.CitizenID); err != nil || len(vs) != 1 || vs[0] != vehicle {
		t.Fatalf("vehicles = %+v, %v", vs, err)
	}
	c, err := s.Counts(ctx)
	if err != nil || c.Persons != 1 || c.InsuranceCards != 1 || c.Vehicles != 1 {
		t.Fatalf("counts = %+v, %v", c, err)
	}
	// The indexes a bulk load drops are back: a second card for the person is refused.
	err = s.AddInsuranceCards(ctx, []registry.InsuranceCard{{CardNumber: "9910000003", CitizenID: p.CitizenID, Hospital: "H", ValidFrom: "2025-01-01", ValidTo: "2025-12-31"}})
	if kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("a second card after the bulk load: %v", err)
	}
	for _, ix := range []string{"insurance_cards_citizen", "vehicles_owner"} {
		if _, err := d.WritePool().ExecContext(ctx, "DROP INDEX "+ix); err != nil {
			t.Fatalf("index %s not rebuilt: %v", ix, err)
		}
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ix := range []string{"insurance_cards_citizen", "vehicles_owner"} {
		if _, err := d.WritePool().ExecContext(ctx, "DROP INDEX "+ix); err != nil {
			t.Fatalf("index %s not recreated: %v", ix, err)
		}
	}
}
