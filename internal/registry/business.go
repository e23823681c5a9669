package registry

import (
	"context"
	"fmt"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Business is an entry of the business registry: an enterprise and its
// legal representative.
type Business struct {
	RegNumber         string `json:"reg_number"` // enterprise code, 10 digits
	Name              string `json:"name"`
	LegalRepCitizenID string `json:"legal_rep"`
	UnitCode          string `json:"unit"`
	RegisteredOn      string `json:"registered_on"` // YYYY-MM-DD
}

// Validate checks a business's fields.
func (b Business) Validate() error {
	if !ValidRegNumber(b.RegNumber) || !validName(b.Name) || b.UnitCode == "" {
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

// ValidRegNumber reports whether s has the form of an enterprise code: 10 digits.
func ValidRegNumber(s string) bool { return len(s) == 10 && isDigits(s) }

const businessColumns = "reg_number, name, legal_rep_citizen_id, unit_code, registered_on"

func scanBusiness(sc interface{ Scan(...any) error }) (Business, error) {
	var b Business
	err := sc.Scan(&b.RegNumber, &b.Name, &b.LegalRepCitizenID, &b.UnitCode, &b.RegisteredOn)
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

// AddBusinesses writes businesses in one transaction, validating each.
func (s *Service) AddBusinesses(ctx context.Context, bs []Business) error {
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		for _, b := range bs {
			if err := b.Validate(); err != nil {
				return fmt.Errorf("registry: business %s: %w", b.RegNumber, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO businesses ("+businessColumns+") VALUES (?, ?, ?, ?, ?)",
				b.RegNumber, b.Name, b.LegalRepCitizenID, b.UnitCode, b.RegisteredOn); err != nil {
				return kernel.Wrap(err, "registry: insert business %s", b.RegNumber)
			}
		}
		return nil
	})
}

// AgenciesIn returns the agencies seated in a unit.
func (s *Service) AgenciesIn(ctx context.Context, unitCode string) ([]Agency, error) {
	return list(ctx, s.db, scanAgency, "agencies",
		"SELECT "+agencyColumns+" FROM agencies WHERE unit_code = ? ORDER BY code", unitCode)
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
