package registry

import (
	"slices"
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

// Household is a registered household at one address. JSON: id, unit
// (the commune), address, and, when read from the registry, area_code (its
// residential area) and head_citizen_id (the head of household, chủ hộ),
// both from the head's permanent residence.
type Household struct {
	ID            string `json:"id"`
	UnitCode      string `json:"unit"`
	Address       string `json:"address"`
	AreaCode      string `json:"area_code,omitempty"`
	HeadCitizenID string `json:"head_citizen_id,omitempty"`
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

// Person is an entry of the population registry. JSON: citizen_id,
// full_name, birth_date (YYYY-MM-DD), sex (M or F), household_id, unit
// (the commune of permanent residence), phone, died_on.
type Person struct {
	CitizenID   string `json:"citizen_id"`
	FullName    string `json:"full_name"`
	BirthDate   string `json:"birth_date"` // YYYY-MM-DD
	Sex         Sex    `json:"sex"`
	HouseholdID string `json:"household_id"`
	UnitCode    string `json:"unit"` // permanent residence (commune)
	// Phone is empty for people who have no phone of their own (often the
	// elderly, and people of remote villages): ContactPhone finds their
	// household's.
	Phone string `json:"phone,omitempty"`
	// DiedOn is the day of death (YYYY-MM-DD) once a death is registered;
	// the person stays in the registry, since other records refer to them.
	DiedOn string `json:"died_on,omitempty"`
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
	if err := validIdentity(p.CitizenID, p.FullName, p.BirthDate, p.Sex); err != nil {
		return err
	}
	if p.Phone != "" && !validPhone(p.Phone) {
		return kernel.E(kernel.Invalid, "error.registry.bad_phone")
	}
	if p.HouseholdID == "" || p.UnitCode == "" {
		return kernel.E(kernel.Invalid, "error.invalid")
	}
	if p.DiedOn != "" {
		if _, err := time.Parse(DateLayout, p.DiedOn); err != nil || p.DiedOn < p.BirthDate {
			return kernel.E(kernel.Invalid, "error.registry.bad_death")
		}
	}
	return nil
}

// validIdentity checks the fields a person is identified by: the birth
// date, the sex, the citizen ID agreeing with both, and the name.
func validIdentity(citizenID, fullName, birthDate string, sex Sex) error {
	born, err := time.Parse(DateLayout, birthDate)
	if err != nil {
		return kernel.E(kernel.Invalid, "error.registry.bad_birth_date")
	}
	if sex != Male && sex != Female {
		return kernel.E(kernel.Invalid, "error.registry.bad_sex")
	}
	if err := CheckCitizenID(citizenID, born, sex); err != nil {
		return err
	}
	if !validName(fullName) {
		return kernel.E(kernel.Invalid, "error.registry.bad_name")
	}
	return nil
}

// AgencyKind says what an agency does. A kind names the same function at
// every level: the unit an agency is seated in says whether it is the
// province's, a district's or a commune's (a people's committee of a
// district is a PeopleCommittee seated in the district).
type AgencyKind string

// The agency kinds. Wallet document types name the kinds that may issue
// them, so a kind, once used, is never renamed.
const (
	PeopleCommittee AgencyKind = "people_committee" // Ủy ban nhân dân, at every level
	Police          AgencyKind = "police"           // Công an tỉnh, huyện, xã
	// CivilStatus is the justice department and the district justice
	// offices (Sở, Phòng Tư pháp), which keep the civil-status registry.
	CivilStatus     AgencyKind = "civil_status"
	SocialInsurance AgencyKind = "social_insurance" // Bảo hiểm xã hội
	Tax             AgencyKind = "tax"              // Cục, Chi cục Thuế
	ServiceCentre   AgencyKind = "service_centre"   // Trung tâm Phục vụ hành chính công, one-stop desks
	// Education is the department and the district offices of education
	// and training (Sở, Phòng Giáo dục và Đào tạo).
	Education AgencyKind = "education"
	Health    AgencyKind = "health" // Sở Y tế, district health centres
	// NaturalResources is the department and the district offices of
	// natural resources and environment (Tài nguyên và Môi trường).
	NaturalResources AgencyKind = "natural_resources"
	Transport        AgencyKind = "transport"    // Sở Giao thông vận tải
	Construction     AgencyKind = "construction" // Sở Xây dựng
	// Labour is labour, war invalids and social affairs (Lao động -
	// Thương binh và Xã hội).
	Labour AgencyKind = "labour"
	// Information is information and communications (Thông tin và
	// Truyền thông), which runs the province's digital transformation.
	Information AgencyKind = "information"
	// PlanningInvestment is the department of planning and investment (Sở
	// Kế hoạch và Đầu tư), which keeps the business registry.
	PlanningInvestment AgencyKind = "planning_investment"
	HomeAffairs        AgencyKind = "home_affairs" // Sở Nội vụ: units, agencies and officials
	// LandRegistration is the land registration office (Văn phòng Đăng ký
	// đất đai) and its district branches, which keep the land registry.
	LandRegistration AgencyKind = "land_registration"
	Environment      AgencyKind = "environment" // Chi cục Bảo vệ môi trường
	SchoolAgency     AgencyKind = "school"      // a public school; its level and classes are in the school registry
)

// agencyKinds is every kind Validate accepts.
var agencyKinds = map[AgencyKind]bool{
	PeopleCommittee: true, Police: true, CivilStatus: true, SocialInsurance: true, Tax: true, ServiceCentre: true,
	Education: true, Health: true, NaturalResources: true, Transport: true, Construction: true, Labour: true,
	Information: true, PlanningInvestment: true, HomeAffairs: true, LandRegistration: true, Environment: true, SchoolAgency: true,
}

// AgencyKinds lists every agency kind, sorted.
func AgencyKinds() []AgencyKind {
	out := make([]AgencyKind, 0, len(agencyKinds))
	for k := range agencyKinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Agency is a public body. Level is its unit's level, filled when read
// from the registry.
type Agency struct {
	Code     string     `json:"code"`
	Name     string     `json:"name"`
	Kind     AgencyKind `json:"kind"`
	UnitCode string     `json:"unit"`
	Level    Level      `json:"level,omitempty"`
}

// Validate checks an agency's fields.
func (a Agency) Validate() error {
	if !agencyKinds[a.Kind] {
		return kernel.E(kernel.Invalid, "error.registry.bad_agency")
	}
	if a.Code == "" || len(a.Code) > 32 || !validName(a.Name) || a.UnitCode == "" {
		return kernel.E(kernel.Invalid, "error.registry.bad_agency")
	}
	return nil
}

// Role is an official's function in an agency.
type Role string

// The roles. Identity and the PKI read them (who may enrol, the title in a
// certificate), so a role, once used, is never renamed.
const (
	Chairman       Role = "chairman"      // the leader of a people's committee
	ViceChairman   Role = "vice_chairman" // a deputy leader of a people's committee
	OneStopOfficer Role = "one_stop_officer"
	CivilClerk     Role = "civil_status_clerk"
	PoliceOfficer  Role = "police_officer"
	Officer        Role = "officer"
	Director       Role = "director"        // the leader of a department, office or centre
	DeputyDirector Role = "deputy_director" // a deputy leader of a department, office or centre
	OfficeHead     Role = "office_head"     // Chánh Văn phòng: heads the agency's office, routes documents
	DepartmentHead Role = "department_head" // Trưởng phòng: heads a division inside the agency
	RecordsClerk   Role = "records_clerk"   // văn thư: registers, numbers and dispatches documents
	Specialist     Role = "specialist"      // chuyên viên: drafts and handles cases
	Principal      Role = "principal"       // Hiệu trưởng of a school
	VicePrincipal  Role = "vice_principal"
	Teacher        Role = "teacher"
	// RapidResponse is a member of a rapid-response team (tổ phản ứng
	// nhanh), which acts on citizens' reports.
	RapidResponse Role = "rapid_response"
	// CommunityTech is a member of a community digital technology team
	// (tổ công nghệ số cộng đồng), which helps residents use the services.
	CommunityTech Role = "community_tech"
)

// roleTitles are the roles' titles in Vietnamese, the official language.
var roleTitles = map[Role]string{
	Chairman: "Chủ tịch", ViceChairman: "Phó Chủ tịch", OneStopOfficer: "Công chức Bộ phận Một cửa",
	CivilClerk: "Công chức Tư pháp - Hộ tịch", PoliceOfficer: "Cán bộ Công an", Officer: "Cán bộ",
	Director: "Giám đốc", DeputyDirector: "Phó Giám đốc", OfficeHead: "Chánh Văn phòng", DepartmentHead: "Trưởng phòng",
	RecordsClerk: "Văn thư", Specialist: "Chuyên viên", Principal: "Hiệu trưởng", VicePrincipal: "Phó Hiệu trưởng",
	Teacher: "Giáo viên", RapidResponse: "Thành viên Tổ phản ứng nhanh", CommunityTech: "Thành viên Tổ công nghệ số cộng đồng",
}

// Title is the role's title in Vietnamese, as a certificate or a signed
// document prints it.
func (r Role) Title() string { return roleTitles[r] }

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
	if _, ok := roleTitles[o.Role]; !ok {
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
