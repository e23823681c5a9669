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
// first care, and how much of the cost the fund pays. JSON: card_number,
// citizen_id, hospital, benefit_level, valid_from, valid_to, and
// participation (the participant group, a code of Participations printed
// first on the card: "GD", "HT", ...; empty when not recorded).
type InsuranceCard struct {
	CardNumber string `json:"card_number"` // social-insurance code (mã số BHXH), 10 digits
	CitizenID  string `json:"citizen_id"`
	Hospital   string `json:"hospital"` // where first care is registered
	// BenefitLevel is the benefit level as printed, e.g. "4 (80%)"; empty when not recorded.
	BenefitLevel string `json:"benefit_level,omitempty"`
	ValidFrom    string `json:"valid_from"` // YYYY-MM-DD
	ValidTo      string `json:"valid_to"`   // YYYY-MM-DD, the last day the card is valid
	// Participation is kept beside the card (insurance_participations):
	// bulk loads write cards without it.
	Participation string `json:"participation,omitempty"`
}

// Participations are the participant groups of health insurance (đối
// tượng tham gia, the two letters the card's printed code starts with),
// with their Vietnamese names: who pays the contribution follows from it.
var Participations = map[string]string{
	"DN": "Người lao động làm việc trong doanh nghiệp",
	"HC": "Cán bộ, công chức, viên chức",
	"HT": "Người hưởng lương hưu",
	"CC": "Người có công với cách mạng",
	"BT": "Người hưởng trợ cấp bảo trợ xã hội",
	"HN": "Người thuộc hộ gia đình nghèo",
	"CN": "Người thuộc hộ gia đình cận nghèo",
	"DT": "Người dân tộc thiểu số sống ở vùng đặc biệt khó khăn",
	"TE": "Trẻ em dưới 6 tuổi",
	"HS": "Học sinh",
	"SV": "Sinh viên",
	"GD": "Người tham gia theo hộ gia đình",
}

// Validate checks a card's fields.
func (c InsuranceCard) Validate() error {
	if !ValidInsuranceNumber(c.CardNumber) || !validName(c.Hospital) || (c.BenefitLevel != "" && !validName(c.BenefitLevel)) || len(c.BenefitLevel) > 40 ||
		c.Participation != "" && Participations[c.Participation] == "" {
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

// cardSelect reads cards with their participation; queries add WHERE on
// the alias c.
const cardSelect = `SELECT c.card_number, c.citizen_id, c.hospital, c.benefit_level, c.valid_from, c.valid_to, COALESCE(p.kind, '')
	FROM insurance_cards c LEFT JOIN insurance_participations p ON p.card_number = c.card_number `

func scanInsuranceCard(sc interface{ Scan(...any) error }) (InsuranceCard, error) {
	var c InsuranceCard
	err := sc.Scan(&c.CardNumber, &c.CitizenID, &c.Hospital, &c.BenefitLevel, &c.ValidFrom, &c.ValidTo, &c.Participation)
	return c, err
}

// ListInsuranceCards lists cards by card number, after p.After.
func (s *Service) ListInsuranceCards(ctx context.Context, p kernel.Page) ([]InsuranceCard, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanInsuranceCard, "insurance cards", cardSelect+"WHERE c.card_number > ? ORDER BY c.card_number LIMIT ?", p.After, p.Limit)
}

// InsuranceCard returns the health-insurance card of a person.
func (s *Service) InsuranceCard(ctx context.Context, citizenID string) (InsuranceCard, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return InsuranceCard{}, err
	}
	return one(s.db.QueryRow(ctx, cardSelect+"WHERE c.citizen_id = ?", citizenID),
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
			if c.Participation != "" {
				if _, err := tx.Exec(ctx, "INSERT INTO insurance_participations (card_number, kind) VALUES (?, ?)", c.CardNumber, c.Participation); err != nil {
					return kernel.Wrap(err, "registry: insert participation")
				}
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
