package registry

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// EnterpriseKind is an enterprise's legal form (loại hình doanh nghiệp).
type EnterpriseKind string

// The legal forms of the Law on Enterprises, and cooperatives.
const (
	SingleMemberLLC EnterpriseKind = "llc_single"  // Công ty TNHH một thành viên
	MultiMemberLLC  EnterpriseKind = "llc_multi"   // Công ty TNHH hai thành viên trở lên
	JointStock      EnterpriseKind = "joint_stock" // Công ty cổ phần
	Partnership     EnterpriseKind = "partnership" // Công ty hợp danh
	PrivateFirm     EnterpriseKind = "private"     // Doanh nghiệp tư nhân
	Cooperative     EnterpriseKind = "cooperative" // Hợp tác xã
)

// BusinessStatus is an enterprise's or household business's standing.
type BusinessStatus string

// The statuses of a registered business.
const (
	Active    BusinessStatus = "active"
	Suspended BusinessStatus = "suspended" // tạm ngừng kinh doanh
	Dissolved BusinessStatus = "dissolved" // giải thể
)

// Business is an entry of the business registry: an enterprise and its
// legal representative. JSON: reg_number (the enterprise code, also its
// tax code), name, legal_rep (the legal representative's citizen ID),
// unit (the commune of its seat), registered_on, kind (EnterpriseKind),
// address, activity (the main line, a VSIC code and name: "4711 Bán lẻ
// lương thực..."), status (active, suspended, dissolved), agency (the
// registering agency). Entries older than the kind may lack kind,
// address, activity and agency.
type Business struct {
	RegNumber         string         `json:"reg_number"` // enterprise code, 10 digits
	Name              string         `json:"name"`
	LegalRepCitizenID string         `json:"legal_rep"`
	UnitCode          string         `json:"unit"`
	RegisteredOn      string         `json:"registered_on"` // YYYY-MM-DD
	Kind              EnterpriseKind `json:"kind,omitempty"`
	Address           string         `json:"address,omitempty"`
	Activity          string         `json:"activity,omitempty"`
	Status            BusinessStatus `json:"status,omitempty"`
	AgencyCode        string         `json:"agency,omitempty"`
}

var enterpriseKinds = map[EnterpriseKind]bool{SingleMemberLLC: true, MultiMemberLLC: true, JointStock: true, Partnership: true, PrivateFirm: true, Cooperative: true}

// Validate checks a business's fields.
func (b Business) Validate() error {
	if !ValidRegNumber(b.RegNumber) || !validName(b.Name) || b.UnitCode == "" ||
		b.Kind != "" && !enterpriseKinds[b.Kind] || !optionalName(b.Address) || !optionalName(b.Activity) || !validStatus(b.Status) {
		return kernel.E(kernel.Invalid, "error.registry.bad_business")
	}
	if _, err := ParseCitizenID(b.LegalRepCitizenID); err != nil {
		return err
	}
	if _, err := time.Parse(DateLayout, b.RegisteredOn); err != nil {
		return kernel.E(kernel.Invalid, "error.registry.bad_business")
	}
	return nil
}

func validStatus(s BusinessStatus) bool {
	return s == "" || s == Active || s == Suspended || s == Dissolved
}

// ValidRegNumber reports whether s has the form of an enterprise code: 10 digits.
func ValidRegNumber(s string) bool { return len(s) == 10 && isDigits(s) }

const businessColumns = "reg_number, name, legal_rep_citizen_id, unit_code, registered_on, kind, address, activity, status, agency_code"

func scanBusiness(sc interface{ Scan(...any) error }) (Business, error) {
	var b Business
	err := sc.Scan(&b.RegNumber, &b.Name, &b.LegalRepCitizenID, &b.UnitCode, &b.RegisteredOn, &b.Kind, &b.Address, &b.Activity, &b.Status, &b.AgencyCode)
	return b, err
}

// Business returns the business registry's entry for an enterprise code.
func (s *Service) Business(ctx context.Context, regNumber string) (Business, error) {
	if !ValidRegNumber(regNumber) {
		return Business{}, kernel.E(kernel.Invalid, "error.registry.bad_reg_number")
	}
	return one(s.db.QueryRow(ctx, "SELECT "+businessColumns+" FROM businesses WHERE reg_number = ?", regNumber),
		scanBusiness, "error.registry.business_not_found", "business")
}

// BusinessesOf returns the businesses whose legal representative is citizenID.
func (s *Service) BusinessesOf(ctx context.Context, citizenID string) ([]Business, error) {
	return list(ctx, s.db, scanBusiness, "businesses",
		"SELECT "+businessColumns+" FROM businesses WHERE legal_rep_citizen_id = ? ORDER BY reg_number", citizenID)
}

// ListBusinesses lists enterprises by code, after p.After.
func (s *Service) ListBusinesses(ctx context.Context, p kernel.Page) ([]Business, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanBusiness, "businesses", "SELECT "+businessColumns+" FROM businesses WHERE reg_number > ? ORDER BY reg_number LIMIT ?", p.After, p.Limit)
}

// AddBusinesses writes businesses in one transaction, validating each.
func (s *Service) AddBusinesses(ctx context.Context, bs []Business) error {
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		stmt, err := tx.Prepare(ctx, "INSERT INTO businesses ("+businessColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		if err != nil {
			return kernel.Wrap(err, "registry: prepare business")
		}
		defer stmt.Close()
		for _, b := range bs {
			if err := b.Validate(); err != nil {
				return fmt.Errorf("registry: business %s: %w", b.RegNumber, err)
			}
			if _, err := stmt.ExecContext(ctx,
				b.RegNumber, b.Name, b.LegalRepCitizenID, b.UnitCode, b.RegisteredOn, string(b.Kind), b.Address, b.Activity,
				string(cmp.Or(b.Status, Active)), b.AgencyCode); err != nil {
				return kernel.Wrap(err, "registry: insert business %s", b.RegNumber)
			}
		}
		return nil
	})
}

// HouseholdBusiness is a household business (hộ kinh doanh), registered
// with the district's people's committee. JSON: reg_number (the district
// code, "A8" and six digits: 990A8000123), name, owner (the citizen ID of
// the household member who registered it), unit (its commune), address,
// activity, registered_on, agency, status.
type HouseholdBusiness struct {
	RegNumber      string         `json:"reg_number"`
	Name           string         `json:"name"`
	OwnerCitizenID string         `json:"owner"`
	UnitCode       string         `json:"unit"`
	Address        string         `json:"address"`
	Activity       string         `json:"activity"`
	RegisteredOn   string         `json:"registered_on"`
	AgencyCode     string         `json:"agency"`
	Status         BusinessStatus `json:"status"`
}

var householdRegRE = regexp.MustCompile(`^[0-9]{3}A8[0-9]{6}$`)

// ValidHouseholdRegNumber reports whether s has the form of a household
// business's registration number.
func ValidHouseholdRegNumber(s string) bool { return householdRegRE.MatchString(s) }

// Validate checks a household business's fields.
func (h HouseholdBusiness) Validate() error {
	if !ValidHouseholdRegNumber(h.RegNumber) || !validName(h.Name) || !isDigits(h.UnitCode) || !validName(h.Address) ||
		!validName(h.Activity) || h.AgencyCode == "" || h.Status == "" || !validStatus(h.Status) {
		return kernel.E(kernel.Invalid, "error.registry.bad_business")
	}
	if _, err := ParseCitizenID(h.OwnerCitizenID); err != nil {
		return err
	}
	if _, err := time.Parse(DateLayout, h.RegisteredOn); err != nil {
		return kernel.E(kernel.Invalid, "error.registry.bad_business")
	}
	return nil
}

const householdBusinessColumns = "reg_number, name, owner_citizen_id, unit_code, address, activity, registered_on, agency_code, status"

func scanHouseholdBusiness(sc interface{ Scan(...any) error }) (HouseholdBusiness, error) {
	var h HouseholdBusiness
	err := sc.Scan(&h.RegNumber, &h.Name, &h.OwnerCitizenID, &h.UnitCode, &h.Address, &h.Activity, &h.RegisteredOn, &h.AgencyCode, &h.Status)
	return h, err
}

func householdBusinessRow(h *HouseholdBusiness) []any {
	return []any{h.RegNumber, h.Name, h.OwnerCitizenID, h.UnitCode, h.Address, h.Activity, h.RegisteredOn, h.AgencyCode, string(h.Status)}
}

// HouseholdBusiness returns a household business by registration number.
func (s *Service) HouseholdBusiness(ctx context.Context, regNumber string) (HouseholdBusiness, error) {
	if !ValidHouseholdRegNumber(regNumber) {
		return HouseholdBusiness{}, kernel.E(kernel.Invalid, "error.registry.bad_reg_number")
	}
	return one(s.db.QueryRow(ctx, "SELECT "+householdBusinessColumns+" FROM household_businesses WHERE reg_number = ?", regNumber),
		scanHouseholdBusiness, "error.registry.business_not_found", "household business")
}

// HouseholdBusinessesOf returns the household businesses a person registered.
func (s *Service) HouseholdBusinessesOf(ctx context.Context, citizenID string) ([]HouseholdBusiness, error) {
	return list(ctx, s.db, scanHouseholdBusiness, "household businesses",
		"SELECT "+householdBusinessColumns+" FROM household_businesses WHERE owner_citizen_id = ? ORDER BY reg_number", citizenID)
}

// ListHouseholdBusinesses lists household businesses by number, after p.After.
func (s *Service) ListHouseholdBusinesses(ctx context.Context, p kernel.Page) ([]HouseholdBusiness, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanHouseholdBusiness, "household businesses",
		"SELECT "+householdBusinessColumns+" FROM household_businesses WHERE reg_number > ? ORDER BY reg_number LIMIT ?", p.After, p.Limit)
}

// RegisterHouseholdBusiness registers a household business in the
// caller's transaction (the portal's procedure): the owner must be a
// living person of the registry and the agency a district's people's
// committee; the number is the next of the district's series.
func RegisterHouseholdBusiness(ctx context.Context, tx *db.Tx, h HouseholdBusiness) (HouseholdBusiness, error) {
	h.Status, h.RegisteredOn = Active, tx.Now.In(kernel.Zone()).Format(DateLayout)
	a, err := one(tx.QueryRow(ctx, agencySelect+"WHERE a.code = ?", h.AgencyCode), scanAgency, "error.registry.agency_not_found", "agency")
	if err != nil {
		return h, err
	}
	if a.Kind != PeopleCommittee || a.Level != District {
		return h, kernel.E(kernel.Forbidden, "error.registry.agency_cannot_register")
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM household_businesses WHERE reg_number LIKE ?", a.UnitCode+"A8%").Scan(&n); err != nil {
		return h, kernel.Wrap(err, "registry: number household business")
	}
	h.RegNumber = fmt.Sprintf("%sA8%06d", a.UnitCode, n+1)
	if err := h.Validate(); err != nil {
		return h, err
	}
	if err := livingPerson(ctx, tx, h.OwnerCitizenID); err != nil {
		return h, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO household_businesses ("+householdBusinessColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", householdBusinessRow(&h)...); err != nil {
		if db.IsUniqueViolation(err) {
			return h, kernel.E(kernel.Conflict, "error.registry.concurrent_change").WithCause(err)
		}
		return h, kernel.Wrap(err, "registry: insert household business")
	}
	return h, nil
}

// AgenciesIn returns the agencies seated in a unit.
func (s *Service) AgenciesIn(ctx context.Context, unitCode string) ([]Agency, error) {
	return list(ctx, s.db, scanAgency, "agencies",
		agencySelect+"WHERE a.unit_code = ? ORDER BY a.code", unitCode)
}

// AgencyServing returns the agency of a kind that serves a unit: the one
// seated in the unit itself or, failing that, in the nearest unit above it
// (a commune's land matters go to its district's branch of the land
// registration office, or to the province's office). NotFound when no unit
// up to the province has one; of several in one unit, the first by code.
func (s *Service) AgencyServing(ctx context.Context, kind AgencyKind, unitCode string) (Agency, error) {
	for i := 0; i < 8 && unitCode != ""; i++ {
		a, err := one(s.db.QueryRow(ctx, agencySelect+"WHERE a.unit_code = ? AND a.kind = ? ORDER BY a.code LIMIT 1", unitCode, string(kind)),
			scanAgency, "error.registry.agency_not_found", "agency")
		if kernel.ErrorCode(err) != kernel.NotFound {
			return a, err
		}
		u, err := s.Unit(ctx, unitCode)
		if err != nil {
			return Agency{}, err
		}
		unitCode = u.ParentCode
	}
	return Agency{}, kernel.E(kernel.NotFound, "error.registry.agency_not_found")
}

// Within reports whether unit lies inside area (or is area), walking up the
// unit tree: a commune is within its district and its province.
func (s *Service) Within(ctx context.Context, unit, area string) (bool, error) {
	for i := 0; i < 8 && unit != ""; i++ {
		if unit == area {
			return true, nil
		}
		u, err := s.Unit(ctx, unit)
		if kernel.ErrorCode(err) == kernel.NotFound {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		unit = u.ParentCode
	}
	return false, nil
}
