package registry

import (
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/kernel"
)

// Level is the tier of an administrative unit.
type Level string

// The levels.
const (
	Province Level = "province"
	District Level = "district"
	Commune  Level = "commune" // communes, wards and towns
)

// Unit is an administrative unit.
type Unit struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Level      Level  `json:"level"`
	ParentCode string `json:"parent_code,omitempty"`
}

// Validate checks a unit's fields.
func (u Unit) Validate() error {
	switch {
	case !isDigits(u.Code) || len(u.Code) < 2 || len(u.Code) > 5:
		return kernel.E(kernel.Invalid, "error.registry.bad_unit")
	case !validName(u.Name):
		return kernel.E(kernel.Invalid, "error.registry.bad_name")
	case u.Level != Province && u.Level != District && u.Level != Commune:
		return kernel.E(kernel.Invalid, "error.registry.bad_unit")
	case (u.Level == Province) != (u.ParentCode == ""):
		return kernel.E(kernel.Invalid, "error.registry.bad_unit")
	}
	return nil
}

// Household is a registered household at one address.
type Household struct {
	ID       string `json:"id"`
	UnitCode string `json:"unit"`
	Address  string `json:"address"`
}

// Sex as recorded in the population registry.
type Sex string

// The sexes.
const (
	Male   Sex = "M"
	Female Sex = "F"
)

// DateLayout is how birth dates are written and stored.
const DateLayout = "2006-01-02"

// Person is an entry of the population registry.
type Person struct {
	CitizenID   string `json:"citizen_id"`
	FullName    string `json:"full_name"`
	BirthDate   string `json:"birth_date"` // YYYY-MM-DD
	Sex         Sex    `json:"sex"`
	HouseholdID string `json:"household_id"`
	UnitCode    string `json:"unit"` // permanent residence (commune)
	// Phone is empty for people who have no phone of their own (often the elderly).
	Phone string `json:"phone,omitempty"`
}

// Born returns the birth date.
func (p Person) Born() (time.Time, error) {
	t, err := time.Parse(DateLayout, p.BirthDate)
	if err != nil {
		return time.Time{}, kernel.E(kernel.Invalid, "error.registry.bad_birth_date")
	}
	return t, nil
}

// AgeOn returns the person's age in whole years on day t.
func (p Person) AgeOn(t time.Time) int {
	b, err := p.Born()
	if err != nil {
		return 0
	}
	age := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		age--
	}
	return age
}

// Validate checks a person's fields, including that the citizen ID agrees
// with the birth date and sex.
func (p Person) Validate() error {
	born, err := p.Born()
	if err != nil {
		return err
	}
	if p.Sex != Male && p.Sex != Female {
		return kernel.E(kernel.Invalid, "error.registry.bad_sex")
	}
	if err := CheckCitizenID(p.CitizenID, born, p.Sex); err != nil {
		return err
	}
	if !validName(p.FullName) {
		return kernel.E(kernel.Invalid, "error.registry.bad_name")
	}
	if p.Phone != "" && !validPhone(p.Phone) {
		return kernel.E(kernel.Invalid, "error.registry.bad_phone")
	}
	if p.HouseholdID == "" || p.UnitCode == "" {
		return kernel.E(kernel.Invalid, "error.invalid")
	}
	return nil
}

// AgencyKind says what an agency does.
type AgencyKind string

// The agency kinds.
const (
	PeopleCommittee AgencyKind = "people_committee"
	Police          AgencyKind = "police"
	CivilStatus     AgencyKind = "civil_status"
	SocialInsurance AgencyKind = "social_insurance"
	Tax             AgencyKind = "tax"
	ServiceCentre   AgencyKind = "service_centre"
)

// Agency is a public body.
type Agency struct {
	Code     string     `json:"code"`
	Name     string     `json:"name"`
	Kind     AgencyKind `json:"kind"`
	UnitCode string     `json:"unit"`
}

// Validate checks an agency's fields.
func (a Agency) Validate() error {
	switch a.Kind {
	case PeopleCommittee, Police, CivilStatus, SocialInsurance, Tax, ServiceCentre:
	default:
		return kernel.E(kernel.Invalid, "error.registry.bad_agency")
	}
	if a.Code == "" || len(a.Code) > 32 || !validName(a.Name) || a.UnitCode == "" {
		return kernel.E(kernel.Invalid, "error.registry.bad_agency")
	}
	return nil
}

// Role is an official's function in an agency.
type Role string

// The roles.
const (
	Chairman       Role = "chairman"
	ViceChairman   Role = "vice_chairman"
	OneStopOfficer Role = "one_stop_officer"
	CivilClerk     Role = "civil_status_clerk"
	PoliceOfficer  Role = "police_officer"
	Officer        Role = "officer"
	Director       Role = "director"
)

// Official is a person holding a role in an agency.
type Official struct {
	ID         string `json:"id"`
	CitizenID  string `json:"citizen_id"`
	AgencyCode string `json:"agency"`
	Role       Role   `json:"role"`
}

// Validate checks an official's fields.
func (o Official) Validate() error {
	if _, err := ParseCitizenID(o.CitizenID); err != nil {
		return err
	}
	switch o.Role {
	case Chairman, ViceChairman, OneStopOfficer, CivilClerk, PoliceOfficer, Officer, Director:
	default:
		return kernel.E(kernel.Invalid, "error.registry.bad_role")
	}
	if o.ID == "" || o.AgencyCode == "" {
		return kernel.E(kernel.Invalid, "error.invalid")
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func validName(s string) bool {
	n := utf8.RuneCountInString(s)
	return n > 0 && n <= 200 && utf8.ValidString(s) && strings.TrimSpace(s) == s && !strings.ContainsAny(s, "\x00\r\n\t")
}

// validPhone accepts Vietnamese mobile numbers: 10 digits starting with 0.
func validPhone(s string) bool {
	return len(s) == 10 && s[0] == '0' && isDigits(s)
}
