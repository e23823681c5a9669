package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The changes the portal's procedures make that the other files have no
// function for, each in the caller's transaction.

// IssueChildInsuranceCard records the health-insurance card of a child
// under six (participant group TE, paid by the state), valid from day
// until the day before the child's sixth birthday, with first care at
// hospital. A child holding a card already is a Conflict.
func IssueChildInsuranceCard(ctx context.Context, tx *db.Tx, citizenID, hospital, day string) (InsuranceCard, error) {
	p, err := findPerson(ctx, tx, citizenID)
	if err != nil {
		return InsuranceCard{}, err
	}
	if p.DiedOn != "" {
		return InsuranceCard{}, kernel.E(kernel.Conflict, "error.registry.person_deceased")
	}
	born, err := time.Parse(DateLayout, p.BirthDate)
	if err != nil {
		return InsuranceCard{}, kernel.E(kernel.Invalid, "error.registry.bad_birth_date")
	}
	until := born.AddDate(6, 0, -1).Format(DateLayout)
	if day > until {
		return InsuranceCard{}, kernel.E(kernel.Invalid, "portal.error.not_under_six")
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM insurance_cards WHERE citizen_id = ?", citizenID).Scan(&n); err != nil {
		return InsuranceCard{}, kernel.Wrap(err, "registry: read cards")
	}
	if n > 0 {
		return InsuranceCard{}, kernel.E(kernel.Conflict, "portal.error.card_exists")
	}
	c := InsuranceCard{CitizenID: citizenID, Hospital: hospital, BenefitLevel: "1 (100%)", ValidFrom: day, ValidTo: until, Participation: "TE"}
	for range 64 {
		v, err := rand.Int(rand.Reader, big.NewInt(10_000_000_000))
		if err != nil {
			return InsuranceCard{}, kernel.Wrap(err, "registry: draw card number")
		}
		c.CardNumber = fmt.Sprintf("%010d", v.Int64())
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM insurance_cards WHERE card_number = ?", c.CardNumber).Scan(&n); err != nil {
			return InsuranceCard{}, kernel.Wrap(err, "registry: read cards")
		}
		if n == 0 {
			break
		}
	}
	if err := c.Validate(); err != nil {
		return InsuranceCard{}, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO insurance_cards ("+insuranceColumns+") VALUES (?, ?, ?, ?, ?, ?)",
		c.CardNumber, c.CitizenID, c.Hospital, c.BenefitLevel, c.ValidFrom, c.ValidTo); err != nil {
		if db.IsUniqueViolation(err) {
			return InsuranceCard{}, kernel.E(kernel.Conflict, "error.registry.concurrent_change").WithCause(err)
		}
		return InsuranceCard{}, kernel.Wrap(err, "registry: insert card")
	}
	if _, err := tx.Exec(ctx, "INSERT INTO insurance_participations (card_number, kind) VALUES (?, ?)", c.CardNumber, c.Participation); err != nil {
		return InsuranceCard{}, kernel.Wrap(err, "registry: insert participation")
	}
	return c, nil
}

// EndPermanentResidence ends a person's open permanent residence on day
// (xóa đăng ký thường trú). It reports whether there was one: a person
// whose residence ended already (at death) is no error.
func EndPermanentResidence(ctx context.Context, tx *db.Tx, citizenID, day string) (bool, error) {
	if _, err := findPerson(ctx, tx, citizenID); err != nil {
		return false, err
	}
	if _, err := time.Parse(DateLayout, day); err != nil {
		return false, kernel.E(kernel.Invalid, "error.registry.bad_residence")
	}
	res, err := tx.Exec(ctx, `UPDATE residences SET until_date = CASE WHEN from_date > ? THEN from_date ELSE ? END
		WHERE citizen_id = ? AND kind = 'permanent' AND (until_date = '' OR until_date > ?)`, day, day, citizenID, day)
	if err != nil {
		return false, kernel.Wrap(err, "registry: end residence")
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// HasPermanentResidenceIn reports whether a person's open permanent
// residence is in the household.
func HasPermanentResidenceIn(ctx context.Context, tx *db.Tx, citizenID, householdID string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM residences WHERE citizen_id = ? AND household_id = ? AND kind = 'permanent' AND until_date = ''`,
		citizenID, householdID).Scan(&n)
	if err != nil {
		return false, kernel.Wrap(err, "registry: read residence")
	}
	return n > 0, nil
}

// RegisterVehicle records a vehicle and its owner, a living person of the
// registry; the plate is normalised. A plate registered already is a
// Conflict.
func RegisterVehicle(ctx context.Context, tx *db.Tx, v Vehicle) (Vehicle, error) {
	p, err := NormalisePlate(v.Plate)
	if err != nil {
		return v, err
	}
	v.Plate = p
	if err := v.Validate(); err != nil {
		return v, err
	}
	if err := livingPerson(ctx, tx, v.OwnerCitizenID); err != nil {
		return v, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO vehicles ("+vehicleColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		v.Plate, v.OwnerCitizenID, v.Make, v.Model, v.Colour, v.RegisteredOn, v.FrameNumber, v.EngineNumber); err != nil {
		if db.IsUniqueViolation(err) {
			return v, kernel.E(kernel.Conflict, "error.registry.duplicate_plate").WithCause(err)
		}
		return v, kernel.Wrap(err, "registry: insert vehicle")
	}
	return v, nil
}

// NextHouseholdRegNumber draws a free registration number for a household
// business registered by the district's agency ("990A8001234").
func NextHouseholdRegNumber(ctx context.Context, tx *db.Tx, districtCode string) (string, error) {
	if len(districtCode) != 3 || !isDigits(districtCode) {
		return "", kernel.E(kernel.Invalid, "error.registry.bad_unit")
	}
	for range 64 {
		v, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", kernel.Wrap(err, "registry: draw number")
		}
		n := fmt.Sprintf("%sA8%06d", districtCode, v.Int64())
		var taken string
		err = tx.QueryRow(ctx, "SELECT reg_number FROM household_businesses WHERE reg_number = ?", n).Scan(&taken)
		if errors.Is(err, sql.ErrNoRows) {
			return n, nil
		}
		if err != nil {
			return "", kernel.Wrap(err, "registry: read household businesses")
		}
	}
	return "", kernel.E(kernel.Conflict, "error.registry.concurrent_change")
}

// NextLandCertificateNumber draws a free certificate number of a series
// ("DA 123456").
func NextLandCertificateNumber(ctx context.Context, tx *db.Tx, series string) (string, error) {
	for range 64 {
		v, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", kernel.Wrap(err, "registry: draw number")
		}
		n := fmt.Sprintf("%s %06d", series, v.Int64())
		if !certificateRE.MatchString(n) {
			return "", kernel.E(kernel.Invalid, "error.registry.bad_certificate")
		}
		var taken string
		err = tx.QueryRow(ctx, "SELECT number FROM land_certificates WHERE number = ?", n).Scan(&taken)
		if errors.Is(err, sql.ErrNoRows) {
			return n, nil
		}
		if err != nil {
			return "", kernel.Wrap(err, "registry: read certificates")
		}
	}
	return "", kernel.E(kernel.Conflict, "error.registry.concurrent_change")
}
