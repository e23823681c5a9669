package registry

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Vehicle is an entry of the vehicle registry: a registered road vehicle by
// its number plate, and its owner.
type Vehicle struct {
	Plate          string `json:"plate"` // as NormalisePlate writes it: 99A-123.45
	OwnerCitizenID string `json:"owner"`
	Make           string `json:"make"`  // Honda, Toyota, VinFast
	Model          string `json:"model"` // Wave Alpha, Vios
	Colour         string `json:"colour,omitempty"`
	RegisteredOn   string `json:"registered_on"` // YYYY-MM-DD
	FrameNumber    string `json:"frame_number,omitempty"`
	EngineNumber   string `json:"engine_number,omitempty"`
}

// plateRE reads a Vietnamese number plate, upper-cased: the two-digit
// province code, the series (one or two letters and perhaps a digit: A, LD,
// B1, MĐ), a space or hyphen, and the number: five digits (123.45) or, on
// older plates, four. The series and number must be apart, or "29B11234"
// could be B1-1234 as well as B-112.34.
var plateRE = regexp.MustCompile(`^([0-9]{2})[- ]?([A-ZĐ]{1,2}[0-9]?)(?:[- ]|- )([0-9]{3})\.?([0-9]{2})$|^([0-9]{2})[- ]?([A-ZĐ]{1,2}[0-9]?)(?:[- ]|- )([0-9]{4})$`)

// NormalisePlate checks the form of a number plate and writes it the one way
// the registry stores it: upper case, province code and series together, a
// hyphen, and a five-digit number as 123.45 ("99a 12345" is "99A-123.45",
// "29-B1 234.56" is "29B1-234.56").
func NormalisePlate(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 20 {
		return "", kernel.E(kernel.Invalid, "error.registry.bad_plate")
	}
	m := plateRE.FindStringSubmatch(s)
	switch {
	case m == nil:
		return "", kernel.E(kernel.Invalid, "error.registry.bad_plate")
	case m[1] != "":
		return m[1] + m[2] + "-" + m[3] + "." + m[4], nil
	default:
		return m[5] + m[6] + "-" + m[7], nil
	}
}

// Validate checks a vehicle's fields; the plate must be normalised.
func (v Vehicle) Validate() error {
	if p, err := NormalisePlate(v.Plate); err != nil || p != v.Plate {
		return kernel.E(kernel.Invalid, "error.registry.bad_plate")
	}
	if _, err := ParseCitizenID(v.OwnerCitizenID); err != nil {
		return err
	}
	if !validName(v.Make) || !validName(v.Model) || (v.Colour != "" && !validName(v.Colour)) ||
		!validSerial(v.FrameNumber) || !validSerial(v.EngineNumber) {
		return kernel.E(kernel.Invalid, "error.registry.bad_vehicle")
	}
	if _, err := time.Parse(DateLayout, v.RegisteredOn); err != nil {
		return kernel.E(kernel.Invalid, "error.registry.bad_vehicle")
	}
	return nil
}

// validSerial accepts an empty or a frame or engine number: 5 to 20
// upper-case letters and digits.
func validSerial(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 5 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < 'A' || s[i] > 'Z') && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

const vehicleColumns = "plate, owner_citizen_id, make, model, colour, registered_on, frame_number, engine_number"

func scanVehicle(sc interface{ Scan(...any) error }) (Vehicle, error) {
	var v Vehicle
	err := sc.Scan(&v.Plate, &v.OwnerCitizenID, &v.Make, &v.Model, &v.Colour, &v.RegisteredOn, &v.FrameNumber, &v.EngineNumber)
	return v, err
}

// Vehicle returns the vehicle registry's entry for a number plate, written
// any way NormalisePlate reads.
func (s *Service) Vehicle(ctx context.Context, plate string) (Vehicle, error) {
	p, err := NormalisePlate(plate)
	if err != nil {
		return Vehicle{}, err
	}
	return one(s.db.QueryRow(ctx, "SELECT "+vehicleColumns+" FROM vehicles WHERE plate = ?", p),
		scanVehicle, "error.registry.vehicle_not_found", "vehicle")
}

// VehiclesOf returns the vehicles a person owns, by plate; none is an empty
// list, not an error.
func (s *Service) VehiclesOf(ctx context.Context, citizenID string) ([]Vehicle, error) {
	if _, err := ParseCitizenID(citizenID); err != nil {
		return nil, err
	}
	return list(ctx, s.db, scanVehicle, "vehicles",
		"SELECT "+vehicleColumns+" FROM vehicles WHERE owner_citizen_id = ? ORDER BY plate", citizenID)
}

// ListVehicles lists vehicles by plate, after p.After.
func (s *Service) ListVehicles(ctx context.Context, p kernel.Page) ([]Vehicle, error) {
	p = p.Normalize(100)
	return list(ctx, s.db, scanVehicle, "vehicles", "SELECT "+vehicleColumns+" FROM vehicles WHERE plate > ? ORDER BY plate LIMIT ?", p.After, p.Limit)
}

// AddVehicles writes vehicles in one transaction, normalising each plate
// and validating each. Every owner must be in the population registry; a
// plate registered already is a Conflict.
func (s *Service) AddVehicles(ctx context.Context, vs []Vehicle) error {
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		for _, v := range vs {
			p, err := NormalisePlate(v.Plate)
			if err != nil {
				return fmt.Errorf("registry: vehicle: %w", err)
			}
			v.Plate = p
			if err := v.Validate(); err != nil {
				return fmt.Errorf("registry: vehicle: %w", err)
			}
			if err := personExists(ctx, tx, v.OwnerCitizenID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO vehicles ("+vehicleColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				v.Plate, v.OwnerCitizenID, v.Make, v.Model, v.Colour, v.RegisteredOn, v.FrameNumber, v.EngineNumber); err != nil {
				if db.IsUniqueViolation(err) {
					return kernel.E(kernel.Conflict, "error.registry.duplicate_plate").WithCause(err)
				}
				return kernel.Wrap(err, "registry: insert vehicle")
			}
		}
		return nil
	})
}
