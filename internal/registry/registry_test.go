package registry_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

func TestParseCitizenID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		sex  registry.Sex
		year int
		ok   bool
	}{
		{"ok/man born 1985", "099085123456", registry.Male, 1985, true},
		{"ok/woman born 1962", "001162000001", registry.Female, 1962, true},
		{"ok/boy born 2019", "099219654321", registry.Male, 2019, true},
		{"ok/girl born 2024", "079324000000", registry.Female, 2024, true},
		{"ok/born 2100s", "099401000001", registry.Male, 2101, true},
		{"fail/century digit 6", "099685123456", "", 0, false},
		{"fail/eleven digits", "09908512345", "", 0, false},
		{"fail/thirteen digits", "0990851234567", "", 0, false},
		{"fail/letter", "09908512345a", "", 0, false},
		{"fail/empty", "", "", 0, false},
		{"fail/spaces", "099 85123456", "", 0, false},
		{"fail/unicode digits", "০৯৯০৮৫১২৩৪৫৬", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := registry.ParseCitizenID(tt.id)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if !tt.ok {
				if kernel.ErrorCode(err) != kernel.Invalid {
					t.Fatalf("code = %s", kernel.ErrorCode(err))
				}
				return
			}
			if id.Sex != tt.sex || id.Year != tt.year {
				t.Fatalf("decoded %+v", id)
			}
			if got := registry.FormatCitizenID(id.Province, id.Sex, id.Year, atoi(id.Serial)); got != tt.id {
				t.Fatalf("format round trip = %s", got)
			}
		})
	}
}

// atoi reads a serial in decimal (fmt.Sscan would read "000010" as octal:
// the fuzzer found that).
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestCheckCitizenIDAgreesWithPerson(t *testing.T) {
	born := time.Date(1985, 4, 30, 0, 0, 0, 0, time.UTC)
	if err := registry.CheckCitizenID("099085123456", born, registry.Male); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		id  string
		sex registry.Sex
	}{
		"fail/wrong sex":  {"099085123456", registry.Female},
		"fail/wrong year": {"099086123456", registry.Male},
		"fail/wrong age":  {"099285123456", registry.Male},
	} {
		if err := registry.CheckCitizenID(c.id, born, c.sex); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseCitizenID(f *testing.F) {
	for _, s := range []string{"099085123456", "", "999999999999", "0990851234\xff6", "000100000010"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := registry.ParseCitizenID(s)
		if err != nil {
			return
		}
		// Anything accepted must round-trip exactly.
		if got := registry.FormatCitizenID(id.Province, id.Sex, id.Year, atoi(id.Serial)); got != s {
			t.Fatalf("%q parsed as %+v formats back as %q", s, id, got)
		}
	})
}

func seed(t *testing.T) *registry.Service {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	s := registry.New(d, kernel.SystemClock{})
	units := []registry.Unit{
		{Code: "99", Name: "Tỉnh Sông Xanh", Level: registry.Province},
		{Code: "990", Name: "Thành phố Sông Xanh", Level: registry.District, ParentCode: "99"},
		{Code: "31001", Name: "Phường Hòa Bình", Level: registry.Commune, ParentCode: "990"},
	}
	agencies := []registry.Agency{{Code: "X31001.CA", Name: "Công an Phường Hòa Bình", Kind: registry.Police, UnitCode: "31001"}}
	if err := s.AddStructure(ctx, units, agencies, nil); err != nil {
		t.Fatal(err)
	}
	b, err := s.StartBulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	homes := []registry.Household{{ID: "099000000001", UnitCode: "31001", Address: "Số 1, Tổ 2"}}
	var persons []registry.Person
	for i := range 5 {
		persons = append(persons, registry.Person{
			CitizenID: registry.FormatCitizenID("099", registry.Female, 1960+i, i), FullName: "Nguyễn Thị Lan",
			BirthDate: fmt.Sprintf("%d-03-0%d", 1960+i, i+1), Sex: registry.Female, HouseholdID: "099000000001", UnitCode: "31001",
		})
	}
	if err := b.Write(ctx, homes, persons); err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.AddStructure(ctx, nil, nil, []registry.Official{{ID: "of1", CitizenID: persons[0].CitizenID, AgencyCode: "X31001.CA", Role: registry.PoliceOfficer}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServiceLookups(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	p, err := s.Person(ctx, "099160000000")
	if err != nil || p.FullName != "Nguyễn Thị Lan" || p.BirthDate != "1960-03-01" || p.Phone != "" {
		t.Fatalf("person = %+v, %v", p, err)
	}
	if _, err := s.Person(ctx, "099160999999"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown person: %v", err)
	}
	if _, err := s.Person(ctx, "not-an-id"); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("malformed id: %v", err)
	}
	if u, err := s.Unit(ctx, "31001"); err != nil || u.ParentCode != "990" || u.Level != registry.Commune {
		t.Fatalf("unit = %+v, %v", u, err)
	}
	if _, err := s.Unit(ctx, "00000"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown unit: %v", err)
	}
	if _, err := s.Agency(ctx, "nope"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown agency: %v", err)
	}
	members, err := s.HouseholdMembers(ctx, "099000000001")
	if err != nil || len(members) != 5 || members[0].BirthDate != "1960-03-01" {
		t.Fatalf("members = %v, %v", members, err)
	}
	if _, err := s.HouseholdMembers(ctx, "nope"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown household: %v", err)
	}
	roles, err := s.OfficialsOf(ctx, "099160000000")
	if err != nil || len(roles) != 1 || roles[0].Role != registry.PoliceOfficer {
		t.Fatalf("roles = %v, %v", roles, err)
	}
	c, err := s.Counts(ctx)
	if err != nil || c != (registry.Counts{Units: 3, Households: 1, Persons: 5, Agencies: 1, Officials: 1}) {
		t.Fatalf("counts = %+v, %v", c, err)
	}
	if empty, err := s.Empty(ctx); err != nil || empty {
		t.Fatalf("empty = %v, %v", empty, err)
	}
}

func TestListPaging(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	var got []string
	after := ""
	for {
		ps, err := s.ListPersons(ctx, kernel.Page{After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			got = append(got, p.CitizenID)
		}
		if len(ps) < 2 {
			break
		}
		after = ps[len(ps)-1].CitizenID
	}
	if len(got) != 5 {
		t.Fatalf("paged through %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("not in order: %v", got)
		}
	}
}

func TestBulkRefusesDanglingReferences(t *testing.T) {
	ctx := context.Background()
	s := seed(t)
	b, err := s.StartBulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := registry.Person{CitizenID: "099190000009", FullName: "Lê Văn Nam", BirthDate: "1990-01-01", Sex: registry.Male, HouseholdID: "elsewhere", UnitCode: "31001"}
	if err := b.Write(ctx, nil, []registry.Person{p}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("person without household in batch: %v", err)
	}
	h := registry.Household{ID: "h2", UnitCode: "00000", Address: "x"}
	p.HouseholdID = "h2"
	if err := b.Write(ctx, []registry.Household{h}, []registry.Person{p}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("household in unknown unit: %v", err)
	}
}

func TestValidate(t *testing.T) {
	good := registry.Person{CitizenID: "099085123456", FullName: "Trần Văn Bình", BirthDate: "1985-04-30", Sex: registry.Male, HouseholdID: "h", UnitCode: "31001", Phone: "0912345678"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*registry.Person){
		"fail/bad date":      func(p *registry.Person) { p.BirthDate = "1985-13-01" },
		"fail/id mismatch":   func(p *registry.Person) { p.CitizenID = "099185123456" },
		"fail/bad phone":     func(p *registry.Person) { p.Phone = "12345" },
		"fail/empty name":    func(p *registry.Person) { p.FullName = "" },
		"fail/newline name":  func(p *registry.Person) { p.FullName = "A\nB" },
		"fail/bad sex":       func(p *registry.Person) { p.Sex = "X" },
		"fail/no household":  func(p *registry.Person) { p.HouseholdID = "" },
		"fail/invalid utf-8": func(p *registry.Person) { p.FullName = "Tr\xffn" },
	} {
		p := good
		mutate(&p)
		if err := p.Validate(); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if age := good.AgeOn(time.Date(2025, 4, 29, 0, 0, 0, 0, time.UTC)); age != 39 {
		t.Errorf("age the day before the birthday = %d", age)
	}
	if age := good.AgeOn(time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC)); age != 40 {
		t.Errorf("age on the birthday = %d", age)
	}
}

// TestEnsureIndexesRepairsAKilledLoad drops the index a bulk load drops, as a
// load killed mid-way leaves it, and checks EnsureIndexes brings it back.
func TestEnsureIndexesRepairsAKilledLoad(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	s := registry.New(d, kernel.SystemClock{})
	if _, err := d.WritePool().ExecContext(ctx, "DROP INDEX persons_unit"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WritePool().ExecContext(ctx, "DROP INDEX persons_unit"); err != nil {
		t.Fatalf("index not recreated: %v", err)
	}
}
