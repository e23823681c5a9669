package registry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// The demo's "today" (demo.refDate) and the clock the write tests run at.
var today = time.Date(2025, 10, 1, 3, 0, 0, 0, time.UTC)

// update runs fn in a write transaction at today.
func update(t *testing.T, d *db.DB, fn func(tx *db.Tx) error) error {
	t.Helper()
	return d.Update(context.Background(), today, fn)
}

// family finds a household of the demo with a married couple (head and
// spouse), and, if child, a child of the head under 14 too.
func family(t *testing.T, s *registry.Service, d *db.DB, child bool) (head, spouse, kid registry.Person) {
	t.Helper()
	ctx := context.Background()
	rows, err := d.Query(ctx, `SELECT m.husband_citizen_id, m.wife_citizen_id FROM marriages m
		JOIN persons h ON h.citizen_id = m.husband_citizen_id JOIN persons w ON w.citizen_id = m.wife_citizen_id
		WHERE m.ended_on = '' AND h.household_id = w.household_id ORDER BY m.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var hid, wid string
		if err := rows.Scan(&hid, &wid); err != nil {
			t.Fatal(err)
		}
		h, err1 := s.Person(ctx, hid)
		w, err2 := s.Person(ctx, wid)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !child {
			return h, w, registry.Person{}
		}
		ms, err := s.HouseholdMembers(ctx, h.HouseholdID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.AgeOn(today) >= 14 {
				continue
			}
			if r, err := s.CurrentResidence(ctx, m.CitizenID, registry.Permanent); err == nil && r.Relation == registry.Child {
				return h, w, m
			}
		}
	}
	t.Fatal("no family in the demo")
	return
}

func TestResidence(t *testing.T) {
	ctx := context.Background()
	s, d := demoRegistry(t, 1200)
	head, wife, kid := family(t, s, d, true)
	h, err := s.Household(ctx, head.HouseholdID)
	if err != nil || h.HeadCitizenID == "" || h.AreaCode == "" || h.UnitCode != head.UnitCode || !strings.Contains(h.Address, "Số ") {
		t.Fatalf("household %+v, %v", h, err)
	}
	area, err := s.Area(ctx, h.AreaCode)
	if err != nil || area.UnitCode != h.UnitCode || !strings.Contains(h.Address, area.Name+",") {
		t.Fatalf("area %+v of %+v, %v", area, h, err)
	}
	in, err := s.HouseholdsIn(ctx, area.Code)
	if err != nil || len(in) == 0 || !containsFunc(in, func(x registry.Household) bool { return x.ID == h.ID }) {
		t.Fatalf("households of %s: %v, %v", area.Code, in, err)
	}
	as, err := s.AreasIn(ctx, h.UnitCode)
	if err != nil || len(as) < 10 || len(as) > 30 {
		t.Fatalf("areas of %s: %d, %v", h.UnitCode, len(as), err)
	}
	cur, err := s.CurrentResidence(ctx, kid.CitizenID, registry.Permanent)
	if err != nil || cur.HouseholdID != kid.HouseholdID || cur.Relation == "" || cur.AreaCode != h.AreaCode || cur.Until != "" {
		t.Fatalf("the child's residence %+v, %v", cur, err)
	}
	// The child's phone is the household's.
	if phone, own, err := s.ContactPhone(ctx, kid.CitizenID); err == nil && (own || phone == "") {
		t.Fatalf("a child's contact phone %q own %v", phone, own)
	}

	// The wife moves to another household: her entry there opens, the old
	// one ends the day before, the population registry follows.
	other, err := s.ListHouseholds(ctx, kernel.Page{Limit: 5})
	if err != nil || len(other) < 5 {
		t.Fatalf("households %v, %v", other, err)
	}
	to := other[0]
	if to.ID == head.HouseholdID {
		to = other[1]
	}
	for _, tt := range []struct {
		name string
		r    registry.Residence
		code kernel.Code
	}{
		{"fail/unknown household", registry.Residence{CitizenID: wife.CitizenID, HouseholdID: "nope", Relation: registry.OtherKin, From: "2025-09-01"}, kernel.NotFound},
		{"fail/unknown person", registry.Residence{CitizenID: "099190999999", HouseholdID: to.ID, Relation: registry.OtherKin, From: "2025-09-01"}, kernel.NotFound},
		{"fail/no relation", registry.Residence{CitizenID: wife.CitizenID, HouseholdID: to.ID, From: "2025-09-01"}, kernel.Invalid},
		{"fail/bad date", registry.Residence{CitizenID: wife.CitizenID, HouseholdID: to.ID, Relation: registry.OtherKin, From: "1/9/2025"}, kernel.Invalid},
		{"fail/a second head", registry.Residence{CitizenID: wife.CitizenID, HouseholdID: to.ID, Relation: registry.Head, From: "2025-09-01"}, kernel.Conflict},
	} {
		err := update(t, d, func(tx *db.Tx) error { _, err := registry.RegisterPermanentResidence(ctx, tx, tt.r); return err })
		if kernel.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	var moved registry.Residence
	if err := update(t, d, func(tx *db.Tx) (err error) {
		moved, err = registry.RegisterPermanentResidence(ctx, tx, registry.Residence{CitizenID: wife.CitizenID, HouseholdID: to.ID, Relation: registry.OtherKin, From: "2025-09-01"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.Residences(ctx, wife.CitizenID)
	if err != nil || len(hist) < 2 || hist[len(hist)-1].ID != moved.ID || moved.Address != to.Address || moved.UnitCode != to.UnitCode {
		t.Fatalf("history %+v, moved %+v, %v", hist, moved, err)
	}
	for _, r := range hist[:len(hist)-1] {
		if r.Kind == registry.Permanent && r.Until == "" {
			t.Fatalf("an old permanent entry stays open: %+v", r)
		}
	}
	if p, _ := s.Person(ctx, wife.CitizenID); p.HouseholdID != to.ID || p.UnitCode != to.UnitCode {
		t.Fatalf("the population registry did not follow: %+v", p)
	}
	// A temporary residence must end within two years.
	tmp := registry.Residence{CitizenID: head.CitizenID, Address: "Phòng trọ số 4, Tổ dân phố 2, Phường Tân Lập", UnitCode: to.UnitCode, From: "2025-09-01", Until: "2028-09-01"}
	if err := update(t, d, func(tx *db.Tx) error { _, err := registry.RegisterTemporaryResidence(ctx, tx, tmp); return err }); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("three years' temporary residence: %v", err)
	}
	tmp.Until = "2027-08-31"
	if err := update(t, d, func(tx *db.Tx) error { _, err := registry.RegisterTemporaryResidence(ctx, tx, tmp); return err }); err != nil {
		t.Fatal(err)
	}
	if r, err := s.CurrentResidence(ctx, head.CitizenID, registry.Temporary); err != nil || r.Until != "2027-08-31" || !r.Current("2026-01-01") || r.Current("2027-09-01") {
		t.Fatalf("temporary residence %+v, %v", r, err)
	}
}

func containsFunc[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

func TestCivilStatus(t *testing.T) {
	ctx := context.Background()
	s, d := demoRegistry(t, 1200)
	head, wife, kid := family(t, s, d, true)
	husband := head
	if head.Sex == registry.Female {
		husband, wife = wife, head
	}
	b, err := s.Birth(ctx, kid.CitizenID)
	if err != nil || b.FullName != kid.FullName || b.BirthDate != kid.BirthDate || b.MotherCitizenID != wife.CitizenID ||
		b.FatherCitizenID != husband.CitizenID || b.RegisteredOn < b.BirthDate || b.Validate() != nil {
		t.Fatalf("the child's birth %+v, %v", b, err)
	}
	kids, err := s.ChildrenOf(ctx, wife.CitizenID)
	if err != nil || !containsFunc(kids, func(x registry.Birth) bool { return x.CitizenID == kid.CitizenID }) {
		t.Fatalf("children of the mother %v, %v", kids, err)
	}
	st, m, err := s.MaritalStatusOf(ctx, husband.CitizenID)
	if err != nil || st != registry.Married || m == nil || m.WifeCitizenID != wife.CitizenID {
		t.Fatalf("status %s %+v, %v", st, m, err)
	}
	agency := "X" + kid.UnitCode + ".UBND"

	// A new child of the couple.
	for _, tt := range []struct {
		name string
		nb   registry.NewBirth
		code kernel.Code
	}{
		{"fail/mother is a man", registry.NewBirth{FullName: "Nguyễn Văn An", BirthDate: "2025-09-20", Sex: registry.Male, PlaceOfBirth: "Nhà", MotherCitizenID: husband.CitizenID, AgencyCode: agency}, kernel.Invalid},
		{"fail/unknown mother", registry.NewBirth{FullName: "Nguyễn Văn An", BirthDate: "2025-09-20", Sex: registry.Male, PlaceOfBirth: "Nhà", MotherCitizenID: "099190999999", AgencyCode: agency}, kernel.NotFound},
		{"fail/born tomorrow", registry.NewBirth{FullName: "Nguyễn Văn An", BirthDate: "2025-10-02", Sex: registry.Male, PlaceOfBirth: "Nhà", MotherCitizenID: wife.CitizenID, AgencyCode: agency}, kernel.Invalid},
		{"fail/the police keep no birth book", registry.NewBirth{FullName: "Nguyễn Văn An", BirthDate: "2025-09-20", Sex: registry.Male, PlaceOfBirth: "Nhà", MotherCitizenID: wife.CitizenID, AgencyCode: "X" + kid.UnitCode + ".CA"}, kernel.Forbidden},
		{"fail/no name", registry.NewBirth{BirthDate: "2025-09-20", Sex: registry.Male, PlaceOfBirth: "Nhà", MotherCitizenID: wife.CitizenID, AgencyCode: agency}, kernel.Invalid},
		{"fail/no household", registry.NewBirth{FullName: "Nguyễn Văn An", BirthDate: "2025-09-20", Sex: registry.Male, PlaceOfBirth: "Nhà", MotherName: "Lê Thị Hoa", AgencyCode: agency}, kernel.Invalid},
	} {
		err := update(t, d, func(tx *db.Tx) error { _, err := registry.RegisterBirth(ctx, tx, tt.nb); return err })
		if kernel.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	var nb registry.Birth
	family := husband.FullName[:strings.IndexByte(husband.FullName, ' ')]
	if err := update(t, d, func(tx *db.Tx) (err error) {
		nb, err = registry.RegisterBirth(ctx, tx, registry.NewBirth{FullName: family + " Minh Khang", BirthDate: "2025-09-20", Sex: registry.Male,
			PlaceOfBirth: "Bệnh viện Đa khoa tỉnh Sông Xanh", MotherCitizenID: wife.CitizenID, FatherCitizenID: husband.CitizenID, AgencyCode: agency})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(nb.CitizenID, "099225") || nb.RegisteredOn != "2025-10-01" || !strings.HasSuffix(nb.RegistrationNumber, "/2025") ||
		nb.MotherName != wife.FullName || nb.FatherName != husband.FullName {
		t.Fatalf("registered %+v", nb)
	}
	p, err := s.Person(ctx, nb.CitizenID)
	if err != nil || p.HouseholdID != wife.HouseholdID || p.Phone != "" {
		t.Fatalf("the newborn %+v, %v", p, err)
	}
	if r, err := s.CurrentResidence(ctx, nb.CitizenID, registry.Permanent); err != nil || r.Relation != registry.Child || r.From != "2025-09-20" {
		t.Fatalf("the newborn's residence %+v, %v", r, err)
	}
	if got, err := s.Birth(ctx, nb.CitizenID); err != nil || got != nb {
		t.Fatalf("read back %+v, %v", got, err)
	}

	// Marriage: both are married already; a young man is too young.
	if err := update(t, d, func(tx *db.Tx) error {
		_, err := registry.RegisterMarriage(ctx, tx, husband.CitizenID, wife.CitizenID, agency)
		return err
	}); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("marrying the married: %v", err)
	}

	// The husband dies: his wife is widowed, his residence ends.
	if err := update(t, d, func(tx *db.Tx) error {
		_, err := registry.RegisterDeath(ctx, tx, registry.Death{CitizenID: husband.CitizenID, DiedOn: "2025-09-28", PlaceOfDeath: "Tại nhà", AgencyCode: agency})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if dth, err := s.Death(ctx, husband.CitizenID); err != nil || dth.FullName != husband.FullName || dth.Validate() != nil {
		t.Fatalf("death %+v, %v", dth, err)
	}
	if st, m, err := s.MaritalStatusOf(ctx, wife.CitizenID); err != nil || st != registry.Widowed || m.EndedOn != "2025-09-28" {
		t.Fatalf("the widow's status %s %+v, %v", st, m, err)
	}
	if p, _ := s.Person(ctx, husband.CitizenID); p.DiedOn != "2025-09-28" {
		t.Fatalf("the population registry: %+v", p)
	}
	if _, err := s.CurrentResidence(ctx, husband.CitizenID, registry.Permanent); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("the dead keep a residence: %v", err)
	}
	if err := update(t, d, func(tx *db.Tx) error {
		_, err := registry.RegisterDeath(ctx, tx, registry.Death{CitizenID: husband.CitizenID, DiedOn: "2025-09-28", PlaceOfDeath: "Tại nhà", AgencyCode: agency})
		return err
	}); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("dying twice: %v", err)
	}
	// The demo's widows and widowers have their late spouse's death on record.
	var widowed string
	if err := d.QueryRow(ctx, "SELECT wife_citizen_id FROM marriages WHERE end_reason = 'death' AND wife_citizen_id IN (SELECT citizen_id FROM persons) ORDER BY id LIMIT 1").Scan(&widowed); err != nil {
		t.Fatal(err)
	}
	if st, m, err := s.MaritalStatusOf(ctx, widowed); err != nil || st != registry.Widowed {
		t.Fatalf("a demo widow: %s %+v, %v", st, m, err)
	} else if _, err := s.Death(ctx, m.HusbandCitizenID); err != nil {
		t.Fatalf("her husband's death: %v", err)
	}
}

func TestCivilStatusValidate(t *testing.T) {
	good := registry.Marriage{ID: "X31001.UBND/12/2010", HusbandCitizenID: "099085123456", HusbandName: "Trần Văn Bình", WifeCitizenID: "099188000001",
		WifeName: "Lê Thị Hoa", MarriedOn: "2010-05-01", RegistrationNumber: "12/2010", AgencyCode: "X31001.UBND"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*registry.Marriage){
		"fail/two men":         func(m *registry.Marriage) { m.WifeCitizenID = "099088000001" },
		"fail/bride too young": func(m *registry.Marriage) { m.WifeCitizenID = "099395000001" },
		"fail/number of another year": func(m *registry.Marriage) {
			m.RegistrationNumber, m.ID = "12/2011", "X31001.UBND/12/2011"
		},
		"fail/id not the number": func(m *registry.Marriage) { m.ID = "X31001.UBND/13/2010" },
		"fail/ended without why": func(m *registry.Marriage) { m.EndedOn = "2020-01-01" },
		"fail/ended before it began": func(m *registry.Marriage) {
			m.EndedOn, m.EndReason = "2009-01-01", registry.EndedByDivorce
		},
	} {
		m := good
		mutate(&m)
		if err := m.Validate(); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	b := registry.Birth{CitizenID: "099219654321", FullName: "Trần Minh An", BirthDate: "2019-03-02", Sex: registry.Male, PlaceOfBirth: "Trạm Y tế",
		MotherName: "Lê Thị Hoa", RegistrationNumber: "5/2019", RegisteredOn: "2019-03-20", AgencyCode: "X31001.UBND"}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*registry.Birth){
		"fail/registered before born":   func(b *registry.Birth) { b.RegisteredOn = "2019-03-01" },
		"fail/mother's ID without name": func(b *registry.Birth) { b.MotherCitizenID, b.MotherName = "099188000001", "" },
		"fail/ID of another year":       func(b *registry.Birth) { b.CitizenID = "099218654321" },
		"fail/number without year":      func(b *registry.Birth) { b.RegistrationNumber = "5" },
	} {
		x := b
		mutate(&x)
		if err := x.Validate(); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLand(t *testing.T) {
	ctx := context.Background()
	s, d := demoRegistry(t, 1200)
	head, wife, _ := family(t, s, d, false)
	ps, err := s.ParcelsOf(ctx, head.CitizenID)
	if err != nil || len(ps) == 0 {
		t.Fatalf("the head's parcels %v, %v", ps, err)
	}
	home := ps[0]
	if home.LandUse != "ONT" && home.LandUse != "ODT" || home.UnitCode != head.UnitCode || home.Validate() != nil ||
		!containsFunc(home.Owners, func(o registry.LandOwner) bool { return o.OwnerID == wife.CitizenID }) {
		t.Fatalf("home parcel %+v", home)
	}
	got, err := s.Parcel(ctx, home.ID)
	if err != nil || got.ID != home.ID || len(got.Owners) != len(home.Owners) {
		t.Fatalf("parcel %+v, %v", got, err)
	}
	var buyer string
	if err := d.QueryRow(ctx, "SELECT citizen_id FROM persons WHERE birth_date < '1990-01-01' AND household_id <> ? ORDER BY citizen_id LIMIT 1", head.HouseholdID).Scan(&buyer); err != nil {
		t.Fatal(err)
	}
	district := "H" + must(s.Unit(ctx, home.UnitCode)).ParentCode + ".VPDKDD"
	cert := registry.LandCertificate{Number: "DZ 000001", IssuedOn: "2025-09-30", AgencyCode: district}
	for _, tt := range []struct {
		name   string
		owners []registry.LandOwner
		cert   registry.LandCertificate
		code   kernel.Code
	}{
		{"fail/nobody", nil, cert, kernel.Invalid},
		{"fail/unknown buyer", []registry.LandOwner{{Kind: registry.OwnerPerson, OwnerID: "099190999999"}}, cert, kernel.NotFound},
		{"fail/unknown enterprise", []registry.LandOwner{{Kind: registry.OwnerBusiness, OwnerID: "9900000001"}}, cert, kernel.NotFound},
		{"fail/bad certificate number", []registry.LandOwner{{Kind: registry.OwnerPerson, OwnerID: buyer}}, registry.LandCertificate{Number: "123", IssuedOn: "2025-09-30", AgencyCode: district}, kernel.Invalid},
		{"fail/issued tomorrow", []registry.LandOwner{{Kind: registry.OwnerPerson, OwnerID: buyer}}, registry.LandCertificate{Number: "DZ 000001", IssuedOn: "2025-10-02", AgencyCode: district}, kernel.Invalid},
	} {
		err := update(t, d, func(tx *db.Tx) error { return registry.TransferParcel(ctx, tx, home.ID, tt.owners, tt.cert) })
		if kernel.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if err := update(t, d, func(tx *db.Tx) error {
		return registry.TransferParcel(ctx, tx, home.ID, []registry.LandOwner{{Kind: registry.OwnerPerson, OwnerID: buyer}}, cert)
	}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Parcel(ctx, home.ID)
	if err != nil || len(got.Owners) != 1 || got.Owners[0].OwnerID != buyer || got.Certificate == nil || got.Certificate.Number != "DZ 000001" {
		t.Fatalf("after the transfer %+v, %v", got, err)
	}
	if home.Certificate != nil {
		if old, err := s.LandCertificate(ctx, home.Certificate.Number); err != nil || old.CancelledOn != "2025-09-30" {
			t.Fatalf("the old certificate %+v, %v", old, err)
		}
	}
	if err := update(t, d, func(tx *db.Tx) error {
		return registry.TransferParcel(ctx, tx, ps[len(ps)-1].ID, []registry.LandOwner{{Kind: registry.OwnerPerson, OwnerID: buyer}}, cert)
	}); kernel.ErrorCode(err) != kernel.Conflict && len(ps) > 1 {
		t.Fatalf("a certificate number twice: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSchools(t *testing.T) {
	ctx := context.Background()
	s, d := demoRegistry(t, 1200)
	_, _, kid := family(t, s, d, true)
	var pupil registry.Person
	ms, _ := s.HouseholdMembers(ctx, kid.HouseholdID)
	for _, m := range ms {
		if y := m.BirthDate[:4]; y >= "2008" && y <= "2019" {
			pupil = m
		}
	}
	if pupil.CitizenID == "" {
		t.Skip("the family has no child of school age")
	}
	p, err := s.Pupil(ctx, pupil.CitizenID, "2025-2026")
	if err != nil || p.FullName != pupil.FullName || len(p.Guardians) == 0 {
		t.Fatalf("pupil %+v, %v", p, err)
	}
	c, err := s.Class(ctx, p.ClassID)
	if err != nil || c.Validate() != nil || c.Grade != p.Grade || c.TeacherCitizenID == "" {
		t.Fatalf("class %+v, %v", c, err)
	}
	school, err := s.School(ctx, c.SchoolCode)
	if err != nil || school.Validate() != nil {
		t.Fatalf("school %+v, %v", school, err)
	}
	first, last := school.Level.Grades()
	if c.Grade < first || c.Grade > last {
		t.Fatalf("grade %d at a %s school", c.Grade, school.Level)
	}
	teachers, err := s.TeachersOf(ctx, school.Code)
	if err != nil || !containsFunc(teachers, func(o registry.Official) bool { return o.CitizenID == c.TeacherCitizenID && o.Role == registry.Teacher }) ||
		!containsFunc(teachers, func(o registry.Official) bool { return o.Role == registry.Principal }) {
		t.Fatalf("teachers of %s: %v, %v", school.Code, teachers, err)
	}
	mates, err := s.PupilsOf(ctx, c.ID)
	if err != nil || !containsFunc(mates, func(x registry.Pupil) bool { return x.CitizenID == pupil.CitizenID }) {
		t.Fatalf("class list %v, %v", mates, err)
	}
	g := p.Guardians[0]
	cared, err := s.PupilsInCareOf(ctx, g.GuardianCitizenID, "2025-2026")
	if err != nil || !containsFunc(cared, func(x registry.Pupil) bool { return x.CitizenID == pupil.CitizenID }) {
		t.Fatalf("in the care of %s: %v, %v", g.GuardianCitizenID, cared, err)
	}
	if err := update(t, d, func(tx *db.Tx) error {
		return registry.Enrol(ctx, tx, registry.Enrolment{SchoolYear: "2025-2026", CitizenID: pupil.CitizenID, ClassID: c.ID})
	}); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("enrolled twice: %v", err)
	}
	if err := update(t, d, func(tx *db.Tx) error {
		return registry.Enrol(ctx, tx, registry.Enrolment{SchoolYear: "2026-2027", CitizenID: pupil.CitizenID, ClassID: c.ID})
	}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("a class of another year: %v", err)
	}
	if err := update(t, d, func(tx *db.Tx) error {
		return registry.AddGuardian(ctx, tx, registry.Guardian{CitizenID: pupil.CitizenID, GuardianCitizenID: pupil.CitizenID, Relation: registry.OtherGuardian})
	}); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("one's own guardian: %v", err)
	}
	for name, c := range map[string]registry.Class{
		"fail/grade not in the name": {ID: "S/2025-2026/3A", SchoolCode: "S", SchoolYear: "2025-2026", Grade: 4, Name: "3A"},
		"fail/10A as grade 1":        {ID: "S/2025-2026/10A", SchoolCode: "S", SchoolYear: "2025-2026", Grade: 1, Name: "10A"},
		"fail/year of two years":     {ID: "S/2025-2027/3A", SchoolCode: "S", SchoolYear: "2025-2027", Grade: 3, Name: "3A"},
	} {
		if err := c.Validate(); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if y := registry.SchoolYearOf("2026-03-01"); y != "2025-2026" {
		t.Fatalf("school year of March 2026: %s", y)
	}
}

func TestBusinessesAndInsurance(t *testing.T) {
	ctx := context.Background()
	s, d := demoRegistry(t, 1200)
	bs, err := s.ListBusinesses(ctx, kernel.Page{Limit: 1000})
	if err != nil || len(bs) < 200 {
		t.Fatalf("%d businesses, %v", len(bs), err)
	}
	for _, b := range bs {
		if err := b.Validate(); err != nil || b.Kind == "" || b.Address == "" || b.Activity == "" || b.Status != registry.Active || b.AgencyCode != "T99.KHDT" {
			t.Fatalf("business %+v: %v", b, err)
		}
	}
	hbs, err := s.ListHouseholdBusinesses(ctx, kernel.Page{Limit: 10})
	if err != nil || len(hbs) == 0 {
		t.Fatalf("household businesses %v, %v", hbs, err)
	}
	if got, err := s.HouseholdBusinessesOf(ctx, hbs[0].OwnerCitizenID); err != nil || len(got) == 0 || got[0].Validate() != nil {
		t.Fatalf("of the owner: %v, %v", got, err)
	}
	head, _, _ := family(t, s, d, false)
	district := "H" + must(s.Unit(ctx, head.UnitCode)).ParentCode
	hb := registry.HouseholdBusiness{Name: "Tạp hóa Bình An", OwnerCitizenID: head.CitizenID, UnitCode: head.UnitCode, Address: "Số 1, Thôn 2",
		Activity: "4711 Bán lẻ lương thực", AgencyCode: district + ".UBND"}
	bad := hb
	bad.AgencyCode = "X" + head.UnitCode + ".UBND"
	if err := update(t, d, func(tx *db.Tx) error { _, err := registry.RegisterHouseholdBusiness(ctx, tx, bad); return err }); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a commune registering a household business: %v", err)
	}
	if err := update(t, d, func(tx *db.Tx) (err error) { hb, err = registry.RegisterHouseholdBusiness(ctx, tx, hb); return err }); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hb.RegNumber, must(s.Unit(ctx, head.UnitCode)).ParentCode+"A8") || hb.RegisteredOn != "2025-10-01" {
		t.Fatalf("registered %+v", hb)
	}
	cards, err := s.ListInsuranceCards(ctx, kernel.Page{Limit: 1000})
	if err != nil || len(cards) < 500 {
		t.Fatalf("%d cards, %v", len(cards), err)
	}
	kinds := map[string]int{}
	for _, c := range cards {
		if registry.Participations[c.Participation] == "" {
			t.Fatalf("card %+v without a participant group", c)
		}
		kinds[c.Participation]++
	}
	if kinds["GD"] == 0 || kinds["HT"] == 0 || kinds["DN"] == 0 || len(kinds) < 6 {
		t.Fatalf("participant groups %v", kinds)
	}
}

func TestCatalogueAndAgencies(t *testing.T) {
	ctx := context.Background()
	s, _ := demoRegistry(t, 1000)
	regs, err := s.Registries(ctx)
	if err != nil || len(regs) != 10 {
		t.Fatalf("registries %v, %v", regs, err)
	}
	for _, want := range []struct {
		code string
		kind registry.AgencyKind
	}{
		{registry.RegistryPopulation, registry.Police}, {registry.RegistryInsurance, registry.SocialInsurance},
		{registry.RegistryCivilStatus, registry.CivilStatus}, {registry.RegistryLand, registry.LandRegistration},
		{registry.RegistryBusiness, registry.PlanningInvestment}, {registry.RegistrySchools, registry.Education},
	} {
		a, err := s.RegistryOwner(ctx, want.code)
		if err != nil || a.Kind != want.kind || a.Level != registry.Province {
			t.Errorf("owner of %s: %+v, %v", want.code, a, err)
		}
	}
	if _, err := s.RegistryOwner(ctx, "nope"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("owner of no registry: %v", err)
	}
	commune, err := s.UnitAt(ctx, 12.68, 108.05)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		kind  registry.AgencyKind
		level registry.Level
	}{
		{registry.Police, registry.Commune}, {registry.LandRegistration, registry.District},
		{registry.Transport, registry.Province}, {registry.Education, registry.District},
	} {
		a, err := s.AgencyServing(ctx, tt.kind, commune.Code)
		if err != nil || a.Kind != tt.kind || a.Level != tt.level {
			t.Errorf("%s serving %s: %+v, %v", tt.kind, commune.Code, a, err)
		}
	}
	if _, err := s.AgencyServing(ctx, "nothing", commune.Code); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("no agency of a kind: %v", err)
	}
	// Every kind has an agency, and the kinds the capabilities need have
	// officials in the document roles.
	kinds := map[registry.AgencyKind]bool{}
	for after := ""; ; {
		as, err := s.ListAgencies(ctx, kernel.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			kinds[a.Kind] = true
			if a.Level == "" {
				t.Fatalf("agency %+v without its unit's level", a)
			}
		}
		if len(as) < 1000 {
			break
		}
		after = as[len(as)-1].Code
	}
	for _, k := range registry.AgencyKinds() {
		if !kinds[k] {
			t.Errorf("no agency of kind %s", k)
		}
	}
	roles := map[registry.Role]bool{}
	for after := ""; ; {
		os, err := s.ListOfficials(ctx, kernel.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range os {
			roles[o.Role] = true
		}
		if len(os) < 1000 {
			break
		}
		after = os[len(os)-1].ID
	}
	for _, r := range []registry.Role{registry.Chairman, registry.ViceChairman, registry.Director, registry.DeputyDirector, registry.OfficeHead,
		registry.DepartmentHead, registry.RecordsClerk, registry.Specialist, registry.Principal, registry.VicePrincipal, registry.Teacher,
		registry.RapidResponse, registry.CommunityTech, registry.OneStopOfficer, registry.CivilClerk, registry.PoliceOfficer, registry.Officer} {
		if !roles[r] || r.Title() == "" {
			t.Errorf("role %s: held %v, title %q", r, roles[r], r.Title())
		}
	}
}
