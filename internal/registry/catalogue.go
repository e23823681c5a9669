package registry

import (
	"context"

	"civitas/internal/kernel"
)

// The registries civitas keeps, by code. The exchange names its services
// after them ("insurance.card", "business.enterprise").
const (
	RegistryUnits       = "units"        // administrative units, boundaries, residential areas
	RegistryAgencies    = "agencies"     // agencies and their officials
	RegistryPopulation  = "population"   // persons
	RegistryResidence   = "residence"    // households, permanent and temporary residence
	RegistryCivilStatus = "civil_status" // births, deaths, marriages
	RegistryLand        = "land"         // parcels, owners, certificates
	RegistryInsurance   = "insurance"    // health-insurance cards and participation
	RegistryBusiness    = "business"     // enterprises and household businesses
	RegistryVehicles    = "vehicles"     // road vehicles
	RegistrySchools     = "schools"      // schools, classes, pupils, guardians
)

// Registry is an entry of the catalogue of registries: which agency owns
// (keeps and answers for) each. JSON: code, name, agency.
type Registry struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	AgencyCode string `json:"agency"`
}

// Validate checks a catalogue entry's fields.
func (r Registry) Validate() error {
	if r.Code == "" || len(r.Code) > 32 || !validName(r.Name) || r.AgencyCode == "" {
		return kernel.E(kernel.Invalid, "error.registry.bad_registry")
	}
	return nil
}

const registryColumns = "code, name, agency_code"

func scanRegistry(sc interface{ Scan(...any) error }) (Registry, error) {
	var r Registry
	err := sc.Scan(&r.Code, &r.Name, &r.AgencyCode)
	return r, err
}

// Registries lists the catalogue of registries by code.
func (s *Service) Registries(ctx context.Context) ([]Registry, error) {
	return list(ctx, s.db, scanRegistry, "registries", "SELECT "+registryColumns+" FROM registry_catalogue ORDER BY code")
}

// RegistryOwner returns the agency owning a registry.
func (s *Service) RegistryOwner(ctx context.Context, code string) (Agency, error) {
	return one(s.db.QueryRow(ctx, agencySelect+"JOIN registry_catalogue r ON r.agency_code = a.code WHERE r.code = ?", code),
		scanAgency, "error.registry.registry_not_found", "registry owner")
}
