package registry

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The school registry: public schools (each an agency of kind SchoolAgency,
// whose teachers are its officials), their classes per school year, the
// pupils enrolled in them and the pupils' guardians.

// SchoolLevel is the level of general education a school gives.
type SchoolLevel string

// The levels of general education.
const (
	Primary        SchoolLevel = "primary"         // tiểu học, grades 1–5
	LowerSecondary SchoolLevel = "lower_secondary" // trung học cơ sở, grades 6–9
	UpperSecondary SchoolLevel = "upper_secondary" // trung học phổ thông, grades 10–12
)

// Grades returns the first and last grade of a level.
func (l SchoolLevel) Grades() (first, last int) {
	switch l {
	case Primary:
		return 1, 5
	case LowerSecondary:
		return 6, 9
	case UpperSecondary:
		return 10, 12
	}
	return 0, -1
}

// School is a school of the registry. JSON: code (its agency code), name,
// level (primary, lower_secondary, upper_secondary), unit (its commune),
// location ({lat, lon}).
type School struct {
	Code     string      `json:"code"`
	Name     string      `json:"name"`
	Level    SchoolLevel `json:"level"`
	UnitCode string      `json:"unit"`
	Location Point       `json:"location"`
}

// Validate checks a school's fields.
func (s School) Validate() error {
	if first, _ := s.Level.Grades(); first == 0 || s.Code == "" || len(s.Code) > 32 || !isDigits(s.UnitCode) || !s.Location.Valid() {
		return kernel.E(kernel.Invalid, "error.registry.bad_school")
	}
	if !validName(s.Name) {
		return kernel.E(kernel.Invalid, "error.registry.bad_name")
	}
	return nil
}

// Class is a class of a school in a school year. JSON: id (school code,
// year, name: X31001.TH/2025-2026/3A), school, school_year ("2025-2026"),
// grade (1–12), name ("3A", "10A2"), teacher_citizen_id (the homeroom
// teacher, giáo viên chủ nhiệm, a teacher of the school).
type Class struct {
	ID               string `json:"id"`
	SchoolCode       string `json:"school"`
	SchoolYear       string `json:"school_year"`
	Grade            int    `json:"grade"`
	Name             string `json:"name"`
	TeacherCitizenID string `json:"teacher_citizen_id,omitempty"`
}

// ClassID is the ID of a class.
func ClassID(school, year, name string) string { return school + "/" + year + "/" + name }

var (
	schoolYearRE = regexp.MustCompile(`^([0-9]{4})-([0-9]{4})$`)
	classNameRE  = regexp.MustCompile(`^(1[0-2]|[1-9])[A-Z][0-9]{0,2}$`)
)

// ValidSchoolYear reports whether s is a school year: "2025-2026".
func ValidSchoolYear(s string) bool {
	m := schoolYearRE.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return b == a+1
}

// SchoolYearOf returns the school year a day (YYYY-MM-DD) falls in; a year
// starts on 1 August.
func SchoolYearOf(day string) string {
	y, _ := strconv.Atoi(day[:4])
	if day[5:7] < "08" {
		y--
	}
	return fmt.Sprintf("%d-%d", y, y+1)
}

// Validate checks a class's fields.
func (c Class) Validate() error {
	m := classNameRE.FindStringSubmatch(c.Name)
	if c.ID != ClassID(c.SchoolCode, c.SchoolYear, c.Name) || !ValidSchoolYear(c.SchoolYear) || m == nil || m[1] != strconv.Itoa(c.Grade) ||
		!optionalCitizenID(c.TeacherCitizenID) {
		return kernel.E(kernel.Invalid, "error.registry.bad_class")
	}
	return nil
}

// Enrolment puts a pupil in a class for a school year. JSON: school_year,
// citizen_id, class_id.
type Enrolment struct {
	SchoolYear string `json:"school_year"`
	CitizenID  string `json:"citizen_id"`
	ClassID    string `json:"class_id"`
}

// Validate checks an enrolment's fields.
func (e Enrolment) Validate() error {
	if _, err := ParseCitizenID(e.CitizenID); err != nil {
		return err
	}
	if !ValidSchoolYear(e.SchoolYear) || e.ClassID == "" {
		return kernel.E(kernel.Invalid, "error.registry.bad_class")
	}
	return nil
}

// GuardianRelation is how a guardian is related to a pupil.
type GuardianRelation string

// The guardians' relations.
const (
	Father        GuardianRelation = "father"
	Mother        GuardianRelation = "mother"
	Grandfather   GuardianRelation = "grandfather"
	Grandmother   GuardianRelation = "grandmother"
	OtherGuardian GuardianRelation = "other"
)

// Guardian is an adult answering for a pupil: for the demo, the adults of
// the pupil's household. JSON: citizen_id (the pupil's),
// guardian_citizen_id, relation (father, mother, grandfather,
// grandmother, other).
type Guardian struct {
	CitizenID         string           `json:"citizen_id"`
	GuardianCitizenID string           `json:"guardian_citizen_id"`
	Relation          GuardianRelation `json:"relation"`
}

// Validate checks a guardian's fields.
func (g Guardian) Validate() error {
	if _, err := ParseCitizenID(g.CitizenID); err != nil {
		return err
	}
	if _, err := ParseCitizenID(g.GuardianCitizenID); err != nil {
		return err
	}
	switch g.Relation {
	case Father, Mother, Grandfather, Grandmother, OtherGuardian:
	default:
		return kernel.E(kernel.Invalid, "error.registry.bad_guardian")
	}
	if g.CitizenID == g.GuardianCitizenID {
		return kernel.E(kernel.Invalid, "error.registry.bad_guardian")
	}
	return nil
}

// Pupil is a pupil's enrolment as a school sees it: the class, its school
// and grade, and the guardians. JSON: citizen_id, full_name, school_year,
// class_id, school, grade, guardians.
type Pupil struct {
	CitizenID  string     `json:"citizen_id"`
	FullName   string     `json:"full_name"`
	SchoolYear string     `json:"school_year"`
	ClassID    string     `json:"class_id"`
	SchoolCode string     `json:"school"`
	Grade      int        `json:"grade"`
	Guardians  []Guardian `json:"guardians,omitempty"`
}

const (
	schoolColumns = "s.code, a.name, s.level, s.unit_code, s.lat, s.lon"
	schoolFrom    = " FROM schools s JOIN agencies a ON a.code = s.code "
	classColumns  = "id, school_code, school_year, grade, name, teacher_citizen_id"
	pupilSelect   = `SELECT e.citizen_id, COALESCE(p.full_name, ''), e.school_year, e.class_id, c.school_code, c.grade
	FROM school_pupils e JOIN school_classes c ON c.id = e.class_id LEFT JOIN persons p ON p.citizen_id = e.citizen_id `
)

func scanSchool(sc interface{ Scan(...any) error }) (School, error) {
	var s School
	err := sc.Scan(&s.Code, &s.Name, &s.Level, &s.UnitCode, &s.Location.Lat, &s.Location.Lon)
	return s, err
}

func schoolRow(s *School) []any {
	return []any{s.Code, string(s.Level), s.UnitCode, s.Location.Lat, s.Location.Lon}
}

func scanClass(sc interface{ Scan(...any) error }) (Class, error) {
	var c Class
	err := sc.Scan(&c.ID, &c.SchoolCode, &c.SchoolYear, &c.Grade, &c.Name, &c.TeacherCitizenID)
	return c, err
}

func classRow(c *Class) []any {
	return []any{c.ID, c.SchoolCode, c.SchoolYear, c.Grade, c.Name, c.TeacherCitizenID}
}

func scanPupil(sc interface{ Scan(...any) error }) (Pupil, error) {
	var p Pupil
	err := sc.Scan(&p.CitizenID, &p.FullName, &p.SchoolYear, &p.ClassID, &p.SchoolCode, &p.Grade)
	return p, err
}

func scanGuardian(sc interface{ Scan(...any) error }) (Guardian, error) {
	var g Guardian
	err := sc.Scan(&g.CitizenID, &g.GuardianCitizenID, &g.Relation)
	return g, err
}

// School returns a school by its agency code.
func (s *Service) School(ctx context.Context, code string) (School, error) {
	return one(s.db.QueryRow(ctx, "SELECT "+schoolColumns+schoolFrom+"WHERE s.code = ?", code), scanSchool, "error.registry.school_not_found", "school")
}

// SchoolsIn returns the schools seated in a unit, by code.
func (s *Service) SchoolsIn(ctx context.Context, unitCode string) ([]School, error) {
	return list(ctx, s.db, scanSchool, "schools", "SELECT "+schoolColumns+schoolFrom+"WHERE s.unit_code = ? ORDER BY s.code", unitCode)
}

// ListSchools lists schools by code, after p.After.
func (s *Service) ListSchools(ctx context.Context, p kernel.Page) ([]School, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanSchool, "schools", "SELECT "+schoolColumns+schoolFrom+"WHERE s.code > ? ORDER BY s.code LIMIT ?", p.After, p.Limit)
}

// Class returns a class by ID.
func (s *Service) Class(ctx context.Context, id string) (Class, error) {
	return one(s.db.QueryRow(ctx, "SELECT "+classColumns+" FROM school_classes WHERE id = ?", id), scanClass, "error.registry.class_not_found", "class")
}

// ClassesOf returns a school's classes of a school year, by grade and name.
func (s *Service) ClassesOf(ctx context.Context, schoolCode, year string) ([]Class, error) {
	return list(ctx, s.db, scanClass, "classes", "SELECT "+classColumns+" FROM school_classes WHERE school_code = ? AND school_year = ? ORDER BY grade, name", schoolCode, year)
}

// ListClasses lists classes by ID, after p.After.
func (s *Service) ListClasses(ctx context.Context, p kernel.Page) ([]Class, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanClass, "classes", "SELECT "+classColumns+" FROM school_classes WHERE id > ? ORDER BY id LIMIT ?", p.After, p.Limit)
}

// TeachersOf returns the teachers of a school: its officials with the
// teacher's, principal's or vice principal's role.
func (s *Service) TeachersOf(ctx context.Context, schoolCode string) ([]Official, error) {
	return list(ctx, s.db, scanOfficial, "teachers", "SELECT "+officialColumns+" FROM officials WHERE agency_code = ? AND role IN ('teacher', 'principal', 'vice_principal') ORDER BY id", schoolCode)
}

// PupilsOf returns the pupils of a class with their guardians, by name.
func (s *Service) PupilsOf(ctx context.Context, classID string) ([]Pupil, error) {
	ps, err := list(ctx, s.db, scanPupil, "pupils", pupilSelect+"WHERE e.class_id = ? ORDER BY p.full_name, e.citizen_id", classID)
	if err != nil {
		return nil, err
	}
	return ps, s.fillGuardians(ctx, ps)
}

// Pupil returns a person's enrolment of a school year, with guardians.
// NotFound when they are enrolled nowhere that year.
func (s *Service) Pupil(ctx context.Context, citizenID, year string) (Pupil, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return Pupil{}, err
	}
	p, err := one(s.db.QueryRow(ctx, pupilSelect+"WHERE e.citizen_id = ? AND e.school_year = ?", citizenID, year), scanPupil, "error.registry.pupil_not_found", "pupil")
	if err != nil {
		return p, err
	}
	ps := []Pupil{p}
	return ps[0], s.fillGuardians(ctx, ps)
}

// PupilsInCareOf returns the pupils a person is a guardian of, enrolled in
// a school year.
func (s *Service) PupilsInCareOf(ctx context.Context, guardianCitizenID, year string) ([]Pupil, error) {
	return list(ctx, s.db, scanPupil, "pupils", pupilSelect+"JOIN school_guardians g ON g.citizen_id = e.citizen_id WHERE g.guardian_citizen_id = ? AND e.school_year = ? ORDER BY e.citizen_id",
		guardianCitizenID, year)
}

// ListPupils lists enrolments of a school year by citizen ID, after
// p.After; year "" is the latest school year with pupils.
func (s *Service) ListPupils(ctx context.Context, year string, p kernel.Page) ([]Pupil, error) {
	p = p.Normalize(100)
	if year == "" {
		if err := s.db.QueryRow(ctx, "SELECT COALESCE(MAX(school_year), '') FROM school_pupils").Scan(&year); err != nil {
			return nil, kernel.Wrap(err, "registry: latest school year")
		}
	}
	ps, err := list(ctx, s.db, scanPupil, "pupils", pupilSelect+"WHERE e.school_year = ? AND e.citizen_id > ? ORDER BY e.citizen_id LIMIT ?", year, p.After, p.Limit)
	if err != nil {
		return nil, err
	}
	return ps, s.fillGuardians(ctx, ps)
}

// GuardiansOf returns a pupil's guardians.
func (s *Service) GuardiansOf(ctx context.Context, citizenID string) ([]Guardian, error) {
	return list(ctx, s.db, scanGuardian, "guardians", "SELECT citizen_id, guardian_citizen_id, relation FROM school_guardians WHERE citizen_id = ? ORDER BY relation, guardian_citizen_id", citizenID)
}

func (s *Service) fillGuardians(ctx context.Context, ps []Pupil) error {
	for i := range ps {
		gs, err := s.GuardiansOf(ctx, ps[i].CitizenID)
		if err != nil {
			return err
		}
		ps[i].Guardians = gs
	}
	return nil
}

// Enrol puts a pupil in a class, in the caller's transaction (the
// learning capability's or the portal's enrolment): the pupil must be a
// living person of the registry, the class one of the year, and the pupil
// enrolled nowhere else that year.
func Enrol(ctx context.Context, tx *db.Tx, e Enrolment) error {
	if err := e.Validate(); err != nil {
		return err
	}
	c, err := one(tx.QueryRow(ctx, "SELECT "+classColumns+" FROM school_classes WHERE id = ?", e.ClassID), scanClass, "error.registry.class_not_found", "class")
	if err != nil {
		return err
	}
	if c.SchoolYear != e.SchoolYear {
		return kernel.E(kernel.Invalid, "error.registry.bad_class")
	}
	if err := livingPerson(ctx, tx, e.CitizenID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO school_pupils (school_year, citizen_id, class_id) VALUES (?, ?, ?)", e.SchoolYear, e.CitizenID, e.ClassID); err != nil {
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "error.registry.already_enrolled").WithCause(err)
		}
		return kernel.Wrap(err, "registry: enrol")
	}
	return nil
}

// AddGuardian records a pupil's guardian in the caller's transaction; both
// must be persons of the registry, the guardian an adult.
func AddGuardian(ctx context.Context, tx *db.Tx, g Guardian) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if err := livingPerson(ctx, tx, g.CitizenID); err != nil {
		return err
	}
	gp, err := findPerson(ctx, tx, g.GuardianCitizenID)
	if err != nil {
		return err
	}
	if gp.DiedOn != "" || gp.AgeOn(tx.Now) < 18 {
		return kernel.E(kernel.Invalid, "error.registry.bad_guardian")
	}
	if _, err := tx.Exec(ctx, "INSERT INTO school_guardians (citizen_id, guardian_citizen_id, relation) VALUES (?, ?, ?)", g.CitizenID, g.GuardianCitizenID, string(g.Relation)); err != nil {
		if db.IsUniqueViolation(err) {
			return kernel.E(kernel.Conflict, "error.registry.duplicate_guardian").WithCause(err)
		}
		return kernel.Wrap(err, "registry: add guardian")
	}
	return nil
}
