package registry

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The civil-status registry (hộ tịch): births, deaths and marriages, each
// registered by an agency — the commune's people's committee, or a
// district's justice office — under a number in that agency's book of the
// year ("45/2019").

// Birth is a birth registration (khai sinh). JSON: citizen_id (the
// child's), full_name, birth_date, sex, place_of_birth,
// mother_citizen_id, mother_name, father_citizen_id, father_name (a
// parent's citizen ID is empty when the parent is not in the population
// registry; a name is empty when the parent is unknown),
// registration_number ("45/2019"), registered_on, agency.
type Birth struct {
	CitizenID          string `json:"citizen_id"`
	FullName           string `json:"full_name"`
	BirthDate          string `json:"birth_date"`
	Sex                Sex    `json:"sex"`
	PlaceOfBirth       string `json:"place_of_birth"`
	MotherCitizenID    string `json:"mother_citizen_id,omitempty"`
	MotherName         string `json:"mother_name,omitempty"`
	FatherCitizenID    string `json:"father_citizen_id,omitempty"`
	FatherName         string `json:"father_name,omitempty"`
	RegistrationNumber string `json:"registration_number"`
	RegisteredOn       string `json:"registered_on"`
	AgencyCode         string `json:"agency"`
}

// regNumberRE is an entry in an agency's book of a year: "45/2019".
var regNumberRE = regexp.MustCompile(`^[1-9][0-9]{0,6}/[0-9]{4}$`)

// ValidRegistrationNumber reports whether s is an entry number of a
// civil-status book: a number, a slash, the year.
func ValidRegistrationNumber(s string) bool { return regNumberRE.MatchString(s) }

// Validate checks a birth's fields.
func (b Birth) Validate() error {
	if err := validIdentity(b.CitizenID, b.FullName, b.BirthDate, b.Sex); err != nil {
		return err
	}
	if !validName(b.PlaceOfBirth) || !optionalName(b.MotherName) || !optionalName(b.FatherName) ||
		!optionalCitizenID(b.MotherCitizenID) || !optionalCitizenID(b.FatherCitizenID) ||
		b.MotherCitizenID != "" && b.MotherName == "" || b.FatherCitizenID != "" && b.FatherName == "" {
		return kernel.E(kernel.Invalid, "error.registry.bad_birth")
	}
	return validEntry(b.RegistrationNumber, b.RegisteredOn, b.BirthDate, b.AgencyCode, "error.registry.bad_birth")
}

// validEntry checks a book entry: its number, its date (not before the
// event) and its agency.
func validEntry(number, on, event, agency, key string) error {
	if !ValidRegistrationNumber(number) || agency == "" || len(agency) > 32 {
		return kernel.E(kernel.Invalid, key)
	}
	d, err := time.Parse(DateLayout, on)
	if err != nil || on < event || strings.TrimPrefix(number[strings.IndexByte(number, '/'):], "/") != fmt.Sprint(d.Year()) {
		return kernel.E(kernel.Invalid, key)
	}
	return nil
}

func optionalName(s string) bool      { return s == "" || validName(s) }
func optionalCitizenID(s string) bool { _, err := ParseCitizenID(s); return s == "" || err == nil }

// Death is a death registration (khai tử). JSON: citizen_id, full_name,
// birth_date, sex, died_on, place_of_death, registration_number,
// registered_on, agency.
type Death struct {
	CitizenID          string `json:"citizen_id"`
	FullName           string `json:"full_name"`
	BirthDate          string `json:"birth_date"`
	Sex                Sex    `json:"sex"`
	DiedOn             string `json:"died_on"`
	PlaceOfDeath       string `json:"place_of_death"`
	RegistrationNumber string `json:"registration_number"`
	RegisteredOn       string `json:"registered_on"`
	AgencyCode         string `json:"agency"`
}

// Validate checks a death's fields.
func (d Death) Validate() error {
	if err := validIdentity(d.CitizenID, d.FullName, d.BirthDate, d.Sex); err != nil {
		return err
	}
	if _, err := time.Parse(DateLayout, d.DiedOn); err != nil || d.DiedOn < d.BirthDate || !validName(d.PlaceOfDeath) {
		return kernel.E(kernel.Invalid, "error.registry.bad_death")
	}
	return validEntry(d.RegistrationNumber, d.RegisteredOn, d.DiedOn, d.AgencyCode, "error.registry.bad_death")
}

// MarriageEnd says why a marriage ended.
type MarriageEnd string

// The ends of a marriage.
const (
	EndedByDeath   MarriageEnd = "death"
	EndedByDivorce MarriageEnd = "divorce"
)

// Marriage is a marriage registration (đăng ký kết hôn): under Vietnamese
// law a marriage exists from its registration. JSON: id (the agency code,
// a slash and the registration number: X31001.UBND/12/2010),
// husband_citizen_id, husband_name, wife_citizen_id, wife_name,
// married_on, registration_number, agency, ended_on and end_reason (death
// or divorce; empty while the marriage lasts).
type Marriage struct {
	ID                 string      `json:"id"`
	HusbandCitizenID   string      `json:"husband_citizen_id"`
	HusbandName        string      `json:"husband_name"`
	WifeCitizenID      string      `json:"wife_citizen_id"`
	WifeName           string      `json:"wife_name"`
	MarriedOn          string      `json:"married_on"`
	RegistrationNumber string      `json:"registration_number"`
	AgencyCode         string      `json:"agency"`
	EndedOn            string      `json:"ended_on,omitempty"`
	EndReason          MarriageEnd `json:"end_reason,omitempty"`
}

// MarriageID is the ID of a marriage: agency, slash, registration number.
func MarriageID(agency, number string) string { return agency + "/" + number }

// Validate checks a marriage's fields.
func (m Marriage) Validate() error {
	h, err1 := ParseCitizenID(m.HusbandCitizenID)
	w, err2 := ParseCitizenID(m.WifeCitizenID)
	if err1 != nil || err2 != nil || h.Sex != Male || w.Sex != Female || !validName(m.HusbandName) || !validName(m.WifeName) ||
		m.ID != MarriageID(m.AgencyCode, m.RegistrationNumber) {
		return kernel.E(kernel.Invalid, "error.registry.bad_marriage")
	}
	// The law's minimum ages: 20 for a man, 18 for a woman.
	if m.MarriedOn < fmt.Sprintf("%04d", h.Year+20) || m.MarriedOn < fmt.Sprintf("%04d", w.Year+18) {
		return kernel.E(kernel.Invalid, "error.registry.under_age")
	}
	if (m.EndedOn == "") != (m.EndReason == "") || m.EndReason != "" && m.EndReason != EndedByDeath && m.EndReason != EndedByDivorce {
		return kernel.E(kernel.Invalid, "error.registry.bad_marriage")
	}
	if err := validPeriod(m.MarriedOn, m.EndedOn, "error.registry.bad_marriage"); err != nil {
		return err
	}
	return validEntry(m.RegistrationNumber, m.MarriedOn, m.MarriedOn, m.AgencyCode, "error.registry.bad_marriage")
}

const (
	birthColumns    = "citizen_id, full_name, birth_date, sex, place_of_birth, mother_citizen_id, mother_name, father_citizen_id, father_name, registration_number, registered_on, agency_code"
	deathColumns    = "citizen_id, full_name, birth_date, sex, died_on, place_of_death, registration_number, registered_on, agency_code"
	marriageColumns = "id, husband_citizen_id, husband_name, wife_citizen_id, wife_name, married_on, registration_number, agency_code, ended_on, end_reason"
)

func scanBirth(sc interface{ Scan(...any) error }) (Birth, error) {
	var b Birth
	err := sc.Scan(&b.CitizenID, &b.FullName, &b.BirthDate, &b.Sex, &b.PlaceOfBirth, &b.MotherCitizenID, &b.MotherName,
		&b.FatherCitizenID, &b.FatherName, &b.RegistrationNumber, &b.RegisteredOn, &b.AgencyCode)
	return b, err
}

func birthRow(b *Birth) []any {
	return []any{b.CitizenID, b.FullName, b.BirthDate, string(b.Sex), b.PlaceOfBirth, b.MotherCitizenID, b.MotherName,
		b.FatherCitizenID, b.FatherName, b.RegistrationNumber, b.RegisteredOn, b.AgencyCode}
}

func scanDeath(sc interface{ Scan(...any) error }) (Death, error) {
	var d Death
	err := sc.Scan(&d.CitizenID, &d.FullName, &d.BirthDate, &d.Sex, &d.DiedOn, &d.PlaceOfDeath, &d.RegistrationNumber, &d.RegisteredOn, &d.AgencyCode)
	return d, err
}

func deathRow(d *Death) []any {
	return []any{d.CitizenID, d.FullName, d.BirthDate, string(d.Sex), d.DiedOn, d.PlaceOfDeath, d.RegistrationNumber, d.RegisteredOn, d.AgencyCode}
}

func scanMarriage(sc interface{ Scan(...any) error }) (Marriage, error) {
	var m Marriage
	err := sc.Scan(&m.ID, &m.HusbandCitizenID, &m.HusbandName, &m.WifeCitizenID, &m.WifeName, &m.MarriedOn,
		&m.RegistrationNumber, &m.AgencyCode, &m.EndedOn, &m.EndReason)
	return m, err
}

func marriageRow(m *Marriage) []any {
	return []any{m.ID, m.HusbandCitizenID, m.HusbandName, m.WifeCitizenID, m.WifeName, m.MarriedOn, m.RegistrationNumber, m.AgencyCode, m.EndedOn, string(m.EndReason)}
}

// Birth returns a person's birth registration.
func (s *Service) Birth(ctx context.Context, citizenID string) (Birth, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return Birth{}, err
	}
	return one(s.db.QueryRow(ctx, "SELECT "+birthColumns+" FROM births WHERE citizen_id = ?", citizenID),
		scanBirth, "error.registry.birth_not_found", "birth")
}

// ChildrenOf returns the birth registrations naming a person as mother or
// father, oldest child first; none is an empty list.
func (s *Service) ChildrenOf(ctx context.Context, citizenID string) ([]Birth, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return nil, err
	}
	return list(ctx, s.db, scanBirth, "births", "SELECT "+birthColumns+" FROM births WHERE mother_citizen_id = ? AND mother_citizen_id <> '' UNION SELECT "+birthColumns+
		" FROM births WHERE father_citizen_id = ? AND father_citizen_id <> '' ORDER BY birth_date, citizen_id", citizenID, citizenID)
}

// Death returns a death registration. NotFound means no death is
// registered for the citizen ID.
func (s *Service) Death(ctx context.Context, citizenID string) (Death, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return Death{}, err
	}
	return one(s.db.QueryRow(ctx, "SELECT "+deathColumns+" FROM deaths WHERE citizen_id = ?", citizenID),
		scanDeath, "error.registry.death_not_found", "death")
}

// Marriages returns a person's marriages, as husband or wife, oldest first.
func (s *Service) Marriages(ctx context.Context, citizenID string) ([]Marriage, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return nil, err
	}
	return list(ctx, s.db, scanMarriage, "marriages", "SELECT "+marriageColumns+" FROM marriages WHERE husband_citizen_id = ? UNION SELECT "+marriageColumns+
		" FROM marriages WHERE wife_citizen_id = ? ORDER BY married_on, id", citizenID, citizenID)
}

// MaritalStatus is what a confirmation of marital status states.
type MaritalStatus string

// The marital statuses.
const (
	Single   MaritalStatus = "single" // never married
	Married  MaritalStatus = "married"
	Widowed  MaritalStatus = "widowed"
	Divorced MaritalStatus = "divorced"
)

// MaritalStatusOf returns a person's marital status from the marriages
// registered, with the current (or last) marriage, if any.
func (s *Service) MaritalStatusOf(ctx context.Context, citizenID string) (MaritalStatus, *Marriage, error) {
	if _, err := s.Person(ctx, citizenID); err != nil {
		return "", nil, err
	}
	ms, err := s.Marriages(ctx, citizenID)
	if err != nil || len(ms) == 0 {
		return Single, nil, err
	}
	for i := range ms {
		if ms[i].EndedOn == "" {
			return Married, &ms[i], nil
		}
	}
	last := &ms[len(ms)-1]
	if last.EndReason == EndedByDeath {
		return Widowed, last, nil
	}
	return Divorced, last, nil
}

// ListBirths, ListDeaths and ListMarriages page through the civil-status
// books by key, after p.After.
func (s *Service) ListBirths(ctx context.Context, p kernel.Page) ([]Birth, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanBirth, "births", "SELECT "+birthColumns+" FROM births WHERE citizen_id > ? ORDER BY citizen_id LIMIT ?", p.After, p.Limit)
}

// ListDeaths lists deaths by citizen ID, after p.After.
func (s *Service) ListDeaths(ctx context.Context, p kernel.Page) ([]Death, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanDeath, "deaths", "SELECT "+deathColumns+" FROM deaths WHERE citizen_id > ? ORDER BY citizen_id LIMIT ?", p.After, p.Limit)
}

// ListMarriages lists marriages by ID, after p.After.
func (s *Service) ListMarriages(ctx context.Context, p kernel.Page) ([]Marriage, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanMarriage, "marriages", "SELECT "+marriageColumns+" FROM marriages WHERE id > ? ORDER BY id LIMIT ?", p.After, p.Limit)
}

// NewBirth is what a birth registration states; the registry gives the
// child a citizen ID and the registration its number.
type NewBirth struct {
	FullName        string
	BirthDate       string
	Sex             Sex
	PlaceOfBirth    string
	MotherCitizenID string // a person of the registry, or empty with MotherName
	MotherName      string
	FatherCitizenID string
	FatherName      string
	// HouseholdID is where the child's permanent residence is registered
	// (the mother's household when empty), as Relation to its head (child
	// when empty).
	HouseholdID string
	Relation    Relation
	AgencyCode  string // the registering agency: a people's committee or a justice office
}

// RegisterBirth registers a birth in the caller's transaction (the
// portal's birth procedure): the child gets a citizen ID of the agency's
// province, an entry in the population registry, a permanent residence in
// the household and the birth registration, numbered in the agency's book
// of the year. Parents named by citizen ID must be in the population
// registry; their names come from it.
func RegisterBirth(ctx context.Context, tx *db.Tx, nb NewBirth) (Birth, error) {
	today := tx.Now.In(kernel.Zone()).Format(DateLayout)
	b := Birth{FullName: nb.FullName, BirthDate: nb.BirthDate, Sex: nb.Sex, PlaceOfBirth: nb.PlaceOfBirth,
		MotherName: nb.MotherName, FatherName: nb.FatherName, RegisteredOn: today, AgencyCode: nb.AgencyCode}
	born, err := time.Parse(DateLayout, nb.BirthDate)
	if err != nil || nb.BirthDate > today {
		return b, kernel.E(kernel.Invalid, "error.registry.bad_birth_date")
	}
	var mother, father Person
	for _, pr := range []struct {
		id     string
		p      *Person
		sex    Sex
		into   *string
		idInto *string
	}{{nb.MotherCitizenID, &mother, Female, &b.MotherName, &b.MotherCitizenID}, {nb.FatherCitizenID, &father, Male, &b.FatherName, &b.FatherCitizenID}} {
		if pr.id == "" {
			continue
		}
		p, err := findPerson(ctx, tx, pr.id)
		if err != nil {
			return b, err
		}
		if p.Sex != pr.sex || p.BirthDate >= nb.BirthDate {
			return b, kernel.E(kernel.Invalid, "error.registry.bad_parent")
		}
		*pr.p, *pr.into, *pr.idInto = p, p.FullName, p.CitizenID
	}
	agency, province, err := registeringAgency(ctx, tx, nb.AgencyCode)
	if err != nil {
		return b, err
	}
	household := cmp.Or(nb.HouseholdID, mother.HouseholdID, father.HouseholdID)
	if household == "" {
		return b, kernel.E(kernel.Invalid, "error.registry.bad_household")
	}
	if b.CitizenID, err = freeCitizenID(ctx, tx, province, nb.Sex, born.Year()); err != nil {
		return b, err
	}
	if b.RegistrationNumber, err = nextEntry(ctx, tx, "births", agency.Code, today); err != nil {
		return b, err
	}
	if err := b.Validate(); err != nil {
		return b, err
	}
	var unit string
	if err := tx.QueryRow(ctx, "SELECT unit_code FROM households WHERE id = ?", household).Scan(&unit); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return b, kernel.E(kernel.NotFound, "error.registry.household_not_found")
		}
		return b, kernel.Wrap(err, "registry: read household")
	}
	if _, err := tx.Exec(ctx, "INSERT INTO persons (citizen_id, full_name, birth_date, sex, household_id, unit_code, phone, updated_at) VALUES (?, ?, ?, ?, ?, ?, '', ?)",
		b.CitizenID, b.FullName, b.BirthDate, string(b.Sex), household, unit, kernel.Micros(tx.Now)); err != nil {
		return b, kernel.Wrap(err, "registry: insert person")
	}
	if _, err := tx.Exec(ctx, "INSERT INTO births ("+birthColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", birthRow(&b)...); err != nil {
		if db.IsUniqueViolation(err) {
			return b, kernel.E(kernel.Conflict, "error.registry.concurrent_change").WithCause(err)
		}
		return b, kernel.Wrap(err, "registry: insert birth")
	}
	if _, err := RegisterPermanentResidence(ctx, tx, Residence{CitizenID: b.CitizenID, HouseholdID: household,
		Relation: cmp.Or(nb.Relation, Child), From: b.BirthDate}); err != nil {
		return b, err
	}
	return b, nil
}

// RegisterDeath registers a death in the caller's transaction: the
// person's entry in the population registry records the day, their open
// residences end that day, and so does their marriage. The name, birth date
// and sex come from the population registry.
func RegisterDeath(ctx context.Context, tx *db.Tx, d Death) (Death, error) {
	p, err := findPerson(ctx, tx, d.CitizenID)
	if err != nil {
		return d, err
	}
	if p.DiedOn != "" {
		return d, kernel.E(kernel.Conflict, "error.registry.person_deceased")
	}
	today := tx.Now.In(kernel.Zone()).Format(DateLayout)
	if d.DiedOn > today {
		return d, kernel.E(kernel.Invalid, "error.registry.bad_death")
	}
	d.FullName, d.BirthDate, d.Sex, d.RegisteredOn = p.FullName, p.BirthDate, p.Sex, today
	agency, _, err := registeringAgency(ctx, tx, d.AgencyCode)
	if err != nil {
		return d, err
	}
	if d.RegistrationNumber, err = nextEntry(ctx, tx, "deaths", agency.Code, today); err != nil {
		return d, err
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO deaths ("+deathColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", deathRow(&d)...); err != nil {
		if db.IsUniqueViolation(err) {
			return d, kernel.E(kernel.Conflict, "error.registry.concurrent_change").WithCause(err)
		}
		return d, kernel.Wrap(err, "registry: insert death")
	}
	if _, err := tx.Exec(ctx, "UPDATE persons SET died_on = ?, updated_at = ? WHERE citizen_id = ?", d.DiedOn, kernel.Micros(tx.Now), d.CitizenID); err != nil {
		return d, kernel.Wrap(err, "registry: record death")
	}
	if _, err := tx.Exec(ctx, "UPDATE residences SET until_date = ? WHERE citizen_id = ? AND (until_date = '' OR until_date > ?)", d.DiedOn, d.CitizenID, d.DiedOn); err != nil {
		return d, kernel.Wrap(err, "registry: end residences")
	}
	if _, err := tx.Exec(ctx, "UPDATE marriages SET ended_on = ?, end_reason = 'death' WHERE (husband_citizen_id = ? OR wife_citizen_id = ?) AND ended_on = ''",
		d.DiedOn, d.CitizenID, d.CitizenID); err != nil {
		return d, kernel.Wrap(err, "registry: end marriage")
	}
	return d, nil
}

// RegisterMarriage registers a marriage in the caller's transaction, dated
// today: both spouses must be living persons of the registry, of the ages
// the law asks, and married to nobody. The names come from the registry.
func RegisterMarriage(ctx context.Context, tx *db.Tx, husbandCitizenID, wifeCitizenID, agencyCode string) (Marriage, error) {
	m := Marriage{HusbandCitizenID: husbandCitizenID, WifeCitizenID: wifeCitizenID, AgencyCode: agencyCode,
		MarriedOn: tx.Now.In(kernel.Zone()).Format(DateLayout)}
	for _, sp := range []struct {
		id   string
		name *string
	}{{husbandCitizenID, &m.HusbandName}, {wifeCitizenID, &m.WifeName}} {
		p, err := findPerson(ctx, tx, sp.id)
		if err != nil {
			return m, err
		}
		if p.DiedOn != "" {
			return m, kernel.E(kernel.Conflict, "error.registry.person_deceased")
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM marriages WHERE (husband_citizen_id = ? OR wife_citizen_id = ?) AND ended_on = ''", sp.id, sp.id).Scan(&n); err != nil {
			return m, kernel.Wrap(err, "registry: read marriages")
		}
		if n > 0 {
			return m, kernel.E(kernel.Conflict, "error.registry.already_married")
		}
		minAge := 18
		if p.Sex == Male {
			minAge = 20
		}
		married, _ := time.Parse(DateLayout, m.MarriedOn)
		if p.AgeOn(married) < minAge {
			return m, kernel.E(kernel.Invalid, "error.registry.under_age")
		}
		*sp.name = p.FullName
	}
	agency, _, err := registeringAgency(ctx, tx, agencyCode)
	if err != nil {
		return m, err
	}
	if m.RegistrationNumber, err = nextEntry(ctx, tx, "marriages", agency.Code, m.MarriedOn); err != nil {
		return m, err
	}
	m.ID = MarriageID(agency.Code, m.RegistrationNumber)
	if err := m.Validate(); err != nil {
		return m, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO marriages ("+marriageColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", marriageRow(&m)...); err != nil {
		if db.IsUniqueViolation(err) {
			return m, kernel.E(kernel.Conflict, "error.registry.concurrent_change").WithCause(err)
		}
		return m, kernel.Wrap(err, "registry: insert marriage")
	}
	return m, nil
}

// RecordDivorce ends a marriage by divorce on day (the court's judgment),
// in the caller's transaction. A marriage that has ended is a Conflict.
func RecordDivorce(ctx context.Context, tx *db.Tx, marriageID, day string) error {
	var married string
	err := tx.QueryRow(ctx, "SELECT married_on FROM marriages WHERE id = ? AND ended_on = ''", marriageID).Scan(&married)
	if errors.Is(err, sql.ErrNoRows) {
		return kernel.E(kernel.Conflict, "error.registry.marriage_not_current")
	}
	if err != nil {
		return kernel.Wrap(err, "registry: read marriage")
	}
	if _, err := time.Parse(DateLayout, day); err != nil || day < married || day > tx.Now.In(kernel.Zone()).Format(DateLayout) {
		return kernel.E(kernel.Invalid, "error.registry.bad_marriage")
	}
	if _, err := tx.Exec(ctx, "UPDATE marriages SET ended_on = ?, end_reason = 'divorce' WHERE id = ? AND ended_on = ''", day, marriageID); err != nil {
		return kernel.Wrap(err, "registry: record divorce")
	}
	return nil
}

// findPerson reads a person in tx.
func findPerson(ctx context.Context, tx *db.Tx, citizenID string) (Person, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return Person{}, err
	}
	return one(tx.QueryRow(ctx, "SELECT "+personColumns+" FROM persons WHERE citizen_id = ?", citizenID),
		scanPerson, "error.registry.person_not_found", "person")
}

// registeringAgency reads an agency that keeps civil-status books (a
// people's committee or a justice office) and the three-digit code its
// province gives citizen IDs.
func registeringAgency(ctx context.Context, tx *db.Tx, code string) (Agency, string, error) {
	a, err := one(tx.QueryRow(ctx, agencySelect+"WHERE a.code = ?", code), scanAgency, "error.registry.agency_not_found", "agency")
	if err != nil {
		return a, "", err
	}
	if a.Kind != PeopleCommittee && a.Kind != CivilStatus {
		return a, "", kernel.E(kernel.Forbidden, "error.registry.agency_cannot_register")
	}
	unit := a.UnitCode
	for range 8 {
		var level, parent string
		if err := tx.QueryRow(ctx, "SELECT level, COALESCE(parent_code, '') FROM units WHERE code = ?", unit).Scan(&level, &parent); err != nil {
			return a, "", kernel.Wrap(err, "registry: agency's province")
		}
		if level == string(Province) {
			return a, fmt.Sprintf("%03s", unit), nil
		}
		unit = parent
	}
	return a, "", kernel.E(kernel.Invalid, "error.registry.bad_unit")
}

// nextEntry numbers the next entry of an agency's book of the year of day.
func nextEntry(ctx context.Context, tx *db.Tx, table, agency, day string) (string, error) {
	year := day[:4]
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+table+" WHERE agency_code = ? AND registration_number LIKE ?", agency, "%/"+year).Scan(&n); err != nil {
		return "", kernel.Wrap(err, "registry: number %s", table)
	}
	return fmt.Sprintf("%d/%s", n+1, year), nil
}

// freeCitizenID draws a serial no person, birth or death holds yet.
func freeCitizenID(ctx context.Context, tx *db.Tx, province string, sex Sex, year int) (string, error) {
	for range 64 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", kernel.Wrap(err, "registry: draw serial")
		}
		id := FormatCitizenID(province, sex, year, int(n.Int64()))
		var taken int
		if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM persons WHERE citizen_id = ?) + (SELECT COUNT(*) FROM births WHERE citizen_id = ?)
			+ (SELECT COUNT(*) FROM deaths WHERE citizen_id = ?)`, id, id, id).Scan(&taken); err != nil {
			return "", kernel.Wrap(err, "registry: serial taken")
		}
		if taken == 0 {
			return id, nil
		}
	}
	return "", kernel.E(kernel.Conflict, "error.registry.no_free_citizen_id")
}
