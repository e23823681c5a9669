package portal

import (
	"slices"

	"civitas/internal/registry"
)

// RegistryService is a service of the data exchange a procedure's input
// may name as its source: its code as the exchange names it, the kind of
// agency that keeps the registry behind it, and the fields of its answer
// (the registry's JSON field names). A list service answers several
// records (a person's vehicles, parcels); the applicant picks one.
type RegistryService struct {
	Code     string
	Provider registry.AgencyKind
	List     bool
	Fields   []string
}

// registryServices are the exchange's services over the registries civitas
// keeps (internal/exchange's catalogue: the same codes and field names),
// with the fields their answers hold. The input names of every
// procedure are these field names and wallet type codes: one vocabulary.
var registryServices = []RegistryService{
	{Code: "population.person", Provider: registry.Police,
		Fields: []string{"citizen_id", "full_name", "birth_date", "sex", "household_id", "unit", "phone"}},
	{Code: "residence.household", Provider: registry.Police,
		Fields: []string{"household_id", "unit", "address", "area_code", "head_citizen_id", "members"}},
	{Code: "civil_status.birth", Provider: registry.CivilStatus,
		Fields: []string{"citizen_id", "full_name", "birth_date", "sex", "place_of_birth", "mother_citizen_id", "mother_name",
			"father_citizen_id", "father_name", "registration_number", "registered_on", "agency"}},
	{Code: "insurance.card", Provider: registry.SocialInsurance,
		Fields: []string{"card_number", "citizen_id", "hospital", "benefit_level", "valid_from", "valid_to"}},
	{Code: "vehicle.of_owner", Provider: registry.Police, List: true,
		Fields: []string{"plate", "owner", "make", "model", "colour", "registered_on", "frame_number", "engine_number"}},
	{Code: "land.parcels_of_owner", Provider: registry.NaturalResources, List: true,
		Fields: []string{"parcel_id", "unit", "map_sheet", "parcel_number", "area_m2", "land_use", "address", "owners", "certificate"}},
	{Code: "business.enterprise", Provider: registry.PlanningInvestment,
		Fields: []string{"reg_number", "name", "legal_rep", "unit", "registered_on"}},
	{Code: "business.of_representative", Provider: registry.PlanningInvestment, List: true,
		Fields: []string{"reg_number", "name", "legal_rep", "unit", "registered_on"}},
	// Services the exchange does not declare yet; the portal's reads of
	// them go to the registries behind the same interface until it does.
	{Code: "civil_status.marital_status", Provider: registry.CivilStatus,
		Fields: []string{"marital_status", "spouse_citizen_id", "married_on"}},
	{Code: "civil_status.death", Provider: registry.CivilStatus,
		Fields: []string{"died_on", "place_of_death"}},
	{Code: "business.household_of_owner", Provider: registry.PlanningInvestment, List: true,
		Fields: []string{"reg_number", "name", "address", "activity"}},
}

// RegistryServices lists the services inputs may name.
func RegistryServices() []RegistryService { return slices.Clone(registryServices) }

// registryService returns the service with that code.
func registryService(code string) (RegistryService, bool) {
	for _, s := range registryServices {
		if s.Code == code {
			return s, true
		}
	}
	return RegistryService{}, false
}

// registryFieldSources maps every registry field name to the first service
// answering it: the no-paper rule names it.
func registryFieldSources() map[string]string {
	out := map[string]string{}
	for _, s := range registryServices {
		for _, f := range s.Fields {
			if _, ok := out[f]; !ok {
				out[f] = "registry:" + s.Code
			}
		}
	}
	return out
}
