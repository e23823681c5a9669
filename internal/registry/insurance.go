package registry

import (
	"context"
	"fmt"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// InsuranceCard is an entry of the health-insurance registry: the card a
// person holds (one per person), the hospital they are registered with for
// first care, and how much of the cost the fund pays.
type InsuranceCard struct {
	CardNumber string `json:"card_number"` // social-insurance code (mã số BHXH), 10 digits
	CitizenID  string `json:"citizen_id"`
	Hospital   string `json:"hospital"` // where first care is registered
	// BenefitLevel is the benefit level as printed, e.g. "4 (80%)"; empty when not recorded.
	BenefitLevel string `json:"benefit_level,omitempty"`
	ValidFrom    string `json:"valid_from"` // YYYY-MM-DD
	ValidTo      string `json:"valid_to"`   // YYYY-MM-DD, the last day the card is valid
}

// Validate checks a card's fields.
func (c InsuranceCard) Validate() error {
	if !ValidInsuranceNumber(c.CardNumber) || !validName(c.Hospital) || (c.BenefitLevel != "" && !validName(c.BenefitLevel)) || len(c.BenefitLevel) > 40 {
		return kernel.E(kernel.Invalid, "error.registry.bad_insurance_card")
	}
	if _, err := ParseCitizenID(c.CitizenID); err != nil {
		return err
	}
	from, err1 := time.Parse(DateLayout, c.ValidFrom)
	to, err2 := time.Parse(DateLayout, c.ValidTo)
	if err1 != nil || err2 != nil || to.Before(from) {
		return kernel.E(kernel.Invalid, "error.registry.bad_insurance_card")
	}
	return nil
}

// ValidInsuranceNumber reports whether s has the form of a social-insurance
// code: 10 digits.
func ValidInsuranceNumber(s string) bool { return len(s) == 10 && isDigits(s) }

const insuranceColumns = "card_number, citizen_id, hospital, benefit_level, valid_from, valid_to"

func scanInsuranceCard(sc interface{ Scan(...any) error }) (InsuranceCard, error) {
	var c InsuranceCard
	err := sc.Scan(&c.CardNumber, &c.CitizenID, &c.Hospital, &c.BenefitLevel, &c.ValidFrom, &c.ValidTo)
	return c, err
}

// InsuranceCard returns the health-insurance card of a person.
func (s *Service) InsuranceCard(ctx context.Context, citizenID string) (InsuranceCard, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return InsuranceCard{}, err
	}
	return one(s.db.QueryRow(ctx, "SELECT "+insuranceColumns+" FROM insurance_cards WHERE citizen_id = ?", citizenID),
		scanInsuranceCard, "error.registry.insurance_card_not_found", "insurance card")
}

// AddInsuranceCards writes cards in one transaction, validating each. Each
// card's holder must be in the population registry and hold no card yet.
func (s *Service) AddInsuranceCards(ctx context.Context, cards []InsuranceCard) error {
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		for _, c := range cards {
			if err := c.Validate(); err != nil {
				return fmt.Errorf("registry: insurance card: %w", err)
			}
			if err := personExists(ctx, tx, c.CitizenID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO insurance_cards ("+insuranceColumns+") VALUES (?, ?, ?, ?, ?, ?)",
				c.CardNumber, c.CitizenID, c.Hospital, c.BenefitLevel, c.ValidFrom, c.ValidTo); err != nil {
				if db.IsUniqueViolation(err) {
					return kernel.E(kernel.Conflict, "error.registry.duplicate_insurance_card").WithCause(err)
				}
				return kernel.Wrap(err, "registry: insert insurance card")
			}
		}
		return nil
	})
}

// personExists is NotFound when nobody in the population registry has the
// citizen ID: records of other registries refer to persons.
func personExists(ctx context.Context, tx *db.Tx, citizenID string) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM persons WHERE citizen_id = ?", citizenID).Scan(&n); err != nil {
		return kernel.Wrap(err, "registry: person exists")
	}
	if n == 0 {
		return kernel.E(kernel.NotFound, "error.registry.person_not_found")
	}
	return nil
}
